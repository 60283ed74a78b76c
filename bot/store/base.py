"""The store interface every database engine implements, and what engines share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np
import numpy.typing as npt

from bot.clips import FRAME_STRUCT, StoredClip, unpack_frames
from bot.guild_settings import GuildSettings
from bot.index import to_unsigned
from bot.records import (
    WEEK_MS,
    AlertRecord,
    AllowedImage,
    GuildStats,
    ImageRecord,
    MemberForgotten,
    NewImage,
)

#: The images columns in the order :func:`image_from_row` reads them, for every engine.
IMAGE_COLUMNS = (
    "id, guild_id, channel_id, message_id, author_id, slot, posted_at, phash64, phash256, quality,"
    " colour"
)


def image_from_row(row: Sequence[Any]) -> ImageRecord:
    """A row selected with :data:`IMAGE_COLUMNS` -> an ImageRecord (hash back to unsigned)."""
    return ImageRecord(
        id=row[0],
        guild_id=row[1],
        channel_id=row[2],
        message_id=row[3],
        author_id=row[4],
        slot=row[5],
        posted_at=row[6],
        phash64=to_unsigned(row[7]),
        phash256=bytes(row[8]),
        quality=row[9],
        colour=None if row[10] is None else bytes(row[10]),
    )


#: The alerts columns in the order :func:`alert_from_row` reads them.
ALERT_COLUMNS = (
    "guild_id, channel_id, message_id, author_id, original_image_id,"
    " alert_channel_id, alert_message_id, created_at"
)


def alert_from_row(row: Sequence[Any]) -> AlertRecord:
    """A row selected with :data:`ALERT_COLUMNS` -> an AlertRecord."""
    return AlertRecord(*row)


#: The allowed_images columns in the order :func:`allowed_from_row` reads them.
ALLOWED_COLUMNS = "id, guild_id, phash64, phash256, added_by"


def allowed_from_row(row: Sequence[Any]) -> AllowedImage:
    """A row selected with :data:`ALLOWED_COLUMNS` -> an AllowedImage (hash back to unsigned)."""
    return AllowedImage(int(row[0]), int(row[1]), to_unsigned(row[2]), bytes(row[3]), int(row[4]))


#: Tables besides images that hold a guild_id column: emptied when a guild is deleted.
GUILD_TABLES = ("guild_settings", "channel_cursors", "alerts", "allowed_images", "not_reposts")

#: ``stats`` counts alerts per week over this many weeks, and lists this many top
#: reposters and most reposted images.
STATS_WEEKS = 12
STATS_TOP = 5


def stats_start(now_ms: int) -> int:
    """Start of the first week ``stats`` counts alerts in."""
    return now_ms - STATS_WEEKS * WEEK_MS


def guild_stats(
    *,
    images: int,
    alerts: int,
    reposters: Sequence[Sequence[Any]],
    reposted: Sequence[Sequence[Any]],
    originals: Sequence[ImageRecord],
    weeks: Sequence[Sequence[Any]],
    start: int,
) -> GuildStats:
    """Assemble GuildStats from the rows every engine selects the same way.

    ``reposters`` are (author id, alerts), ``reposted`` (original image id, alerts), both
    most first; ``weeks`` are (week number since ``start``, alerts), weeks without alerts
    missing; ``originals`` the images ``reposted`` names (deleted ones are left out).
    """
    by_id = {r.id: r for r in originals}
    per_week = dict.fromkeys(range(STATS_WEEKS), 0)
    for week, n in weeks:
        if 0 <= week < STATS_WEEKS:
            per_week[int(week)] = int(n)
    return GuildStats(
        images=images,
        alerts=alerts,
        top_reposters=tuple((int(a), int(n)) for a, n in reposters),
        most_reposted=tuple((by_id[int(i)], int(n)) for i, n in reposted if int(i) in by_id),
        weekly_alerts=tuple((start + w * WEEK_MS, n) for w, n in sorted(per_week.items())),
    )


#: Who ``added_by`` names once the member who added an entry asked to be forgotten.
NOBODY = 0


def without_exemption(data: str, user_id: int) -> str | None:
    """Stored guild settings with ``user_id`` off the exempt members, or None if not on it."""
    settings = GuildSettings.from_json(data)
    if user_id not in settings.exempt_users:
        return None
    return replace(settings, exempt_users=settings.exempt_users - {user_id}).to_json()


def clip_from_row(row: Sequence[Any]) -> StoredClip:
    """A clips row (image_id, kind, container, duration_ms, width, height, frames)."""
    return StoredClip(
        image_id=int(row[0]),
        kind=str(row[1]),
        container=str(row[2]),
        duration_ms=int(row[3]),
        width=int(row[4]),
        height=int(row[5]),
        frames=unpack_frames(bytes(row[6])),
    )


def clip_hashes(
    rows: Sequence[tuple[int, bytes]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(image id, packed frames) rows -> (ids, signed 64-bit frame hashes) for the index."""
    ids: list[npt.NDArray[np.int64]] = []
    hashes: list[npt.NDArray[np.int64]] = []
    for image_id, blob in rows:
        count = len(blob) // FRAME_STRUCT.size
        if not count:
            continue
        records = np.frombuffer(blob, dtype=FRAME_DTYPE, count=count)
        hashes.append(records["phash64"].astype(np.uint64).view(np.int64))
        ids.append(np.full(count, image_id, dtype=np.int64))
    if not ids:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    return np.concatenate(ids), np.concatenate(hashes)


