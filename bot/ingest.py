"""The ingest pipeline: a post's media -> download -> fingerprint -> store -> matches.

It also keeps what makes sure no post is missed: the channels' cursors, the messages shed in
a flood (caught up from history later) and the catch-up of what was posted while seenit was
away. It knows Discord only through :class:`Post` and :class:`Channel`, which the cogs build
from discord.py's objects; the cogs turn its answers (a :class:`Repost` to alert on, alerts
to take down) into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.fetch import Fetcher, FetchError
from bot.flow import FairGate, Shed
from bot.guild_settings import GuildSettings
from bot.hashing import Fingerprint, ImageError, TooPlain
from bot.keyed_lock import KeyedLock
from bot.matching import Match, PostContext, searchable, thresholds_for
from bot.records import DAY_MS, AlertRecord
from bot.service import SeenService, SlotOutcome
from bot.store import StoreError

log = logging.getLogger(__name__)

#: Messages processed at once, and at once for one guild (a raid cannot starve the others).
CONCURRENT_MESSAGES = 8
CONCURRENT_PER_GUILD = 4
#: Messages waiting for a slot before new ones are shed (and caught up later from history).
MAX_WAITING = 5000
#: Slots of images found in embeds and stickers start here (attachments use 0..99).
EMBED_SLOT = 100
STICKER_SLOT = 200
#: Seconds the work in flight may take to finish when seenit stops.
DRAIN_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An image in a message: its slot (stable position) and the Discord URL of its bytes."""

    slot: int
    url: str


@dataclass(frozen=True, slots=True)
class Post:
    """A message as the pipeline sees it."""

    context: PostContext
    media: tuple[MediaRef, ...]
    #: Ids of the thread parent and category above the message's channel, nearest first.
    parents: tuple[int, ...] = ()
    by_bot: bool = False
    #: Posted by seenit itself (an alert, say): never indexed.
    by_me: bool = False

    @property
    def guild_id(self) -> int:
        return self.context.guild_id

    @property
    def channel_id(self) -> int:
        return self.context.channel_id

    @property
    def message_id(self) -> int:
        return self.context.message_id


@dataclass(frozen=True, slots=True)
class Printed:
    """One downloaded and fingerprinted image of a post."""

    slot: int
    fingerprint: Fingerprint
    data: bytes


@dataclass(frozen=True, slots=True)
class Repost:
    """A post that repeats earlier ones: what an alert about it needs."""

    post: Post
    settings: GuildSettings
    #: The earlier posts, one per stored image, across the post's images.
    matches: list[Match]
    #: The bytes of the post's first image that repeats an earlier one.
    image: bytes


#: Raises the alert about a repost (posts a reply, a reaction or a log line).
AlertSink = Callable[[Repost], Awaitable[None]]


class HistoryUnavailable(Exception):
    """A channel's history could not be read (refused, or Discord out of reach)."""


class Channel(Protocol):
    """A channel whose history the pipeline may read."""

    @property
    def id(self) -> int: ...

    @property
    def guild_id(self) -> int: ...

    @property
    def parents(self) -> tuple[int, ...]: ...

    def may_read_history(self) -> bool: ...

    def history(
        self,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        oldest_first: bool = True,
    ) -> AsyncIterator[Post]:
        """Up to ``limit`` posts after ``after`` and before ``before``; raises
        :class:`HistoryUnavailable`."""
        ...


#: Finds a channel (or thread) of a guild by id; None when it is gone or not a text channel.
FindChannel = Callable[[int, int], Channel | None]


def merged(alerts: Iterable[Sequence[Match]]) -> list[Match]:
    """One list of earlier posts across a message's images, one entry per stored image."""
    best: dict[int, Match] = {}
    for matches in alerts:
        for m in matches:
            if m.image.id not in best or m.distance < best[m.image.id].distance:
                best[m.image.id] = m
    return list(best.values())


def shown_media(media: Sequence[MediaRef]) -> list[tuple[int, str]]:
    """What a message shows, for comparing it before and after an edit: signed CDN query
    strings change from one payload to the next, the paths do not."""
    return [(r.slot, r.url.split("?", 1)[0]) for r in media]


