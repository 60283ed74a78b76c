"""Pictures seenit answers with: side-by-side comparisons and the stats chart. Pure Pillow.

Callers run these in an executor; they decode small, draw small and encode as WebP so an
answer stays well under 200 KB.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bot.hashing import ImageError, Limits, decode
from bot.video import is_clip, still

#: Height of the two main tiles, and of the smaller ones below them.
MAIN_SIDE = 360
SMALL_SIDE = 170
LABEL_HEIGHT = 26
PAD = 10
BACKGROUND = (43, 45, 49)
TEXT = (242, 243, 245)
MUTED = (181, 186, 193)
ACCENT = (240, 178, 50)
BAR = (88, 101, 242)
#: Earlier posts shown: the best one large, then up to this many small.
MAX_SMALL = 3


@dataclass(frozen=True, slots=True)
class Tile:
    """One image of a comparison with its caption."""

    data: bytes | None
    label: str


#: Written where an image can no longer be read (the cogs pass the reader's language).
GONE = "image gone"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _still_of_clip(data: bytes) -> Image.Image | None:
    """A frame of a video (already fingerprinted, so known to decode), or None."""
    try:
        return still(data) if is_clip(data) else None
    except ImageError:
        return None


def _thumbnail(data: bytes | None, side: int, gone: str = GONE) -> Image.Image:
    """The image fitted in a ``side`` square, or a placeholder when it cannot be read."""
    box = Image.new("RGB", (side, side), BACKGROUND)
    if data is not None:
        picture: Image.Image | None
        try:
            picture = decode(data, Limits(), min_side=side)
        except ImageError:
            picture = _still_of_clip(data)
        if picture is not None:
            # Fit the square both ways: a small repost is shown as large as its match.
            picture = ImageOps.contain(picture, (side, side), Image.Resampling.LANCZOS)
            box.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
            return box
    draw = ImageDraw.Draw(box)
    draw.text((side // 2, side // 2), gone, fill=MUTED, font=_font(14), anchor="mm")
    return box


def _labelled(tile: Tile, side: int, *, highlight: bool, gone: str = GONE) -> Image.Image:
    out = Image.new("RGB", (side, side + LABEL_HEIGHT), BACKGROUND)
    out.paste(_thumbnail(tile.data, side, gone), (0, 0))
    draw = ImageDraw.Draw(out)
    draw.text(
        (side // 2, side + LABEL_HEIGHT // 2),
        tile.label,
        fill=ACCENT if highlight else TEXT,
        font=_font(15 if side >= MAIN_SIDE else 12),
        anchor="mm",
    )
    return out


def comparison(new: Tile, earlier: Sequence[Tile], *, gone: str = GONE) -> bytes:
    """The new image beside the best earlier match, further matches as small tiles below.

    ``gone`` is written where an image can no longer be read.
    """
    if not earlier:
        raise ValueError("a comparison needs at least one earlier image")
    best, rest = earlier[0], list(earlier[1 : 1 + MAX_SMALL])
    width = 2 * MAIN_SIDE + 3 * PAD
    height = PAD + MAIN_SIDE + LABEL_HEIGHT + PAD
    if rest:
        height += SMALL_SIDE + LABEL_HEIGHT + PAD
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    canvas.paste(_labelled(new, MAIN_SIDE, highlight=True, gone=gone), (PAD, PAD))
    canvas.paste(_labelled(best, MAIN_SIDE, highlight=False, gone=gone), (2 * PAD + MAIN_SIDE, PAD))
    top = PAD + MAIN_SIDE + LABEL_HEIGHT + PAD
    for i, tile in enumerate(rest):
        canvas.paste(
            _labelled(tile, SMALL_SIDE, highlight=False, gone=gone),
            (PAD + i * (SMALL_SIDE + PAD), top),
        )
    return _encode(canvas)


def stats_chart(
    weekly: Sequence[tuple[int, int]],
    thumbnails: Sequence[Tile],
    *,
    title: str = "Reposts caught per week",
    week_labels: Sequence[str] | None = None,
    gone: str = GONE,
) -> bytes:
    """Reposts caught per week (bars) and the most reposted images (tiles).

    ``week_labels`` name the weeks under the bars (default: day and English month).
    """
    width, chart_height = 720, 260
    thumbs = list(thumbnails[:5])
    height = chart_height + (SMALL_SIDE - 30 + LABEL_HEIGHT + 2 * PAD if thumbs else 0)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((PAD, PAD), title, fill=TEXT, font=_font(16))
    peak = max((n for _, n in weekly), default=0) or 1
    left, bottom, top = 40, chart_height - 34, 40
    slot = (width - left - PAD) / max(len(weekly), 1)
    for i, (week_ms, count) in enumerate(weekly):
        x0 = left + i * slot + 4
        x1 = left + (i + 1) * slot - 4
        y0 = bottom - (bottom - top) * count / peak
        draw.rectangle((x0, y0, x1, bottom), fill=BAR)
        draw.text(((x0 + x1) / 2, y0 - 4), str(count), fill=TEXT, font=_font(12), anchor="mb")
        day = (
            week_labels[i]
            if week_labels is not None
            else datetime.fromtimestamp(week_ms / 1000, tz=UTC).strftime("%d %b")
        )
        draw.text(((x0 + x1) / 2, bottom + 6), day, fill=MUTED, font=_font(11), anchor="mt")
    for i, tile in enumerate(thumbs):
        canvas.paste(
            _labelled(tile, SMALL_SIDE - 30, highlight=False, gone=gone),
            (PAD + i * (SMALL_SIDE - 30 + PAD), chart_height + PAD),
        )
    return _encode(canvas)


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80, method=2)
    return buffer.getvalue()
