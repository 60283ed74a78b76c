"""Follows which channels seenit can read, so posts deleted while it could not are not shown.

Discord reports a deletion only to a connected bot that can read the channel. A new gateway
session, or a channel seenit lost sight of, opens a gap (bot/gaps.py): stored posts from
before it are checked when they are about to be shown. A channel seenit can read again is
reconciled with its history at once: deleted posts are forgotten, missed ones indexed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

import discord
from discord.ext import commands

from bot.client import SeenitBot
from bot.ingest import HistoryUnavailable
from bot.store import StoreError
from cogs._posts import history_of

log = logging.getLogger(__name__)

#: Messages read back when reconciling a channel; older stored posts are checked when shown.
RECONCILE_LIMIT = 5000

Readable = discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.Thread


def gap_mark() -> int:
    """A snowflake for now: messages older than it fall in the gap."""
    return discord.utils.time_snowflake(discord.utils.utcnow())


def readable_channels(guild: discord.Guild) -> dict[int, Readable]:
    found: dict[int, Readable] = {}
    for channel in (*guild.channels, *guild.threads):
        if isinstance(channel, Readable):
            found[channel.id] = channel
    return found


class Sight(commands.Cog):
    """Opens gaps when seenit may miss deletions and reconciles channels it can read again."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = self.bot.service
        self.gaps = self.service.gaps
        #: guild id -> ids of the channels seenit could read at the last look.
        self._readable: dict[int, set[int]] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        #: Private threads seenit was removed from (discord.py keeps their "me").
        self._left: set[int] = set()

    async def cog_unload(self) -> None:
        for task in self._tasks:
            task.cancel()

    @commands.Cog.listener()
    async def on_shard_connect(self, shard_id: int) -> None:
        # A new session (not a resume): deletions made meanwhile were never sent.
        self.gaps.session_started(gap_mark())

    def can_read(self, channel: Readable) -> bool:
        """Whether seenit itself sees the channel's messages (and so hears of deletions)."""
        me = channel.guild.me
        if me is None:
            return False
        permissions = channel.permissions_for(me)
        # Discord sends a bot only the private threads it may open; it says when the bot
        # is removed from one (discord.py keeps the thread in its cache).
        if (
            isinstance(channel, discord.Thread)
            and channel.type == discord.ChannelType.private_thread
            and channel.id in self._left
            and not permissions.manage_threads
        ):
            return False
        return permissions.view_channel

    def look(self, guild: discord.Guild) -> None:
        """Compare what seenit can read now with the last look; open and close gaps."""
        if guild.me is None:
            return  # its own member is not known yet: nothing can be told
        channels = readable_channels(guild)
        now = {cid for cid, channel in channels.items() if self.can_read(channel)}
        before = self._readable.get(guild.id)
        self._readable[guild.id] = now
        for channel_id, channel in channels.items():
            if channel_id not in now:
                if before is None or channel_id in before:
                    self.gaps.lost_sight(channel_id)
            elif self.gaps.regained_sight(channel_id, gap_mark()):
                self._spawn(self.reconcile(channel))

    def _spawn(self, work: Coroutine[object, object, object]) -> None:
        task = asyncio.create_task(work, name="seenit-reconcile")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reconcile(self, channel: Readable) -> int:
        """Forget stored posts of the channel that were deleted unseen; index missed ones.

        Returns how many stored messages were found deleted.
        """
        until = gap_mark()
        try:
            stored = await self.service.messages_in_channel(channel.id, before=until)
            gone = 0
            if stored:
                gone = await self._forget_deleted(channel, stored, until)
            await self._catch_up(channel)
        except (discord.HTTPException, HistoryUnavailable, StoreError) as exc:
            log.warning("could not reconcile channel %d: %s", channel.id, exc)
            return 0
        except Exception:
            log.exception("could not reconcile channel %d", channel.id)
            return 0
        if gone:
            log.info("channel %d: forgot %d messages deleted while out of sight", channel.id, gone)
        return gone

    async def _forget_deleted(self, channel: Readable, stored: list[int], until: int) -> int:
        oldest = stored[-1]
        existing: set[int] = set()
        reached = until
        read = 0
        async for message in channel.history(
            limit=RECONCILE_LIMIT,
            before=discord.Object(id=until),
            after=discord.Object(id=oldest - 1),
            oldest_first=False,
        ):
            existing.add(message.id)
            reached = min(reached, message.id)
            read += 1
        if read < RECONCILE_LIMIT:
            reached = 0  # the whole range was read
        checked = [m for m in stored if m >= reached]
        gone = [m for m in checked if m not in existing]
        for message_id in checked:
            if message_id in existing:
                self.gaps.confirm(channel.id, message_id)
        if gone:
            await self.service.forget_messages(channel.guild.id, gone)
        return len(gone)

    async def _catch_up(self, channel: Readable) -> None:
        """Index what was posted while seenit could not read the channel (no alerts)."""
        history = history_of(channel, self.bot.user)
        if history is not None:
            await self.bot.ingest.catch_up_missed(history)

    # Everything that may change what seenit can read.

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        self.look(guild)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.look(guild)

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        self.look(after.guild)

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self.look(channel.guild)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.look(after.guild)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        self.look(role.guild)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        if self.bot.user is not None and after.id == self.bot.user.id:
            self.look(after.guild)

    @commands.Cog.listener()
    async def on_thread_join(self, thread: discord.Thread) -> None:
        self._left.discard(thread.id)
        self.look(thread.guild)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.look(thread.guild)

    @commands.Cog.listener()
    async def on_thread_remove(self, thread: discord.Thread) -> None:
        self._left.add(thread.id)
        self.look(thread.guild)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Sight(bot))
