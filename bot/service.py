"""Orchestration: bytes -> fingerprint (off the loop) -> index -> store -> matches.

The service knows guilds, channels, messages and authors only as integers; it never
imports discord. Cogs call it and render what it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.clips import (
    ClipFingerprint,
    clip_query_hashes,
    judge_fingerprints,
    stored_clip_of,
    verify_media,
)
from bot.config import DEFAULTS
from bot.gaps import Exists, Gaps, still_there
from bot.guild_settings import GuildSettings
from bot.hashing import Fingerprint
from bot.hashing_pool import Hasher
from bot.index import HammingIndex, build_main
from bot.local import LocalIndex
from bot.local import index as local_index
from bot.local.features import MAGIC_V1
from bot.matching import (
    LOCAL_CANDIDATES,
    Match,
    PostContext,
    Thresholds,
    Verdict,
    alert_worthy,
    author_exempt,
    has_caption,
    is_allowlisted,
    is_rejected,
    judge_pair,
    mark_templates,
    query_hashes,
    refute,
    refute_checked,
    searchable,
    template_checked,
    thresholds_for,
    verify,
    verify_local,
)
from bot.records import (
    DAY_MS,
    AlertRecord,
    AllowedImage,
    GuildStats,
    ImageRecord,
    MemberForgotten,
    NewImage,
)
from bot.store import Store

log = logging.getLogger(__name__)

DEPARTED_KEY = "guilds_left"
#: A thorough search (/findsimilar) runs the local stage too when the global stage finds
#: fewer than this many earlier posts; an incoming message only when it finds none.
THOROUGH_BELOW = 10


def _departed_from(raw: str | None) -> dict[int, int]:
    """The stored departed guilds (guild id -> when the bot left, in ms)."""
    return {int(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


#: Most bits two fingerprints of one picture differ by when fetched twice (a proxy may
#: re-encode it): within this they are the same image, not an edit.
SAME_IMAGE_BITS = 8


def _same_image(
    row: ImageRecord, candidates: Sequence[tuple[int, Fingerprint]]
) -> tuple[int, Fingerprint] | None:
    """The candidate showing the stored image ``row`` (the closest), or None."""
    stored = int.from_bytes(row.phash256, "big")
    best: tuple[int, tuple[int, Fingerprint]] | None = None
    for candidate in candidates:
        bits = (stored ^ int.from_bytes(candidate[1].phash256, "big")).bit_count()
        if bits <= SAME_IMAGE_BITS and (best is None or bits < best[0]):
            best = (bits, candidate)
    return None if best is None else best[1]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    """What happened to one image of a posted message."""

    slot: int
    fingerprint: Fingerprint
    #: The stored row, or None when this image was stored before (a replayed event).
    stored: ImageRecord | None
    #: Earlier posts this image repeats, best first, before the guild's alert filters.
    matches: tuple[Match, ...]
    #: The matches an alert should show (filters applied); empty means no alert.
    alert: tuple[Match, ...]
    #: The image was stored before without local features, and has them now.
    refreshed: bool = False


@dataclass(frozen=True, slots=True)
class GuildIndexes:
    """A guild's two in-memory indexes: global hashes and local visual words."""

    hamming: HammingIndex
    local: LocalIndex


def _build_indexes(
    ids: npt.NDArray[np.int64],
    hashes: npt.NDArray[np.int64],
    local_ids: list[int],
    words: list[bytes],
) -> GuildIndexes:
    hamming = HammingIndex.from_arrays(ids, hashes)
    local = LocalIndex()
    local.load(zip(local_ids, words, strict=True))
    return GuildIndexes(hamming, local)


