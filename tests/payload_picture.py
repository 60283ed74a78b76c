"""Draw a recorded Discord message payload roughly as Discord's dark theme shows it.

For the pictures in docs/examples: everything drawn comes from the payload (and the bytes of
its attachments); only the layout and colours imitate Discord. Not pixel-perfect.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

JSON = dict[str, Any]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

WIDTH = 800
MARGIN = 16
AVATAR = 40
LEFT = MARGIN + AVATAR + 16  # where the message body starts
BODY_WIDTH = WIDTH - LEFT - MARGIN
EMBED_MAX_WIDTH = 520
EMBED_PAD = 12
EMBED_BAR = 4
LINE_GAP = 4

BACKGROUND = (49, 51, 56)
EMBED_BACKGROUND = (43, 45, 49)
TEXT = (219, 222, 225)
HEADER = (242, 243, 245)
MUTED = (148, 155, 164)
LINK = (0, 168, 252)
MENTION_TEXT = (201, 205, 251)
MENTION_BACKGROUND = (60, 66, 112)
BOT_TAG = (88, 101, 242)
DEFAULT_EMBED_COLOUR = (30, 31, 34)
#: Button styles: 1 primary, 2 secondary, 3 success, 4 danger, 5 link.
BUTTON_COLOURS = {
    1: (88, 101, 242),
    2: (78, 80, 88),
    3: (36, 128, 70),
    4: (218, 55, 60),
    5: (78, 80, 88),
}
AVATAR_COLOURS = [(88, 101, 242), (35, 165, 90), (240, 178, 50), (237, 66, 69), (235, 69, 158)]
EPHEMERAL = 1 << 6

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _font(size: int, *, bold: bool = False) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for candidate in (str(FONT_DIR / name), name):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


# ------------------------------------------------------------------ markdown-ish text


def _relative(then: datetime, now: datetime) -> str:
    seconds = int((now - then).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            n = seconds // size
            if unit == "second" and n < 10:
                return "just now" if not future else "in a few seconds"
            words = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"in {words}" if future else f"{words} ago"
    raise AssertionError("unreachable")


def _timestamp(seconds: int, style: str, now: datetime) -> str:
    then = datetime.fromtimestamp(seconds, tz=UTC)
    if style == "R":
        return _relative(then, now)
    if style in ("d", "D"):
        return then.strftime("%d %B %Y")
    if style == "t":
        return then.strftime("%H:%M")
    return then.strftime("%d %B %Y %H:%M")


def plain(text: str, names: Mapping[str, str], now: datetime) -> str:
    """Discord markdown reduced to what is read: links to their text, mentions to names."""
    text = re.sub(
        r"<t:(-?\d+)(?::([tTdDfFR]))?>",
        lambda m: _timestamp(int(m.group(1)), m.group(2) or "f", now),
        text,
    )
    text = re.sub(r"<@[!&]?(\d+)>", lambda m: "@" + names.get(m.group(1), "unknown-user"), text)
    text = re.sub(r"<#(\d+)>", lambda m: "#" + names.get(m.group(1), "unknown-channel"), text)
    text = re.sub(r"\[([^\]]*)\]\(<?[^)\s]+>?\)", r"\1", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"__(.+?)__", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"^#{1,3} ", "", text, flags=re.MULTILINE)
    return text


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if draw.textlength(candidate, font=font) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            # A single word wider than the box is cut where it no longer fits.
            while draw.textlength(line, font=font) > width and len(line) > 1:
                cut = len(line)
                while cut > 1 and draw.textlength(line[:cut], font=font) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def _line_height(font: Font) -> int:
    top, bottom = font.getbbox("Ághjy|")[1::2]
    return int(bottom - top) + LINE_GAP


# ------------------------------------------------------------------ layout


class _Canvas:
    """Draws onto a tall scratch image; the result is cropped to what was drawn."""

    def __init__(self, width: int = WIDTH, background: tuple[int, int, int] = BACKGROUND) -> None:
        self.image = Image.new("RGB", (width, 6000), background)
        self.draw = ImageDraw.Draw(self.image)

    def text_block(
        self, x: int, y: int, text: str, font: Font, fill: tuple[int, int, int], width: int
    ) -> int:
        """Wrapped text at (x, y); returns the y below it."""
        step = _line_height(font)
        for line in _wrap(self.draw, text, font, width):
            self._line(x, y, line, font, fill)
            y += step
        return y

    def _line(self, x: int, y: int, line: str, font: Font, fill: tuple[int, int, int]) -> None:
        # Mentions (@name, #channel) get Discord's tinted pill.
        pos = x
        for part in re.split(r"((?<!\w)[@#][\w-]+)", line):
            if not part:
                continue
            length = self.draw.textlength(part, font=font)
            colour = fill
            if re.fullmatch(r"[@#][\w-]+", part):
                box = font.getbbox(part)
                self.draw.rounded_rectangle(
                    (pos - 1, y + box[1] - 2, pos + length + 1, y + box[3] + 2),
                    radius=3,
                    fill=MENTION_BACKGROUND,
                )
                colour = MENTION_TEXT
            self.draw.text((pos, y), part, font=font, fill=colour)
            pos += length


def _colour(value: int | None) -> tuple[int, int, int]:
    if not value:
        return DEFAULT_EMBED_COLOUR
    return ((value >> 16) & 255, (value >> 8) & 255, value & 255)


def _attachment_image(url: str | None, attachments: Mapping[str, bytes]) -> Image.Image | None:
    if not url:
        return None
    name = url.removeprefix("attachment://") if url.startswith("attachment://") else None
    if name is None:
        name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    data = attachments.get(name)
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert("RGB")


def _fit(picture: Image.Image, width: int, height: int) -> Image.Image:
    scale = min(width / picture.width, height / picture.height, 1.0)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS) if size != picture.size else picture


def _embed(
    canvas: _Canvas,
    y: int,
    embed: JSON,
    attachments: Mapping[str, bytes],
    names: Mapping[str, str],
    now: datetime,
) -> int:
    """Draw one embed box at y; returns the y below it."""
    picture = _attachment_image((embed.get("image") or {}).get("url"), attachments)
    inner_width = EMBED_MAX_WIDTH - EMBED_BAR - 2 * EMBED_PAD
    if picture is not None:
        inner_width = max(inner_width, min(picture.width, BODY_WIDTH - EMBED_BAR - 2 * EMBED_PAD))
    box_width = inner_width + EMBED_BAR + 2 * EMBED_PAD
    # Drawn on its own scratch image in the embed colour; its height is known at the end.
    body = _Canvas(box_width, EMBED_BACKGROUND)
    by = EMBED_PAD
    ox = EMBED_BAR + EMBED_PAD
    title_font, text_font, small = _font(16, bold=True), _font(14), _font(12)
    author = (embed.get("author") or {}).get("name")
    if author:
        by = (
            body.text_block(
                ox, by, plain(author, names, now), _font(13, bold=True), HEADER, inner_width
            )
            + 2
        )
    if embed.get("title"):
        fill = LINK if embed.get("url") else HEADER
        by = (
            body.text_block(
                ox, by, plain(embed["title"], names, now), title_font, fill, inner_width
            )
            + 4
        )
    if embed.get("description"):
        by = (
            body.text_block(
                ox, by, plain(embed["description"], names, now), text_font, TEXT, inner_width
            )
            + 4
        )
    fields = embed.get("fields") or []
    i = 0
    while i < len(fields):
        # Consecutive inline fields share a row (up to three), as in Discord.
        row = [fields[i]]
        while (
            fields[i].get("inline")
            and len(row) < 3
            and i + len(row) < len(fields)
            and fields[i + len(row)].get("inline")
        ):
            row.append(fields[i + len(row)])
        column = inner_width // len(row)
        bottom = by
        for k, field in enumerate(row):
            fx = ox + k * column
            fy = body.text_block(
                fx,
                by + 4,
                plain(str(field.get("name", "")), names, now),
                _font(14, bold=True),
                HEADER,
                column - 8,
            )
            fy = body.text_block(
                fx, fy, plain(str(field.get("value", "")), names, now), text_font, TEXT, column - 8
            )
            bottom = max(bottom, fy)
        by = bottom + 2
        i += len(row)
    if picture is not None:
        fitted = _fit(picture, inner_width, 640)
        by += 6
        body.image.paste(fitted, (ox, by))
        by += fitted.height + 4
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        by = body.text_block(ox, by + 6, plain(footer, names, now), small, MUTED, inner_width)
    height = by + EMBED_PAD - 4
    box = body.image.crop((0, 0, box_width, height))
    ImageDraw.Draw(box).rectangle((0, 0, EMBED_BAR - 1, height), fill=_colour(embed.get("color")))
    rounded = Image.new("L", box.size, 0)
    ImageDraw.Draw(rounded).rounded_rectangle((0, 0, box_width - 1, height - 1), 4, fill=255)
    canvas.image.paste(box, (LEFT, y), rounded)
    return y + height


def _buttons(canvas: _Canvas, y: int, components: list[JSON]) -> int:
    font = _font(14)
    for row in components:
        x = LEFT
        for button in row.get("components") or []:
            if button.get("type") != 2:
                continue
            label = str(button.get("label") or (button.get("emoji") or {}).get("name") or "")
            width = int(canvas.draw.textlength(label, font=font)) + 32
            if x + width > WIDTH - MARGIN:
                x, y = LEFT, y + 40
            fill = BUTTON_COLOURS.get(button.get("style", 2), BUTTON_COLOURS[2])
            if button.get("disabled"):
                fill = tuple(int(c * 0.6 + 49 * 0.4) for c in fill)
            canvas.draw.rounded_rectangle((x, y, x + width, y + 32), radius=4, fill=fill)
            canvas.draw.text(
                (x + width / 2, y + 16), label, font=font, fill=(255, 255, 255), anchor="mm"
            )
            if button.get("style") == 5:
                canvas.draw.text(
                    (x + width - 10, y + 16), "↗", font=_font(11), fill=HEADER, anchor="mm"
                )
            x += width + 8
        y += 40
    return y


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)


def render_message(
    payload: JSON, attachments: Mapping[str, bytes], names: Mapping[str, str] | None = None
) -> Image.Image:
    """The message as an ~800 px wide picture.

    ``attachments``: filename -> bytes, for ``attachment://NAME`` embed images and image
    attachments that no embed shows. ``names``: user/channel/role id -> name for mentions
    (otherwise taken from the payload's ``mentions`` and authors where present).
    """
    known: dict[str, str] = {}
    referenced = payload.get("referenced_message") or {}
    users = [payload.get("author") or {}, referenced.get("author") or {}]
    for user in [*users, *(payload.get("mentions") or [])]:
        if user.get("id"):
            known[str(user["id"])] = user.get("global_name") or user.get("username") or "?"
    known.update(names or {})
    now = _parse_time(payload.get("edited_timestamp") or payload.get("timestamp")) or datetime.now(
        UTC
    )
    canvas = _Canvas()
    y = MARGIN
    if referenced:
        # The line Discord draws above a reply: who and what is answered.
        who = known.get(str((referenced.get("author") or {}).get("id")), "someone")
        snippet = plain(referenced.get("content") or "", known, now).split("\n")[0][:60]
        if not snippet and referenced.get("attachments"):
            snippet = "[image]"
        canvas.draw.line(
            (MARGIN + AVATAR // 2, y + 16, MARGIN + AVATAR // 2, y + 8, LEFT - 6, y + 8),
            fill=(78, 80, 88),
            width=2,
        )
        canvas.draw.text((LEFT, y), f"@{who}", font=_font(13, bold=True), fill=MUTED)
        tag = int(canvas.draw.textlength(f"@{who}", font=_font(13, bold=True))) + 6
        canvas.draw.text((LEFT + tag, y), snippet, font=_font(13), fill=MUTED)
        y += 22
    author = payload.get("author") or {}
    name = author.get("global_name") or author.get("username") or "?"
    colour = AVATAR_COLOURS[int(author.get("id") or 0) % len(AVATAR_COLOURS)]
    canvas.draw.ellipse((MARGIN, y, MARGIN + AVATAR, y + AVATAR), fill=colour)
    canvas.draw.text(
        (MARGIN + AVATAR / 2, y + AVATAR / 2),
        name[:1].upper(),
        font=_font(18, bold=True),
        fill=(255, 255, 255),
        anchor="mm",
    )
    name_font = _font(16, bold=True)
    canvas.draw.text((LEFT, y), name, font=name_font, fill=HEADER)
    x = LEFT + int(canvas.draw.textlength(name, font=name_font)) + 6
    if author.get("bot"):
        tag_font = _font(10, bold=True)
        tag_width = int(canvas.draw.textlength("BOT", font=tag_font)) + 8
        canvas.draw.rounded_rectangle((x, y + 2, x + tag_width, y + 18), 3, fill=BOT_TAG)
        canvas.draw.text(
            (x + tag_width / 2, y + 10), "BOT", font=tag_font, fill=(255, 255, 255), anchor="mm"
        )
        x += tag_width + 6
    stamp = _parse_time(payload.get("timestamp"))
    if stamp is not None:
        canvas.draw.text((x, y + 3), stamp.strftime("%d/%m/%Y %H:%M"), font=_font(12), fill=MUTED)
    y += 24
    if payload.get("content"):
        y = (
            canvas.text_block(
                LEFT, y, plain(payload["content"], known, now), _font(15), TEXT, BODY_WIDTH
            )
            + 2
        )
        if payload.get("edited_timestamp"):
            canvas.draw.text((LEFT, y - 4), "(edited)", font=_font(11), fill=MUTED)
            y += 12
    shown = {
        (e.get("image") or {}).get("url", "").removeprefix("attachment://")
        for e in payload.get("embeds") or []
    }
    for embed in payload.get("embeds") or []:
        y = _embed(canvas, y + 4, embed, attachments, known, now) + 4
    for attachment in payload.get("attachments") or []:
        filename = attachment.get("filename", "")
        if filename in shown:
            continue
        picture = _attachment_image(filename, attachments)
        if picture is not None:
            fitted = _fit(picture, min(BODY_WIDTH, 550), 350)
            canvas.image.paste(fitted, (LEFT, y + 4))
            y += fitted.height + 8
        else:
            canvas.draw.text((LEFT, y + 4), f"[file] {filename}", font=_font(14), fill=LINK)
            y += 24
    if payload.get("components"):
        y = _buttons(canvas, y + 6, payload["components"])
    if (payload.get("flags") or 0) & EPHEMERAL:
        font = _font(12)
        canvas.draw.text(
            (LEFT, y + 4), "Only you can see this · Dismiss message", font=font, fill=MUTED
        )
        y += 22
    return canvas.image.crop((0, 0, WIDTH, y + MARGIN))


def save_png(picture: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "PNG", optimize=True)
