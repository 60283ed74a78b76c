"""Members' data rights: /forgetme deletes what seenit keeps about a member in a server."""

from __future__ import annotations

import logging

from discord import app_commands
from discord.ext import commands

from bot.client import SeenitBot
from cogs._alerts import take_down
from cogs._discord import Interaction, user_texts

log = logging.getLogger(__name__)


class Privacy(commands.Cog):
    """What a member can ask seenit to forget."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = self.bot.service

    @app_commands.command(name="forgetme")
    @app_commands.guild_only()
    @app_commands.describe(confirm="Set to True to delete your images from seenit's memory")
    async def forget_me(self, interaction: Interaction, confirm: bool = False) -> None:
        """Delete every image of yours that seenit remembers in this server."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        if not confirm:
            await interaction.response.send_message(t("forgetme.confirm_first"), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.service.forget_member(interaction.guild.id, interaction.user.id)
        removed = await take_down(self.bot, report.alerts)
        log.info(
            "forgot a member of guild %d: %d images, %d alerts (%d alert messages removed)",
            interaction.guild.id,
            len(report.images),
            len(report.alerts),
            removed,
        )
        answer = t("forgetme.done", count=len(report.images))
        if report.alerts:
            answer += " " + t("forgetme.alerts", count=len(report.alerts))
        await interaction.followup.send(answer, ephemeral=True)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Privacy(bot))
