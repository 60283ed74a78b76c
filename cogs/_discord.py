"""Discord glue shared by the cogs: finding images in messages, visibility, embeds."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import discord

from bot import i18n, pictures
from bot.fetch import FetchError
from bot.gaps import Exists
from bot.hashing import ImageError
from bot.matching import Match, PostContext
from bot.pictures import MAX_SMALL, Tile
from bot.records import ImageRecord

if TYPE_CHECKING:
    from bot.client import SeenitBot

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".apng"})
COLOUR = discord.Colour(0x5865F2)
ALERT_COLOUR = discord.Colour(0xF0B232)
MESSAGE_LINK = re.compile(r"https?://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)")
COMPARISON_NAME = "comparison.webp"
STATS_NAME = "stats.webp"
#: Time allowed for fetching the earlier images and drawing the comparison.
PICTURE_SECONDS = 6.0
#: Slots of images found in embeds and stickers start here (attachments use 0..99).
EMBED_SLOT = 100
STICKER_SLOT = 200
#: Discord's limits, in characters, on a message's content, an embed's description and
#: one embed field's value.
MESSAGE_CONTENT_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An image in a message: its slot (stable position) and the Discord URL of its bytes."""

    slot: int
    url: str


def _looks_like_image(filename: str, content_type: str | None) -> bool:
    """Images, videos and animations (what the bytes really are is sniffed when hashing)."""
    if content_type:
        return (
            content_type.startswith("image/") and "svg" not in content_type
        ) or content_type.startswith("video/")
    return PurePosixPath(filename.lower()).suffix in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def image_refs(message: discord.Message) -> list[MediaRef]:
    """Images of a message: attachments, embed images and thumbnails, sticker images."""
    refs = [
        MediaRef(i, a.url)
        for i, a in enumerate(message.attachments)
        if _looks_like_image(a.filename, a.content_type)
    ]
    for i, embed in enumerate(message.embeds):
        # Only through Discord's media proxy, never the raw link a member pasted.
        for j, media in enumerate((embed.image, embed.thumbnail)):
            if media.proxy_url:
                url = reduced(media.proxy_url, media.width, media.height)
                refs.append(MediaRef(EMBED_SLOT + 2 * i + j, url))
    for i, sticker in enumerate(message.stickers):
        if sticker.format in (discord.StickerFormatType.png, discord.StickerFormatType.apng):
            refs.append(MediaRef(STICKER_SLOT + i, sticker.url))
    return refs


#: Embed images larger than this are asked of the media proxy at this size: cheaper to fetch,
#: and the fingerprint only uses a small decode anyway.
PROXY_SIDE = 1024


