"""Near-blank pictures under one caption or stamp: told apart by their colours."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from bot.hashing import Fingerprint, fingerprint
from bot.local.features import MAGIC_V1, LocalFeatures
from bot.local.tone import blank_picture, colours_differ, picture_colour, tones_differ
from bot.matching import LOW_DETAIL_QUALITY, judge, judge_pair
from tests.conftest import encode, photo
from tests.test_local import _stamped, caption, local_of

PURPLE = (178, 103, 194)
MAROON = (152, 47, 84)
NEAR_BLACK = (30, 31, 34)
BLUE = (30, 90, 200)

#: The easy edits of a colour a repost may carry, as Pillow makes them.
EDITS = {
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "darker": lambda im: ImageEnhance.Brightness(im).enhance(0.75),
    "more contrast": lambda im: ImageEnhance.Contrast(im).enhance(1.3),
    "less contrast": lambda im: ImageEnhance.Contrast(im).enhance(0.7),
    "more saturated": lambda im: ImageEnhance.Color(im).enhance(1.5),
    "less saturated": lambda im: ImageEnhance.Color(im).enhance(0.5),
    "grey": lambda im: im.convert("L").convert("RGB"),
}


def _block(colour: tuple[int, int, int], size: tuple[int, int] = (576, 1024)) -> Image.Image:
    return Image.new("RGB", size, colour)


COLOURS = [PURPLE, MAROON, BLUE, NEAR_BLACK, (240, 240, 235), (90, 160, 70)]


@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_colour_is_the_same_colour(colour: tuple[int, int, int], edit: str) -> None:
    # The edit applied to a block with a white caption bar, as a repost of a meme would be.
    picture = caption(_block(colour, (64, 64)), "")
    edited = EDITS[edit](picture)
    ours = np.array(picture.getpixel((32, 60)), dtype=np.float64)
    theirs = np.array(edited.getpixel((32, 60)), dtype=np.float64)
    assert not colours_differ(ours, theirs)
    assert not colours_differ(theirs, ours)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(PURPLE, MAROON), (NEAR_BLACK, BLUE), (BLUE, (40, 160, 90)), ((35, 35, 85), (50, 51, 56))],
)
def test_two_colours_differ(ours: tuple[int, int, int], theirs: tuple[int, int, int]) -> None:
    a, b = np.array(ours, dtype=np.float64), np.array(theirs, dtype=np.float64)
    assert colours_differ(a, b)
    assert colours_differ(b, a)


@pytest.mark.parametrize(("ours", "theirs"), [(PURPLE, MAROON), (NEAR_BLACK, BLUE)])
def test_one_caption_over_blocks_of_two_colours_is_no_pair(
    ours: tuple[int, int, int], theirs: tuple[int, int, int]
) -> None:
    text = "NOBODY: ABSOLUTELY NOBODY:"
    first = fingerprint(encode(caption(_block(ours), text)))
    second = fingerprint(encode(caption(_block(theirs), text)))
    assert first.local is not None and second.local is not None
    assert blank_picture(first.local) and blank_picture(second.local)
    # seenit's grey hashes alone take them for one image: the caption is all they see.
    assert judge(first, second).repost and judge(second, first).repost
    assert not judge_pair(first, second).repost
    assert not judge_pair(second, first).repost


def test_the_same_captioned_block_posted_again_is_a_repost() -> None:
    meme = caption(_block(PURPLE), "NOBODY: ABSOLUTELY NOBODY:")
    again = meme.resize((meme.width * 2 // 3, meme.height * 2 // 3))
    first, second = fingerprint(encode(meme)), fingerprint(encode(again, quality=70))
    assert judge_pair(second, first).repost
    assert judge_pair(first, second).repost


def test_one_stamp_on_blocks_of_two_colours_is_no_pair() -> None:
    first = fingerprint(encode(_stamped(_block(PURPLE), "seenit.example")))
    second = fingerprint(encode(_stamped(_block(MAROON), "seenit.example")))
    assert first.local is not None and second.local is not None
    assert tones_differ(first.local, second.local)
    assert not judge_pair(first, second).repost
    assert not judge_pair(second, first).repost


def test_a_photo_is_not_blank() -> None:
    features = local_of(caption(photo("coffee.jpg"), "WHEN THE CODE WORKS"))
    assert not blank_picture(features)
    colour = picture_colour(features)
    assert colour is not None and colour.shape == (3,)


def test_blobs_written_before_colour_are_read_without_it() -> None:
    features = local_of(caption(_block(PURPLE), "NOBODY: ABSOLUTELY NOBODY:"))
    blob = features.to_bytes()
    again = LocalFeatures.from_bytes(blob)
    assert features.colour is not None and again.colour is not None
    assert (again.colour == features.colour).all()
    # An SLF1 blob: the same layout without the colour thumbnail at its end.
    colour_bytes = 2 + again.colour.size
    old = LocalFeatures.from_bytes(MAGIC_V1 + blob[4:-colour_bytes])
    assert old.colour is None
    assert (old.descriptors == features.descriptors).all()
    assert picture_colour(old) is None
    assert not tones_differ(old, features)


@pytest.mark.parametrize("theirs", [(48, 157, 154), (30, 90, 200), (150, 60, 60)])
def test_one_stamp_on_blocks_of_two_colours_is_no_match_on_the_hashes(
    theirs: tuple[int, int, int],
) -> None:
    # Near-blank blocks carrying the corpus's watermark: what their grey hashes see is the
    # stamp. Their colour is kept beside the hashes, for images with no local features too.
    from bench.quality.corpus import apply_transform

    def stamped(colour: tuple[int, int, int]) -> Fingerprint:
        return fingerprint(apply_transform(_block(colour, (640, 640)), "watermark", "x")[0])

    ours, other = stamped((50, 51, 56)), stamped(theirs)
    assert min(ours.quality, other.quality) < LOW_DETAIL_QUALITY
    assert judge(dataclasses.replace(ours, colour=None), other).repost
    assert not judge(ours, other).repost
    assert not judge(other, ours).repost
    # The same stamped block, brighter, is the same image.
    brighter = ImageEnhance.Brightness(_block((50, 51, 56), (640, 640))).enhance(1.25)
    again = fingerprint(apply_transform(brighter, "watermark", "x")[0])
    assert judge(again, ours).repost


def test_blocks_of_two_colours_in_one_window_layout_are_no_pair() -> None:
    # The corpus's canvas edit: a title bar, the picture framed in grey on a plain page, a
    # line of text. Lined up by the window, two blocks of different colours are two images;
    # the same block in two such windows is one.
    from bench.quality.corpus import apply_transform

    def framed_block(colour: tuple[int, int, int], name: str) -> Fingerprint:
        return fingerprint(apply_transform(_block(colour, (640, 640)), "canvas", name)[0])

    blue, green = framed_block(BLUE, "one"), framed_block((60, 160, 90), "one")
    assert blue.local is not None and green.local is not None
    assert tones_differ(blue.local, green.local)
    assert not judge_pair(blue, green).repost
    assert not judge_pair(green, blue).repost
    again = framed_block(BLUE, "two")
    assert again.local is not None
    assert not tones_differ(again.local, blue.local)
