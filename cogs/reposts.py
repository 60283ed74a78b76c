"""Watches channels: fingerprints every posted image, alerts on reposts, follows deletions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

import discord
from discord.ext import commands

from bot.fetch import FetchError
from bot.flow import FairGate, RateLimit, Shed
from bot.guild_settings import GuildSettings
from bot.hashing import Fingerprint, ImageError
from bot.keyed_lock import KeyedLock
from bot.matching import Match, chronological, delete_limit
from bot.pictures import MAX_SMALL
from bot.records import DAY_MS, AlertRecord
from bot.render import ALERT_LINES, alert_text
from bot.service import SlotOutcome
from bot.store import StoreError
from cogs._audience import everyone_reads, readable_by_all
from cogs._discord import (
    ALERT_COLOUR,
    EMBED_SLOT,
    MediaRef,
    bot_of,
    can_view,
    comparison_file,
    embed,
    guild_texts,
    image_refs,
    message_checker,
    parent_ids,
    post_context,
)
from cogs.alert_actions import alert_view

log = logging.getLogger(__name__)

#: Messages processed at once, and at once for one guild (a raid cannot starve the others).
CONCURRENT_MESSAGES = 8
CONCURRENT_PER_GUILD = 4
#: Messages waiting for a slot before new ones are shed (and caught up later from history).
MAX_WAITING = 5000
#: Alerts one channel may get in ALERT_WINDOW seconds; more only happens in a flood.
ALERT_BURST = 5
ALERT_WINDOW = 10.0
#: How often shed messages are caught up.
SHED_CATCHUP_SECONDS = 30.0

REPOST_EMOJI = "\N{BLACK UNIVERSAL RECYCLING SYMBOL}\N{VARIATION SELECTOR-16}"


class Reposts(commands.Cog):
    """Indexes watched channels and raises repost alerts."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service
        # Work in flight, finished before the cog unloads so nothing acknowledged is lost.
        self._inflight: set[asyncio.Task[object]] = set()
        self.gate = FairGate(CONCURRENT_MESSAGES, CONCURRENT_PER_GUILD, MAX_WAITING)
        self.alert_limit = RateLimit(ALERT_BURST, ALERT_WINDOW)
        #: channel id -> (guild id, oldest shed message id): caught up from history later.
        self._shed: dict[int, tuple[int, int]] = {}
        #: channel id -> ids of its messages being processed right now.
        self._pending: dict[int, set[int]] = {}
        self._catch_up_lock = asyncio.Lock()
        #: Channels caught up since the gateway (re)connected, and a lock per channel.
        self._fresh: set[int] = set()
        self._channel_locks: dict[int, asyncio.Lock] = {}
        self._shed_task: asyncio.Task[None] | None = None
        #: message id -> lock: a message's post and its edits are handled one at a time.
        self._message_locks = KeyedLock()

    async def cog_load(self) -> None:
        self._shed_task = asyncio.create_task(self._upkeep(), name="seenit-shed")

    async def cog_unload(self) -> None:
        if self._shed_task is not None:
            self._shed_task.cancel()
        pending = {t for t in self._inflight if t is not asyncio.current_task()}
        if pending:
            log.info("finishing %d messages in flight", len(pending))
            _, late = await asyncio.wait(pending, timeout=8.0)
            for task in late:
                task.cancel()

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    # ingestion

    def watched(self, settings: GuildSettings, channel: object) -> bool:
        channel_id = getattr(channel, "id", 0)
        return settings.is_watched(channel_id, parent_ids(channel))

    async def fingerprints(self, refs: Sequence[MediaRef]) -> list[tuple[int, Fingerprint, bytes]]:
        """Download and hash a message's images concurrently; failures are logged, not fatal."""

        async def one(ref: MediaRef) -> tuple[int, Fingerprint, bytes] | None:
            try:
                data = await self.bot.fetcher.discord_media(ref.url)
                return ref.slot, await self.service.fingerprint(data), data
            except (FetchError, ImageError) as exc:
                log.info("skipped image %s: %s", ref.url, exc)
                return None

        found = await asyncio.gather(*(one(r) for r in refs))
        return [f for f in found if f is not None]

    async def ingest(
        self, message: discord.Message, *, alert: bool, local_stage: bool | None = None
    ) -> list[SlotOutcome]:
        """Fingerprint and store a message's images; alert on reposts when asked.

        ``local_stage`` (default: ``alert``) looks for crops and captions too: a catch-up,
        which never alerts, skips that search.
        """
        if message.guild is None:
            return []
        settings = await self.service.settings(message.guild.id)
        if message.author.bot and (settings.ignore_bots or message.author == self.bot.user):
            return []
        if not self.watched(settings, message.channel):
            return []
        refs = image_refs(message)
        if not refs:
            return []
        prints = await self.fingerprints(refs)
        if not prints:
            return []
        outcomes = await self.service.ingest(
            post_context(message),
            [(s, f) for s, f, _ in prints],
            local_stage=alert if local_stage is None else local_stage,
        )
        if alert:
            matches = _merge(o.alert for o in outcomes)
            if matches:
                first = next(o.slot for o in outcomes if o.alert)
                image = next(d for s, _, d in prints if s == first)
                await self.raise_alert(message, settings, matches, image)
        return outcomes

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author == self.bot.user:
            return
        self._track()
        await self._ensure_caught_up(message)
        pending = self._pending.setdefault(message.channel.id, set())
        pending.add(message.id)
        done = False
        try:
            async with self.gate.slot(message.guild.id), self._one_at_a_time(message.id):
                outcomes = await self.ingest(message, alert=True)
            done = True
            if outcomes:
                await self._mark_seen(message, pending)
        except Shed:
            self._note_shed(message)
        except StoreError as exc:
            # The database is away (a restart, say): read the message again from history.
            log.warning("database unavailable, message %s will be caught up: %s", message.id, exc)
            self._note_shed(message)
        except Exception:
            log.exception("could not process message %s", message.id)
        finally:
            pending.discard(message.id)
            if not done and not pending:
                self._pending.pop(message.channel.id, None)

    async def _ensure_caught_up(self, message: discord.Message) -> None:
        """Before the first live message of a channel in a session, index what it missed.

        Done here (and not only at ready) so the cursor never moves past messages that were
        posted while the bot was away.
        """
        channel = message.channel
        if channel.id in self._fresh or not isinstance(
            channel, discord.TextChannel | discord.Thread
        ):
            return
        lock = self._channel_locks.setdefault(channel.id, asyncio.Lock())
        async with lock:
            if channel.id in self._fresh:
                return
            try:
                cursor = await self.service.store.get_cursor(channel.id)
                if cursor is not None:
                    await self.catch_up_channel(
                        channel, cursor, limit=self.bot.config.catchup_limit, before=message.id
                    )
            except (discord.HTTPException, StoreError) as exc:
                log.warning("could not catch up channel %d: %s", channel.id, exc)
                return
            self._fresh.add(channel.id)

    @commands.Cog.listener()
    async def on_shard_connect(self, shard_id: int) -> None:
        # A new connection may follow a gap: every channel is caught up again.
        self._fresh.clear()

    async def _mark_seen(self, message: discord.Message, pending: set[int]) -> None:
        """Move the channel's cursor, but never past a message still in flight or shed.

        Otherwise a crash would leave an older message unstored behind the cursor, and
        the catch-up after a restart starts after the cursor.
        """
        assert message.guild is not None
        blockers = [m for m in pending if m != message.id]
        shed = self._shed.get(message.channel.id)
        if shed is not None:
            blockers.append(shed[1])
        if blockers and min(blockers) < message.id:
            return  # an older message is unfinished: it moves the cursor when it is done
        await self.service.mark_seen(message.guild.id, message.channel.id, message.id)

    def _note_shed(self, message: discord.Message) -> None:
        assert message.guild is not None
        guild_id, oldest = self._shed.get(message.channel.id, (message.guild.id, message.id))
        self._shed[message.channel.id] = (guild_id, min(oldest, message.id))
        if self.gate.shed % 100 == 1:
            log.warning(
                "flood: %d messages shed so far; they are caught up from history shortly",
                self.gate.shed,
            )

    async def _upkeep(self) -> None:
        """Every half minute: catch up shed messages, delete data of guilds left long ago."""
        while True:
            await asyncio.sleep(SHED_CATCHUP_SECONDS)
            try:
                await self.catch_up_shed_now()
                await self.purge_departed()
            except Exception:
                log.exception("background upkeep failed")

    async def catch_up_shed_now(self) -> int:
        indexed = 0
        for channel_id, entry in list(self._shed.items()):
            guild_id, oldest = entry
            guild = self.bot.get_guild(guild_id)
            channel = guild.get_channel_or_thread(channel_id) if guild else None
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                del self._shed[channel_id]
                continue
            try:
                indexed += await self.catch_up_channel(channel, oldest - 1, limit=MAX_WAITING)
            except (discord.HTTPException, StoreError) as exc:
                log.warning("could not catch up channel %d: %s", channel_id, exc)
                continue
            # Keep the entry if more was shed meanwhile: the next round reads from there.
            if self._shed.get(channel_id) == entry:
                del self._shed[channel_id]
        return indexed

    # alerts

    async def raise_alert(
        self,
        message: discord.Message,
        settings: GuildSettings,
        matches: list[Match],
        image: bytes,
    ) -> None:
        assert message.guild is not None
        author = message.author
        guild = message.guild
        if isinstance(author, discord.Member):
            # Never tell the poster about a channel they cannot read.
            here = message.channel.id
            matches = [m for m in matches if can_view(author, guild, m.image.channel_id, here=here)]
        if not matches:
            return
        # Everyone who reads the alert's channel reads the alert: it links only what all of
        # them may open, and otherwise says no more than that the image was posted before.
        log_style = settings.alert_style == "log" and settings.log_channel_id is not None
        audience = settings.log_channel_id if log_style else message.channel.id
        assert audience is not None
        public = {m.image.id for m in readable_by_all(guild, audience, matches)}

        def displayed(candidates: list[Match]) -> list[Match]:
            ordered = chronological(candidates)
            listed = [m for m in ordered if m.image.id in public]
            pictured = sorted(listed, key=lambda m: m.distance)[: 1 + MAX_SMALL]
            return [*ordered[:1], *listed[:1], *listed[1 - ALERT_LINES :], *pictured]

        # Posts deleted while seenit was not looking are dropped; the next ones take their place.
        matches = await self.service.still_there(
            guild.id, matches, displayed, message_checker(guild)
        )
        if not matches:
            return
        shown = [m for m in matches if m.image.id in public]
        t = guild_texts(guild)
        text = alert_text(shown, t) if shown else t("alert.hidden_earlier")
        sent: discord.Message | None = None
        quiet = settings.alert_style in ("reply", "reaction", "log") and not self.alert_limit.allow(
            message.channel.id
        )
        if quiet:
            log.info("alert flood in channel %d: not posting this alert", message.channel.id)
        channel = message.channel
        me = message.guild.me
        original = chronological(matches)[0]
        buttons = alert_view(message.id, original.image.id, t)
        try:
            if quiet:
                pass
            elif settings.alert_style == "reply":
                notice = embed(t("alert.title"), text, colour=ALERT_COLOUR)
                files: list[discord.File] = []
                if settings.alert_pictures:
                    best = sorted(shown, key=lambda m: m.distance)
                    picture = await comparison_file(self.bot, message.guild, image, best, t)
                    if picture is not None:
                        notice.set_image(url=f"attachment://{picture.filename}")
                        files.append(picture)
                sent = await message.reply(
                    embed=notice,
                    view=buttons,
                    mention_author=settings.mention_author,
                    allowed_mentions=discord.AllowedMentions.none().merge(
                        discord.AllowedMentions(replied_user=settings.mention_author)
                    ),
                    files=files,
                )
            elif settings.alert_style == "reaction":
                await message.add_reaction(REPOST_EMOJI)
            elif settings.alert_style == "log" and settings.log_channel_id:
                log_channel = message.guild.get_channel(settings.log_channel_id)
                if isinstance(log_channel, discord.TextChannel):
                    if everyone_reads(guild, log_channel.id, channel.id):
                        where = t(
                            "alert.log_where",
                            url=message.jump_url,
                            author=author.mention,
                            channel=getattr(channel, "mention", ""),
                        )
                    else:
                        where = t("alert.hidden_post")
                    report = embed(t("alert.title"), f"{where}\n{text}", colour=ALERT_COLOUR)
                    sent = await log_channel.send(embed=report, view=buttons)
        except discord.HTTPException as exc:
            log.warning("could not post the alert for %s: %s", message.id, exc)
        await self.service.record_alert(
            AlertRecord(
                guild_id=message.guild.id,
                channel_id=channel.id,
                message_id=message.id,
                author_id=author.id,
                original_image_id=original.image.id,
                alert_channel_id=sent.channel.id if sent else None,
                alert_message_id=sent.id if sent else None,
                created_at=self.service.clock(),
            )
        )
        # Two tiers: near-identical copies are deleted, looser matches only alerted.
        closest = min(m.distance for m in matches)
        if settings.delete_reposts and me is not None and closest <= delete_limit(settings):
            in_channel = everyone_reads(guild, message.channel.id, original.image.channel_id)
            await self.delete_repost(message, original, in_channel=in_channel)

    async def delete_repost(
        self, message: discord.Message, original: Match, *, in_channel: bool = False
    ) -> None:
        """Delete a repost and tell its author why, privately if possible.

        ``in_channel``: whether everyone in the repost's channel may see the original, for
        when the note has to be posted there.
        """
        assert message.guild is not None
        permissions = message.channel.permissions_for(message.guild.me)
        if not permissions.manage_messages:
            log.info("not deleting repost %s: no Manage Messages permission", message.id)
            return
        try:
            await message.delete()
        except discord.HTTPException as exc:
            log.warning("could not delete repost %s: %s", message.id, exc)
            return
        # A DM or a channel post: the member's language is unknown outside an interaction.
        note = guild_texts(message.guild)(
            "alert.removed", server=message.guild.name, url=original.image.jump_url
        )
        try:
            await message.author.send(note)
        except discord.HTTPException:
            if not in_channel:
                t = guild_texts(message.guild)
                note = t("alert.removed", server=message.guild.name, url=t("alert.hidden_post"))
            with contextlib.suppress(discord.HTTPException):
                await message.channel.send(
                    f"{message.author.mention} {note}",
                    delete_after=30,
                    allowed_mentions=discord.AllowedMentions(users=[message.author]),
                )

    # edits

    def _one_at_a_time(self, message_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Handle one message's post, its edits (a link preview arrives right after the
        post) and its catch-up one after the other, so an image is never judged twice."""
        return self._message_locks.hold(message_id)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        # Raw: the message is usually not in the cache (an old post, or after a restart).
        if payload.guild_id is None:
            return
        self._track()
        try:
            async with self._one_at_a_time(payload.message_id):
                await self.message_edited(payload.message, payload.cached_message)
        except StoreError as exc:
            log.warning("database unavailable, edit of %s not handled: %s", payload.message_id, exc)
        except Exception:
            log.exception("could not handle the edit of message %s", payload.message_id)

    async def message_edited(
        self, message: discord.Message, before: discord.Message | None
    ) -> None:
        """Index the images an edit or a link preview added (alerting on reposts) and
        forget at once the ones it removed."""
        guild = message.guild
        if guild is None or message.author == self.bot.user:
            return
        settings = await self.service.settings(guild.id)
        if message.author.bot and settings.ignore_bots:
            return
        if not self.watched(settings, message.channel):
            return
        refs = image_refs(message)
        if before is not None and _media(image_refs(before)) == _media(refs):
            return  # the text changed, not the pictures
        stored = await self.service.images_in_message(guild.id, message.id)
        slots = {r.slot for r in refs}
        if slots == {s.slot for s in stored} and all(slot < EMBED_SLOT for slot in slots):
            return  # members can remove attachments but never add or swap them
        prints = await self.fingerprints(refs)
        forgotten, outcomes = await self.service.message_edited(
            post_context(message),
            [(s, f) for s, f, _ in prints],
            complete=len(prints) == len(refs),
        )
        if forgotten:
            log.info("forgot %d images an edit removed from message %s", forgotten, message.id)
            if not refs and settings.delete_alert_with_message:
                await self._delete_alerts_of(message.channel.id, message.id)
        matches = _merge(o.alert for o in outcomes)
        # One alert per message: an edit never alerts again on a message already answered.
        if matches and not await self.service.alerts_for_message(message.id):
            first = next(o.slot for o in outcomes if o.alert)
            image = next(d for s, _, d in prints if s == first)
            await self.raise_alert(message, settings, matches, image)

    async def _delete_alerts_of(self, channel_id: int, message_id: int) -> None:
        """Delete the alerts seenit posted in reply to a message (in its channel)."""
        for alert in await self.service.alerts_for_message(message_id):
            if alert.alert_message_id and alert.alert_channel_id == channel_id:
                channel = self.bot.get_partial_messageable(channel_id)
                with contextlib.suppress(discord.HTTPException):
                    await channel.get_partial_message(alert.alert_message_id).delete()

    # deletions

    async def _forget(self, guild_id: int | None, channel_id: int, message_ids: list[int]) -> None:
        await self.service.forget_messages(guild_id, message_ids)
        settings = await self.service.settings(guild_id) if guild_id else None
        for message_id in message_ids:
            alerts = await self.service.alerts_for_message(message_id)
            if settings is not None and settings.delete_alert_with_message:
                for alert in alerts:
                    if alert.alert_message_id and alert.alert_channel_id == channel_id:
                        channel = self.bot.get_partial_messageable(channel_id)
                        with contextlib.suppress(discord.HTTPException):
                            await channel.get_partial_message(alert.alert_message_id).delete()

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self._track()
        try:
            await self._forget(payload.guild_id, payload.channel_id, [payload.message_id])
        except Exception:
            log.exception("could not forget message %s", payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        self._track()
        try:
            await self._forget(payload.guild_id, payload.channel_id, sorted(payload.message_ids))
        except Exception:
            log.exception("could not forget %d messages", len(payload.message_ids))

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.service.forget_channel(channel.guild.id, channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.service.forget_channel(payload.guild_id, payload.thread_id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.service.guild_left(guild.id)
        await self.purge_departed()

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.service.guild_returned(guild.id)

    async def purge_departed(self) -> None:
        grace_ms = int(self.bot.config.guild_data_grace_days * DAY_MS)
        await self.service.purge_departed(grace_ms)

    # catch-up

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self._track()
        for guild in self.bot.guilds:
            await self.service.guild_returned(guild.id)
        await self.purge_departed()

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        # On every (re)identify, not only the first: after a new session (an outage too long
        # to resume) what was posted in between is only in channel history.
        self._track()
        async with self._catch_up_lock:
            for guild in list(self.bot.guilds):
                if guild.shard_id != shard_id:
                    continue
                try:
                    await self.catch_up(guild)
                except Exception:
                    log.exception("catch-up failed for guild %d", guild.id)

    async def catch_up(self, guild: discord.Guild) -> int:
        """Index what was posted in watched channels while the bot was away."""
        limit = self.bot.config.catchup_limit
        if limit <= 0:
            return 0
        cursors = await self.service.store.cursors(guild.id)
        settings = await self.service.settings(guild.id)
        indexed = 0
        for channel_id, last_seen in cursors.items():
            channel = guild.get_channel_or_thread(channel_id)
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                continue
            if not self.watched(settings, channel) or channel_id in self._fresh:
                continue
            lock = self._channel_locks.setdefault(channel_id, asyncio.Lock())
            async with lock:
                if channel_id in self._fresh:
                    continue
                indexed += await self.catch_up_channel(channel, last_seen, limit=limit)
                self._fresh.add(channel_id)
        if indexed:
            log.info("caught up %d images in guild %d", indexed, guild.id)
        return indexed

    async def catch_up_channel(
        self,
        channel: discord.TextChannel | discord.Thread,
        after_id: int,
        *,
        limit: int,
        before: int | None = None,
    ) -> int:
        """Index a channel's messages after ``after_id`` (and before ``before``), oldest first,
        without alerts."""
        if limit <= 0 or not channel.permissions_for(channel.guild.me).read_message_history:
            return 0
        indexed = 0
        after = discord.Object(id=after_id)
        until = discord.Object(id=before) if before is not None else None
        async for message in channel.history(
            limit=limit, after=after, before=until, oldest_first=True
        ):
            async with self._one_at_a_time(message.id):
                outcomes = await self.ingest(message, alert=False)
            indexed += sum(1 for o in outcomes if o.stored is not None)
            if outcomes and channel.id not in self._pending:
                await self.service.mark_seen(channel.guild.id, channel.id, message.id)
        return indexed


def _media(refs: Sequence[MediaRef]) -> list[tuple[int, str]]:
    """What a message shows, for comparing it before and after an edit: signed CDN query
    strings change from one payload to the next, the paths do not."""
    return [(r.slot, r.url.split("?", 1)[0]) for r in refs]


def _merge(alerts: Iterable[Sequence[Match]]) -> list[Match]:
    """One list of earlier posts across a message's images, one entry per stored image."""
    best: dict[int, Match] = {}
    for matches in alerts:
        for m in matches:
            if m.image.id not in best or m.distance < best[m.image.id].distance:
                best[m.image.id] = m
    return list(best.values())


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Reposts(bot))
