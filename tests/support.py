"""What many tests share: the committed photographs, the edits a repost goes through, and
small readers of the messages the fake Discord records."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

DATA = Path(__file__).parent / "data"
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "motorcycle.jpg", "rocket.jpg")


def photo(name: str) -> Image.Image:
    """A committed photograph, decoded to RGB."""
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * share), int(h * share)
    return image.crop((dx, dy, w - dx, h - dy))


def _watermark(image: Image.Image) -> Image.Image:
    marked = image.copy()
    ImageDraw.Draw(marked).text((8, 8), "seen @ somewhere", fill=(255, 255, 255))
    return marked


#: Edits a chat repost goes through, each giving encoded bytes.
VARIANTS: dict[str, Callable[[Image.Image], bytes]] = {
    "half size": lambda im: encode(im.resize((im.width // 2, im.height // 2))),
    "double size png": lambda im: encode(im.resize((im.width * 2, im.height * 2)), "PNG"),
    "jpeg q40": lambda im: encode(im, quality=40),
    "webp": lambda im: encode(im, "WEBP", quality=80),
    "watermark": lambda im: encode(_watermark(im)),
    "brighter": lambda im: encode(ImageEnhance.Brightness(im).enhance(1.2)),
    "grayscale": lambda im: encode(ImageOps.grayscale(im)),
    "mirrored": lambda im: encode(ImageOps.mirror(im)),
    "rotated 90": lambda im: encode(im.rotate(90, expand=True)),
    "rotated 180": lambda im: encode(im.rotate(180)),
    "crop 1%": lambda im: encode(_crop(im, 0.01)),
}


def grey_bar_on_white() -> Image.Image:
    """A plain canvas crossed by one grey bar: what a thin frame looks like cropped."""
    image = Image.new("RGB", (480, 360), "white")
    ImageDraw.Draw(image).rectangle((0, 150, 479, 175), fill=(150, 150, 150))
    return image


def striped_wallpaper() -> Image.Image:
    """Horizontal bands of colour, each across the whole width."""
    image = Image.new("RGB", (1920, 1080))
    draw = ImageDraw.Draw(image)
    top, band = 0, 0
    while top < 1080:
        height = 40 + (band * 37) % 100
        colour = (20 + (band * 53) % 180, 60 + (band * 29) % 140, 90 + (band * 71) % 150)
        draw.rectangle((0, top, 1919, top + height), fill=colour)
        top, band = top + height, band + 1
    return image


def thin_grid_board() -> Image.Image:
    """A board of two-coloured squares outlined by a thin dark grid, on a white page."""
    image = Image.new("RGB", (608, 472), "white")
    draw = ImageDraw.Draw(image)
    cell = 58
    for row in range(8):
        for col in range(8):
            colour = (200, 196, 100) if (row + col) % 2 == 0 else (120, 165, 110)
            x, y = 70 + col * cell, 4 + row * cell
            draw.rectangle((x, y, x + cell, y + cell), fill=colour, outline=(20, 30, 20), width=2)
    return image


def upload(name: str) -> tuple[str, bytes]:
    """A committed photograph as an attachment: (file name, its bytes as committed)."""
    return name, (DATA / name).read_bytes()


ASTRONAUT = upload("astronaut.jpg")
CHELSEA = upload("chelsea.jpg")
COFFEE = upload("coffee.jpg")
ROCKET = upload("rocket.jpg")


def variant(name: str, edit: str) -> tuple[str, bytes]:
    """An attachment holding a committed photograph after one of :data:`VARIANTS`."""
    return f"{edit.replace(' ', '_')}.jpg", VARIANTS[edit](photo(name))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Label -> custom id of the buttons under a message, in display order."""
    return {
        c["label"]: c["custom_id"]
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("type") == 2
    }
