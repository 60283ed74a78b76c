"""Detection quality of the local stage (``bot.local``) on top of the global hashes.

The flow is the bot's: the global stage (``bot.index`` + ``bot.matching.judge``) first;
a global match is kept unless the local stage calls the pair a *template* (the same picture
under another caption). When the global stage finds nothing and the query has local
features, ``bot.local.LocalIndex.query`` (top 20, built over the originals' words) gives
candidates and ``bot.local.examine`` judges each: geometric verification, then the dense
check. Every variant and every original is a query against all the originals.

Reported next to the global stage alone: recall per transform, false pairs among all
distinct pairs, the *margin*: the dense distances of the closest wrong pairs that passed
geometric verification (the threshold is ``bot.local.verify.MAX_DENSE_DISTANCE``), the
template pairs (``template_b`` against ``template_a`` of the same original: a different
caption should not alert; ``template_a_small`` against ``template_a``: the same meme again
should), costs per image and per query.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.hashing import Fingerprint
from bot.index import HammingIndex
from bot.local import LocalIndex, pictures_differ
from bot.local.verify import (
    MAX_BAND_DISTANCE,
    MAX_DENSE_DISTANCE,
    MAX_TEXTURE_DISTANCE,
    MIN_SPREAD,
    TEXTURE_AGREEMENT,
    Examination,
    examine,
)
from bot.matching import Thresholds, Verdict, has_caption, judge, query_hashes, refutable

TOP = 20


@dataclass
class BothResult:
    """What the global + local pipeline says under one rule, over the whole corpus."""

    name: str
    rule: Thresholds
    #: per variant: its own original was flagged (by either stage).
    detected: npt.NDArray[np.bool_]
    #: per variant: flagged by the local stage (the global stage found nothing).
    by_local: npt.NDArray[np.bool_]
    #: per variant: its own original was among the local candidates.
    retrieved: npt.NDArray[np.bool_]
    #: flagged distinct pairs: (query item, other original, stage, detail).
    false_positives: list[tuple[int, int, str, str]]
    #: wrong pairs that passed geometric verification: (margin, dense distance, band
    #: distance, query, original, inliers). The margin is how many bits the closest check
    #: (whole overlap or middle band) stayed above its threshold; -1 everywhere when the
    #: overlap was too small to judge, band -1 when the band was not checked.
    near_misses: list[tuple[int, int, int, int, int, int]]
    #: global matches the local stage turned into templates: (query, original).
    templated: list[tuple[int, int]]
    blank_queries_alerting: int
    #: the best agreement of a wrong pair the texture path judges (a fit spread over two
    #: bare pictures: ``Examination.texture_agreement``); the path needs
    #: ``bot.local.verify.TEXTURE_AGREEMENT``.
    wrong_spread_agreement: float = 0.0
    #: edit words of the local verdicts, per transform.
    edits: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: float = 0.0
    local_queries: int = 0
    local_seconds: float = 0.0
    judged_pairs: int = 0
    judge_seconds: float = 0.0


def _would_alert(query: Fingerprint, stored: Fingerprint, rule: Thresholds) -> tuple[bool, str]:
    """Whether the bot would alert for this one pair, and through which stage."""
    verdict = judge(query, stored, rule)
    if _refuted(query, stored, verdict):
        return False, "refuted"
    if verdict.repost:
        # As the service: only a captioned query's global matches may be templates.
        if has_caption(query) and stored.local is not None:
            found = examine(query.local, stored.local)
            verdict = None if found is None else found.verdict
            if verdict is not None and verdict.template:
                return False, "template"
        return True, "global"
    if query.local is None or stored.local is None or not _passes_gate(query, stored, rule):
        return False, ""
    found = examine(query.local, stored.local)
    verdict = None if found is None else found.verdict
    if verdict is None or verdict.template:
        return False, "template" if verdict is not None else ""
    return True, "local"


def evaluate_both(
    name: str,
    rule: Thresholds,
    fps: Sequence[Fingerprint | str],
    owner: npt.NDArray[np.int64],
    blank: npt.NDArray[np.bool_],
    transform_names: Sequence[str],
) -> BothResult:
    """Query every item (originals first, then variants) against the originals."""
    started = time.monotonic()
    m = len(blank)
    stored = [fp if isinstance(fp, Fingerprint) else None for fp in fps[:m]]
    usable = [i for i, fp in enumerate(stored) if fp is not None]
    index = HammingIndex(usable, (stored[i].phash64 for i in usable))  # type: ignore[union-attr]
    local_index = LocalIndex()
    local_index.load(
        (i, fp.local.words) for i, fp in enumerate(stored) if fp is not None and fp.local
    )
    n_var = len(fps) - m
    result = BothResult(
        name,
        rule,
        np.zeros(n_var, dtype=np.bool_),
        np.zeros(n_var, dtype=np.bool_),
        np.zeros(n_var, dtype=np.bool_),
        [],
        [],
        [],
        0,
    )
    for i, query in enumerate(fps):
        if not isinstance(query, Fingerprint):
            continue
        own = int(owner[i])
        flagged: dict[int, str] = {}
        for hit in index.search(list(query_hashes(query)), rule.radius64):
            j = hit.image_id
            other = stored[j]
            if j == i or other is None:
                continue
            found_global = judge(query, other, rule)
            if not found_global.repost or _refuted(query, other, found_global):
                continue
            if has_caption(query) and other.local is not None:
                assert query.local is not None
                found = examine(query.local, other.local)
                verdict = None if found is None else found.verdict
                if verdict is not None and verdict.template:
                    result.templated.append((i, j))
                    continue
            flagged[j] = f"global {found_global.distance}"
        # As the service: a query under the quality gate is not searched at all, and stored
        # images under it are not candidates.
        if not flagged and query.local is not None and query.quality >= rule.min_quality:
            t0 = time.perf_counter()
            candidates = local_index.query(query.local, TOP)
            result.local_queries += 1
            result.local_seconds += time.perf_counter() - t0
            if i >= m and own in candidates:
                result.retrieved[i - m] = True
            for j in candidates:
                other = stored[j]
                if j == i or other is None or other.local is None:
                    continue
                if other.quality < rule.min_quality:
                    continue
                t0 = time.perf_counter()
                found: Examination | None = examine(query.local, other.local)
                result.judge_seconds += time.perf_counter() - t0
                result.judged_pairs += 1
                if found is None:
                    continue
                verdict = found.verdict
                if j != own and verdict is None:
                    result.near_misses.append((*_margin(found), i, j, found.inliers))
                texture = found.texture_agreement
                if j != own and texture is not None:
                    result.wrong_spread_agreement = max(result.wrong_spread_agreement, texture)
                if verdict is None or verdict.template:
                    continue
                flagged[j] = f"local {verdict.dense_distance} bits, {verdict.inliers} inliers"
                if i >= m and j == own:
                    result.by_local[i - m] = True
                    t_name = transform_names[i - m]
                    result.edits.setdefault(t_name, Counter())[verdict.edit] += 1
        if i >= m and own in flagged:
            result.detected[i - m] = True
        for j, detail in flagged.items():
            if j != own:
                stage = detail.split()[0]
                result.false_positives.append((i, j, stage, detail))
        if flagged and blank[own]:
            result.blank_queries_alerting += 1
    result.near_misses.sort()
    result.seconds = time.monotonic() - started
    return result


def _margin(found: Examination) -> tuple[int, int, int]:
    """(margin, dense, band) of a pair the local stage turned down; see ``near_misses``."""
    if found.margin is None or found.dense_distance is None:
        return -1, -1, -1
    band = -1 if found.band_distance is None else found.band_distance
    return found.margin, found.dense_distance, band


def _refuted(query: Fingerprint, stored: Fingerprint, verdict: Verdict) -> bool:
    """As the service: a global match that the local stage refutes."""
    if not refutable(verdict) or query.local is None or stored.local is None:
        return False
    return pictures_differ(query.local, stored.local)


def _passes_gate(query: Fingerprint, stored: Fingerprint, rule: Thresholds) -> bool:
    return min(query.quality, stored.quality) >= rule.min_quality


@dataclass
class TemplateResult:
    originals: int
    #: template_b against template_a: the bot would alert (should not).
    different_caption_alerts: int
    #: template_a_small against template_a: the bot would alert (should).
    same_caption_alerts: int
    #: template_b against template_a: flagged as a template by the local stage.
    flagged_template: int


def evaluate_templates(
    fps: Sequence[Fingerprint | str],
    rule: Thresholds,
    variant_of: dict[tuple[int, str], int],
    originals: Sequence[int],
) -> TemplateResult:
    """Pairs of captioned versions of one picture, judged as the bot would."""
    out = TemplateResult(0, 0, 0, 0)
    for o in originals:
        try:
            a, b, small = (
                variant_of[(o, t)] for t in ("template_a", "template_b", "template_a_small")
            )
        except KeyError:
            continue
        fa, fb, fs = fps[a], fps[b], fps[small]
        if not (
            isinstance(fa, Fingerprint)
            and isinstance(fb, Fingerprint)
            and isinstance(fs, Fingerprint)
        ):
            continue
        out.originals += 1
        alert_b, how_b = _would_alert(fb, fa, rule)
        out.different_caption_alerts += alert_b
        out.flagged_template += how_b == "template"
        out.same_caption_alerts += _would_alert(fs, fa, rule)[0]
    return out


def margin_text(
    result: BothResult, labels: Sequence[str], names: Sequence[str], top: int = 10
) -> str:
    """The closest wrong pairs that passed geometric verification."""
    judged = [n for n in result.near_misses if n[1] >= 0]
    if not judged:
        return "No wrong pair passed geometric verification with a judgeable overlap."
    margins = np.array([n[0] for n in judged])
    lines = [
        f"{len(result.near_misses)} wrong pairs passed geometric verification "
        f"({len(result.near_misses) - len(judged)} with an overlap too small to judge). The "
        f"dense check accepts the whole overlap within {MAX_DENSE_DISTANCE} bits, or its "
        f"middle band within {MAX_BAND_DISTANCE} bits (either within {MAX_TEXTURE_DISTANCE} "
        f"bits when the fit spreads over {MIN_SPREAD:.0%} of two bare pictures and they "
        f"agree at {TEXTURE_AGREEMENT}); the *margin* is how far the closest stayed above its "
        f"threshold. Closest wrong pair: {int(margins.min())} bits "
        f"of margin; within 4 bits: {int((margins <= 4).sum())}, 8: "
        f"{int((margins <= 8).sum())}, 16: {int((margins <= 16).sum())}. Best agreement of "
        f"a wrong pair spread that far: {result.wrong_spread_agreement:.3f}.",
        "",
        "| margin | dense bits | band bits | inliers | query | wrongly aligned with |",
        "| ---: | ---: | ---: | ---: | :--- | :--- |",
    ]
    for margin, dense, band, i, j, inliers in judged[:top]:
        band_text = "-" if band < 0 else str(band)
        lines.append(f"| {margin} | {dense} | {band_text} | {inliers} | {labels[i]} | {names[j]} |")
    return "\n".join(lines)
