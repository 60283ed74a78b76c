"""Where the picture sits inside a repost: the picture band of a phone screenshot."""

from __future__ import annotations

import numpy as np
import pytest

from bot.hashing import decode, fingerprint
from bot.matching import judge
from bot.regions import SCREENSHOT_VIEW, Box, candidate_views, hashed_views, picture_band
from tests.support import PHOTOS, encode, photo
from tests.test_local import caption, phone


@pytest.mark.parametrize("name", PHOTOS)
def test_a_phone_screenshot_gives_a_view_of_its_picture(name: str) -> None:
    picture = photo(name)
    # As tests.test_local.phone lays it out: at the screen's width, 110 pixels down.
    shown_height = picture.height * 540 // picture.width
    image = decode(encode(phone(picture), quality=90))
    boxes = [box for view, box in candidate_views(image) if view == "screenshot of an image"]
    assert boxes, name
    # The decoded image is reduced: compare in its pixels, within two of them.
    k = image.width / 540
    box = boxes[0]
    assert box.left <= 2 and box.right >= image.width - 2
    assert abs(box.top - 110 * k) <= 2 and abs(box.bottom - (110 + shown_height) * k) <= 2


@pytest.mark.parametrize("name", PHOTOS)
def test_photos_and_captioned_memes_have_no_picture_band(name: str) -> None:
    for image in (photo(name), caption(photo(name), "WHEN THE CODE WORKS")):
        rgb = np.asarray(decode(encode(image, quality=90)).convert("RGB"))
        assert picture_band(rgb) is None


def test_the_picture_of_a_screenshot_is_hashed_with_and_without_its_outermost_pixel() -> None:
    inner = Box(10, 20, 60, 70)
    views = [("captioned", Box(0, 12, 100, 80)), (SCREENSHOT_VIEW, inner)]
    assert hashed_views(views, (100, 80)) == [*views, (SCREENSHOT_VIEW, Box(9, 19, 61, 71))]
    # Never past the image's edges; a box at them is hashed once.
    edge = [(SCREENSHOT_VIEW, Box(0, 5, 100, 75))]
    assert hashed_views(edge, (100, 80)) == [*edge, (SCREENSHOT_VIEW, Box(0, 4, 100, 76))]
    whole = [(SCREENSHOT_VIEW, Box(0, 0, 100, 80))]
    assert hashed_views(whole, (100, 80)) == whole


def test_a_picture_at_half_a_chat_windows_width_is_found_by_its_view() -> None:
    # In the small decoded image the picture is some 60 pixels wide: without its outermost
    # pixel its hash came 118 bits from the original's (no view matched).
    from bench.quality.corpus import apply_transform

    picture = photo("astronaut.jpg").resize((1024, 1024))
    original = fingerprint(encode(picture, "PNG"))
    chat = fingerprint(apply_transform(picture, "canvas_chat", "astronaut.jpg")[0])
    verdict = judge(chat, original)
    assert verdict.repost and verdict.view == SCREENSHOT_VIEW
