"""Local features: the faster ORB pass finds exactly the keypoints of the default one."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.hashing import decode
from bot.local import LocalFeatures, extract_local, features
from bot.local.features import (
    F32,
    FAST_THRESHOLD,
    MAX_KEYPOINTS,
    REGION_KEYPOINTS,
    U8,
    WORK_SIDE,
)
from tests.support import PHOTOS, encode, photo

#: Committed photos textured enough for a higher FAST threshold (checked below).
TEXTURED = ("astronaut.jpg", "motorcycle.jpg")


def work_image(image: Image.Image) -> U8:
    """The image ORB runs on, as extract_local makes it from an upload."""
    gray = np.asarray(decode(encode(image)).convert("L"))
    return features._resized(gray, WORK_SIDE)[0]


def rows(points: F32, descriptors: U8) -> list[tuple[int, ...]]:
    """Keypoints as sortable rows (position bits, then descriptor bytes)."""
    both = np.concatenate([points.view(np.uint32), descriptors.view(np.uint32)], axis=1)
    return sorted(map(tuple, both.tolist()))


def phone_screenshot(name: str) -> Image.Image:
    """A photo shown in the middle of a chat screenshot: the region keypoints run too."""
    canvas = Image.new("RGB", (720, 1280), (30, 31, 34))
    draw = ImageDraw.Draw(canvas)
    for y in range(40, 300, 36):
        draw.text((40, y), "reposted again? look at this one", fill=(220, 220, 220))
    canvas.paste(photo(name).resize((640, 480)), (40, 360))
    return canvas


@pytest.fixture
def thresholds_used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """FAST thresholds ORB is run at, in order."""
    used: list[int] = []
    run = features._orb

    def spy(work: U8, keypoints: int, threshold: int) -> tuple[object, U8 | None]:
        used.append(threshold)
        return run(work, keypoints, threshold)

    monkeypatch.setattr(features, "_orb", spy)
    yield used


@pytest.mark.parametrize("keypoints", [MAX_KEYPOINTS, REGION_KEYPOINTS])
def test_level_quotas_are_what_orb_keeps(keypoints: int) -> None:
    found, _ = features._orb(work_image(photo("astronaut.jpg")), keypoints, FAST_THRESHOLD)
    per_level = np.bincount([kp.octave for kp in found], minlength=features.ORB_LEVELS)
    assert tuple(per_level) == features._level_quotas(keypoints)
    assert sum(features._level_quotas(keypoints)) == keypoints


def test_the_pyramid_is_orbs() -> None:
    """Corner counts on the pyramid bound what ORB finds on each level at a high threshold."""
    work = work_image(photo("motorcycle.jpg"))
    levels = features._pyramid(work)
    assert [level.shape[1] for level in levels] == [480, 400, 333, 278, 231, 193, 161, 134]
    found, _ = features._orb(work, 10_000, 40)
    per_level = np.bincount([kp.octave for kp in found], minlength=features.ORB_LEVELS)
    # With room for every corner, ORB keeps exactly the corners FAST finds on its levels.
    assert per_level.tolist() == [features._corners(level, 40) for level in levels]


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("keypoints", [MAX_KEYPOINTS, REGION_KEYPOINTS])
def test_the_shortcut_finds_the_default_keypoints(
    name: str, keypoints: int, thresholds_used: list[int]
) -> None:
    for image in (photo(name), photo(name).resize((2400, 1800))):
        work = work_image(image)
        fast = features._strongest_first(*features._orb_default(work, keypoints))
        thresholds_used.clear()
        default = features._strongest_first(*features._orb(work, keypoints, FAST_THRESHOLD))
        assert rows(*fast) == rows(*default)
        assert np.array_equal(fast[0], default[0]) and np.array_equal(fast[1], default[1])


@pytest.mark.parametrize("name", TEXTURED)
def test_textured_photos_take_the_shortcut(name: str, thresholds_used: list[int]) -> None:
    features._orb_default(work_image(photo(name)), MAX_KEYPOINTS)
    assert thresholds_used and thresholds_used[0] > FAST_THRESHOLD


def test_smooth_pictures_keep_the_default_threshold(thresholds_used: list[int]) -> None:
    gradient = np.tile(np.linspace(0, 255, 480, dtype=np.uint8), (360, 1))
    cv2.circle(gradient, (240, 180), 60, 30, -1)
    features._orb_default(gradient, MAX_KEYPOINTS)
    assert thresholds_used == [FAST_THRESHOLD]


@pytest.mark.parametrize("name", TEXTURED)
def test_local_features_are_the_same_without_the_shortcut(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for image in (photo(name).resize((2400, 1800)), phone_screenshot(name)):
        decoded = decode(encode(image))
        fast = extract_local(decoded)
        monkeypatch.setattr(features, "SHORTCUT_THRESHOLDS", ())
        default = extract_local(decoded)
        monkeypatch.undo()
        assert isinstance(fast, LocalFeatures) and fast == default
        assert fast.words == default.words


def test_equal_responses_are_ordered_by_position() -> None:
    """Ties come out in the same order whatever order ORB listed them in."""
    spots = [(30.0, 20.0, 0.5), (10.0, 20.0, 0.5), (50.0, 5.0, 0.5), (7.0, 9.0, 0.9)]
    descriptors = np.arange(4 * 32, dtype=np.uint8).reshape(4, 32)
    expected = [(7.0, 9.0), (50.0, 5.0), (10.0, 20.0), (30.0, 20.0)]
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        keypoints = [
            cv2.KeyPoint(spots[i][0], spots[i][1], 31, response=spots[i][2]) for i in order
        ]
        points, kept = features._strongest_first(keypoints, descriptors[order])
        assert [tuple(p) for p in points.tolist()] == expected
        # Each descriptor stays with its keypoint.
        assert [int(row[0]) // 32 for row in kept] == [3, 2, 1, 0]
