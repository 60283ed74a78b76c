"""Owner-only maintenance commands (mention the bot: ``@seenit sync``)."""

from __future__ import annotations

from discord.ext import commands

from cogs._discord import bot_of, guild_texts


class Owner(commands.Cog):
    """Commands for the bot's owner."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)

    @commands.command(name="sync")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[commands.Bot]) -> None:
        """Force an application command sync."""
        await self.bot.sync_commands(force=True)
        await ctx.reply(guild_texts(ctx.guild)("owner.synced"), mention_author=False)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Owner(bot))
