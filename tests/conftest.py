"""Shared fixtures: committed real photographs and their edited variants."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

DATA = Path(__file__).parent / "data"
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "motorcycle.jpg", "rocket.jpg")


def photo(name: str) -> Image.Image:
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


@pytest.fixture
def photo_bytes() -> Callable[[str], bytes]:
    return lambda name: (DATA / name).read_bytes()


@pytest.fixture
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """discord.py logs errors in handlers instead of raising: any of them fails the test."""
    from tests.fakediscord import logged_errors

    caplog.set_level(logging.WARNING)
    yield
    assert logged_errors(caplog) == []


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[object]:
    """A guild in the fake Discord, with a SQLite file for seenit (see tests/botworld.py)."""
    from tests.botworld import build_world
    from tests.fakediscord import FakeDiscord

    async with FakeDiscord() as fake:
        yield build_world(fake, f"sqlite:///{tmp_path / 'seenit.db'}")
