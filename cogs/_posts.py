"""A Discord message as the ingest pipeline sees it: its images, its place, its author."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import discord

from bot.ingest import EMBED_SLOT, STICKER_SLOT, HistoryUnavailable, MediaRef, Post
from bot.matching import PostContext

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".apng"})


def _looks_like_image(filename: str, content_type: str | None) -> bool:
    """Images, videos and animations (what the bytes really are is sniffed when hashing)."""
    if content_type:
        return (
            content_type.startswith("image/") and "svg" not in content_type
        ) or content_type.startswith("video/")
    return PurePosixPath(filename.lower()).suffix in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def image_refs(message: discord.Message) -> list[MediaRef]:
    """Images of a message: attachments, embed images and thumbnails (the clip of a GIF
    site's "gifv" embed), sticker images."""
    refs = [
        MediaRef(i, a.url)
        for i, a in enumerate(message.attachments)
        if _looks_like_image(a.filename, a.content_type)
    ]
    for i, embed in enumerate(message.embeds):
        # Only through Discord's media proxy, never the raw link a member pasted.
        for j, media in enumerate((embed.image, embed.thumbnail)):
            if j == 1 and embed.type == "gifv" and embed.video.proxy_url:
                # A GIF site's link (Tenor, Giphy) unfurls as a looping MP4 whose thumbnail
                # is one still of it: the clip is read in the thumbnail's place, whole.
                refs.append(MediaRef(EMBED_SLOT + 2 * i + j, embed.video.proxy_url))
            elif media.proxy_url:
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


def post_of(message: discord.Message, me: discord.abc.Snowflake | None = None) -> Post | None:
    """The message as a :class:`Post` (None outside a server); ``me`` is seenit's own user."""
    guild = message.guild
    if guild is None:
        return None
    author = message.author
    context = PostContext(
        guild_id=guild.id,
        channel_id=message.channel.id,
        message_id=message.id,
        author_id=author.id,
        posted_at=int(message.created_at.timestamp() * 1000),
        role_ids=frozenset(r.id for r in getattr(author, "roles", ())),
    )
    return Post(
        context,
        tuple(image_refs(message)),
        parents=parent_ids(message.channel),
        by_bot=author.bot,
        by_me=me is not None and author.id == me.id,
    )


class ChannelHistory:
    """A text channel or thread, read by the ingest pipeline (see :class:`bot.ingest.Channel`)."""

    def __init__(
        self, channel: discord.TextChannel | discord.Thread, me: discord.abc.Snowflake | None
    ) -> None:
        self.channel = channel
        self.me = me

    @property
    def id(self) -> int:
        return self.channel.id

    @property
    def guild_id(self) -> int:
        return self.channel.guild.id

    @property
    def parents(self) -> tuple[int, ...]:
        return parent_ids(self.channel)

    def may_read_history(self) -> bool:
        return self.channel.permissions_for(self.channel.guild.me).read_message_history

    async def history(
        self,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        oldest_first: bool = True,
    ) -> AsyncIterator[Post]:
        try:
            async for message in self.channel.history(
                limit=limit,
                after=discord.Object(id=after) if after is not None else None,
                before=discord.Object(id=before) if before is not None else None,
                oldest_first=oldest_first,
            ):
                post = post_of(message, self.me)
                if post is not None:
                    yield post
        except discord.HTTPException as exc:
            raise HistoryUnavailable(str(exc)) from exc


def history_of(channel: object, me: discord.abc.Snowflake | None) -> ChannelHistory | None:
    """The channel as the pipeline reads it; None for channels without a history to catch up."""
    if isinstance(channel, discord.TextChannel | discord.Thread):
        return ChannelHistory(channel, me)
    return None


def channel_finder(client: discord.Client) -> Callable[[int, int], ChannelHistory | None]:
    """Finds a guild's text channel or thread by id, for the pipeline's catch-ups."""

    def find(guild_id: int, channel_id: int) -> ChannelHistory | None:
        guild = client.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        return history_of(channel, client.user)

    return find
