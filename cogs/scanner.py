"""History scans on Discord: their live progress message, and resuming them after a restart.

The scans themselves (reading, counting, saving their state) are bot/scans.py's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.render import scan_progress
from bot.scans import SCANS_KEY, ScanState
from cogs._discord import guild_texts
from cogs._posts import ChannelHistory, channel_finder

if TYPE_CHECKING:
    from bot.client import SeenitBot

__all__ = ["SCANS_KEY", "ScanProgress", "ScanState", "Scanner", "start_onboarding", "start_scan"]

log = logging.getLogger(__name__)


class ScanProgress:
    """Where scans happen on Discord (see :class:`bot.scans.ScanPlace`)."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self._find = channel_finder(bot)

    def channel(self, guild_id: int, channel_id: int) -> ChannelHistory | None:
        return self._find(guild_id, channel_id)

    async def show(self, state: ScanState, elapsed: float, *, finished: bool) -> None:
        """Edit the scan's progress message (if it has one)."""
        if state.progress_channel_id is None or state.progress_message_id is None:
            return
        channel = self.bot.get_partial_messageable(state.progress_channel_id)
        progress = channel.get_partial_message(state.progress_message_id)
        try:
            await progress.edit(content=self.text(state, elapsed, finished=finished))
        except discord.HTTPException as exc:
            log.info("could not update scan progress: %s", exc)

    def text(self, state: ScanState, elapsed: float, *, finished: bool) -> str:
        """The progress line, in the server's language (everyone in the channel reads it)."""
        t = guild_texts(self.bot.get_guild(state.guild_id))
        if state.kind != "onboard":
            return scan_progress(
                state.channel_id,
                read=state.read,
                indexed=state.indexed,
                reposts=state.reposts,
                refreshed=state.refreshed,
                limit=state.limit,
                elapsed=elapsed,
                finished=finished,
                t=t,
            )
        if finished:
            return t(
                "onboard.done",
                days=state.days,
                messages=t("noun.message", count=state.done_read + state.read),
                images=t("noun.image", count=state.done_indexed + state.indexed),
            )
        current = scan_progress(
            state.channel_id,
            read=state.read,
            indexed=state.indexed,
            reposts=state.reposts,
            limit=state.limit,
            elapsed=elapsed,
            finished=False,
            t=t,
        )
        return t("onboard.progress", days=state.days, channel_progress=current)


async def start_scan(
    bot: SeenitBot,
    channel: discord.TextChannel | discord.Thread,
    limit: int,
    progress: discord.Message,
) -> None:
    """Start scanning a channel; progress goes to ``progress`` (a message the bot sent)."""
    state = ScanState(
        guild_id=channel.guild.id,
        channel_id=channel.id,
        limit=limit,
        progress_channel_id=progress.channel.id,
        progress_message_id=progress.id,
    )
    await bot.scans.start(ChannelHistory(channel, bot.user), state, ScanProgress(bot))


async def start_onboarding(
    bot: SeenitBot,
    channels: list[discord.TextChannel | discord.Thread],
    *,
    limit: int,
    after: int | None,
    days: int,
    progress: discord.Message | None,
) -> None:
    """Index several channels one after another, newest first, ``limit`` messages each
    and none at or before ``after``; without alerts, resumed after a restart."""
    if not channels:
        return
    first, rest = channels[0], channels[1:]
    state = ScanState(
        guild_id=first.guild.id,
        channel_id=first.id,
        limit=limit,
        progress_channel_id=progress.channel.id if progress else None,
        progress_message_id=progress.id if progress else None,
        after=after,
        queue=tuple(c.id for c in rest),
        kind="onboard",
        days=days,
    )
    await bot.scans.start(ChannelHistory(first, bot.user), state, ScanProgress(bot))


class Scanner(commands.Cog):
    """Resumes the scans a restart interrupted, and stops scans when seenit stops."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self._resumed = False

    async def cog_unload(self) -> None:
        await self.bot.scans.stop()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        await self.bot.scans.resume(ScanProgress(self.bot))


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Scanner(bot))
