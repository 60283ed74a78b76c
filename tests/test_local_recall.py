"""Edits the local stage used to miss: text drawn over a window whose title bar passes for
a caption bar, matches that RANSAC shrinks onto one point."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.local import LocalFeatures, judge_local
from bot.local.verify import MIN_INLIERS, align
from tests.support import photo
from tests.test_local import caption, font, lettering, local_of


def window(picture: Image.Image) -> Image.Image:
    """The picture in an application's window: a dark title bar with a small title."""
    w, h = picture.size
    bar = h // 5
    out = Image.new("RGB", (w, h + bar), (40, 42, 48))
    out.paste(picture, (0, bar))
    ImageDraw.Draw(out).text((8, bar // 3), "Photos", fill=(230, 230, 230), font=font(bar // 4))
    return out


@pytest.mark.parametrize("name", ["coffee.jpg", "chelsea.jpg"])
def test_text_over_a_window_title_bar_is_a_repost(name: str) -> None:
    # The title bar passes for a caption bar, and the text drawn over it for another
    # caption; but the title stays where it was: nothing was replaced. (When the text
    # covers most of the title, it still reads as another caption.)
    picture = window(photo(name))
    verdict = judge_local(local_of(lettering(picture)), local_of(picture))
    assert verdict is not None
    assert not verdict.template
    # The other way round (the picture without the text, after it) too.
    verdict = judge_local(local_of(picture), local_of(lettering(picture)))
    assert verdict is not None
    assert not verdict.template


@pytest.mark.parametrize("name", ["coffee.jpg", "chelsea.jpg"])
def test_two_captions_above_a_window_stay_templates(name: str) -> None:
    picture = window(photo(name))
    first = local_of(caption(picture, "WHEN THE CODE WORKS"))
    second = local_of(caption(picture, "NOBODY: ABSOLUTELY NOBODY"))
    verdict = judge_local(second, first)
    assert verdict is not None and verdict.template


def _features(points: np.ndarray, descriptors: np.ndarray) -> LocalFeatures:
    return LocalFeatures(
        width=480,
        height=360,
        points=points.astype(np.float32),
        descriptors=descriptors,
        word_ids=np.zeros(len(points), dtype=np.uint16),
        thumbnail=np.zeros((144, 192), dtype=np.uint8),
    )


def test_a_fit_that_shrinks_many_matches_onto_one_point_gives_way_to_the_true_one() -> None:
    rng = np.random.default_rng(3)
    true = 3 * MIN_INLIERS // 2
    stored_descriptors = rng.integers(0, 256, (true + 1, 32), dtype=np.uint8)
    stored_points = rng.uniform(40, 320, (true + 1, 2))
    # The query is the stored image shifted by (30, 12) and shown 20% larger...
    query_points = [(stored_points[:true] - (30, 12)) * 1.2]
    query_descriptors = [stored_descriptors[:true]]
    # ...and it repeats one mark of the stored image many times (a row of icons, a word
    # in every line of a chat): more matches than the true ones, all onto one point.
    repeats = 2 * true
    query_points.append(rng.uniform(0, 400, (repeats, 2)))
    query_descriptors.append(np.repeat(stored_descriptors[true:], repeats, axis=0))
    query = _features(np.concatenate(query_points), np.concatenate(query_descriptors))
    stored = _features(stored_points, stored_descriptors)
    found = align(query, stored)
    assert found is not None
    assert found.inliers == true
    assert found.scale == pytest.approx(1.2, rel=0.01)
    assert abs(found.rotation) < 0.5
