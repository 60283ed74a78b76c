"""Watches channels: hands every post, edit and deletion to the ingest pipeline, alerts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from bot.ingest import AlertSink, Repost
from cogs._alerts import Alerts, take_down
from cogs._posts import channel_finder, history_of, post_of

if TYPE_CHECKING:
    from bot.client import SeenitBot

log = logging.getLogger(__name__)

#: How often shed messages are caught up and departed guilds' data purged.
UPKEEP_SECONDS = 30.0


class Reposts(commands.Cog):
    """Indexes watched channels and raises repost alerts."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = bot.service
        self.ingest = bot.ingest
        self.alerts = Alerts(bot)
        self.find = channel_finder(bot)

    async def cog_load(self) -> None:
        self.upkeep.start()

    async def cog_unload(self) -> None:
        self.upkeep.cancel()
        await self.ingest.drain()

    @tasks.loop(seconds=UPKEEP_SECONDS)
    async def upkeep(self) -> None:
        """Every half minute: catch up shed messages, delete data of guilds left long ago."""
        if self.upkeep.current_loop == 0:
            return  # the first round starts with the bot: nothing is shed yet
        try:
            await self.ingest.catch_up_shed(self.find)
            await self.ingest.purge_departed()
        except Exception:
            log.exception("background upkeep failed")

    # posts and edits

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        post = post_of(message, self.bot.user)
        if post is None or post.by_me:
            return
        channel = history_of(message.channel, self.bot.user)
        await self.ingest.posted(post, channel, self._alert_on(message))

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        # Raw: the message is usually not in the cache (an old post, or after a restart).
        if payload.guild_id is None:
            return
        post = post_of(payload.message, self.bot.user)
        if post is None:
            return
        cached = payload.cached_message
        before = post_of(cached, self.bot.user) if cached is not None else None
        stale = await self.ingest.edited(post, before, self._alert_on(payload.message))
        await take_down(self.bot, stale)

    def _alert_on(self, message: discord.Message) -> AlertSink:
        async def alert(repost: Repost) -> None:
            await self.alerts.raise_alert(message, repost)

        return alert

    # deletions

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        stale = await self.ingest.deleted(
            payload.guild_id, payload.channel_id, [payload.message_id]
        )
        await take_down(self.bot, stale)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        stale = await self.ingest.deleted(
            payload.guild_id, payload.channel_id, sorted(payload.message_ids)
        )
        await take_down(self.bot, stale)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.service.forget_channel(channel.guild.id, channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.service.forget_channel(payload.guild_id, payload.thread_id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.service.guild_left(guild.id)
        await self.ingest.purge_departed()

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.service.guild_returned(guild.id)

    # catch-up

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.ingest.track()
        for guild in self.bot.guilds:
            await self.service.guild_returned(guild.id)
        await self.ingest.purge_departed()

    @commands.Cog.listener()
    async def on_shard_connect(self, shard_id: int) -> None:
        self.ingest.session_started()

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        # On every (re)identify, not only the first: after a new session (an outage too long
        # to resume) what was posted in between is only in channel history.
        guild_ids = [g.id for g in self.bot.guilds if g.shard_id == shard_id]
        await self.ingest.catch_up_guilds(guild_ids, self.find)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Reposts(bot))
