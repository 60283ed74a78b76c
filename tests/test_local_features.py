"""Local features: the faster ORB pass finds exactly the keypoints of the default one, and the
faster word lookup exactly the nearest words."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
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
from bot.local.vocabulary import vocabulary
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
    """FAST thresholds ORB is run at, in order (on the whole pyramid or one level)."""
    used: list[int] = []
    run, run_level = features._orb, features._orb_level

    def spy(work: U8, keypoints: int, threshold: int) -> tuple[object, U8 | None]:
        used.append(threshold)
        return run(work, keypoints, threshold)

    def spy_level(level: U8, index: int, quota: int, threshold: int) -> features._Found:
        used.append(threshold)
        return run_level(level, index, quota, threshold)

    monkeypatch.setattr(features, "_orb", spy)
    monkeypatch.setattr(features, "_orb_level", spy_level)
    yield used


@pytest.fixture
def exact_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortcut without the middle levels' higher threshold: the default's keypoints."""
    monkeypatch.setattr(features, "MIDDLE_THRESHOLD", 0)


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
@pytest.mark.usefixtures("exact_shortcut")
def test_the_shortcut_finds_the_default_keypoints(
    name: str, keypoints: int, thresholds_used: list[int]
) -> None:
    for image in (photo(name), photo(name).resize((2400, 1800))):
        work = work_image(image)
        fast = features._strongest_first(features._orb_default(work, keypoints))
        thresholds_used.clear()
        default = features._strongest_first(
            features._found(*features._orb(work, keypoints, FAST_THRESHOLD))
        )
        assert rows(*fast) == rows(*default)
        assert np.array_equal(fast[0], default[0]) and np.array_equal(fast[1], default[1])


@pytest.mark.parametrize("name", TEXTURED)
def test_textured_photos_take_the_shortcut(name: str, thresholds_used: list[int]) -> None:
    features._orb_default(work_image(photo(name)), MAX_KEYPOINTS)
    assert thresholds_used and thresholds_used[0] > FAST_THRESHOLD


def corners_on_the_whole_image(image: U8, threshold: int) -> int:
    """FAST corners of the whole image that lie outside ORB's border (the plain way)."""
    height, width = image.shape
    found = cv2.FastFeatureDetector.create(threshold, True).detect(image)
    edge = features.ORB_EDGE
    return sum(edge <= kp.pt[0] < width - edge and edge <= kp.pt[1] < height - edge for kp in found)


@pytest.mark.parametrize("name", PHOTOS)
def test_corners_counted_on_the_inner_part_are_those_of_the_whole_image(name: str) -> None:
    for image in (photo(name), phone_screenshot(name)):
        levels = features._pyramid(work_image(image))
        for level in (levels[0], levels[3], levels[-1]):
            for threshold in (FAST_THRESHOLD, 25, 40, 60):
                expected = corners_on_the_whole_image(level, threshold)
                assert features._corners(level, threshold) == expected


def level_by_level(work: U8, keypoints: int, threshold: int) -> features._Found:
    levels = features._pyramid(work)
    quotas = features._level_quotas(keypoints)
    return features._joined(
        [
            features._orb_level(level, index, quota, threshold)
            for index, (level, quota) in enumerate(zip(levels, quotas, strict=True))
        ]
    )


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("keypoints", [MAX_KEYPOINTS, REGION_KEYPOINTS])
@pytest.mark.parametrize("threshold", [FAST_THRESHOLD, 40])
def test_orb_level_by_level_is_orb_on_its_whole_pyramid(
    name: str, keypoints: int, threshold: int
) -> None:
    """Each level given to ORB alone yields, bit for bit and in the same order, what ORB keeps
    of that level of its own pyramid: points, responses and descriptors."""
    for image in (photo(name), photo(name).resize((2400, 1800)), phone_screenshot(name)):
        work = work_image(image)
        whole = features._found(*features._orb(work, keypoints, threshold))
        levels = level_by_level(work, keypoints, threshold)
        assert len(whole.points) > 0
        assert whole.points.tobytes() == levels.points.tobytes()
        assert whole.responses.tobytes() == levels.responses.tobytes()
        assert whole.descriptors.tobytes() == levels.descriptors.tobytes()