#: numpy's view of one packed frame (see bot.clips.FRAME_STRUCT).
FRAME_DTYPE = np.dtype(
    [("t_ms", ">u4"), ("phash64", ">u8"), ("phash256", "V32"), ("quality", "u1")]
)

#: Columns of the clips table in the order :func:`clip_from_row` reads them.
CLIP_COLUMNS = "image_id, kind, container, duration_ms, width, height, frames"


class StoreError(Exception):
    """The database could not do what was asked."""


class Store(Protocol):
    """All persistent state of seenit. Every method is one transaction."""

    url: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def schema_version(self) -> int: ...

    # images
    async def add_images(self, images: Sequence[NewImage]) -> list[ImageRecord]:
        """Insert images; ones already stored (same guild, message, slot) are skipped."""
        ...

    async def get_images(self, image_ids: Sequence[int]) -> list[ImageRecord]: ...

    async def messages_in_channel(self, channel_id: int, before: int) -> list[int]:
        """Ids of the channel's messages with stored images, older than ``before``, newest first."""
        ...

    async def load_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(ids, signed 64-bit hashes) of a guild's images, in bulk."""
        ...

    async def count_images(self, guild_id: int) -> int: ...

    # local features: words for the in-memory index, the full features for verification
    async def load_local_words(self, guild_id: int) -> tuple[list[int], list[bytes]]:
        """(image ids, visual words) of a guild's images that have local features, by id."""
        ...

    async def local_features(self, image_ids: Sequence[int]) -> dict[int, bytes]:
        """Image id -> stored local features of those images that have them."""
        ...

    async def add_local_features(
        self,
        guild_id: int,
        features: Sequence[tuple[int, int, bytes, bytes]],
        stale: bytes = b"",
    ) -> list[int]:
        """Store (message id, slot, features, words) for stored images lacking them.

        Returns the ids of the images that got features; images that already had them, or
        that are not (or no longer) stored in this guild, are left alone, except that
        features stored in an older format (their blob starts with ``stale``, when given)
        are replaced (their words stay: a newer format adds to the blob, not to the words).
        """
        ...

    async def add_colour(self, guild_id: int, message_id: int, slot: int, colour: bytes) -> bool:
        """Give a stored image stored before seenit kept colour its colour thumbnail; False
        when it had one already or is not stored."""
        ...

    async def requalify(self, guild_id: int, message_id: int, slot: int, quality: int) -> bool:
        """Give a stored image the detail score the current seenit gives it (an older one
        scored a blank picture under a caption as a picture); False when it had that score
        already or is not stored."""
        ...

    # clips: one images row (a representative frame) plus the sampled frames' hashes
    async def add_clip(self, guild_id: int, clip: StoredClip) -> bool:
        """Store the frames of a clip whose image row is stored in the guild; False if not."""
        ...

    async def clips(self, image_ids: Sequence[int]) -> dict[int, StoredClip]:
        """Image id -> the clip, for those of the images that are clips."""
        ...

    async def load_clip_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(image ids, signed 64-bit hashes) of every sampled frame of a guild's clips."""
        ...

    async def images_in_message(self, guild_id: int, message_id: int) -> list[ImageRecord]:
        """A message's stored images, by slot."""
        ...

    async def delete_messages(self, guild_id: int | None, message_ids: Sequence[int]) -> list[int]:
        """Delete the images of these messages; returns the deleted image ids."""
        ...

    async def edit_images(
        self, guild_id: int, gone: Sequence[int], moved: Mapping[int, int]
    ) -> list[int]:
        """After a message edit: delete the images ``gone`` and give each image of ``moved``
        its new slot (image id -> slot); returns the ids deleted."""
        ...

    async def delete_channel(self, channel_id: int) -> list[int]:
        """Delete a channel's images and its cursor, in one transaction; returns the image ids."""
        ...

    async def delete_author(self, guild_id: int, author_id: int) -> list[int]: ...

    async def forget_member(self, guild_id: int | None, user_id: int) -> MemberForgotten:
        """Delete everything about a member in a guild (``None``: in every guild).

        Their images, the alerts where they posted the repost or the earlier image, their
        place on exemption lists, and their id on allowlist and "not a repost" entries
        (the entries stay: they belong to the server).
        """
        ...

    async def delete_guild(self, guild_id: int) -> int:
        """Delete everything stored for a guild; returns how many images went."""
        ...

    # settings and bookkeeping
    async def get_settings(self, guild_id: int) -> GuildSettings: ...

    async def save_settings(self, guild_id: int, settings: GuildSettings) -> None: ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def update_meta(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        """Replace a meta value by ``change(old)`` atomically (None deletes it); returns it.

        No other update of the key, in this process or another, runs in between. ``change``
        must be quick and pure: an engine may call it again on a retry.
        """
        ...

    async def get_cursor(self, channel_id: int) -> int | None:
        """Id of the newest message seen in a channel."""
        ...

    async def advance_cursor(self, guild_id: int, channel_id: int, message_id: int) -> None:
        """Record a message as seen; the cursor only ever moves forward."""
        ...

    async def cursors(self, guild_id: int) -> dict[int, int]: ...

    # alerts
    async def record_alert(self, alert: AlertRecord) -> int:
        """Record an alert (before it is posted: stats count it at once); returns its id."""
        ...

    async def alert_posted(self, alert_id: int, channel_id: int, message_id: int) -> bool:
        """Note where a recorded alert was posted; False when the alert is gone meanwhile
        (its author or the original's was forgotten while it was being posted)."""
        ...

    async def alerts_for_message(self, message_id: int) -> list[AlertRecord]:
        """The alerts raised for a message, in the order they were recorded."""
        ...

    async def stats(self, guild_id: int, now_ms: int) -> GuildStats:
        """Counts, top reposters, most reposted images, alerts per week up to ``now_ms``."""
        ...

    # allowlist
    async def allow_image(
        self, guild_id: int, phash64: int, phash256: bytes, added_by: int
    ) -> AllowedImage: ...

    async def allowed_images(self, guild_id: int) -> list[AllowedImage]: ...

    async def disallow_image(self, guild_id: int, allowed_id: int) -> bool: ...

    # feedback
    async def add_not_repost(
        self, guild_id: int, image_id: int, phash256: bytes, added_by: int
    ) -> None:
        """Record that an image resembling ``phash256`` is not a repost of ``image_id``."""
        ...

    async def not_reposts(self, guild_id: int) -> list[tuple[int, bytes]]:
        """(stored image id, 256-bit hash of the image wrongly matched to it) pairs."""
        ...

    async def integrity_check(self) -> bool: ...
