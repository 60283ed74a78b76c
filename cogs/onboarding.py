"""Joining a server: one short welcome, then the watched channels' recent history is indexed.

Only for a server seenit was not in (``on_guild_join``); a reconnect's GUILD_CREATEs make
guilds "available" and never get here. The history is read by the Scanner (without alerts,
one channel at a time, resumed after a restart), its progress shown under the welcome.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import discord
from discord.ext import commands

from bot import guide
from bot.client import SeenitBot
from bot.guild_settings import GuildSettings
from cogs._discord import (
    embed,
    guild_texts,
)
from cogs._posts import parent_ids
from cogs.scanner import start_onboarding

log = logging.getLogger(__name__)


def welcome_channel(guild: discord.Guild) -> discord.TextChannel | None:
    """The system channel when seenit may post there, else the first channel it can write to."""
    candidates = [guild.system_channel] if guild.system_channel else []
    candidates += sorted(guild.text_channels, key=lambda c: (c.position, c.id))
    for channel in candidates:
        if channel is None:
            continue
        can = channel.permissions_for(guild.me)
        if can.view_channel and can.send_messages and can.embed_links:
            return channel
    return None


def history_channels(
    guild: discord.Guild, settings: GuildSettings
) -> list[discord.TextChannel | discord.Thread]:
    """Watched channels and active threads whose history seenit can read, channels in the
    order people see them, then threads."""
    found: list[discord.TextChannel | discord.Thread] = []
    channels = sorted(guild.text_channels, key=lambda c: (c.position, c.id))
    # Then the active threads (forum posts too), which Discord sends with the guild.
    threads = sorted(guild.threads, key=lambda t: t.id)
    ordered: list[discord.TextChannel | discord.Thread] = [*channels, *threads]
    for channel in ordered:
        can = channel.permissions_for(guild.me)
        if not (can.view_channel and can.read_message_history):
            continue
        if settings.is_watched(channel.id, parent_ids(channel)):
            found.append(channel)
    return found


class Onboarding(commands.Cog):
    """Welcomes a new server and indexes its recent history."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = self.bot.service

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        try:
            await self.onboard(guild)
        except Exception:
            log.exception("could not welcome guild %d", guild.id)

    async def onboard(self, guild: discord.Guild) -> None:
        config = self.bot.config
        settings = await self.service.settings(guild.id)
        channels = history_channels(guild, settings) if config.onboard_messages > 0 else []
        t = guild_texts(guild)
        if config.onboard_messages <= 0:
            status = ""
        elif channels:
            status = t("onboard.indexing", days=config.onboard_days, count=len(channels))
        else:
            status = t("onboard.nothing")
        welcome = embed(
            t("welcome.title"),
            t("welcome.text", watching=guide.watching_words(t, settings), url=config.docs_url),
        )
        progress: discord.Message | None = None
        where = welcome_channel(guild)
        if where is None:
            log.info("no channel of guild %d to welcome it in", guild.id)
        else:
            try:
                progress = await where.send(content=status or None, embed=welcome)
            except discord.HTTPException as exc:
                log.info("could not welcome guild %d: %s", guild.id, exc)
        if not channels:
            return
        days = config.onboard_days
        after = (
            discord.utils.time_snowflake(datetime.now(UTC) - timedelta(days=days))
            if days > 0
            else None
        )
        log.info("indexing the recent history of %d channels of guild %d", len(channels), guild.id)
        await start_onboarding(
            self.bot,
            channels,
            limit=config.onboard_messages,
            after=after,
            days=days,
            progress=progress,
        )


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Onboarding(bot))