@pytest.mark.usefixtures("exact_shortcut")
def test_a_level_short_of_its_share_falls_back_to_the_default_threshold(
    monkeypatch: pytest.MonkeyPatch, thresholds_used: list[int]
) -> None:
    """A level that fills less than its share at the higher threshold: the levels next to it
    may not hold 2 q corners either, so the whole pyramid is done at the default threshold."""
    work = work_image(photo("astronaut.jpg"))
    run_level = features._orb_level  # the fixture's spy

    def starved(level: U8, index: int, quota: int, threshold: int) -> features._Found:
        found = run_level(level, index, quota, threshold)
        if index == 3 and threshold != FAST_THRESHOLD:
            return features._found((), None)  # as if the level had too few corners
        return found

    monkeypatch.setattr(features, "_orb_level", starved)
    fast = features._strongest_first(features._orb_default(work, MAX_KEYPOINTS))
    shortcut = thresholds_used[0]
    assert shortcut > FAST_THRESHOLD
    assert thresholds_used == [shortcut] * 4 + [FAST_THRESHOLD]
    default = features._strongest_first(
        features._found(*features._orb(work, MAX_KEYPOINTS, FAST_THRESHOLD))
    )
    assert fast[0].tobytes() == default[0].tobytes()
    assert fast[1].tobytes() == default[1].tobytes()


def test_a_middle_level_with_2q_corners_at_the_middle_threshold_keeps_its_keypoints() -> None:
    """The middle threshold changes nothing on a level holding twice its share of corners."""
    rng = np.random.default_rng(7)
    blocks = np.zeros((360, 480), np.uint8)  # a busy picture: every level full of corners
    for _ in range(400):
        x, y, w, h, grey = (int(v) for v in rng.integers((0, 0, 4, 4, 0), (480, 360, 30, 30, 256)))
        cv2.rectangle(blocks, (x, y), (x + w, y + h), grey, -1)
    works = [blocks] + [work_image(photo(name)) for name in PHOTOS]
    checked = 0
    for work in works:
        levels = features._pyramid(work)
        quotas = features._level_quotas(MAX_KEYPOINTS)
        for index in range(1, features.ORB_LEVELS - 1):
            if features._corners(levels[index], features.MIDDLE_THRESHOLD) < 2 * quotas[index]:
                continue
            checked += 1
            middle = features._strongest_first(
                features._orb_level(levels[index], index, quotas[index], features.MIDDLE_THRESHOLD)
            )
            default = features._strongest_first(
                features._orb_level(levels[index], index, quotas[index], FAST_THRESHOLD)
            )
            assert middle[0].tobytes() == default[0].tobytes()
            assert middle[1].tobytes() == default[1].tobytes()
    assert checked >= features.ORB_LEVELS - 2  # every middle level of the blocks, at least


@pytest.mark.parametrize("name", TEXTURED)
def test_the_middle_threshold_keeps_most_default_keypoints(
    name: str, thresholds_used: list[int]
) -> None:
    """Middle levels run at the middle threshold; the finest and coarsest keep the default
    keypoints, and at least 85% of all keypoints are the default's."""
    work = work_image(photo(name))
    fast = features._strongest_first(features._orb_default(work, MAX_KEYPOINTS))
    # Each middle level is run at the middle threshold first, again at the shortcut's when it
    # falls short of its share there.
    shortcut = thresholds_used[0]
    assert shortcut > FAST_THRESHOLD and thresholds_used[-1] == shortcut
    assert thresholds_used.count(features.MIDDLE_THRESHOLD) == features.ORB_LEVELS - 2
    default = features._strongest_first(
        features._found(*features._orb(work, MAX_KEYPOINTS, FAST_THRESHOLD))
    )
    shared = set(rows(*fast)) & set(rows(*default))
    assert len(fast[0]) == len(default[0]) == MAX_KEYPOINTS
    assert len(shared) >= 0.85 * MAX_KEYPOINTS


