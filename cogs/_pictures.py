"""Pictures seenit attaches: the side-by-side comparison and the stats chart."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord

from bot import i18n, pictures
from bot.fetch import FetchError
from bot.matching import Match
from bot.pictures import MAX_SMALL, Tile
from bot.records import ImageRecord
from cogs._posts import image_refs

if TYPE_CHECKING:
    from bot.client import SeenitBot

log = logging.getLogger(__name__)

COMPARISON_NAME = "comparison.webp"
STATS_NAME = "stats.webp"
#: Time allowed for fetching the earlier images and drawing the comparison.
PICTURE_SECONDS = 6.0


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
