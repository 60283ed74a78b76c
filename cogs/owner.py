"""Owner-only maintenance commands (mention the bot: ``@seenit sync``)."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.client import SeenitBot, one_line
from cogs._discord import MESSAGE_CONTENT_LIMIT, guild_texts


class Owner(commands.Cog):
    """Commands for the bot's owner."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot

    @commands.command(name="sync")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[commands.Bot]) -> None:
        """Force an application command sync."""
        t = guild_texts(ctx.guild)
        try:
            await self.bot.sync_commands(force=True)
        except discord.HTTPException as exc:
            answer = t("owner.sync_refused", error=one_line(exc))
            await ctx.reply(answer[:MESSAGE_CONTENT_LIMIT], mention_author=False)
            return
        await ctx.reply(t("owner.synced"), mention_author=False)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Owner(bot))
