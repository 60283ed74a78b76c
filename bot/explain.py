"""Why seenit called an image a repost: the edits its fingerprints can tell, in words."""

from __future__ import annotations

import re

from bot.hashing import Fingerprint
from bot.i18n import ENGLISH, Texts, slug
from bot.matching import VIEW_MARGIN, Thresholds, Verdict

#: Sizes within this share of each other count as the same size.
SIZE_TOLERANCE = 0.02
#: Aspect ratios further apart than this mean something was cut off.
ASPECT_TOLERANCE = 0.03

#: Orientations and views are worded by the catalogue's ``why.orientation.<name>`` and
#: ``why.view.<name>`` (names with ``_`` for spaces).
TURNED = frozenset(
    {"mirrored", "flipped", "rotated 180", "transposed", "rotated 90", "rotated 270", "transversed"}
)
#: A small rotation the local stage measured, as :attr:`Verdict.edit_parts` words it.
ROTATED = re.compile(r"rotated by (\d+) degrees")


def edit_words(verdict: Verdict, t: Texts = ENGLISH) -> str:
    """What was done to the earlier picture, in a few words of the reader's language ("" for
    nothing notable): "cropped", "captioned and rotated by 4 degrees", "mirrored"..."""
    words = []
    for part in verdict.edit_parts:
        rotated = ROTATED.fullmatch(part)
        if rotated is not None:
            words.append(t("edit.rotated", degrees=int(rotated[1])))
            continue
        key = f"edit.{slug(part)}"
        words.append(t(key) if t.has(key) else part)
    return t("edit.and").join(words)


def edits(
    new: Fingerprint, original: Fingerprint, verdict: Verdict, t: Texts = ENGLISH
) -> list[str]:
    """The edits between an original and its repost, as short phrases."""
    if verdict.local is not None:
        return [edit_words(verdict, t) or t("why.same")]
    found: list[str] = []
    if verdict.edit:  # a clip: how it was made from the original, "a trimmed copy of" it
        found.append(t("clip.alert", edit=t(f"clip.edit.{verdict.edit}")))
    if verdict.view:
        key = f"why.view.{slug(verdict.view)}"
        found.append(t(key) if t.has(key) else verdict.view)
    if verdict.orientation_name in TURNED:
        found.append(t(f"why.orientation.{slug(verdict.orientation_name)}"))
    new_w, new_h = new.width, new.height
    if verdict.orientation_name in ("transposed", "rotated 90", "rotated 270", "transversed"):
        new_w, new_h = new_h, new_w
    if not verdict.view:
        aspect_new, aspect_old = new_w / new_h, original.width / original.height
        if abs(aspect_new / aspect_old - 1) > ASPECT_TOLERANCE:
            found.append(t("why.cropped"))
    if abs(new_w / original.width - 1) > SIZE_TOLERANCE and not verdict.view:
        found.append(
            t(
                "why.resized",
                old_width=original.width,
                old_height=original.height,
                new_width=new.width,
                new_height=new.height,
            )
        )
    if verdict.distance == 0 and not found:
        found.append(t("why.same"))
    elif not found or verdict.distance > 0:
        found.append(t("why.recompressed"))
    return found


def explanation(
    new: Fingerprint,
    original: Fingerprint,
    verdict: Verdict,
    rule: Thresholds,
    t: Texts = ENGLISH,
) -> str:
    """A few lines for the "Why?" answer."""
    if verdict.local is not None:
        return _local_explanation(verdict, t)
    limit = rule.max256 - VIEW_MARGIN if verdict.view else rule.max256
    lines = [
        t("why.changed", edits=t("why.separator").join(edits(new, original, verdict, t))),
        t("why.distance", distance=verdict.distance, limit=limit, similarity=verdict.similarity),
    ]
    return "\n".join(lines)


def _local_explanation(verdict: Verdict, t: Texts) -> str:
    """Why the local stage matched: the edit, then how well the aligned pictures agree."""
    found = verdict.local
    assert found is not None
    if found.template:
        head = t("why.template")
    else:
        head = t("why.changed", edits=edit_words(verdict, t) or t("why.same"))
    moves = [t("why.scaled", scale=found.scale)]
    if abs(found.rotation) >= 1:
        moves.append(t("why.turned", degrees=abs(found.rotation)))
    aligned = t(
        "why.aligned",
        inliers=found.inliers,
        geometry=t("edit.and").join(moves),
        distance=verdict.distance,
        similarity=verdict.similarity,
    )
    return "\n".join([head, aligned])
