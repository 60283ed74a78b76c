"""Why seenit called an image a repost: the edits its fingerprints can tell, in words."""

from __future__ import annotations

from bot.hashing import Fingerprint
from bot.matching import VIEW_MARGIN, Thresholds, Verdict

#: Sizes within this share of each other count as the same size.
SIZE_TOLERANCE = 0.02
#: Aspect ratios further apart than this mean something was cut off.
ASPECT_TOLERANCE = 0.03

ORIENTATION_WORDS = {
    "identity": "",
    "mirrored": "mirrored (flipped left to right)",
    "flipped": "flipped upside down",
    "rotated 180": "rotated by 180°",
    "transposed": "rotated and mirrored",
    "rotated 90": "rotated by 90°",
    "rotated 270": "rotated by 90° the other way",
    "transversed": "rotated and mirrored",
}
VIEW_WORDS = {
    "captioned": "a caption bar was added",
    "screenshot of an image": "it is a screenshot of the picture, on a larger canvas",
}


def edits(new: Fingerprint, original: Fingerprint, verdict: Verdict) -> list[str]:
    """The edits between an original and its repost, as short phrases."""
    found: list[str] = []
    if verdict.view:
        found.append(VIEW_WORDS.get(verdict.view, verdict.view))
    turned = ORIENTATION_WORDS.get(verdict.orientation_name, "")
    if turned:
        found.append(turned)
    new_w, new_h = new.width, new.height
    if verdict.orientation_name in ("transposed", "rotated 90", "rotated 270", "transversed"):
        new_w, new_h = new_h, new_w
    if not verdict.view:
        aspect_new, aspect_old = new_w / new_h, original.width / original.height
        if abs(aspect_new / aspect_old - 1) > ASPECT_TOLERANCE:
            found.append("cropped")
    if abs(new_w / original.width - 1) > SIZE_TOLERANCE and not verdict.view:
        found.append(f"resized from {original.width}×{original.height} to {new.width}×{new.height}")
    if verdict.distance == 0 and not found:
        found.append("the same picture")
    elif not found or verdict.distance > 0:
        found.append("recompressed or lightly retouched")
    return found


def explanation(new: Fingerprint, original: Fingerprint, verdict: Verdict, rule: Thresholds) -> str:
    """A few lines for the "Why?" answer."""
    limit = rule.max256 - VIEW_MARGIN if verdict.view else rule.max256
    lines = [
        "What changed: " + "; ".join(edits(new, original, verdict)) + ".",
        f"Fingerprint distance {verdict.distance} of 256 bits"
        f" (this server calls ≤ {limit} a repost), {verdict.similarity:.0f}% similar.",
    ]
    return "\n".join(lines)
