"""Pictures with almost no edges that still show something: a dark nebula wallpaper, and
stripes (a picture that changes along one axis only, whose DCT hashes decide nothing). They
match their own copies and nothing else; near-blank pictures still match nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from bot.hashing import SMOOTH_QUALITY, decisive, fingerprint
from bot.hashing_pool import Hasher
from bot.matching import DEFAULT, PRESETS, judge_pair, searchable
from bot.service import SeenService
from bot.store import SQLiteStore
from tests.support import encode
from tests.test_service import ingest, post

#: Edits a repost of a wallpaper carries, as Pillow makes them.
EDITS: dict[str, Callable[[Image.Image], bytes]] = {
    "half size": lambda im: encode(im.resize((im.width // 2, im.height // 2)), "PNG"),
    "JPEG 70": lambda im: encode(im, "JPEG", quality=70),
    "mirrored": lambda im: encode(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"),
    "quarter turn": lambda im: encode(im.transpose(Image.Transpose.ROTATE_90), "PNG"),
    "brighter": lambda im: encode(ImageEnhance.Brightness(im).enhance(1.3), "PNG"),
    "grey": lambda im: encode(im.convert("L").convert("RGB"), "PNG"),
}


def stripes(seed: int, size: tuple[int, int] = (900, 900)) -> Image.Image:
    """Vertical stripes of random widths, from deep blue to red: a "warming stripes" picture."""
    rng = np.random.default_rng(seed)
    levels = np.cumsum(rng.normal(0.0, 0.25, 60))
    levels = (levels - levels.min()) / (np.ptp(levels) or 1.0)
    blue, red = np.array([8.0, 48.0, 107.0]), np.array([200.0, 30.0, 35.0])
    colours = blue + levels[:, None] * (red - blue)
    widths = rng.integers(5, 25, len(colours))
    columns = np.repeat(colours, widths, axis=0)
    row = np.asarray(Image.fromarray(columns[None].astype(np.uint8)).resize((size[0], 1)))
    return Image.fromarray(np.repeat(row, size[1], axis=0))


def ramp(colour: tuple[int, int, int], size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A smooth ramp from ``colour`` to a lighter one, top to bottom."""
    t = np.linspace(0.0, 1.0, size[1])[:, None, None]
    start = np.asarray(colour, dtype=np.float64)
    pixels = start + t * (255.0 - start) * 0.6
    return Image.fromarray(np.repeat(pixels, size[0], axis=1).astype(np.uint8))


def nebula(seed: int, size: tuple[int, int] = (1024, 683)) -> Image.Image:
    """A near-black picture of soft green and brown clouds (a dark wallpaper): no step
    between neighbouring pixels of its 64x64 reduction reaches 3 grey levels."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)).resize(
        size, Image.Resampling.BICUBIC
    )
    pixels = np.asarray(field.filter(ImageFilter.GaussianBlur(60)), dtype=np.float64)
    pixels = 20.0 + (pixels - pixels.mean()) * 0.5 * np.array([0.8, 1.0, 0.5])
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_a_dark_smooth_wallpaper_has_a_quality_and_a_faint_ramp_none() -> None:
    dark = fingerprint(encode(nebula(1), "PNG"))
    assert dark.quality == SMOOTH_QUALITY and decisive(dark.phash256)
    faint = fingerprint(encode(ramp((200, 200, 200)).point(lambda v: 200 + (v - 200) // 8), "PNG"))
    assert faint.quality == 0


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_dark_smooth_wallpaper_matches_its_copies(edit: str) -> None:
    picture = nebula(1)
    original = fingerprint(encode(picture, "PNG"))
    copy = fingerprint(EDITS[edit](picture))
    assert judge_pair(copy, original).repost or judge_pair(original, copy).repost


def test_two_dark_smooth_wallpapers_are_no_pair() -> None:
    prints = [fingerprint(encode(nebula(seed), "PNG")) for seed in range(2, 10)]
    assert sum(fp.quality == SMOOTH_QUALITY for fp in prints) >= 6
    for i, ours in enumerate(prints):
        for theirs in prints[i + 1 :]:
            assert not judge_pair(ours, theirs).repost
            assert not judge_pair(theirs, ours).repost


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_stripes_match_their_copies(edit: str) -> None:
    picture = stripes(1)
    original = fingerprint(encode(picture, "PNG"))
    assert not decisive(original.phash256)  # the hashes alone would match any stripes
    copy = fingerprint(EDITS[edit](picture))
    assert judge_pair(copy, original).repost
    assert judge_pair(original, copy).repost
    assert not judge_pair(copy, original, PRESETS["strict"]).repost


def test_two_pictures_of_stripes_are_no_pair() -> None:
    prints = [fingerprint(encode(stripes(seed), "PNG")) for seed in range(2, 10)]
    for i, ours in enumerate(prints):
        for theirs in prints[i + 1 :]:
            assert not judge_pair(ours, theirs).repost
            assert not judge_pair(theirs, ours).repost


def test_ramps_and_blanks_are_not_stripes() -> None:
    # Two ramps of different colours change along one axis in the same way: their shapes
    # are all they have and say nothing; a flat colour has no shape at all.
    ramps = [fingerprint(encode(ramp(c), "PNG")) for c in ((20, 40, 160), (30, 60, 170))]
    white = fingerprint(encode(Image.new("RGB", (600, 400), "white"), "PNG"))
    for fp in (*ramps, white):
        assert not searchable(fp, DEFAULT)
    assert not judge_pair(ramps[0], ramps[1]).repost
    assert searchable(fingerprint(encode(stripes(1), "PNG")), DEFAULT)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[SeenService]:
    async with SQLiteStore(f"sqlite:///{tmp_path / 's.db'}") as store, Hasher(0) as hasher:
        yield SeenService(store, hasher)


async def test_a_repost_of_stripes_or_of_a_dark_wallpaper_alerts(service: SeenService) -> None:
    await ingest(service, post(1, author=100), encode(stripes(1), "PNG"))
    await ingest(service, post(2, author=100), encode(nebula(1), "PNG"))
    await ingest(service, post(3, author=100), encode(stripes(2), "PNG"))
    (again,) = await ingest(service, post(4, author=200), EDITS["JPEG 70"](stripes(1)))
    assert [m.image.message_id for m in again.alert] == [1]
    (dark,) = await ingest(service, post(5, author=200), EDITS["brighter"](nebula(1)))
    assert [m.image.message_id for m in dark.alert] == [2]