def reduced(proxy_url: str, width: int | None, height: int | None) -> str:
    """A media-proxy URL asking for a smaller rendition of a large image."""
    if not width or not height or max(width, height) <= PROXY_SIDE:
        return proxy_url
    scale = PROXY_SIDE / max(width, height)
    parts = urlsplit(proxy_url)
    query = parse_qsl(parts.query)
    query += [
        ("width", str(max(1, round(width * scale)))),
        ("height", str(max(1, round(height * scale)))),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parent_ids(channel: object) -> tuple[int, ...]:
    """Ids of the thread parent and category above a channel, nearest first."""
    ids: list[int] = []
    parent = getattr(channel, "parent", None)
    if parent is not None and isinstance(channel, discord.Thread):
        ids.append(parent.id)
        channel = parent
    category_id = getattr(channel, "category_id", None)
    if category_id:
        ids.append(category_id)
    return tuple(ids)


def post_context(message: discord.Message) -> PostContext:
    assert message.guild is not None
    roles = frozenset(r.id for r in getattr(message.author, "roles", ()))
    return PostContext(
        guild_id=message.guild.id,
        channel_id=message.channel.id,
        message_id=message.id,
        author_id=message.author.id,
        posted_at=int(message.created_at.timestamp() * 1000),
        role_ids=roles,
    )


def can_view(
    member: discord.Member, guild: discord.Guild, channel_id: int, *, here: int | None = None
) -> bool:
    """Whether a member may read a channel (or thread) of the guild, asked from channel ``here``.

    A private thread is open to its members and to those with Manage Threads; the member list
    needs a privileged intent, so it is shown only to the latter, or inside that thread.
    """
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        return False
    # Thread.permissions_for is the parent's and ignores thread membership.
    permissions = channel.permissions_for(member)
    if (
        isinstance(channel, discord.Thread)
        and channel.type == discord.ChannelType.private_thread
        and channel_id != here
        and not permissions.manage_threads
    ):
        return False
    return permissions.view_channel and permissions.read_message_history


def visible_to(
    member: discord.Member,
    guild: discord.Guild,
    matches: Sequence[Match],
    *,
    here: int | None = None,
) -> list[Match]:
    """Matches the member may see; filtered before any cut so hidden ones take no place."""
    seen: dict[int, bool] = {}
    kept = []
    for m in matches:
        channel_id = m.image.channel_id
        if channel_id not in seen:
            seen[channel_id] = can_view(member, guild, channel_id, here=here)
        if seen[channel_id]:
            kept.append(m)
    return kept


def parse_message_ref(text: str) -> tuple[int | None, int | None, int] | None:
    """A message link or bare id -> (guild id, channel id, message id)."""
    text = text.strip()
    found = MESSAGE_LINK.search(text)
    if found:
        guild = None if found.group(1) == "@me" else int(found.group(1))
        return guild, int(found.group(2)), int(found.group(3))
    if text.isdigit():
        return None, None, int(text)
    return None


def is_url(text: str) -> bool:
    parts = urlsplit(text.strip())
    return bool(parts.scheme and parts.netloc)


def user_texts(interaction: discord.Interaction) -> i18n.Texts:
    """Words for the member who used a command or pressed a button, in their client's language."""
    return i18n.texts(interaction.locale.value)


def guild_texts(guild: discord.Guild | None) -> i18n.Texts:
    """Words for a post everyone in a server reads (alerts, progress): the server's language."""
    return i18n.texts(guild.preferred_locale.value if guild is not None else i18n.DEFAULT_LOCALE)


def reason_text(error: Exception, t: i18n.Texts) -> str:
    """Why a download or an image failed, in the reader's language."""
    if isinstance(error, FetchError) and error.code:
        key, values = f"reason.fetch.{error.code}", error.values
    elif isinstance(error, ImageError):
        key, values = f"reason.image.{type(error).__name__}", {}
        if not t.has(key):
            return error.reason
    else:
        return str(error)
    return t(key, **values) if t.has(key) else str(error)


def embed(title: str, description: str, *, colour: discord.Colour = COLOUR) -> discord.Embed:
    return discord.Embed(
        title=title, description=description[:EMBED_DESCRIPTION_LIMIT], colour=colour
    )


def bot_of(client: discord.Client) -> SeenitBot:
    from bot.client import SeenitBot

    assert isinstance(client, SeenitBot)
    return client


async def fetch_image_of(bot: SeenitBot, guild: discord.Guild, image: ImageRecord) -> bytes | None:
    """The current bytes of a stored image, fetched fresh through Discord (links expire)."""
    channel = guild.get_channel_or_thread(image.channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        return None
    try:
        message = await channel.fetch_message(image.message_id)
    except discord.HTTPException:
        return None
    url = {ref.slot: ref.url for ref in image_refs(message)}.get(image.slot)
    if url is None:
        return None
    try:
        return await bot.fetcher.discord_media(url)
    except FetchError:
        return None


#: Discord's JSON error codes for a message or channel that no longer exists.
GONE_CODES = frozenset({10003, 10008})


def message_checker(guild: discord.Guild) -> Exists:
    """Asks Discord whether a message still exists: True, False (404) or None (cannot tell)."""

    async def exists(channel_id: int, message_id: int) -> bool | None:
        channel = guild.get_channel_or_thread(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        try:
            await channel.fetch_message(message_id)
        except discord.NotFound as exc:
            # Only Discord's "Unknown Message" / "Unknown Channel" say it is gone; any other
            # 404 (a proxy, an unknown route) says nothing about the message.
            return False if exc.code in GONE_CODES else None
        except discord.HTTPException:
            return None
        return True

    return exists


def week_label(week_ms: int, t: i18n.Texts = i18n.ENGLISH) -> str:
    """A week under the stats chart's bar: its first day and month (``07 Dec``)."""
    day = datetime.fromtimestamp(week_ms / 1000, tz=UTC)
    return t("picture.week", day=f"{day.day:02d}", month=t(f"month.{day.month}"))


def match_label(match: Match, t: i18n.Texts = i18n.ENGLISH) -> str:
    day = datetime.fromtimestamp(match.image.posted_at / 1000, tz=UTC).strftime("%Y-%m-%d")
    return t("picture.label", similarity=match.similarity, day=day)


async def comparison_file(
    bot: SeenitBot,
    guild: discord.Guild,
    new_image: bytes,
    matches: Sequence[Match],
    t: i18n.Texts = i18n.ENGLISH,
) -> discord.File | None:
    """A side-by-side picture of the new image and its best earlier matches (None if none)."""
    shown = list(matches[: 1 + MAX_SMALL])
    if not shown:
        return None
    try:
        async with asyncio.timeout(PICTURE_SECONDS):
            blobs = await asyncio.gather(*(fetch_image_of(bot, guild, m.image) for m in shown))
            tiles = [Tile(b, match_label(m, t)) for b, m in zip(blobs, shown, strict=True)]
            loop = asyncio.get_running_loop()
            draw = functools.partial(
                pictures.comparison,
                Tile(new_image, t("picture.this_image")),
                tiles,
                gone=t("picture.gone"),
            )
            data = await loop.run_in_executor(None, draw)
    except (TimeoutError, ValueError, OSError) as exc:
        log.info("no comparison picture: %s", exc)
        return None
    return discord.File(io.BytesIO(data), filename=COMPARISON_NAME)


async def stats_file(
    bot: SeenitBot,
    guild: discord.Guild,
    weekly: Sequence[tuple[int, int]],
    most_reposted: Sequence[tuple[ImageRecord, int]],
    t: i18n.Texts = i18n.ENGLISH,
) -> discord.File | None:
    """The stats chart: reposts per week and the most reposted images."""
    try:
        async with asyncio.timeout(PICTURE_SECONDS):
            blobs = await asyncio.gather(
                *(fetch_image_of(bot, guild, image) for image, _ in most_reposted)
            )
            tiles = [
                Tile(b, t("noun.repost", count=n))
                for b, (_, n) in zip(blobs, most_reposted, strict=True)
            ]
            loop = asyncio.get_running_loop()
            draw = functools.partial(
                pictures.stats_chart,
                weekly,
                tiles,
                title=t("picture.weekly_title"),
                week_labels=[week_label(ms, t) for ms, _ in weekly],
                gone=t("picture.gone"),
            )
            data = await loop.run_in_executor(None, draw)
    except (TimeoutError, ValueError, OSError) as exc:
        log.info("no stats picture: %s", exc)
        return None
    return discord.File(io.BytesIO(data), filename=STATS_NAME)
