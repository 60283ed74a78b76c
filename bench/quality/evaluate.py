"""Detection quality of seenit's repost rule against perceptual-hash baselines.

Run ``python -m bench.quality`` (the whole evaluation: ~7 minutes of wall time on 2 idle
cores with cold caches, mostly hashing; seconds with warm caches) or
``python -m bench.quality --only seenit`` (seenit's rule only: ~1 minute cold, for
iterating on ``bot/hashing.py`` / ``bot/matching.py``).

Pairs, on the corpus of :mod:`bench.quality.corpus`:

* *positive*: every (variant, its original). Recall counts only originals that are not
  ``blank``; blank ones must never alert, which is reported separately;
* *distinct* (negative): every (variant, other original) and every ordered (original,
  other original) pair.

Baselines (:mod:`bench.quality.methods`) give a distance per pair, computed exhaustively
and vectorised. The threshold at a false-positive-rate target is the largest distance
whose FPR over the distinct pairs is <= the target; recall is then read per transform.
The FPR is calibrated on the distinct pairs in which neither image is blank: the
baselines have no quality gate, and pairs of two near-blank images (all at distance ~0)
would otherwise use up the whole budget. How often a blank variant would alert at that
threshold is reported next to it, and a second table calibrates on every distinct pair.
Distances are small integers, so the ROC AUC is computed exactly from the positive and
negative distance histograms (the Mann-Whitney rank formula with ties counted half), on
all those negatives, no subsampling.

seenit is evaluated through its own code path: ``bot.hashing.fingerprint`` on the encoded
bytes, a ``bot.index.HammingIndex`` of the originals' ``phash64``, a lookup of
``bot.matching.query_hashes(fp)`` within ``rule.radius64``, and ``bot.matching.judge`` on
each candidate. Every variant and every original is queried against all the originals:
a candidate judged a repost is a true positive if it is the query's own original and a
false positive otherwise.

Hashes are cached in ``bench/.cache/quality/hashes-<method>-<corpus version>.npz``;
seenit's cache name also carries a digest of ``bot/hashing.py`` and ``bot/matching.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import pickle
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import bot.hashing
import bot.local.verify
import bot.matching
import bot.regions
from bench.quality.corpus import (
    DEFAULT_CACHE_DIR,
    EASY_TRANSFORMS,
    GROUP_OF,
    HARD_TRANSFORMS,
    KINDS,
    TRANSFORMS,
    Corpus,
    build_corpus,
    load_corpus,
)
from bench.quality.local import (
    BothResult,
    TemplateResult,
    evaluate_both,
    evaluate_templates,
    margin_text,
)
from bench.quality.methods import (
    FAMILY_WORDS,
    METHODS,
    METHODS_VERSION,
    Method,
    check_orientation_shortcut,
    hash_file,
    library_versions,
)
from bot.hashing import Fingerprint, decisive, fingerprint, hamming64
from bot.index import HammingIndex
from bot.matching import PRESETS, Thresholds, Verdict, judge, query_hashes

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "quality.md"
PLOT = ROOT / "docs" / "quality-recall.png"
FPR_TARGETS = (1e-3, 1e-4)
#: Queries per chunk of the exhaustive distance computation (bounded memory).
CHUNK = 512
#: seenit fingerprint caches kept per corpus version (one per code digest).
SEENIT_CACHES_KEPT = 4
LOCAL_DIR = ROOT / "bot" / "local"

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Log = Callable[[str], None]
#: CPU seconds spent by the hashing workers, per pool (for the report).
CPU_SECONDS: dict[str, float] = {}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- the pairs


@dataclass(frozen=True)
class Items:
    """Every image that is hashed: the originals first, then the variants.

    ``owner[i]`` is the index (among originals) of item ``i``'s original (itself for an
    original); ``transform[i]`` indexes :data:`TRANSFORMS` (-1 for an original).
    """

    corpus: Corpus
    paths: tuple[Path, ...]
    labels: tuple[str, ...]
    owner: I64
    transform: I64
    blank: npt.NDArray[np.bool_]  # per original
    kind: tuple[str, ...]  # per original

    @property
    def n_originals(self) -> int:
        return len(self.corpus.originals)

    @property
    def n_items(self) -> int:
        return len(self.paths)

    @property
    def variant_rows(self) -> I64:
        return np.arange(self.n_originals, self.n_items, dtype=np.int64)

    @property
    def n_distinct(self) -> int:
        """Distinct (query, other original) pairs: variants and originals as queries."""
        m = self.n_originals
        return (self.n_items - m) * (m - 1) + m * (m - 1)

    def item_blank(self) -> npt.NDArray[np.bool_]:
        return self.blank[self.owner]


def make_items(corpus: Corpus) -> Items:
    index = {o.name: i for i, o in enumerate(corpus.originals)}
    t_index = {t: i for i, t in enumerate(TRANSFORMS)}
    paths = [o.path for o in corpus.originals] + [v.path for v in corpus.variants]
    labels = [o.name for o in corpus.originals] + [
        f"{v.original_name} [{v.transform}]" for v in corpus.variants
    ]
    owner = list(range(len(corpus.originals))) + [index[v.original_name] for v in corpus.variants]
    transform = [-1] * len(corpus.originals) + [t_index[v.transform] for v in corpus.variants]
    return Items(
        corpus=corpus,
        paths=tuple(paths),
        labels=tuple(labels),
        owner=np.array(owner, dtype=np.int64),
        transform=np.array(transform, dtype=np.int64),
        blank=np.array([o.kind == "blank" for o in corpus.originals], dtype=np.bool_),
        kind=tuple(o.kind for o in corpus.originals),
    )


# ------------------------------------------------------------------------- hashing


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _pool_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int, what: str) -> list[Any]:
    """Map over a process pool, in order, logging progress; records the workers' CPU time."""
    started = time.monotonic()
    cpu = _children_cpu()
    out: list[Any] = []
    step = max(1, len(jobs) // 10)
    ctx = get_context("fork") if sys.platform.startswith("linux") else get_context()
    with ctx.Pool(processes=max(1, workers)) as pool:
        for i, result in enumerate(pool.imap(fn, jobs, chunksize=16), 1):
            out.append(result)
            if i % step == 0 or i == len(jobs):
                _log(f"  {what}: {i}/{len(jobs)} ({time.monotonic() - started:.0f}s)")
    CPU_SECONDS[what] = CPU_SECONDS.get(what, 0.0) + _children_cpu() - cpu
    return out


def _hash_job(job: tuple[str, tuple[str, ...]]) -> dict[str, U64]:
    path, families = job
    return hash_file(path, families)


def _baseline_key(items: Items) -> str:
    digest = hashlib.sha256("\n".join(map(str, items.labels)).encode()).hexdigest()[:12]
    versions = json.dumps(library_versions(), sort_keys=True)
    return f"methods {METHODS_VERSION}; items {items.n_items} {digest}; {versions}"


def baseline_hashes(
    items: Items, families: Sequence[str], workers: int, rehash: bool
) -> tuple[dict[str, U64], float]:
    """family -> (items, orientations, words) array, from the cache or computed."""
    cache = items.corpus.cache_dir
    key = _baseline_key(items)
    out: dict[str, U64] = {}
    missing: list[str] = []
    for family in families:
        path = cache / f"hashes-{family}-{items.corpus.version}.npz"
        if not rehash and path.is_file():
            with np.load(path) as data:
                if str(data["key"]) == key:
                    out[family] = data["hashes"]
                    continue
        missing.append(family)
    if not missing:
        _log(f"baseline hashes: all {len(families)} families cached")
        return out, 0.0
    started = time.monotonic()
    _log(f"hashing {items.n_items} images for {', '.join(missing)} ({workers} workers)")
    jobs = [(str(p), tuple(missing)) for p in items.paths]
    results: list[dict[str, U64]] = _pool_map(_hash_job, jobs, workers, "baselines")
    for family in missing:
        hashes = np.stack([r[family] for r in results])
        np.savez(
            cache / f"hashes-{family}-{items.corpus.version}.npz", key=np.array(key), hashes=hashes
        )
        out[family] = hashes
    return out, time.monotonic() - started


def _seenit_code_digest() -> str:
    h = hashlib.sha256()
    for module in (bot.hashing, bot.matching, bot.regions):
        assert module.__file__ is not None
        h.update(Path(module.__file__).read_bytes())
    # The local features are part of the fingerprint: their code and vocabulary too (not
    # the index or the verification, which run after fingerprinting).
    for name in ("features.py", "vocabulary.py", "vocabulary.npz"):
        h.update((LOCAL_DIR / name).read_bytes())
    return h.hexdigest()[:12]


def _fingerprint_job(path: str) -> Fingerprint | str:
    try:
        return fingerprint(Path(path).read_bytes())
    except Exception as exc:  # an unreadable variant is a miss, reported by reason
        return f"{type(exc).__name__}: {exc}"


def seenit_fingerprints(
    items: Items, workers: int, rehash: bool
) -> tuple[list[Fingerprint | str], float]:
    """seenit's fingerprint of every item's encoded bytes (or why it failed).

    The cache maps each item's label to its fingerprint, per code digest: a run on a
    subset (``--originals``, ``--transforms``) reuses what any earlier run hashed and
    hashes only the rest.
    """
    cache = items.corpus.cache_dir
    prefix = f"hashes-seenit-{items.corpus.version}-"
    path = cache / f"{prefix}{_seenit_code_digest()}.npz"
    known: dict[str, Fingerprint | str] = {}
    if not rehash and path.is_file():
        with np.load(path) as data:
            if "labels" in data:
                labels = json.loads(str(data["labels"]))
                found = pickle.loads(data["fingerprints"].tobytes())
                known = dict(zip(labels, found, strict=True))
    missing = [i for i, label in enumerate(items.labels) if label not in known]
    if not missing:
        _log(f"seenit fingerprints: cached ({path.name})")
        return [known[label] for label in items.labels], 0.0
    started = time.monotonic()
    _log(f"fingerprinting {len(missing)} images with bot.hashing.fingerprint ({workers} workers)")
    hashed = _pool_map(_fingerprint_job, [str(items.paths[i]) for i in missing], workers, "seenit")
    known.update((items.labels[i], fp) for i, fp in zip(missing, hashed, strict=True))
    blob = np.frombuffer(
        pickle.dumps(list(known.values()), protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8
    )
    np.savez(path, labels=np.array(json.dumps(list(known))), fingerprints=blob)
    old = sorted(cache.glob(f"{prefix}*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in old[SEENIT_CACHES_KEPT:]:
        stale.unlink(missing_ok=True)
    return [known[label] for label in items.labels], time.monotonic() - started


# ------------------------------------------------------------------ baseline distances


@dataclass
class MethodResult:
    """Distances of one baseline over the whole corpus (as histograms where possible)."""

    method: Method
    #: distance of every variant to its own original, in variant order.
    positive: I64
    #: histogram of distinct-pair distances, pairs with no blank image.
    neg_clean: I64
    #: histogram of distinct-pair distances, pairs with a blank image on either side.
    neg_blank: I64
    #: per item: smallest distance to any original (itself excluded for an original).
    nearest: I64
    thresholds: dict[float, int] = field(default_factory=dict)

    @property
    def negatives(self) -> I64:
        return self.neg_clean + self.neg_blank


def _distances(queries: U64, stored: U64) -> npt.NDArray[np.uint16]:
    """(n, orientations, words) x (m, words) -> (n, m): min over orientations of Hamming."""
    n, orients, words = queries.shape
    acc = np.zeros((n, orients, stored.shape[0]), dtype=np.uint16)
    for w in range(words):
        acc += np.bitwise_count(queries[:, :, w, np.newaxis] ^ stored[np.newaxis, np.newaxis, :, w])
    out: npt.NDArray[np.uint16] = acc.min(axis=1)
    return out


def evaluate_method(method: Method, hashes: U64, items: Items) -> MethodResult:
    words = FAMILY_WORDS[method.family]
    queries = np.ascontiguousarray(hashes[:, : method.orientations, :words])
    stored = np.ascontiguousarray(hashes[: items.n_originals, 0, :words])
    m = items.n_originals
    bins = method.bits + 1
    neg_clean = np.zeros(bins, dtype=np.int64)
    neg_blank = np.zeros(bins, dtype=np.int64)
    positive = np.zeros(items.n_items, dtype=np.int64)
    nearest = np.zeros(items.n_items, dtype=np.int64)
    cols = np.arange(m)
    for start in range(0, items.n_items, CHUNK):
        rows = np.arange(start, min(start + CHUNK, items.n_items))
        d = _distances(queries[rows], stored).astype(np.int64)
        own = items.owner[rows]
        is_own = cols[np.newaxis, :] == own[:, np.newaxis]
        positive[rows] = d[np.arange(len(rows)), own]
        blank_pair = items.blank[own][:, np.newaxis] | items.blank[np.newaxis, :]
        neg = ~is_own
        neg_clean += np.bincount(d[neg & ~blank_pair], minlength=bins)
        neg_blank += np.bincount(d[neg & blank_pair], minlength=bins)
        is_self = is_own & (rows < m)[:, np.newaxis]
        nearest[rows] = np.where(is_self, bins, d).min(axis=1)
    return MethodResult(method, positive[m:], neg_clean, neg_blank, nearest)


def threshold_at(neg_hist: I64, target: float) -> int:
    """Largest distance whose FPR (share of negatives at or below it) is <= target."""
    fpr = np.cumsum(neg_hist) / max(1, int(neg_hist.sum()))
    ok = np.flatnonzero(fpr <= target)
    return int(ok[-1]) if len(ok) else -1


def fpr_at(neg_hist: I64, thr: int) -> float:
    return float(neg_hist[: thr + 1].sum() / max(1, int(neg_hist.sum())))


def auc_from_hist(pos: I64, neg: I64) -> float:
    """P(negative distance > positive distance) + half the ties: exact ROC AUC."""
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    above = n_neg - np.cumsum(neg)  # negatives strictly farther than d
    return float((pos * (above + 0.5 * neg)).sum() / (n_pos * n_neg))


# --------------------------------------------------------------------- seenit's rule


@dataclass
class RuleResult:
    """What seenit's pipeline says under one rule, over the whole corpus."""

    name: str
    rule: Thresholds
    #: per variant: whether its own original was flagged as a repost.
    detected: npt.NDArray[np.bool_]
    #: per variant, why it was missed: "" (detected), "no candidate", "distance",
    #: "other" (within max256 but judged not a repost: quality gate), "unreadable".
    miss: list[str]
    #: per variant: 256-bit distance judged against its own original (-1: not judged).
    own_distance: I64
    #: flagged distinct pairs: (query item, other original, verdict distance).
    false_positives: list[tuple[int, int, int]]
    #: queries of a blank image (variant or original) flagged against any original.
    blank_queries_alerting: int
    #: flagged pairs (own or distinct) with a blank image on either side.
    blank_pairs_flagged: int
    seconds: float = 0.0
    note: str = ""


def _orientations_dropped(fp: Fingerprint) -> Fingerprint:
    return dataclasses.replace(
        fp,
        phash64_orientations=fp.phash64_orientations[:1],
        phash256_orientations=fp.phash256_orientations[:1],
    )


def default_preset() -> str:
    """Name of the preset that is the bot's default rule (``"normal"``)."""
    return next((n for n, r in PRESETS.items() if r == bot.matching.DEFAULT), "default")


def seenit_configs(
    extra: Sequence[tuple[str, Thresholds]] = (),
) -> list[tuple[str, Thresholds, Callable[[Fingerprint], Fingerprint] | None]]:
    """(name, rule, query preparation) for each preset, the ablations and extra rules."""
    configs: list[tuple[str, Thresholds, Callable[[Fingerprint], Fingerprint] | None]] = [
        (name, rule, None) for name, rule in PRESETS.items()
    ]
    name = default_preset()
    default = bot.matching.DEFAULT
    configs.append((f"{name}, no orientations", default, _orientations_dropped))
    configs.append((f"{name}, no quality gate", dataclasses.replace(default, min_quality=0), None))
    configs.extend((name, rule, None) for name, rule in extra)
    return configs


def evaluate_rule(
    name: str,
    rule: Thresholds,
    fps: Sequence[Fingerprint | str],
    items: Items,
    prepare: Callable[[Fingerprint], Fingerprint] | None = None,
) -> RuleResult:
    """Query every item against the index of the originals, as the bot does."""
    started = time.monotonic()
    m = items.n_originals
    stored = [fp if isinstance(fp, Fingerprint) else None for fp in fps[:m]]
    usable = [i for i, fp in enumerate(stored) if fp is not None]
    index = HammingIndex(usable, (stored[i].phash64 for i in usable))  # type: ignore[union-attr]
    n_var = items.n_items - m
    detected = np.zeros(n_var, dtype=np.bool_)
    miss = ["unreadable"] * n_var
    own_distance = np.full(n_var, -1, dtype=np.int64)
    false_positives: list[tuple[int, int, int]] = []
    blank_queries = 0
    blank_pairs = 0
    note = ""
    for i, raw in enumerate(fps):
        if not isinstance(raw, Fingerprint):
            continue
        if prepare is not None:
            try:
                query = prepare(raw)
            except (TypeError, AttributeError, ValueError) as exc:
                note = f"query preparation failed ({exc}); evaluated without it"
                prepare = None
                query = raw
        else:
            query = raw
        own = int(items.owner[i])
        is_variant = i >= m
        query_blank = bool(items.blank[own])
        if is_variant:
            miss[i - m] = "no candidate"
        flagged_any = False
        for hit in index.search(list(query_hashes(query)), rule.radius64):
            j = hit.image_id
            if j == i:  # an original finds itself
                continue
            other = stored[j]
            assert other is not None
            verdict: Verdict = judge(query, other, rule)
            if j == own:
                own_distance[i - m] = verdict.distance
                detected[i - m] = verdict.repost
                if verdict.repost:
                    miss[i - m] = ""
                elif verdict.distance > rule.max256:
                    miss[i - m] = "distance"
                else:
                    miss[i - m] = "other"
            elif verdict.repost:
                false_positives.append((i, j, verdict.distance))
            if verdict.repost:
                flagged_any = True
                if query_blank or items.blank[j]:
                    blank_pairs += 1
        if flagged_any and query_blank:
            blank_queries += 1
    false_positives.sort(key=lambda p: (p[2], p[0], p[1]))
    return RuleResult(
        name,
        rule,
        detected,
        miss,
        own_distance,
        false_positives,
        blank_queries,
        blank_pairs,
        time.monotonic() - started,
        note,
    )


# ------------------------------------------------------------- the global stage's margin


@dataclass(frozen=True)
class NearMiss:
    """A wrong pair of the global stage, however far: how close it came to the threshold."""

    #: 256-bit distance minus the threshold it is judged against (the view's for a view).
    margin: int
    distance: int
    distance64: int
    query: int
    original: int
    #: "" for the whole query, else the view's name.
    view: str


def _bits256(hashes: Sequence[bytes]) -> npt.NDArray[np.bool_]:
    packed = np.frombuffer(b"".join(hashes), dtype=np.uint8)
    return np.unpackbits(packed).reshape(len(hashes), 256).astype(np.bool_)


def global_near_misses(
    fps: Sequence[Fingerprint | str], items: Items, rule: Thresholds, keep: int = 200
) -> tuple[list[NearMiss], int]:
    """The wrong pairs of the global stage closest to its threshold, and how many were judged.

    Every distinct pair (every query, every other original) that the decision would judge
    at all: both images pass the quality gate and their hashes are decided by their pictures
    (:func:`bot.hashing.decisive`); views under the view rules of :mod:`bot.matching`. The
    64-bit radius is left out: it bounds the search, and an expert threshold widens it.
    """
    m = items.n_originals
    stored = [fp if isinstance(fp, Fingerprint) else None for fp in fps[:m]]
    usable = np.array(
        [
            fp is not None and fp.quality >= rule.min_quality and decisive(fp.phash256)
            for fp in stored
        ]
    )
    zero = bytes(32)
    table = _bits256([fp.phash256 if fp is not None else zero for fp in stored])
    table64 = [fp.phash64 if fp is not None else 0 for fp in stored]
    view_limit = rule.max256 - bot.matching.VIEW_MARGIN
    view_quality = max(rule.min_quality, bot.matching.VIEW_MIN_QUALITY)
    found: list[NearMiss] = []
    judged = 0
    for i, fp in enumerate(fps):
        if not isinstance(fp, Fingerprint):
            continue
        wrong = usable.copy()
        wrong[int(items.owner[i])] = False
        if i < m:
            wrong[i] = False
        parts = []
        if fp.quality >= rule.min_quality and decisive(fp.phash256):
            parts.append(("", fp.phash64_orientations, fp.phash256_orientations, rule.max256))
        for view in fp.views:
            if view.quality >= view_quality and decisive(view.phash256_orientations[0]):
                parts.append(
                    (view.name, view.phash64_orientations, view.phash256_orientations, view_limit)
                )
        if not parts or not wrong.any():
            continue
        judged += int(wrong.sum())
        best: dict[int, NearMiss] = {}
        for name, hashes64, hashes256, limit in parts:
            distances = (_bits256(hashes256)[:, np.newaxis, :] != table).sum(axis=2).min(axis=0)
            for j in np.flatnonzero(wrong):
                margin = int(distances[j]) - limit
                if j in best and best[j].margin <= margin:
                    continue
                d64 = min(hamming64(h, table64[j]) for h in hashes64)
                best[int(j)] = NearMiss(margin, int(distances[j]), d64, i, int(j), name)
        found.extend(best.values())
        if len(found) > 4 * keep:
            found = sorted(found, key=lambda n: (n.margin, n.query, n.original))[:keep]
    found.sort(key=lambda n: (n.margin, n.query, n.original))
    return found[:keep], judged


def easy_misses_text(
    both: BothResult, fps: Sequence[Fingerprint | str], items: Items, rule: Thresholds
) -> str:
    """Every easy edit both stages miss, and why each stage let it go."""
    m = items.n_originals
    easy = {TRANSFORMS.index(t) for t in EASY_TRANSFORMS}
    rows = []
    for k in range(items.n_items - m):
        i = m + k
        own = int(items.owner[i])
        if both.detected[k] or items.blank[own] or int(items.transform[i]) not in easy:
            continue
        query, stored = fps[i], fps[own]
        if not isinstance(query, Fingerprint) or not isinstance(stored, Fingerprint):
            rows.append([items.labels[i], "unreadable", "", ""])
            continue
        verdict = judge(query, stored, rule)
        gate = f"{query.quality}/{stored.quality}"
        if verdict.repost:
            why_global = "matched, set aside as a template"
        else:
            why_global = f"{verdict.reason} {verdict.distance} (64-bit {verdict.distance64})"
        if query.local is None or stored.local is None:
            why_local = "no local features " + (
                "(both)"
                if query.local is None and stored.local is None
                else "(query)"
                if query.local is None
                else "(original)"
            )
        else:
            found = bot.local.verify.examine(query.local, stored.local)
            if found is None:
                why_local = "no geometric match"
            elif found.dense_distance is None:
                why_local = f"{found.inliers} inliers, overlap too small"
            elif found.verdict is not None and found.verdict.template:
                why_local = f"template (dense {found.dense_distance})"
            else:
                band = "" if found.band_distance is None else f", band {found.band_distance}"
                why_local = f"{found.inliers} inliers, dense {found.dense_distance}{band}"
                if found.verdict is not None:
                    # Say which of the service's gates kept an accepted pair from alerting.
                    if min(query.quality, stored.quality) < rule.min_quality:
                        why_local += " (under the quality gate: never searched locally)"
                    elif not both.retrieved[k]:
                        why_local += " (not among the 20 candidates)"
        rows.append([items.labels[i], gate, why_global, why_local])
    if not rows:
        return "Both stages find every easy edit."
    return (
        f"{len(rows)} easy edits missed by both stages (quality: query/original; global: "
        "why the 256-bit rule said no; local: what verification of the own original gives).\n\n"
        + _table(["query", "quality", "global stage", "local stage"], rows, "llll")
    )


def global_margins_table(
    fps: Sequence[Fingerprint | str], items: Items, rules: Sequence[tuple[str, Thresholds]]
) -> str:
    """The global stage's margin under each rule: closest wrong pair, and how many are near."""
    rows = []
    for name, rule in rules:
        near, judged = global_near_misses(fps, items, rule)
        margins = np.array([n.margin for n in near])
        closest = near[0] if near else None
        rows.append(
            [
                name,
                _rule_text(rule),
                f"{judged:,}",
                closest.margin if closest else "-",
                int((margins <= 4).sum()),
                int((margins <= 8).sum()),
                int((margins <= 16).sum()),
                (
                    f"{items.labels[closest.query]} / "
                    f"{items.corpus.originals[closest.original].name}"
                    if closest
                    else "-"
                ),
            ]
        )
    return (
        "#### The global stage's margin per rule\n\n"
        "Every distinct pair that passes the rule's gate; *margin*: 256-bit distance minus "
        "the threshold (a view's for a view), 64-bit radius left out.\n\n"
        + _table(
            [
                "rule",
                "radius64/max256/min_quality",
                "wrong pairs judged",
                "closest margin",
                "within 4",
                "within 8",
                "within 16",
                "closest wrong pair",
            ],
            rows,
            "llrrrrrl",
        )
    )


def global_margin_text(
    near: Sequence[NearMiss], judged: int, rule: Thresholds, items: Items, top: int = 10
) -> str:
    """The closest wrong pairs of the global stage, as the local stage's margin is given."""
    if not near:
        return "No wrong pair passed the quality gate."
    names = [o.name for o in items.corpus.originals]
    margins = np.array([n.margin for n in near])
    lines = [
        f"{judged:,} wrong pairs pass the quality gate with hashes their pictures decide. The "
        f"global stage accepts a 256-bit distance within {rule.max256} bits (a view's within "
        f"{rule.max256 - bot.matching.VIEW_MARGIN}); the *margin* is how far a wrong pair "
        f"stayed above it (negative: flagged, if within the 64-bit radius too). Closest wrong "
        f"pair: {int(margins.min())} bits of margin; within 4 bits: "
        f"{int((margins <= 4).sum())}, 8: {int((margins <= 8).sum())}, 16: "
        f"{int((margins <= 16).sum())}.",
        "",
        "| margin | distance256 | distance64 | part | query | wrongly close to |",
        "| ---: | ---: | ---: | :--- | :--- | :--- |",
    ]
    for n in near[:top]:
        lines.append(
            f"| {n.margin} | {n.distance} | {n.distance64} | {n.view or 'whole'} | "
            f"{items.labels[n.query]} | {names[n.original]} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- tables


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Masks:
    """Boolean masks over the variants."""

    scored: npt.NDArray[np.bool_]  # non-blank original
    by_transform: dict[str, npt.NDArray[np.bool_]]
    by_kind: dict[str, npt.NDArray[np.bool_]]
    blank: npt.NDArray[np.bool_]


def make_masks(items: Items) -> Masks:
    m = items.n_originals
    t = items.transform[m:]
    own = items.owner[m:]
    blank = items.blank[own]
    kinds = np.array(items.kind)[own]
    return Masks(
        scored=~blank,
        by_transform={name: (t == k) & ~blank for k, name in enumerate(TRANSFORMS)},
        by_kind={k: kinds == k for k in KINDS if k != "blank"},
        blank=blank,
    )


def _recalls(hit: npt.NDArray[np.bool_], masks: Masks) -> dict[str, float]:
    """Recall per transform, plus the easy / hard / all means over transforms."""
    out = {
        t: float(hit[mask].mean()) if mask.any() else float("nan")
        for t, mask in masks.by_transform.items()
    }
    out["easy"] = float(np.nanmean([out[t] for t in EASY_TRANSFORMS]))
    out["hard"] = float(np.nanmean([out[t] for t in HARD_TRANSFORMS]))
    out["all"] = float(np.nanmean([out[t] for t in (*EASY_TRANSFORMS, *HARD_TRANSFORMS)]))
    return out


def baseline_report(results: Sequence[MethodResult], items: Items, masks: Masks) -> str:
    parts: list[str] = []
    names = [r.method.name for r in results]
    rows = []
    recall: dict[tuple[str, float], dict[str, float]] = {}
    m = items.n_originals
    for r in results:
        neg = r.neg_clean
        pos_hist = np.bincount(r.positive[masks.scored], minlength=len(neg))
        row: list[object] = [r.method.name, r.method.bits, f"{auc_from_hist(pos_hist, neg):.4f}"]
        for target in FPR_TARGETS:
            thr = threshold_at(neg, target)
            r.thresholds[target] = thr
            rec = _recalls(r.positive <= thr, masks)
            recall[(r.method.name, target)] = rec
            blank_alert = float((r.nearest[m:][masks.blank] <= thr).mean())
            row += [
                thr,
                f"{fpr_at(neg, thr):.1e}",
                _pct(rec["easy"]),
                _pct(rec["hard"]),
                _pct(rec["all"]),
                _pct(blank_alert),
            ]
        rows.append(row)
    header = ["method", "bits", "AUC"]
    for target in FPR_TARGETS:
        header += [f"thr @{target:.0e}", "FPR", "easy %", "hard %", "all %", "blank alerts %"]
    parts.append(_table(header, rows))
    rows = []
    for r in results:
        row = [r.method.name, f"{r.neg_blank.sum() / r.negatives.sum():.3f}", int(r.neg_blank[0])]
        for target in FPR_TARGETS:
            thr = threshold_at(r.negatives, target)
            rec = _recalls(r.positive <= thr, masks)
            row += [thr, _pct(rec["easy"]), _pct(rec["hard"]), _pct(rec["all"])]
        rows.append(row)
    header = ["method", "share of pairs with a blank", "of them at distance 0"]
    for target in FPR_TARGETS:
        header += [f"thr @{target:.0e}", "easy %", "hard %", "all %"]
    parts.append(
        "#### The same, calibrated on all distinct pairs (blank images included)\n\n"
        "Without a quality gate, near-blank images hash alike (a solid colour is all zeros "
        "to phash), so pairs of two blanks sit at distance 0 and eat the whole FPR budget; "
        "a threshold of -1 means that even distance 0 is over the target.\n\n"
        + _table(header, rows)
    )
    for target in FPR_TARGETS:
        rows = []
        for t in (*TRANSFORMS, "easy", "hard", "all"):
            label = f"{t} ({GROUP_OF[t]})" if t in GROUP_OF else f"**mean {t}**"
            rows.append([label, *(_pct(recall[(n, target)][t]) for n in names)])
        parts.append(
            f"#### Recall (%) per transform, threshold at FPR {target:.0e}\n\n"
            + _table(["transform", *names], rows)
        )
    rows = []
    for t, mask in masks.by_transform.items():
        aucs = []
        for r in results:
            pos_hist = np.bincount(r.positive[mask], minlength=len(r.neg_clean))
            aucs.append(f"{auc_from_hist(pos_hist, r.neg_clean):.4f}")
        rows.append([f"{t} ({GROUP_OF[t]})", *aucs])
    parts.append("#### ROC AUC per transform\n\n" + _table(["transform", *names], rows))
    return "\n\n".join(parts)


def matched_fpr_report(
    base: Sequence[MethodResult], seenit: RuleResult, items: Items, masks: Masks
) -> str:
    """Baselines at the false-positive rate seenit's rule actually has, side by side."""
    fp = len(seenit.false_positives)
    target = fp / items.n_distinct
    rec = _recalls(seenit.detected, masks)
    rows: list[list[object]] = [
        [
            f"**seenit {seenit.name}**",
            _rule_text(seenit.rule),
            f"{target:.1e}",
            _pct(rec["easy"]),
            _pct(rec["hard"]),
            _pct(rec["all"]),
        ]
    ]
    for r in base:
        thr = threshold_at(r.neg_clean, target)
        rec = _recalls(r.positive <= thr, masks)
        rows.append(
            [
                r.method.name,
                thr,
                f"{fpr_at(r.neg_clean, thr):.1e}",
                _pct(rec["easy"]),
                _pct(rec["hard"]),
                _pct(rec["all"]),
            ]
        )
    return (
        f"#### Baselines at seenit `{seenit.name}`'s false-positive rate ({fp} of "
        f"{items.n_distinct:,} distinct pairs = {target:.1e})\n\n"
        "Baseline thresholds calibrated as above (pairs without a blank image).\n\n"
        + _table(["method", "threshold", "FPR", "easy %", "hard %", "all %"], rows)
    )


def _rule_text(rule: Thresholds) -> str:
    return f"{rule.radius64}/{rule.max256}/{rule.min_quality}"


def seenit_report(
    results: Sequence[RuleResult], items: Items, masks: Masks, top: int, worst_for: Sequence[str]
) -> str:
    parts: list[str] = []
    n_distinct = items.n_distinct
    n_blank_queries = int(masks.blank.sum()) + int(items.blank.sum())
    rows = []
    for r in results:
        rec = _recalls(r.detected, masks)
        tp = int(r.detected[masks.scored].sum())
        fp = len(r.false_positives)
        by_kind = [
            _pct(float(r.detected[masks.scored & km].mean())) for km in masks.by_kind.values()
        ]
        rows.append(
            [
                r.name,
                _rule_text(r.rule),
                _pct(rec["easy"]),
                _pct(rec["hard"]),
                _pct(rec["all"]),
                *by_kind,
                fp,
                f"{fp / n_distinct:.1e}",
                f"{100 * tp / max(1, tp + fp):.3f}",
                f"{r.blank_queries_alerting}/{n_blank_queries}",
                r.blank_pairs_flagged,
            ]
        )
    header = [
        "rule",
        "radius64/max256/min_quality",
        "easy %",
        "hard %",
        "all %",
        *(f"{k} %" for k in masks.by_kind),
        "FP pairs",
        "FP rate",
        "precision %",
        "blank queries alerting",
        "blank pairs flagged",
    ]
    parts.append(_table(header, rows))
    notes = [f"* {r.name}: {r.note}" for r in results if r.note]
    if notes:
        parts.append("\n".join(notes))
    rows = []
    per = [_recalls(r.detected, masks) for r in results]
    for t in (*TRANSFORMS, "easy", "hard", "all"):
        label = f"{t} ({GROUP_OF[t]})" if t in GROUP_OF else f"**mean {t}**"
        rows.append([label, *(_pct(p[t]) for p in per)])
    parts.append(
        "#### Recall (%) per transform\n\n"
        + _table(["transform", *(r.name for r in results)], rows)
    )
    main = next((r for r in results if r.name == default_preset()), results[0])
    missed: list[tuple[int, list[object]]] = []
    for t, mask in masks.by_transform.items():
        reasons = Counter(r for r, keep in zip(main.miss, mask, strict=True) if keep and r)
        dist = main.own_distance[mask & (main.own_distance >= 0)]
        n_missed = int(mask.sum()) - int(main.detected[mask].sum())
        row: list[object] = [
            f"{t} ({GROUP_OF[t]})",
            n_missed,
            reasons["no candidate"],
            reasons["distance"],
            reasons["other"],
            reasons["unreadable"],
            int(np.median(dist)) if len(dist) else "-",
        ]
        missed.append((n_missed, row))
    missed.sort(key=lambda nr: -nr[0])
    rows = [row for _, row in missed]
    parts.append(
        f"#### What `{main.name}` misses, per transform (worst first)\n\n"
        "*no candidate*: the own original is not within `radius64` of any `query_hashes`; "
        "*distance*: judged with a 256-bit distance over `max256`; *other*: within `max256` "
        "but not a repost (quality gate or the 64-bit re-check).\n\n"
        + _table(
            [
                "transform",
                "missed",
                "no candidate",
                "distance",
                "other",
                "unreadable",
                "median own distance",
            ],
            rows,
        )
    )
    parts.append(_easy_misses_text(main, items, masks, top))
    for r in results:
        if r.name not in worst_for:
            continue
        parts.append(_false_positive_text(r, items, top))
    return "\n\n".join(parts)


def _easy_misses_text(r: RuleResult, items: Items, masks: Masks, top: int) -> str:
    """The originals missed on the most easy transforms (the misses that matter most)."""
    m = items.n_originals
    own = items.owner[m:]
    easy = np.isin(items.transform[m:], [TRANSFORMS.index(t) for t in EASY_TRANSFORMS])
    missed = easy & masks.scored & ~r.detected
    counts = np.bincount(own[missed], minlength=m)
    ranked = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
    rows = []
    for o in ranked[:top]:
        sel = np.flatnonzero(missed & (own == o))
        reasons = Counter(r.miss[k] for k in sel)
        dist = r.own_distance[sel]
        dist = dist[dist >= 0]
        rows.append(
            [
                items.labels[o],
                items.kind[o],
                f"{counts[o]}/{len(EASY_TRANSFORMS)}",
                ", ".join(f"{why} {n}" for why, n in reasons.most_common()),
                f"{dist.min()}-{dist.max()}" if len(dist) else "-",
            ]
        )
    total = int(missed.sum())
    return (
        f"#### Originals `{r.name}` misses on the most easy transforms ({total} easy misses "
        f"over {int((counts > 0).sum())} originals; the first {min(top, len(ranked))})\n\n"
        + _table(["original", "kind", "easy missed", "why", "own distance256"], rows, "llrlr")
    )


def _false_positive_text(r: RuleResult, items: Items, top: int) -> str:
    """The flagged distinct pairs, grouped by pair of originals, nearest first."""
    text = f"#### Worst false positives, `{r.name}` ({len(r.false_positives)} pairs)"
    if not r.false_positives:
        return text + "\n\nnone"
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, j, d in r.false_positives:
        groups.setdefault((int(items.owner[i]), j), []).append((d, i))
    ranked = sorted(groups.items(), key=lambda kv: (min(kv[1])[0], -len(kv[1]), kv[0]))
    m = items.n_originals
    rows = []
    for (a, b), hits in ranked[:top]:
        hits.sort()
        queries = [
            "original" if i < m else TRANSFORMS[int(items.transform[i])] for _, i in hits[:6]
        ]
        more = f" +{len(hits) - 6}" if len(hits) > 6 else ""
        rows.append(
            [
                items.labels[a],
                items.labels[b],
                len(hits),
                f"{hits[0][0]}-{hits[-1][0]}" if len(hits) > 1 else hits[0][0],
                ", ".join(queries) + more,
            ]
        )
    text += (
        f"\n\n{len(groups)} (query's original, flagged original) pairs; the "
        f"{min(top, len(groups))} nearest:\n\n"
        + _table(
            [
                "query's original",
                "flagged as a repost of",
                "queries flagged",
                "distance256",
                "queries (nearest first)",
            ],
            rows,
            "llrrl",
        )
    )
    if len(ranked) > top:
        text += f"\n\n... and {len(ranked) - top} more pairs of originals."
    return text


# --------------------------------------------------------------------------- the plot


def plot_recall(series: Sequence[tuple[str, dict[str, float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 7), dpi=100)
    x = np.arange(len(TRANSFORMS))
    markers = "osD^vP*X"
    for k, (label, rec) in enumerate(series):
        ax.plot(
            x,
            [100 * rec[t] for t in TRANSFORMS],
            marker=markers[k % len(markers)],
            linewidth=2.4 if label.startswith("seenit") else 1.4,
            markersize=6,
            label=f"{label} (easy {100 * rec['easy']:.0f}%, hard {100 * rec['hard']:.0f}%)",
            zorder=3 if label.startswith("seenit") else 2,
        )
    split = len(EASY_TRANSFORMS) - 0.5
    ax.axvline(split, color="grey", linestyle="--", linewidth=1)
    ax.text(split - 0.3, 102.5, "easy", ha="right", va="bottom", color="grey", fontsize=11)
    ax.text(split + 0.3, 102.5, "hard", ha="left", va="bottom", color="grey", fontsize=11)
    ax.set_xticks(x, TRANSFORMS, rotation=60, ha="right", fontsize=10)
    ax.set_xlim(-0.6, len(TRANSFORMS) - 0.4)
    ax.set_ylim(0, 107)
    ax.set_yticks(range(0, 101, 10))
    ax.set_ylabel("recall (%)", fontsize=12)
    ax.set_title(title, fontsize=13)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=10, framealpha=0.9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------ main


def _load(log: Log) -> Corpus:
    corpus = load_corpus(DEFAULT_CACHE_DIR)
    if corpus is None:
        log("corpus missing or out of date: building it (a few minutes)")
        corpus = build_corpus(DEFAULT_CACHE_DIR, verbose=False)
    return corpus


def _corpus_summary(items: Items) -> str:
    corpus = items.corpus
    kinds = Counter(o.kind for o in corpus.originals)
    m = items.n_originals
    n_var = items.n_items - m
    scored = int((~items.blank[items.owner[m:]]).sum())
    return (
        f"Corpus `{corpus.version}`: {m} originals ("
        + ", ".join(f"{kinds[k]} {k}" for k in KINDS)
        + f"), {n_var:,} variants ({len(TRANSFORMS)} transforms: {len(EASY_TRANSFORMS)} easy, "
        f"{len(HARD_TRANSFORMS)} hard). Positive pairs: {n_var:,} ({scored:,} of non-blank "
        f"originals count for recall). Distinct pairs: {n_var * (m - 1):,} (variant, other "
        f"original) + {m * (m - 1):,} ordered (original, other original) = "
        f"{items.n_distinct:,}."
    )


def _parse_rule(text: str) -> tuple[str, Thresholds]:
    r64, m256, q = (int(x) for x in text.split(","))
    base = bot.matching.DEFAULT
    rule = dataclasses.replace(base, radius64=r64, max256=m256, min_quality=q)
    return f"custom {text}", rule


def run_seenit(
    items: Items, fps: Sequence[Fingerprint | str], extra: Sequence[tuple[str, Thresholds]]
) -> list[RuleResult]:
    results = []
    for name, rule, prepare in seenit_configs(extra):
        result = evaluate_rule(name, rule, fps, items, prepare)
        _log(
            f"  seenit {name}: recall {100 * result.detected.mean():.1f}% (all variants), "
            f"{len(result.false_positives)} FP ({result.seconds:.1f}s)"
        )
        results.append(result)
    return results


def subset(
    corpus: Corpus,
    n: int | None,
    offset: int | Sequence[int] = 0,
    transforms: Sequence[str] = (),
) -> Corpus:
    """Every k-th original (and its variants) so that about ``n`` remain: for iterating.

    ``offset`` shifts the pick (``--offset 2`` gives originals the default pick never
    holds: tune on one, report on the other); several offsets take the union of their
    picks (``--offset 2,3``: both tuning sets, every query against both sets' originals);
    ``transforms`` keeps only those variants.
    """
    offsets = (offset,) if isinstance(offset, int) else tuple(offset)
    if n and n < len(corpus.originals):
        step = len(corpus.originals) / n
        total = len(corpus.originals)
        picked = [(int(k * step) + shift) % total for shift in offsets for k in range(n)]
        kept = tuple(corpus.originals[i] for i in dict.fromkeys(picked))
        corpus = dataclasses.replace(corpus, originals=kept)
    names = {o.name for o in corpus.originals}
    wanted = set(transforms)
    variants = tuple(
        v
        for v in corpus.variants
        if v.original_name in names and (not wanted or v.transform in wanted)
    )
    return dataclasses.replace(corpus, variants=variants)


def run_both(
    items: Items, fps: Sequence[Fingerprint | str], rule: Thresholds, name: str
) -> tuple[BothResult, TemplateResult]:
    m = items.n_originals
    names = [TRANSFORMS[t] for t in items.transform[m:]]
    both = evaluate_both(name, rule, fps, items.owner, items.blank, names)
    variant_of = {
        (int(items.owner[i]), TRANSFORMS[int(items.transform[i])]): i
        for i in range(m, items.n_items)
    }
    scored = [o for o in range(m) if not items.blank[o]]
    templates = evaluate_templates(fps, rule, variant_of, scored)
    _log(
        f"  seenit {name} + local: recall {100 * both.detected.mean():.1f}% (all variants), "
        f"{len(both.false_positives)} FP ({both.seconds:.1f}s)"
    )
    return both, templates


def local_costs(fps: Sequence[Fingerprint | str], items: Items) -> dict[str, float]:
    """Bytes per image of the local features (blob, index words) and extraction time."""
    from bot.hashing import decode
    from bot.local import extract_local

    originals = [fp for fp in fps[: items.n_originals] if isinstance(fp, Fingerprint)]
    with_local = [fp.local for fp in originals if fp.local is not None]
    blobs = [len(f.to_bytes()) for f in with_local]
    words = [len(f.words) for f in with_local]
    sample = items.paths[: items.n_originals : max(1, items.n_originals // 60)]
    images = [decode(p.read_bytes()) for p in sample]
    t0 = time.process_time()
    for image in images:
        extract_local(image)
    extract_ms = 1000 * (time.process_time() - t0) / max(1, len(images))
    return {
        "with_local": len(with_local) / max(1, len(originals)),
        "blob": float(np.mean(blobs)) if blobs else 0.0,
        "words": float(np.mean(words)) if words else 0.0,
        "extract_ms": extract_ms,
    }


def both_report(
    global_result: RuleResult,
    both: BothResult,
    templates: TemplateResult,
    costs: dict[str, float],
    items: Items,
    masks: Masks,
    global_margin: str = "",
    easy_misses: str = "",
) -> str:
    """The global stage alone vs global + local, per transform, with the local stage's costs."""
    g = _recalls(global_result.detected, masks)
    b = _recalls(both.detected, masks)
    m = items.n_originals
    rows = []
    for t in (*TRANSFORMS, "easy", "hard", "all"):
        label = f"{t} ({GROUP_OF[t]})" if t in GROUP_OF else f"**mean {t}**"
        edit = ""
        if both.edits.get(t):
            word, count = both.edits[t].most_common(1)[0]
            edit = f"{word} ({count})"
        rows.append([label, _pct(g[t]), _pct(b[t]), edit])
    recall_table = _table(
        ["transform", "global alone %", "global + local %", "edit named (local matches)"], rows
    )
    local_fp = [fp for fp in both.false_positives if fp[2] == "local"]
    global_fp = [fp for fp in both.false_positives if fp[2] == "global"]
    fp_lines = [
        f"| {items.labels[i]} | {items.corpus.originals[j].name} | {detail} |"
        for i, j, _stage, detail in both.false_positives[:40]
    ]
    names = [o.name for o in items.corpus.originals]
    mean_local_ms = 1000 * both.local_seconds / max(1, both.local_queries)
    mean_judge_ms = 1000 * both.judge_seconds / max(1, both.judged_pairs)
    n_distinct = items.n_distinct
    summary_table = "\n".join(
        [
            f"| global alone | {_pct(g['easy'])} | {_pct(g['hard'])} | {_pct(g['all'])} | "
            f"{len(global_result.false_positives)} | - | {global_result.blank_queries_alerting} |",
            f"| global + local | {_pct(b['easy'])} | {_pct(b['hard'])} | {_pct(b['all'])} | "
            f"{len(both.false_positives)} | {len(local_fp)} | {both.blank_queries_alerting} |",
        ]
    )
    worst_easy = min(EASY_TRANSFORMS, key=lambda t: b[t])
    worst_hard = min(HARD_TRANSFORMS, key=lambda t: b[t])
    return f"""### Global alone vs global + local (`{both.name}` preset)

| pipeline | easy % | hard % | all % | false pairs | of them local | blank queries alerting |
| :--- | ---: | ---: | ---: | ---: | ---: | ---: |
{summary_table}

False pairs are over all {n_distinct:,} distinct pairs ({len(global_fp)} from the global
stage, {len(local_fp)} from the local stage). Weakest easy edit: {worst_easy}
({_pct(b[worst_easy])}); weakest hard edit: {worst_hard} ({_pct(b[worst_hard])}). Local
candidates contained the own original for {int(both.retrieved.sum()):,} of the
{int((~both.detected & ~masks.blank).sum() + both.by_local.sum()):,} variants that reached
the local stage or were missed; {len(both.templated)} global matches were set aside as
templates.

{recall_table}

#### False pairs, global + local

| query | flagged as a repost of | stage, distance |
| :--- | :--- | :--- |
{chr(10).join(fp_lines) if fp_lines else "| (none) | | |"}

#### Easy edits both stages miss

{easy_misses}

#### Margin: the closest wrong pairs of the global stage

{global_margin}

#### Margin: the closest wrong pairs of the local stage

{margin_text(both, items.labels, names)}

#### Meme templates

{templates.originals} non-blank originals, each with caption A (`template_a`), another
caption B on the same picture (`template_b`) and A again at 70% (`template_a_small`),
judged pairwise as the bot would (global stage, then local):

* different captions paired (B vs A, should not alert): {templates.different_caption_alerts} of
  {templates.originals} ({_pct(templates.different_caption_alerts / max(1, templates.originals))}%);
  {templates.flagged_template} recognised as "same template";
* the same caption reposted (A at 70% vs A, should alert): {templates.same_caption_alerts} of
  {templates.originals} ({_pct(templates.same_caption_alerts / max(1, templates.originals))}%).

#### Costs of the local stage

* {100 * costs["with_local"]:.1f}% of the originals have local features (the rest are
  low-texture: global stage only).
* Per image: blob {costs["blob"] / 1024:.1f} KiB (keypoints, descriptors, words, thumbnail),
  index words {costs["words"]:.0f} bytes; extraction {costs["extract_ms"]:.1f} ms CPU on
  the decoded image (mean over a sample of the originals).
* Per query that reaches the local stage: index lookup {mean_local_ms:.2f} ms over
  {m} stored images; verification {mean_judge_ms:.2f} ms per candidate
  ({both.judged_pairs / max(1, both.local_queries):.1f} candidates per query); the local
  stage ran for {both.local_queries:,} of {items.n_items:,} queries.
"""


def presets_report(
    items: Items,
    fps: Sequence[Fingerprint | str],
    masks: Masks,
    configs: Sequence[tuple[str, Thresholds]],
) -> str:
    """Each preset (and extra rule) through both stages: recall, false pairs, margins."""
    m = items.n_originals
    names = [TRANSFORMS[t] for t in items.transform[m:]]
    rows = []
    for name, rule in configs:
        both = evaluate_both(name, rule, fps, items.owner, items.blank, names)
        near, _ = global_near_misses(fps, items, rule, keep=1)
        rec = _recalls(both.detected, masks)
        weakest = min(EASY_TRANSFORMS, key=lambda t: rec[t])
        local_fp = sum(1 for fp in both.false_positives if fp[2] == "local")
        judged = [n[0] for n in both.near_misses if n[1] >= 0]
        rows.append(
            [
                name,
                _rule_text(rule),
                _pct(rec["easy"]),
                f"{weakest} {_pct(rec[weakest])}",
                _pct(rec["hard"]),
                _pct(rec["all"]),
                f"{len(both.false_positives)} ({local_fp} local)",
                near[0].margin if near else "-",
                min(judged) if judged else "-",
            ]
        )
        _log(f"  {name} through both stages: {rows[-1]}")
    return (
        "#### Presets through both stages\n\n"
        "*global margin*: how far the closest wrong pair stayed above the 256-bit threshold "
        "(over every distinct pair that passes the gate); *local margin*: above the dense "
        "check, as in the local stage's margin table.\n\n"
        + _table(
            [
                "rule",
                "radius64/max256/min_quality",
                "easy %",
                "weakest easy %",
                "hard %",
                "all %",
                "false pairs",
                "global margin",
                "local margin",
            ],
            rows,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--only",
        choices=("seenit", "both"),
        help="evaluate only seenit's rule, or it and the local stage (prints, writes nothing)",
    )
    parser.add_argument(
        "--originals", type=int, default=None, help="use about this many originals (iterating)"
    )
    parser.add_argument(
        "--offset",
        default="0",
        metavar="N[,N]",
        help="with --originals: shift the pick by this many originals (a held-out subset); "
        "several: the union of their picks",
    )
    parser.add_argument(
        "--transforms",
        default="",
        metavar="T1,T2",
        help="only these transforms' variants (iterating; recall of the others reads 0)",
    )
    parser.add_argument("--workers", type=int, default=2, help="hashing processes (default 2)")
    parser.add_argument("--rehash", action="store_true", help="ignore the hash caches")
    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="R64,MAX256,MINQ",
        help="also evaluate this seenit rule (repeatable), e.g. --rule 12,30,25",
    )
    parser.add_argument(
        "--presets",
        action="store_true",
        help="with --only both: every preset and --rule through both stages, side by side",
    )
    parser.add_argument("--top", type=int, default=15, help="worst false positives listed")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown report path")
    parser.add_argument("--plot", type=Path, default=PLOT, help="recall plot path")
    args = parser.parse_args(argv)

    started = time.monotonic()
    only = tuple(t for t in args.transforms.split(",") if t)
    unknown = set(only) - set(TRANSFORMS)
    if unknown:
        parser.error(f"unknown transforms: {', '.join(sorted(unknown))}")
    offsets = [int(x) for x in args.offset.split(",") if x]
    corpus = subset(_load(_log), args.originals, offsets, only)
    items = make_items(corpus)
    masks = make_masks(items)
    extra = [_parse_rule(r) for r in args.rule]
    summary = _corpus_summary(items)
    _log(summary)

    fps, t_seenit_hash = seenit_fingerprints(items, args.workers, args.rehash)
    unreadable = sum(not isinstance(fp, Fingerprint) for fp in fps)
    _log("evaluating seenit's rule through bot.index + bot.matching")
    t0 = time.monotonic()
    seenit_results = run_seenit(items, fps, extra)
    t_seenit_eval = time.monotonic() - t0
    worst_for = [default_preset(), "loose", *(name for name, _ in extra)]

    if args.only == "seenit":
        text = seenit_report(seenit_results, items, masks, args.top, worst_for)
        rules = [(name, rule) for name, rule in PRESETS.items()] + extra
        text += "\n\n" + global_margins_table(fps, items, rules)
        print(f"{summary}\n\nseenit fingerprints unreadable: {unreadable}\n\n{text}")
        print(f"\n({time.monotonic() - started:.0f}s)")
        return 0
    normal = next((r for r in seenit_results if r.name == default_preset()), seenit_results[0])
    _log("evaluating the global + local pipeline")
    t0 = time.monotonic()
    both, templates = run_both(items, fps, normal.rule, normal.name)
    t_both = time.monotonic() - t0
    near, judged = global_near_misses(fps, items, normal.rule)
    margin = global_margin_text(near, judged, normal.rule, items)
    misses = easy_misses_text(both, fps, items, normal.rule)
    both_text = both_report(
        normal, both, templates, local_costs(fps, items), items, masks, margin, misses
    )
    if args.only == "both":
        if args.presets:
            configs = [(name, rule) for name, rule in PRESETS.items()] + extra
            both_text += "\n\n" + presets_report(items, fps, masks, configs)
        print(f"{summary}\n\n{both_text}\n({time.monotonic() - started:.0f}s)")
        return 0

    rng = np.random.default_rng(0)
    sample = rng.choice(items.n_items, size=24, replace=False)
    bad = check_orientation_shortcut([items.paths[i] for i in sample])
    if bad:
        raise SystemExit(f"orientation shortcut differs from transposing the image ({bad})")

    families = sorted({m.family for m in METHODS})
    hashes, t_base_hash = baseline_hashes(items, families, args.workers, args.rehash)
    _log("baseline distances over every pair")
    t0 = time.monotonic()
    base_results = []
    for method in METHODS:
        base_results.append(evaluate_method(method, hashes[method.family], items))
        _log(f"  {method.name}: done ({time.monotonic() - t0:.0f}s)")
    t_base_eval = time.monotonic() - t0

    base_text = baseline_report(base_results, items, masks)
    n_clean = int(base_results[0].neg_clean.sum())
    seenit_text = seenit_report(seenit_results, items, masks, args.top, worst_for)
    matched_text = matched_fpr_report(base_results, normal, items, masks)
    recall_of = {
        (r.method.name, t): _recalls(r.positive <= r.thresholds[t], masks)
        for r in base_results
        for t in FPR_TARGETS
    }
    series = [
        ("article (ahash+colorhash) @FPR 1e-3", recall_of[("article", 1e-3)]),
        ("phash64, 8 orientations @FPR 1e-3", recall_of[("phash64-8", 1e-3)]),
        ("pdq, 8 orientations @FPR 1e-3", recall_of[("pdq-8", 1e-3)]),
        ("phash256, 8 orientations @FPR 1e-4", recall_of[("phash256-8", 1e-4)]),
        (
            f"seenit {normal.name}, global alone ({len(normal.false_positives)} FP)",
            _recalls(normal.detected, masks),
        ),
        (
            f"seenit {normal.name}, global + local ({len(both.false_positives)} FP)",
            _recalls(both.detected, masks),
        ),
    ]
    n_scored = int(masks.scored.sum())
    title = (
        f"Recall per transformation: {items.n_originals - int(items.blank.sum())} non-blank "
        f"originals x {len(TRANSFORMS)} transforms = {n_scored:,} reposts, "
        f"{items.n_distinct / 1e6:.1f}M distinct pairs"
    )
    plot_recall(series, args.plot, title)

    total = time.monotonic() - started
    versions = library_versions()
    header = "\n".join(
        [
            "# Detection quality: seenit vs perceptual-hash baselines",
            "",
            "Generated by `python -m bench.quality` (`bench/quality/evaluate.py`) on "
            f"{datetime.date.today().isoformat()}; {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, "
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + ".",
            "",
            f"* {summary}",
            f"* Total run time {total:.0f}s: hashing baselines {_timing('baselines', t_base_hash)}"
            f" and seenit {_timing('seenit', t_seenit_hash)}, baseline distances "
            f"{t_base_eval:.0f}s, seenit pipeline (5 rules) {t_seenit_eval:.0f}s, "
            f"global + local {t_both:.0f}s.",
            f"* seenit could not fingerprint {unreadable} of {items.n_items:,} files.",
            f"* Plot: `{_rel(args.plot)}`.",
        ]
    )
    method_lines = "\n".join(f"* `{m.name}`: {m.description} ({m.bits} bits)" for m in METHODS)
    body = f"""{header}

## Baselines

Each baseline hashes `Image.open(path)` as the libraries are commonly used:

{method_lines}

"8 orientations": the query is hashed in all 8 dihedral orientations (the image transposed
by each `Image.Transpose` member) and the distance is the minimum over them against the
stored image's own hash. Distances are computed exhaustively over every pair.

Calibration: the threshold at an FPR target is the largest distance whose share of the
{n_clean:,} distinct pairs *without a blank image* at or below it is <= the target (*FPR*
is the achieved rate). The baselines have no quality gate, and the pairs of two
near-blank images sit at distance ~0: kept in, they alone exceed the 1e-4 budget of most
methods (second table). Blanks are judged separately instead, as for seenit: *blank
alerts* is the share of the {int(masks.blank.sum())} variants of blank originals whose
nearest original (own included) is within the threshold, i.e. that would alert. Recall
is per transform over the non-blank originals; *easy* / *hard* / *all* are means over
transforms. *AUC*: exact ROC AUC over all non-blank positive pairs and the same
negatives, from the distance histograms (Mann-Whitney, ties half; no subsampling).

{base_text}

## seenit's rule (its own pipeline)

`bot.hashing.fingerprint` on each file's bytes; a `bot.index.HammingIndex` of the
originals' `phash64`; each variant and each original is looked up with
`bot.matching.query_hashes(fp)` within `rule.radius64` and every candidate goes through
`bot.matching.judge(fp, stored, rule)`. A candidate judged a repost is a true positive if
it is the query's own original, a false positive (*FP pairs*) otherwise; the *FP rate* is
over all {items.n_distinct:,} distinct pairs; *precision* = TP / (TP + FP) with TP the
detected reposts of non-blank originals. Ablations use the `{normal.name}` preset: *no
orientations* truncates the query fingerprint's `*_orientations` to the identity (for the
lookup and the judgement), *no quality gate* sets `min_quality=0`. *blank queries
alerting*: blank images (variants and originals) flagged as a repost of anything.

{seenit_text}

## The local stage (`bot.local`) on top of the global hashes

The bot's flow: the global stage first; a global match stands unless the local stage calls
the pair a template (same picture, different caption). When the global stage finds nothing,
`bot.local.LocalIndex.query` over the originals' visual words gives 20 candidates and
`bot.local.examine` judges each (RANSAC similarity fit, at least
{bot.local.verify.MIN_INLIERS} inliers, then the dense check of the aligned overlap: DCT
hash within {bot.local.verify.MAX_DENSE_DISTANCE} bits). The vocabulary was trained by
`bench/local_vocabulary.py` on GCompris's pictures, none of which is in this corpus.

{both_text}

{matched_text}
"""
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(body)
    print(body)
    _log(f"wrote {_rel(args.output)} and {_rel(args.plot)} in {total:.0f}s")
    return 0


def _timing(what: str, wall: float) -> str:
    if what not in CPU_SECONDS:
        return "cached"
    return f"{wall:.0f}s ({CPU_SECONDS[what]:.0f} CPU-s in the workers)"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
