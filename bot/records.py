"""Plain records that travel between the store, the index and the service."""

from __future__ import annotations

from dataclasses import dataclass

#: Times in records are milliseconds since the Unix epoch; these are the spans seenit counts in.
DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class NewImage:
    """An image seen in a message, about to be stored."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    #: Position of the image within its message (attachments, then embeds, then stickers).
    slot: int
    #: When the message was posted, in milliseconds since the Unix epoch (UTC).
    posted_at: int
    phash64: int
    phash256: bytes
    quality: int
    #: Local features (``LocalFeatures.to_bytes()``), read back only to verify a candidate;
    #: None for low-texture images, which the global hashes alone describe.
    local_data: bytes | None = None
    #: The same features' visual words, loaded into the guild's in-memory local index.
    local_words: bytes | None = None
    #: The image's colour thumbnail (:func:`bot.local.tone.pack_colour`).
    colour: bytes | None = None


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """A stored image."""

    id: int
    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    slot: int
    posted_at: int
    phash64: int
    phash256: bytes
    quality: int
    #: The image's colour thumbnail; None for images stored before seenit kept it.
    colour: bytes | None = None

    @property
    def jump_url(self) -> str:
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_id}"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert seenit raised for a repost."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    original_image_id: int
    alert_channel_id: int | None
    alert_message_id: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class AllowedImage:
    """An image a guild allows to be posted again without alerts."""

    id: int
    guild_id: int
    phash64: int
    phash256: bytes
    added_by: int


@dataclass(frozen=True, slots=True)
class GuildStats:
    """Counts shown by the stats command."""

    images: int
    alerts: int
    #: (author id, reposts) most first.
    top_reposters: tuple[tuple[int, int], ...]
    #: (original image, times reposted) most first.
    most_reposted: tuple[tuple[ImageRecord, int], ...]
    #: (week start in ms, alerts that week), oldest first, the last 12 weeks.
    weekly_alerts: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class MemberForgotten:
    """What forgetting a member removed: their images and every trace of them elsewhere."""

    #: Ids of the member's images that were deleted.
    images: tuple[int, ...] = ()
    #: Alerts deleted because the member posted the repost or the earlier image.
    alerts: tuple[AlertRecord, ...] = ()
    #: Allowlist and "not a repost" entries that no longer say the member added them.
    added_by_cleared: int = 0
    #: Exemption lists (one per server) the member was taken off.
    exemptions: int = 0
