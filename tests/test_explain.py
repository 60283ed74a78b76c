"""The "Why?" answer (bot/explain.py): which edits seenit names, case by case."""

from __future__ import annotations

import pytest

from bot.explain import edits, explanation
from bot.hashing import ORIENTATION_NAMES, Fingerprint
from bot.matching import PRESETS, Verdict


def fp(width: int, height: int) -> Fingerprint:
    """A fingerprint of that size (only the size matters to the explanation)."""
    return Fingerprint(0, bytes(32), 50, width, height, (0,) * 8, (bytes(32),) * 8)


def verdict(distance: int = 0, orientation: str = "identity", view: str = "") -> Verdict:
    return Verdict(distance, 0, ORIENTATION_NAMES.index(orientation), True, "", view)


ORIGINAL = fp(800, 600)


@pytest.mark.parametrize(
    ("new", "how", "expected"),
    [
        (fp(800, 600), verdict(), ["the same picture"]),
        (fp(800, 600), verdict(3), ["recompressed or lightly retouched"]),
        # Sizes within 2% of each other are the same size.
        (fp(812, 609), verdict(2), ["recompressed or lightly retouched"]),
        (
            fp(400, 300),
            verdict(4),
            ["resized from 800×600 to 400×300", "recompressed or lightly retouched"],
        ),
        (fp(800, 600), verdict(0, "mirrored"), ["mirrored (flipped left to right)"]),
        (
            fp(800, 600),
            verdict(5, "flipped"),
            ["flipped upside down", "recompressed or lightly retouched"],
        ),
        (fp(800, 600), verdict(0, "rotated 180"), ["rotated by 180°"]),
        # A quarter turn swaps width and height: not a crop, not a resize.
        (fp(600, 800), verdict(0, "rotated 90"), ["rotated by 90°"]),
        (fp(600, 800), verdict(0, "rotated 270"), ["rotated by 90° the other way"]),
        (fp(600, 800), verdict(0, "transposed"), ["rotated and mirrored"]),
        (
            fp(300, 400),
            verdict(6, "rotated 90"),
            [
                "rotated by 90°",
                "resized from 800×600 to 300×400",
                "recompressed or lightly retouched",
            ],
        ),
        # The aspect ratio changed by more than 3%: something was cut off.
        (fp(800, 500), verdict(7), ["cropped", "recompressed or lightly retouched"]),
        (
            fp(700, 600),
            verdict(7),
            ["cropped", "resized from 800×600 to 700×600", "recompressed or lightly retouched"],
        ),
        # A view matched: the sizes are the canvas's, so no crop or resize is claimed.
        (
            fp(800, 900),
            verdict(10, view="captioned"),
            ["a caption bar was added", "recompressed or lightly retouched"],
        ),
        (
            fp(1920, 1080),
            verdict(12, "mirrored", view="screenshot of an image"),
            [
                "it is a screenshot of the picture, on a larger canvas",
                "mirrored (flipped left to right)",
                "recompressed or lightly retouched",
            ],
        ),
        (fp(800, 600), verdict(0, view="captioned"), ["a caption bar was added"]),
    ],
)
def test_edits(new: Fingerprint, how: Verdict, expected: list[str]) -> None:
    assert edits(new, ORIGINAL, how) == expected


@pytest.mark.parametrize(
    ("how", "preset", "expected"),
    [
        (
            verdict(3, "mirrored"),
            "normal",
            "What changed: mirrored (flipped left to right); recompressed or lightly retouched.\n"
            "Fingerprint distance 3 of 256 bits (this server calls ≤ 29 a repost), 99% similar.",
        ),
        (
            verdict(20, view="captioned"),
            "strict",
            "What changed: a caption bar was added; recompressed or lightly retouched.\n"
            # A view is held to a stricter limit than the whole image.
            "Fingerprint distance 20 of 256 bits (this server calls ≤ 18 a repost), 92% similar.",
        ),
    ],
)
def test_explanation(how: Verdict, preset: str, expected: str) -> None:
    assert explanation(fp(800, 600), ORIGINAL, how, PRESETS[preset]) == expected