def test_smooth_pictures_keep_the_default_threshold(thresholds_used: list[int]) -> None:
    gradient = np.tile(np.linspace(0, 255, 480, dtype=np.uint8), (360, 1))
    cv2.circle(gradient, (240, 180), 60, 30, -1)
    features._orb_default(gradient, MAX_KEYPOINTS)
    assert thresholds_used == [FAST_THRESHOLD]


@pytest.mark.parametrize("name", TEXTURED)
@pytest.mark.usefixtures("exact_shortcut")
def test_local_features_are_the_same_without_the_shortcut(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shortcut = features.SHORTCUT_THRESHOLDS
    for image in (photo(name).resize((2400, 1800)), phone_screenshot(name)):
        decoded = decode(encode(image))
        fast = extract_local(decoded)
        monkeypatch.setattr(features, "SHORTCUT_THRESHOLDS", ())
        default = extract_local(decoded)
        monkeypatch.setattr(features, "SHORTCUT_THRESHOLDS", shortcut)
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
        points, kept = features._strongest_first(features._found(keypoints, descriptors[order]))
        assert [tuple(p) for p in points.tolist()] == expected
        # Each descriptor stays with its keypoint.
        assert [int(row[0]) // 32 for row in kept] == [3, 2, 1, 0]


def nearest_rows(rows: U8, centres: U8) -> npt.NDArray[np.intp]:
    """The first nearest centre of each row by Hamming distance, from the bits themselves."""
    bits = np.unpackbits(rows, axis=1).astype(np.int32)
    centre_bits = np.unpackbits(centres, axis=1).astype(np.int32)
    distances = bits.sum(1)[:, None] + centre_bits.sum(1)[None, :] - 2 * bits @ centre_bits.T
    return np.argmin(distances, axis=1)


def test_words_are_the_nearest_centres_first_of_equals() -> None:
    """Each descriptor's word: its nearest first-level centre, then the nearest of that
    centre's leaves, the first of equally near ones at each level."""
    vocab = vocabulary()
    rng = np.random.default_rng(11)
    found = [extract_local(decode(encode(photo(name)))) for name in PHOTOS]
    descriptors = np.concatenate(
        [f.descriptors for f in found if f is not None]
        + [
            rng.integers(0, 256, (300, 32), dtype=np.uint8),
            vocab.top[:20],  # at distance 0 of a centre
            vocab.leaves[5, :20],
            ~vocab.top[:20],  # at distance 256 of a centre
        ]
    )
    first = nearest_rows(descriptors, vocab.top)
    second = np.array(
        [
            nearest_rows(row[None, :], vocab.leaves[f])[0]
            for row, f in zip(descriptors, first, strict=True)
        ]
    )
    expected = first * vocab.leaves.shape[1] + second
    assert np.array_equal(vocab.words(descriptors), expected)
    # Equally near first-level centres are common enough to check the order of equals.
    bits = np.unpackbits(descriptors, axis=1).astype(np.int32)
    centre_bits = np.unpackbits(vocab.top, axis=1).astype(np.int32)
    distances = bits.sum(1)[:, None] + centre_bits.sum(1)[None, :] - 2 * bits @ centre_bits.T
    assert ((distances == distances.min(1, keepdims=True)).sum(1) > 1).sum() >= 10
    assert vocab.words(descriptors[:0]).shape == (0,)


def test_one_opencv_thread_finds_the_same_features() -> None:
    """Hashing workers run OpenCV on one thread: keypoints, descriptors, words and
    thumbnail are those of OpenCV's default threads."""
    threads = cv2.getNumThreads()
    images = [decode(encode(photo(name).resize((2400, 1800)))) for name in PHOTOS]
    images.append(decode(encode(phone_screenshot("motorcycle.jpg"))))
    try:
        cv2.setNumThreads(max(threads, 2))
        default = [extract_local(image) for image in images]
        features.single_threaded()
        assert cv2.getNumThreads() == 1
        one = [extract_local(image) for image in images]
    finally:
        cv2.setNumThreads(threads)
    assert all(isinstance(f, LocalFeatures) for f in default)
    assert one == default
    assert [f.to_bytes() for f in one if f] == [f.to_bytes() for f in default if f]