class SeenService:
    """The core of seenit, shared by the bot and its commands."""

    def __init__(
        self,
        store: Store,
        hasher: Hasher,
        *,
        max_cached_guilds: int = DEFAULTS.max_cached_guilds,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.clock = clock
        self.max_cached_guilds = max_cached_guilds
        self._indexes: OrderedDict[int, GuildIndexes] = OrderedDict()
        self._loading: dict[int, asyncio.Lock] = {}
        self._settings: dict[int, GuildSettings] = {}
        self._allowed: dict[int, list[AllowedImage]] = {}
        self._allowed_generation = 0
        self._not_reposts: dict[int, list[tuple[int, bytes]]] = {}
        self._not_reposts_generation = 0
        self._merges: set[asyncio.Task[None]] = set()
        #: Where deletions may have been missed (a new session, a channel out of sight).
        self.gaps = Gaps()

    # indexes

    async def index(self, guild_id: int) -> HammingIndex:
        """The guild's Hamming index, loaded from the store on first use."""
        return (await self.indexes(guild_id)).hamming

    async def indexes(self, guild_id: int) -> GuildIndexes:
        """The guild's indexes, loaded from the store on first use (least recently used go)."""
        found = self._indexes.get(guild_id)
        if found is not None:
            self._indexes.move_to_end(guild_id)
            return found
        lock = self._loading.setdefault(guild_id, asyncio.Lock())
        async with lock:
            found = self._indexes.get(guild_id)
            if found is None:
                started = time.perf_counter()
                ids, hashes = await self.store.load_hashes(guild_id)
                clip_ids, clip_hashes = await self.store.load_clip_hashes(guild_id)
                if len(clip_ids):
                    # A clip's sampled frames are entries of the index under the clip's id.
                    ids = np.concatenate([ids, clip_ids])
                    hashes = np.concatenate([hashes, clip_hashes])
                local_ids, words = await self.store.load_local_words(guild_id)
                # Building the tables of a large guild takes seconds: off the event loop.
                found = await asyncio.to_thread(_build_indexes, ids, hashes, local_ids, words)
                found.hamming.defer_merges = True
                found.local.defer_merges = True
                log.info(
                    "loaded %d images (%d with local features) of guild %d in %.0f ms",
                    len(found.hamming),
                    len(found.local),
                    guild_id,
                    (time.perf_counter() - started) * 1000,
                )
                self._indexes[guild_id] = found
                while len(self._indexes) > self.max_cached_guilds:
                    evicted, _ = self._indexes.popitem(last=False)
                    log.debug("dropped the index of guild %d from memory", evicted)
        return found

    def _merge_if_due(self, index: HammingIndex) -> None:
        """Fold recent inserts into the index's tables in a worker thread when it is time."""
        if not index.merge_due():
            return
        ids, hashes, consumed = index.begin_merge()

        async def merge() -> None:
            try:
                main = await asyncio.to_thread(build_main, ids, hashes)
            except BaseException:
                index.abort_merge()
                raise
            index.finish_merge(main, consumed)

        task = asyncio.create_task(merge(), name="seenit-index-merge")
        self._merges.add(task)
        task.add_done_callback(self._merges.discard)

    def _merge_local_if_due(self, index: LocalIndex) -> None:
        """Fold the local index's recent inserts (and removals) in, in a worker thread."""
        if not index.merge_due():
            return
        job = index.begin_merge()

        async def merge() -> None:
            try:
                main = await asyncio.to_thread(local_index.build_main, job)
            except BaseException:
                index.abort_merge()
                raise
            index.finish_merge(main)

        task = asyncio.create_task(merge(), name="seenit-local-index-merge")
        self._merges.add(task)
        task.add_done_callback(self._merges.discard)

    async def wait_for_merges(self) -> None:
        """Let index merges in progress finish (tests, shutdown)."""
        while self._merges:
            await asyncio.gather(*self._merges, return_exceptions=True)

    def loaded_guilds(self) -> list[int]:
        return list(self._indexes)

    # settings

    async def settings(self, guild_id: int) -> GuildSettings:
        cached = self._settings.get(guild_id)
        if cached is None:
            loaded = await self.store.get_settings(guild_id)
            # A save that landed while this read was in flight is newer: keep it.
            cached = self._settings.setdefault(guild_id, loaded)
        return cached

    async def save_settings(self, guild_id: int, settings: GuildSettings) -> None:
        await self.store.save_settings(guild_id, settings)
        self._settings[guild_id] = settings

    # hashing and search

    async def fingerprint(self, data: bytes) -> Fingerprint:
        """Fingerprint bytes off the event loop; raises ImageError when unusable."""
        return await self.hasher.fingerprint(data)

    async def search(
        self,
        guild_id: int,
        query: Fingerprint,
        rule: Thresholds | None = None,
        *,
        thorough: bool = False,
        templates: bool = False,
        local_stage: bool = True,
    ) -> list[Match]:
        """Every stored image of the guild the rule calls a repost of ``query``, best first.

        The global hashes first; the local stage (crops, small rotations, captions,
        screenshots) when they find nothing, or with ``thorough`` when they find few.
        ``templates`` adds the stored images that show the same picture under another
        caption (their verdict says ``template``), after the reposts. Without
        ``local_stage`` only the global hashes are searched.
        """
        if rule is None:
            rule = thresholds_for(await self.settings(guild_id))
        if not searchable(query, rule):
            return []
        indexes = await self.indexes(guild_id)
        hits = indexes.hamming.search(query_hashes(query) + clip_query_hashes(query), rule.radius64)
        matches: list[Match] = []
        if hits:
            ids = [h.image_id for h in hits]
            candidates = await self.store.get_images(ids)
            clips = await self.store.clips(ids)
            if not clips and not isinstance(query, ClipFingerprint):
                matches = verify(query, candidates, rule)
            else:
                matches = verify_media(query, candidates, clips, rule)
        if isinstance(query, ClipFingerprint):
            return matches  # the local stage compares still images only
        blobs: dict[int, bytes] = {}
        if matches and has_caption(query):
            # Two captioned images alike on the whole may be one picture with two captions.
            assert query.local is not None
            judged = template_checked(matches)
            blobs = await self.store.local_features([m.image.id for m in judged])
            matches = await asyncio.to_thread(mark_templates, query.local, matches, blobs)
        judged = refute_checked(matches) if query.local is not None else []
        if judged:
            # A watermark stamped on two smooth pictures can bring their global hashes
            # together; the local stage lines them up and may show different pictures.
            assert query.local is not None
            missing = [m.image.id for m in judged if m.image.id not in blobs]
            if missing:
                blobs = {**blobs, **await self.store.local_features(missing)}
            matches = await asyncio.to_thread(refute, query.local, matches, blobs)
        reposts = [m for m in matches if not m.verdict.template]
        wanted = THOROUGH_BELOW if thorough else 1
        if local_stage and query.local is not None and len(reposts) < wanted:
            matches += await self._search_local(guild_id, indexes.local, query, rule, matches)
        if templates:
            return [m for m in matches if not m.verdict.template] + [
                m for m in matches if m.verdict.template
            ]
        return [m for m in matches if not m.verdict.template]

    async def _search_local(
        self,
        guild_id: int,
        local: LocalIndex,
        query: Fingerprint,
        rule: Thresholds,
        known: Sequence[Match],
    ) -> list[Match]:
        """The local stage: the local index's candidates, verified on their stored features."""
        assert query.local is not None
        seen = {m.image.id for m in known}
        ids = [i for i in local.query(query.local, LOCAL_CANDIDATES) if i not in seen]
        if not ids:
            return []
        records = {
            r.id: r
            for r in await self.store.get_images(ids)
            if r.guild_id == guild_id and r.quality >= rule.min_quality
        }
        blobs = await self.store.local_features(list(records))
        candidates = [(records[i], blobs[i]) for i in ids if i in records and i in blobs]
        return await asyncio.to_thread(verify_local, query.local, candidates)

    async def compare(self, query: Fingerprint, stored: Fingerprint, rule: Thresholds) -> Verdict:
        """The decision on two fingerprints (the "Why?" of an alert), off the event loop:
        both stages for images, the clip rule when either is a clip."""
        if isinstance(query, ClipFingerprint) or isinstance(stored, ClipFingerprint):
            return await asyncio.to_thread(judge_fingerprints, query, stored, rule)
        return await asyncio.to_thread(judge_pair, query, stored, rule)

    async def ingest(
        self,
        post: PostContext,
        images: Sequence[tuple[int, Fingerprint]],
        *,
        local_stage: bool = True,
    ) -> list[SlotOutcome]:
        """Record a message's images and say which of them repeat earlier posts.

        Without ``local_stage`` only the global hashes are searched (the images are still
        stored with their local features): for history indexed without alerts.
        """
        settings = await self.settings(post.guild_id)
        rule = thresholds_for(settings)
        indexes = await self.indexes(post.guild_id)
        allowed = await self._allowlist(post.guild_id)
        rejected = await self._rejected(post.guild_id)
        exempt = author_exempt(post, settings)
        outcomes: list[SlotOutcome] = []
        for slot, fp in images:
            matches = await self.search(
                post.guild_id,
                fp,
                rule,
                templates=settings.templates == "alert",
                local_stage=local_stage,
            )
            matches = [
                m
                for m in matches
                if m.image.message_id != post.message_id and not is_rejected(fp, m, rejected, rule)
            ]
            stored = await self.store.add_images([self._new_image(post, slot, fp)])
            record = stored[0] if stored else None
            refreshed = False
            if record is not None:
                indexes.hamming.add(record.id, record.phash64)
                if isinstance(fp, ClipFingerprint):
                    await self.store.add_clip(post.guild_id, stored_clip_of(fp, record.id))
                    for frame in fp.frames:
                        indexes.hamming.add(record.id, frame.phash64)
                elif fp.local is not None:
                    indexes.local.add(record.id, fp.local.words)
                    self._merge_local_if_due(indexes.local)
                self._merge_if_due(indexes.hamming)
            else:
                refreshed = await self._refresh_stored(post, slot, fp, indexes.local)
            if record is None or exempt or is_allowlisted(fp, allowed, rule):
                # A replayed event (already stored) never alerts twice.
                alert: list[Match] = []
            else:
                alert = alert_worthy(matches, post, settings)
            outcomes.append(SlotOutcome(slot, fp, record, tuple(matches), tuple(alert), refreshed))
        return outcomes

    async def images_in_message(self, guild_id: int, message_id: int) -> list[ImageRecord]:
        return await self.store.images_in_message(guild_id, message_id)

    async def image(self, image_id: int) -> ImageRecord | None:
        """A stored image by id (None: forgotten)."""
        found = await self.store.get_images([image_id])
        return found[0] if found else None

    async def message_edited(
        self,
        post: PostContext,
        current: Sequence[tuple[int, Fingerprint]],
        *,
        complete: bool = True,
    ) -> tuple[int, list[SlotOutcome]]:
        """Bring a message's stored images in line with what it shows after an edit.

        ``current`` is (slot, fingerprint) of every image the message shows now. Stored
        images it no longer shows are forgotten at once; images it newly shows (a link
        preview, say) are recorded like a new post's and their outcomes returned. Images
        are recognised by their fingerprint, since removing one renumbers the slots of the
        others. When ``complete`` is false (an image could not be read) nothing is forgotten.
        Returns how many images were forgotten, and the new images' outcomes.
        """
        stored = await self.store.images_in_message(post.guild_id, post.message_id)
        unmatched = list(current)
        gone: list[int] = []
        moved: dict[int, int] = {}
        for row in stored:
            twin = _same_image(row, unmatched)
            if twin is None:
                gone.append(row.id)
                continue
            unmatched.remove(twin)
            if twin[0] != row.slot:
                moved[row.id] = twin[0]
        if not complete:
            # Only add images whose slot no stored image holds; forget nothing.
            taken = {row.slot for row in stored}
            unmatched = [c for c in unmatched if c[0] not in taken]
            gone, moved = [], {}
        deleted = await self.store.edit_images(post.guild_id, gone, moved) if gone or moved else []
        self._drop(post.guild_id, deleted)
        outcomes = await self.ingest(post, unmatched) if unmatched else []
        return len(deleted), outcomes

    async def _refresh_stored(
        self, post: PostContext, slot: int, fp: Fingerprint, local: LocalIndex
    ) -> bool:
        """What a scan reading a stored image again gives it, if it was stored by an older
        seenit: its colour, its local features, its detail score; whether it got any."""
        coloured = fp.colour is not None and await self.store.add_colour(
            post.guild_id, post.message_id, slot, fp.colour
        )
        if isinstance(fp, ClipFingerprint):
            return coloured
        requalified = await self.store.requalify(post.guild_id, post.message_id, slot, fp.quality)
        if fp.local is None:
            return coloured or requalified
        return await self._refresh_local(post, slot, fp, local) or coloured or requalified

    async def _refresh_local(
        self, post: PostContext, slot: int, fp: Fingerprint, local: LocalIndex
    ) -> bool:
        """Give an image stored before local features existed its features (a scan read it
        again), or the current format of them (colour came later); False when it had them
        already."""
        assert fp.local is not None
        words = fp.local.words
        added = await self.store.add_local_features(
            post.guild_id,
            [(post.message_id, slot, fp.local.to_bytes(), words)],
            stale=MAGIC_V1,
        )
        for image_id in added:
            local.add(image_id, words)
        self._merge_local_if_due(local)
        return bool(added)

    async def mark_seen(self, guild_id: int, channel_id: int, message_id: int) -> None:
        """Every message of the channel up to this one is handled: catch-up starts after it."""
        await self.store.advance_cursor(guild_id, channel_id, message_id)

    async def cursor(self, channel_id: int) -> int | None:
        """The last message of the channel handled in order (None: never read)."""
        return await self.store.get_cursor(channel_id)

    async def cursors(self, guild_id: int) -> dict[int, int]:
        """Channel id -> the last message handled in order, for every channel of a guild."""
        return await self.store.cursors(guild_id)

    async def messages_in_channel(self, channel_id: int, *, before: int) -> list[int]:
        """Ids of the stored messages of a channel older than ``before``, newest first."""
        return await self.store.messages_in_channel(channel_id, before=before)

    @staticmethod
    def _new_image(post: PostContext, slot: int, fp: Fingerprint) -> NewImage:
        local = None if isinstance(fp, ClipFingerprint) else fp.local
        return NewImage(
            guild_id=post.guild_id,
            channel_id=post.channel_id,
            message_id=post.message_id,
            author_id=post.author_id,
            slot=slot,
            posted_at=post.posted_at,
            phash64=fp.phash64,
            phash256=fp.phash256,
            quality=fp.quality,
            local_data=local.to_bytes() if local is not None else None,
            local_words=local.words if local is not None else None,
            colour=fp.colour,
        )

    # deletions

    def _drop(self, guild_id: int | None, image_ids: Sequence[int]) -> None:
        if not image_ids:
            return
        if guild_id is None:
            targets = list(self._indexes.values())
        else:
            found = self._indexes.get(guild_id)
            targets = [found] if found is not None else []
        for indexes in targets:
            indexes.hamming.remove(image_ids)
            for image_id in image_ids:
                indexes.local.remove(image_id)
            self._merge_if_due(indexes.hamming)
            self._merge_local_if_due(indexes.local)

    async def forget_messages(self, guild_id: int | None, message_ids: Sequence[int]) -> int:
        """Remove the images of deleted messages; returns how many images went."""
        deleted = await self.store.delete_messages(guild_id, message_ids)
        self._drop(guild_id, deleted)
        return len(deleted)

    async def still_there(
        self,
        guild_id: int,
        matches: Sequence[Match],
        shown: Callable[[list[Match]], Sequence[Match]],
        exists: Exists,
    ) -> list[Match]:
        """``matches`` without posts found deleted among those about to be shown (see gaps)."""
        kept, gone = await still_there(matches, shown, self.gaps, exists)
        if gone:
            log.info("forgetting %d messages deleted while seenit was not looking", len(gone))
            await self.forget_messages(guild_id, gone)
        return kept

    async def forget_channel(self, guild_id: int, channel_id: int) -> int:
        deleted = await self.store.delete_channel(channel_id)
        self._drop(guild_id, deleted)
        return len(deleted)

    async def forget_author(self, guild_id: int, author_id: int) -> int:
        """Forget a member's images in a guild (see :meth:`forget_member` for everything)."""
        return len((await self.forget_member(guild_id, author_id)).images)

    async def forget_member(self, guild_id: int, user_id: int) -> MemberForgotten:
        """Delete everything seenit keeps about a member in a guild.

        Their images, the alerts where they posted the repost or the earlier image, their
        exemption, and their id on the allowlist and "not a repost" entries.
        """
        report = await self.store.forget_member(guild_id, user_id)
        self._drop(guild_id, report.images)
        self._settings.pop(guild_id, None)
        self._allowed_generation += 1
        self._allowed.pop(guild_id, None)
        self._not_reposts_generation += 1
        self._not_reposts.pop(guild_id, None)
        return report

    async def forget_guild(self, guild_id: int) -> int:
        count = await self.store.delete_guild(guild_id)
        self._indexes.pop(guild_id, None)
        self._settings.pop(guild_id, None)
        self._allowed.pop(guild_id, None)
        self._not_reposts.pop(guild_id, None)
        return count

    # guilds the bot left

    async def _departed(self) -> dict[int, int]:
        return _departed_from(await self.store.get_meta(DEPARTED_KEY))

    async def _update_departed(self, change: Callable[[dict[int, int]], object]) -> None:
        """Apply ``change`` to the departed guilds in one atomic read-modify-write."""

        def update(raw: str | None) -> str:
            departed = _departed_from(raw)
            change(departed)
            return json.dumps({str(k): v for k, v in departed.items()})

        await self.store.update_meta(DEPARTED_KEY, update)

    async def guild_left(self, guild_id: int) -> None:
        """The bot left a guild: its data goes after the grace period unless it comes back."""
        left_at = self.clock()
        await self._update_departed(lambda departed: departed.setdefault(guild_id, left_at))
        self._indexes.pop(guild_id, None)

    async def guild_returned(self, guild_id: int) -> None:
        await self._update_departed(lambda departed: departed.pop(guild_id, None))

    async def purge_departed(self, grace_ms: int) -> list[int]:
        """Delete the data of guilds left more than ``grace_ms`` ago; returns their ids."""
        departed = await self._departed()
        now = self.clock()
        due = {g: left for g, left in departed.items() if now - left >= grace_ms}
        for guild_id, left in due.items():
            count = await self.forget_guild(guild_id)
            log.info(
                "deleted %d images of guild %d, left %d days ago",
                count,
                guild_id,
                (now - left) // DAY_MS,
            )

        def done(current: dict[int, int]) -> None:
            for guild_id, left in due.items():
                # Only the departure that was purged: a later leave starts its own grace.
                if current.get(guild_id) == left:
                    del current[guild_id]

        if due:
            await self._update_departed(done)
        return list(due)

    # alerts, allowlist, stats

    async def record_alert(self, alert: AlertRecord) -> int:
        return await self.store.record_alert(alert)

    async def alert_posted(self, alert_id: int, channel_id: int, message_id: int) -> bool:
        return await self.store.alert_posted(alert_id, channel_id, message_id)

    async def alerts_for_message(self, message_id: int) -> list[AlertRecord]:
        return await self.store.alerts_for_message(message_id)

    async def _allowlist(self, guild_id: int) -> list[AllowedImage]:
        cached = self._allowed.get(guild_id)
        if cached is None:
            generation = self._allowed_generation
            cached = await self.store.allowed_images(guild_id)
            if generation == self._allowed_generation:  # no change landed meanwhile
                self._allowed[guild_id] = cached
        return cached

    async def allow(self, guild_id: int, fp: Fingerprint, added_by: int) -> AllowedImage:
        allowed = await self.store.allow_image(guild_id, fp.phash64, fp.phash256, added_by)
        self._allowed_generation += 1
        self._allowed.pop(guild_id, None)
        return allowed

    async def _rejected(self, guild_id: int) -> list[tuple[int, bytes]]:
        cached = self._not_reposts.get(guild_id)
        if cached is None:
            generation = self._not_reposts_generation
            cached = await self.store.not_reposts(guild_id)
            # A click that landed while this read was in flight is not in it: keep no copy.
            if generation == self._not_reposts_generation:
                self._not_reposts[guild_id] = cached
        return cached

    async def not_a_repost(
        self, guild_id: int, image_id: int, query: Fingerprint, added_by: int
    ) -> None:
        """Remember that ``query`` (and images like it) is not a repost of ``image_id``."""
        await self.store.add_not_repost(guild_id, image_id, query.phash256, added_by)
        self._not_reposts_generation += 1
        self._not_reposts.pop(guild_id, None)

    async def stats(self, guild_id: int) -> GuildStats:
        return await self.store.stats(guild_id, self.clock())

    # seenit's own state (command hashes, scans in progress)

    async def get_meta(self, key: str) -> str | None:
        return await self.store.get_meta(key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.store.set_meta(key, value)

    async def update_meta(self, key: str, change: Callable[[str | None], str | None]) -> None:
        """Replace a value by ``change(value)`` in one atomic read-modify-write."""
        await self.store.update_meta(key, change)
