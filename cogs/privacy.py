"""Members' data rights: /forgetme deletes a member's images in this server."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from cogs._discord import bot_of, user_texts

log = logging.getLogger(__name__)


class Privacy(commands.Cog):
    """What a member can ask seenit to forget."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service

    @app_commands.command(name="forgetme")
    @app_commands.guild_only()
    @app_commands.describe(confirm="Set to True to delete your images from seenit's memory")
    async def forget_me(self, interaction: discord.Interaction, confirm: bool = False) -> None:
        """Delete every image of yours that seenit remembers in this server."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        if not confirm:
            await interaction.response.send_message(t("forgetme.confirm_first"), ephemeral=True)
            return
        count = await self.service.forget_author(interaction.guild.id, interaction.user.id)
        log.info("forgot %d images of a member of guild %d", count, interaction.guild.id)
        await interaction.response.send_message(t("forgetme.done", count=count), ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Privacy(bot))