class Ingest:
    """Every post seenit reads goes through here, live or from history."""

    def __init__(
        self,
        service: SeenService,
        fetcher: Fetcher,
        *,
        catchup_limit: int,
        guild_grace_days: float,
    ) -> None:
        self.service = service
        self.fetcher = fetcher
        self.catchup_limit = catchup_limit
        self.guild_grace_days = guild_grace_days
        self.gate = FairGate(CONCURRENT_MESSAGES, CONCURRENT_PER_GUILD, MAX_WAITING)
        # Work in flight, finished before seenit stops so nothing acknowledged is lost.
        self._inflight: set[asyncio.Task[object]] = set()
        #: channel id -> (guild id, oldest shed message id): caught up from history later.
        self._shed: dict[int, tuple[int, int]] = {}
        #: channel id -> ids of its messages being processed right now.
        self._pending: dict[int, set[int]] = {}
        #: Channels caught up since the gateway (re)connected, and a lock per channel.
        self._fresh: set[int] = set()
        self._channel_locks: dict[int, asyncio.Lock] = {}
        #: message id -> lock: a message's post and its edits are handled one at a time.
        self._message_locks = KeyedLock()
        self.catch_up_lock = asyncio.Lock()

    # work in flight

    def track(self) -> None:
        """Count the current task as work in flight: :meth:`drain` waits for it."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def drain(self) -> None:
        """Let the work in flight finish (a few seconds at most), then cancel the rest."""
        pending = {t for t in self._inflight if t is not asyncio.current_task()}
        if pending:
            log.info("finishing %d messages in flight", len(pending))
            _, late = await asyncio.wait(pending, timeout=DRAIN_SECONDS)
            for task in late:
                task.cancel()

    def one_at_a_time(self, message_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Handle one message's post, its edits (a link preview arrives right after the
        post) and its catch-up one after the other, so an image is never judged twice."""
        return self._message_locks.hold(message_id)

    # the pipeline

    async def fingerprints(self, media: Sequence[MediaRef]) -> list[Printed]:
        """Download and hash a message's images concurrently; failures are logged, not fatal."""

        async def one(ref: MediaRef) -> Printed | None:
            try:
                data = await self.fetcher.discord_media(ref.url)
                return Printed(ref.slot, await self.service.fingerprint(data), data)
            except (FetchError, ImageError) as exc:
                log.info("skipped image %s: %s", ref.url, exc)
                return None

        found = await asyncio.gather(*(one(r) for r in media))
        return [f for f in found if f is not None]

    async def fingerprint_url(self, url: str) -> Fingerprint:
        """The fingerprint of an image on Discord's CDN; raises FetchError or ImageError."""
        return await self.service.fingerprint(await self.fetcher.discord_media(url))

    async def downloads(self, media: Sequence[MediaRef]) -> list[bytes]:
        """The bytes of a message's images, one after another; failures are logged, skipped."""
        blobs = []
        for ref in media:
            try:
                blobs.append(await self.fetcher.discord_media(ref.url))
            except FetchError as exc:
                log.info("could not download %s: %s", ref.url, exc)
        return blobs

    async def similar(
        self, guild_id: int, blobs: Sequence[bytes], *, exclude_message: int | None = None
    ) -> tuple[list[Match], list[ImageError]]:
        """Earlier posts of any of these images (a member's search), one per stored image:
        reposts by distance, then templates; and why images could not be read or searched
        (:class:`bot.hashing.TooPlain` for one with no picture to compare)."""
        best: dict[int, Match] = {}
        errors: list[ImageError] = []
        rule = thresholds_for(await self.service.settings(guild_id))
        for data in blobs:
            try:
                fp = await self.service.fingerprint(data)
            except ImageError as exc:
                errors.append(exc)
                continue
            if not searchable(fp, rule):
                errors.append(TooPlain())
                continue
            for m in await self.service.search(guild_id, fp, rule, thorough=True, templates=True):
                if m.image.message_id == exclude_message:
                    continue
                if m.image.id not in best or m.distance < best[m.image.id].distance:
                    best[m.image.id] = m
        ranked = sorted(
            best.values(), key=lambda m: (m.verdict.template, m.distance, m.image.posted_at)
        )
        return ranked, errors

    async def allow_urls(self, guild_id: int, urls: Sequence[str], *, added_by: int) -> int:
        """Put the images at these Discord URLs on the guild's allowlist; how many could be."""
        allowed = 0
        for url in urls:
            try:
                fp = await self.fingerprint_url(url)
            except (FetchError, ImageError) as exc:
                log.info("could not allow %s: %s", url, exc)
                continue
            await self.service.allow(guild_id, fp, added_by)
            allowed += 1
        return allowed

    async def _indexed(self, post: Post) -> GuildSettings | None:
        """The guild's settings when the post is one seenit indexes, else None."""
        settings = await self.service.settings(post.guild_id)
        if post.by_me or (post.by_bot and settings.ignore_bots):
            return None
        if not settings.is_watched(post.channel_id, post.parents):
            return None
        return settings

    async def ingest(
        self, post: Post, *, alert: AlertSink | None = None, local_stage: bool | None = None
    ) -> list[SlotOutcome]:
        """Fingerprint and store a post's images; call ``alert`` when it repeats earlier posts.

        ``local_stage`` (default: whether there is an ``alert``) looks for crops and captions
        too: a catch-up, which never alerts, skips that search.
        """
        settings = await self._indexed(post)
        if settings is None or not post.media:
            return []
        prints = await self.fingerprints(post.media)
        if not prints:
            return []
        outcomes = await self.service.ingest(
            post.context,
            [(p.slot, p.fingerprint) for p in prints],
            local_stage=alert is not None if local_stage is None else local_stage,
        )
        if alert is not None:
            await self._alert(post, settings, outcomes, prints, alert)
        return outcomes

    @staticmethod
    async def _alert(
        post: Post,
        settings: GuildSettings,
        outcomes: Sequence[SlotOutcome],
        prints: Sequence[Printed],
        alert: AlertSink,
    ) -> None:
        matches = merged(o.alert for o in outcomes)
        if not matches:
            return
        first = next(o.slot for o in outcomes if o.alert)
        image = next(p.data for p in prints if p.slot == first)
        await alert(Repost(post, settings, matches, image))

    # live posts

    async def posted(self, post: Post, channel: Channel | None, alert: AlertSink) -> None:
        """A message was just posted: index it (after what its channel missed) and alert.

        In a flood, or while the database is away, the message is shed and read again from
        history later. Errors are logged: the next message is handled either way.
        """
        self.track()
        # Pending before catching up: a catch-up reading history meanwhile leaves it to us.
        pending = self._pending.setdefault(post.channel_id, set())
        pending.add(post.message_id)
        try:
            if channel is not None:
                await self._ensure_caught_up(channel, post.message_id)
            async with self.gate.slot(post.guild_id), self.one_at_a_time(post.message_id):
                outcomes = await self.ingest(post, alert=alert)
            if outcomes:
                await self._mark_seen(post, pending)
        except Shed:
            self._note_shed(post)
        except StoreError as exc:
            # The database is away (a restart, say): read the message again from history.
            log.warning(
                "database unavailable, message %s will be caught up: %s", post.message_id, exc
            )
            self._note_shed(post)
        except Exception:
            log.exception("could not process message %s", post.message_id)
        finally:
            pending.discard(post.message_id)
            if not pending and self._pending.get(post.channel_id) is pending:
                del self._pending[post.channel_id]

    async def _ensure_caught_up(self, channel: Channel, before: int) -> None:
        """Before the first live message of a channel in a session, index what it missed.

        Done here (and not only at ready) so the cursor never moves past messages that were
        posted while the bot was away.
        """
        if channel.id in self._fresh:
            return
        lock = self._channel_locks.setdefault(channel.id, asyncio.Lock())
        async with lock:
            if channel.id in self._fresh:
                return
            cursor: int | None = None
            try:
                cursor = await self.service.cursor(channel.id)
                if cursor is not None:
                    await self.catch_up_channel(
                        channel, cursor, limit=self.catchup_limit, before=before
                    )
            except (HistoryUnavailable, StoreError) as exc:
                log.warning("could not catch up channel %d: %s", channel.id, exc)
                if cursor is not None:
                    # What the channel missed stays owed: the cursor must not move past it
                    # with the live messages, and the shed round reads it when it can.
                    self._owe(channel.guild_id, channel.id, cursor + 1)
                return
            self._fresh.add(channel.id)

    def session_started(self) -> None:
        """A new gateway connection may follow a gap: every channel is caught up again."""
        self._fresh.clear()

    async def _mark_seen(self, post: Post, pending: set[int]) -> None:
        """Move the channel's cursor, but never past a message still in flight or shed.

        Otherwise a crash would leave an older message unstored behind the cursor, and
        the catch-up after a restart starts after the cursor.
        """
        blockers = [m for m in pending if m != post.message_id]
        shed = self._shed.get(post.channel_id)
        if shed is not None:
            blockers.append(shed[1])
        if blockers and min(blockers) < post.message_id:
            return  # an older message is unfinished: it moves the cursor when it is done
        await self.service.mark_seen(post.guild_id, post.channel_id, post.message_id)

    def _owe(self, guild_id: int, channel_id: int, message_id: int) -> None:
        """Remember that a channel's messages from ``message_id`` on must be read again."""
        _, oldest = self._shed.get(channel_id, (guild_id, message_id))
        self._shed[channel_id] = (guild_id, min(oldest, message_id))

    def _note_shed(self, post: Post) -> None:
        self._owe(post.guild_id, post.channel_id, post.message_id)
        if self.gate.shed % 100 == 1:
            log.warning(
                "flood: %d messages shed so far; they are caught up from history shortly",
                self.gate.shed,
            )

    # edits and deletions

    async def edited(self, post: Post, before: Post | None, alert: AlertSink) -> list[AlertRecord]:
        """Index the images an edit or a link preview added (alerting on reposts) and forget
        at once the ones it removed. Returns the alerts to take down with the images."""
        self.track()
        try:
            async with self.one_at_a_time(post.message_id):
                return await self._edited(post, before, alert)
        except StoreError as exc:
            log.warning("database unavailable, edit of %s not handled: %s", post.message_id, exc)
        except Exception:
            log.exception("could not handle the edit of message %s", post.message_id)
        return []

    async def _edited(self, post: Post, before: Post | None, alert: AlertSink) -> list[AlertRecord]:
        settings = await self._indexed(post)
        if settings is None:
            return []
        if before is not None and shown_media(before.media) == shown_media(post.media):
            return []  # the text changed, not the pictures
        stored = await self.service.images_in_message(post.guild_id, post.message_id)
        slots = {r.slot for r in post.media}
        if slots == {s.slot for s in stored} and all(slot < EMBED_SLOT for slot in slots):
            return []  # members can remove attachments but never add or swap them
        prints = await self.fingerprints(post.media)
        forgotten, outcomes = await self.service.message_edited(
            post.context,
            [(p.slot, p.fingerprint) for p in prints],
            complete=len(prints) == len(post.media),
        )
        stale: list[AlertRecord] = []
        if forgotten:
            log.info("forgot %d images an edit removed from message %s", forgotten, post.message_id)
            if not post.media and settings.delete_alert_with_message:
                stale = await self._alerts_in(post.channel_id, [post.message_id])
        # One alert per message: an edit never alerts again on a message already answered.
        if merged(o.alert for o in outcomes) and not await self.service.alerts_for_message(
            post.message_id
        ):
            await self._alert(post, settings, outcomes, prints, alert)
        return stale

    async def _alerts_in(self, channel_id: int, message_ids: Sequence[int]) -> list[AlertRecord]:
        """The alerts seenit posted in a channel about these messages."""
        found: list[AlertRecord] = []
        for message_id in message_ids:
            for alert in await self.service.alerts_for_message(message_id):
                if alert.alert_message_id and alert.alert_channel_id == channel_id:
                    found.append(alert)
        return found

    async def deleted(
        self, guild_id: int | None, channel_id: int, message_ids: list[int]
    ) -> list[AlertRecord]:
        """Forget deleted messages; returns the alerts about them to take down too."""
        self.track()
        try:
            await self.service.forget_messages(guild_id, message_ids)
            if guild_id is None:
                return []
            settings = await self.service.settings(guild_id)
            if not settings.delete_alert_with_message:
                return []
            return await self._alerts_in(channel_id, message_ids)
        except Exception:
            log.exception("could not forget %d messages", len(message_ids))
            return []

    async def purge_departed(self) -> None:
        """Delete the data of guilds seenit left longer ago than the grace period."""
        await self.service.purge_departed(int(self.guild_grace_days * DAY_MS))

    # catch-up

    async def catch_up_missed(self, channel: Channel, *, before: int | None = None) -> int:
        """Index what a channel got after its cursor (and before ``before``), without alerts."""
        cursor = await self.service.cursor(channel.id)
        if cursor is None:
            return 0
        return await self.catch_up_channel(channel, cursor, limit=self.catchup_limit, before=before)

    async def catch_up_guild(self, guild_id: int, find: FindChannel) -> int:
        """Index what was posted in a guild's watched channels while the bot was away."""
        if self.catchup_limit <= 0:
            return 0
        cursors = await self.service.cursors(guild_id)
        settings = await self.service.settings(guild_id)
        indexed = 0
        for channel_id, last_seen in cursors.items():
            channel = find(guild_id, channel_id)
            if channel is None or channel_id in self._fresh:
                continue
            if not settings.is_watched(channel_id, channel.parents):
                continue
            lock = self._channel_locks.setdefault(channel_id, asyncio.Lock())
            async with lock:
                if channel_id in self._fresh:
                    continue
                indexed += await self.catch_up_channel(channel, last_seen, limit=self.catchup_limit)
                self._fresh.add(channel_id)
        if indexed:
            log.info("caught up %d images in guild %d", indexed, guild_id)
        return indexed

    async def catch_up_guilds(self, guild_ids: Iterable[int], find: FindChannel) -> None:
        """Catch up several guilds, one after another (a shard's, after it identified)."""
        self.track()
        async with self.catch_up_lock:
            for guild_id in guild_ids:
                try:
                    await self.catch_up_guild(guild_id, find)
                except Exception:
                    log.exception("catch-up failed for guild %d", guild_id)

    async def catch_up_shed(self, find: FindChannel) -> int:
        """Read again from history the messages shed in a flood; returns images indexed."""
        indexed = 0
        for channel_id, entry in list(self._shed.items()):
            guild_id, oldest = entry
            channel = find(guild_id, channel_id)
            if channel is None:
                del self._shed[channel_id]
                continue
            try:
                indexed += await self.catch_up_channel(channel, oldest - 1, limit=MAX_WAITING)
            except (HistoryUnavailable, StoreError) as exc:
                log.warning("could not catch up channel %d: %s", channel_id, exc)
                continue
            # Keep the entry if more was shed meanwhile: the next round reads from there.
            if self._shed.get(channel_id) == entry:
                del self._shed[channel_id]
        return indexed

    async def catch_up_channel(
        self, channel: Channel, after_id: int, *, limit: int, before: int | None = None
    ) -> int:
        """Index a channel's messages after ``after_id`` (and before ``before``), oldest first,
        without alerts."""
        if limit <= 0 or not channel.may_read_history():
            return 0
        indexed = 0
        async for post in channel.history(limit=limit, after=after_id, before=before):
            live = self._pending.get(channel.id, set())
            if post.message_id in live:
                continue  # arrived live meanwhile: indexed there, with its alert
            async with self.one_at_a_time(post.message_id):
                outcomes = await self.ingest(post)
            indexed += sum(1 for o in outcomes if o.stored is not None)
            if outcomes and not any(m < post.message_id for m in live):
                await self.service.mark_seen(channel.guild_id, channel.id, post.message_id)
        return indexed
