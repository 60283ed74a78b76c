"""Where the picture sits inside a repost: the picture band of a phone screenshot."""

from __future__ import annotations

import numpy as np
import pytest

from bot.hashing import decode
from bot.regions import candidate_views, picture_band
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
