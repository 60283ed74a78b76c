"""Latency of one repost query against 10^5, 10^6 and 10^7 stored 64-bit hashes.

Run ``python -m bench.search`` (a few minutes, up to ~1.5 GB of RAM at 10^7) or
``python -m bench.search --quick`` (10^5 and 10^6 only, fewer queries).

A query is 8 hashes (the 8 orientations of a fingerprint) searched within radius 10, 11
(same cost with 4 chunks: both search chunk radius 2; 11 is the ``normal`` preset) and 15
(the ``loose`` preset: chunk radius 3). Compared in the same run, interleaved per query:

* ``HammingIndex.search`` (multi-index hashing with a flat fallback);
* a plain numpy flat scan: ``np.flatnonzero(np.bitwise_count(h ^ q) <= r)`` per orientation
  (its cost does not depend on the radius; timed once, at radius 15);
* a pure-Python loop ``(h ^ q).bit_count() <= r`` over a list of ints, measured at 10^5
  only and extrapolated linearly to the larger sizes.

Data sets: ``uniform`` random 64-bit hashes; ``clustered``: 30% of the hashes in clusters
of 50 near-duplicates within 0-6 bit flips of a centre, the rest uniform, ids shuffled.
Queries: half are near-duplicates (0-8 bit flips) of a stored hash, placed at a random
one of the 8 orientations with 7 random hashes (in ``clustered``, half of those target a
cluster member); half are 8 random hashes. Every HammingIndex answer is checked against
the brute-force result set (id -> best distance): ``misses`` must be 0.

Also measured: a live index whose delta segment (recent ``add()``s, scanned flat) is just
under its merge threshold, and the ``add()`` that triggers the merge (the merge rebuilds
the tables synchronously, on the bot's event loop), and queries of 32 hashes (a query
image with 3 views).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import (
    Stopwatch,
    fmt_ms,
    fmt_ratio,
    machine_line,
    md_table,
    median,
    percentile,
    write_results,
)
from bot import index as index_module
from bot.index import DELTA_MIN, DELTA_SHARE, HammingIndex

U64 = npt.NDArray[np.uint64]
RADII = (10, 11, 15)
FLAT_RADIUS = max(RADII)
ORIENTATIONS = 8
CLUSTER_SHARE = 0.30
CLUSTER_SIZE = 50
CLUSTER_FLIPS = 6
QUERY_FLIPS = 8
#: Hashes of a query image with 3 views (whole image + 3 regions, 8 orientations each).
VIEW_HASHES = 32
VIEW_RADIUS = 11
PY_SIZE = 100_000


# --------------------------------------------------------------------------- data


def random_u64(rng: np.random.Generator, n: int) -> U64:
    return rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


def flip_masks(rng: np.random.Generator, n: int, max_flips: int) -> U64:
    """Masks with 0..max_flips bits set (uniform count; repeats may make fewer)."""
    counts = rng.integers(0, max_flips + 1, size=n)
    positions = rng.integers(0, 64, size=(n, max_flips)).astype(np.uint64)
    used = np.arange(max_flips)[np.newaxis, :] < counts[:, np.newaxis]
    bits = np.where(used, np.left_shift(np.uint64(1), positions), np.uint64(0))
    masks: U64 = np.bitwise_or.reduce(bits, axis=1).astype(np.uint64)
    return masks


@dataclass
class DataSet:
    name: str
    hashes: U64
    ids: npt.NDArray[np.int64]
    #: Positions of hashes that belong to a cluster (empty for uniform).
    clustered: npt.NDArray[np.intp]


def make_dataset(kind: str, n: int, seed: int) -> DataSet:
    rng = np.random.default_rng(seed)
    hashes = random_u64(rng, n)
    clustered = np.empty(0, dtype=np.intp)
    if kind == "clustered":
        m = int(n * CLUSTER_SHARE) // CLUSTER_SIZE * CLUSTER_SIZE
        centres = random_u64(rng, m // CLUSTER_SIZE)
        members = np.repeat(centres, CLUSTER_SIZE) ^ flip_masks(rng, m, CLUSTER_FLIPS)
        positions = rng.permutation(n)[:m]
        hashes[positions] = members
        clustered = np.sort(positions)
    ids = np.arange(1, n + 1, dtype=np.int64)
    return DataSet(kind, hashes, ids, clustered)


def make_queries(data: DataSet, count: int, seed: int) -> list[tuple[list[int], bool]]:
    """(8 query hashes, near-duplicate?) pairs, half near-duplicates."""
    rng = np.random.default_rng(seed)
    n = len(data.hashes)
    queries = []
    for k in range(count):
        q = random_u64(rng, ORIENTATIONS)
        near = k % 2 == 0
        if near:
            if len(data.clustered) and rng.random() < 0.5:
                target = int(data.clustered[rng.integers(len(data.clustered))])
            else:
                target = int(rng.integers(n))
            q[rng.integers(ORIENTATIONS)] = data.hashes[target] ^ flip_masks(rng, 1, QUERY_FLIPS)[0]
        queries.append(([int(x) for x in q.tolist()], near))
    return queries


# --------------------------------------------------------------------------- methods


def flat_scan(hashes: U64, queries: U64, radius: int) -> list[npt.NDArray[np.intp]]:
    """The numpy baseline: positions within ``radius``, per query hash."""
    return [np.flatnonzero(np.bitwise_count(hashes ^ q) <= radius) for q in queries]


def python_scan(hashes: list[int], queries: list[int], radius: int) -> list[list[int]]:
    """The pure-Python baseline."""
    return [[i for i, h in enumerate(hashes) if (h ^ q).bit_count() <= radius] for q in queries]


def brute_force(
    data: DataSet, queries: U64, found: list[npt.NDArray[np.intp]], radius: int
) -> dict[int, int]:
    """id -> best distance within ``radius``, from the flat scan's positions."""
    best: dict[int, int] = {}
    for q, pos in zip(queries.tolist(), found, strict=True):
        if len(pos) == 0:
            continue
        dist = np.bitwise_count(data.hashes[pos] ^ np.uint64(q))
        for p, d in zip(pos.tolist(), dist.tolist(), strict=True):
            if d <= radius:
                i = int(data.ids[p])
                if d < best.get(i, 65):
                    best[i] = int(d)
    return best


def candidates_info(index: HammingIndex, queries: list[int], radius: int) -> tuple[int, bool]:
    """(candidates the MIH tables yield, whether the search falls back to a flat scan).

    Reads private state of bot.index, for diagnosis only; (-1, False) if it changed.
    """
    tables = getattr(index, "_tables", None)
    if tables is None:
        return -1, False
    q = np.array([index_module.to_unsigned(x) for x in queries], dtype=np.uint64)
    budget = int(len(index) * len(q) * index_module.MAX_CANDIDATE_SHARE)
    found = tables.candidates(q, radius, budget)
    if found is None:
        return budget, True
    return len(found[0]), False


# --------------------------------------------------------------------------- runs


def build(data: DataSet) -> tuple[HammingIndex, float, int]:
    """The index, its build time, and its peak traced allocation while building."""
    gc.collect()
    start = time.perf_counter()
    index = HammingIndex.from_arrays(data.ids, data.hashes)
    seconds = time.perf_counter() - start
    del index
    gc.collect()
    tracemalloc.start()
    index = HammingIndex.from_arrays(data.ids, data.hashes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return index, seconds, peak


def run_size(kind: str, n: int, n_queries: int, n_py: int, seed: int) -> dict[str, Any]:
    data = make_dataset(kind, n, seed)
    index, build_s, build_peak = build(data)
    queries = make_queries(data, n_queries, seed + 1)
    rng = random.Random(seed)
    t_index: dict[int, list[float]] = {r: [] for r in RADII}
    c_index: dict[int, list[float]] = {r: [] for r in RADII}
    t_flat: list[float] = []
    c_flat: list[float] = []
    misses = {r: 0 for r in RADII}
    extras = {r: 0 for r in RADII}
    hits = {r: [] for r in RADII}  # type: dict[int, list[int]]
    fallbacks = {r: 0 for r in RADII}
    cands: dict[int, list[int]] = {r: [] for r in RADII}
    # a query with views (caption removed, inner picture) looks up 8 hashes per view too
    t_views: list[float] = []
    view_rng = np.random.default_rng(seed + 5)
    for qs, _near in queries:
        with_views = qs + [int(x) for x in random_u64(view_rng, VIEW_HASHES - ORIENTATIONS)]
        q_arr = np.array(qs, dtype=np.uint64)
        results: dict[int, dict[int, int]] = {}
        flat_found: list[npt.NDArray[np.intp]] = []
        jobs: list[int | None] = [*RADII, None, -1]
        rng.shuffle(jobs)
        for job in jobs:
            sw = Stopwatch()
            if job == -1:
                index.search(with_views, VIEW_RADIUS)
                t_views.append(sw.read()[0])
            elif job is None:
                flat_found = flat_scan(data.hashes, q_arr, FLAT_RADIUS)
                wall, cpu = sw.read()
                t_flat.append(wall)
                c_flat.append(cpu)
            else:
                found = index.search(qs, job)
                wall, cpu = sw.read()
                t_index[job].append(wall)
                c_index[job].append(cpu)
                results[job] = {h.image_id: h.distance for h in found}
        for r in RADII:
            truth = brute_force(data, q_arr, flat_found, r)
            got = results[r]
            misses[r] += sum(1 for i, d in truth.items() if got.get(i) != d)
            extras[r] += sum(1 for i in got if i not in truth)
            hits[r].append(len(truth))
            c, fell_back = candidates_info(index, qs, r)
            cands[r].append(c)
            fallbacks[r] += fell_back
    py_times: list[float] = []
    if n <= PY_SIZE and n_py:
        as_list = [int(x) for x in data.hashes.tolist()]
        for qs, _near in queries[:n_py]:
            start = time.perf_counter()
            python_scan(as_list, qs, 11)
            py_times.append(time.perf_counter() - start)
    out: dict[str, Any] = {
        "dataset": kind,
        "n": n,
        "queries": len(queries),
        "build_seconds": build_s,
        "build_peak_bytes": build_peak,
        "nbytes": index.nbytes(),
        "index_seconds": {str(r): t for r, t in t_index.items()},
        "index_cpu_seconds": {str(r): t for r, t in c_index.items()},
        "flat_seconds": t_flat,
        "flat_cpu_seconds": c_flat,
        "views_seconds": t_views,
        "python_seconds": py_times,
        "misses": {str(r): v for r, v in misses.items()},
        "extras": {str(r): v for r, v in extras.items()},
        "hits_mean": {str(r): float(np.mean(v)) for r, v in hits.items()},
        "fallbacks": {str(r): v for r, v in fallbacks.items()},
        "candidates_median": {str(r): median(v) for r, v in cands.items()},
    }
    del index, data
    gc.collect()
    return out


def run_delta(n: int, n_queries: int, seed: int) -> dict[str, Any]:
    """Search latency with the delta segment just under its merge threshold, and the merge."""
    data = make_dataset("uniform", n, seed)
    index = HammingIndex.from_arrays(data.ids, data.hashes)
    threshold = max(DELTA_MIN, n // DELTA_SHARE)
    rng = np.random.default_rng(seed + 7)
    extra = random_u64(rng, threshold).tolist()
    start = time.perf_counter()
    for k, h in enumerate(extra):
        index.add(n + 1 + k, int(h))
    add_s = (time.perf_counter() - start) / len(extra)
    queries = make_queries(data, n_queries, seed + 2)
    fresh = HammingIndex.from_arrays(data.ids, data.hashes)
    t_delta: list[float] = []
    t_fresh: list[float] = []
    for qs, _ in queries:
        for which, idx, sink in ((0, index, t_delta), (1, fresh, t_fresh)):
            del which
            start = time.perf_counter()
            idx.search(qs, 11)
            sink.append(time.perf_counter() - start)
    start = time.perf_counter()
    index.add(n + 1 + len(extra), 12345)  # crosses the threshold: merges
    merge_s = time.perf_counter() - start
    return {
        "n": n,
        "delta": len(extra),
        "add_seconds_mean": add_s,
        "search_delta_seconds": t_delta,
        "search_fresh_seconds": t_fresh,
        "merge_seconds": merge_s,
    }


# --------------------------------------------------------------------------- report


def _p(values: list[float]) -> tuple[str, str]:
    return fmt_ms(median(values)), fmt_ms(percentile(values, 99))


def report(
    results: list[dict[str, Any]], deltas: list[dict[str, Any]], meta: dict[str, Any]
) -> str:
    py_ref = {r["dataset"]: median(r["python_seconds"]) for r in results if r["python_seconds"]}
    lat_rows = []
    for r in results:
        n = r["n"]
        flat_med, flat_p99 = _p(r["flat_seconds"])
        py = py_ref.get(r["dataset"])
        py_text = "-"
        if py is not None:
            py_est = py * n / PY_SIZE
            py_text = fmt_ms(py_est) + ("" if n == PY_SIZE else " (extrapolated)")
        for radius in RADII:
            t = r["index_seconds"][str(radius)]
            med, p99 = _p(t)
            cpu_med, cpu_p99 = _p(r["index_cpu_seconds"][str(radius)])
            lat_rows.append(
                [
                    r["dataset"],
                    f"{n:.0e}".replace("e+0", "e"),
                    str(radius),
                    med,
                    p99,
                    f"{cpu_med} / {cpu_p99}",
                    flat_med,
                    flat_p99,
                    py_text,
                    fmt_ratio(median(r["flat_seconds"]) / median(t)),
                    f"{r['hits_mean'][str(radius)]:.1f}",
                    f"{r['candidates_median'][str(radius)]:.0f}",
                    f"{r['fallbacks'][str(radius)]}/{r['queries']}",
                    str(r["misses"][str(radius)] + r["extras"][str(radius)]),
                ]
            )
    lat_table = md_table(
        [
            "data",
            "n",
            "radius",
            "index median ms",
            "index p99 ms",
            "index CPU median / p99 ms",
            "numpy flat median ms",
            "numpy flat p99 ms",
            "pure Python ms",
            "flat/index",
            "hits/query",
            "MIH candidates (median)",
            "flat fallbacks",
            "misses",
        ],
        lat_rows,
    )
    view_rows = []
    for r in results:
        t8 = r["index_seconds"][str(VIEW_RADIUS)]
        tv = r["views_seconds"]
        view_rows.append(
            [
                r["dataset"],
                f"{r['n']:.0e}".replace("e+0", "e"),
                f"{fmt_ms(median(t8))} / {fmt_ms(percentile(t8, 99))}",
                f"{fmt_ms(median(tv))} / {fmt_ms(percentile(tv, 99))}",
                fmt_ratio(median(tv) / median(t8)),
            ]
        )
    view_table = md_table(
        [
            "data",
            "n",
            f"8 hashes median / p99 ms (r={VIEW_RADIUS})",
            f"{VIEW_HASHES} hashes median / p99 ms",
            "ratio",
        ],
        view_rows,
    )
    mem_rows = [
        [
            r["dataset"],
            f"{r['n']:.0e}".replace("e+0", "e"),
            f"{r['build_seconds'] * 1000:.0f}",
            f"{r['nbytes'] / r['n']:.1f}",
            f"{r['build_peak_bytes'] / r['n']:.1f}",
            f"{r['nbytes'] / 2**20:.0f}",
        ]
        for r in results
    ]
    mem_table = md_table(
        [
            "data",
            "n",
            "build ms (from_arrays)",
            "index bytes/image",
            "peak bytes/image while building",
            "index MiB",
        ],
        mem_rows,
    )
    delta_rows = []
    for d in deltas:
        dm, dp = _p(d["search_delta_seconds"])
        fm, fp = _p(d["search_fresh_seconds"])
        delta_rows.append(
            [
                f"{d['n']:.0e}".replace("e+0", "e"),
                f"{d['delta']:,}",
                f"{fm} / {fp}",
                f"{dm} / {dp}",
                fmt_ratio(median(d["search_delta_seconds"]) / median(d["search_fresh_seconds"])),
                f"{d['add_seconds_mean'] * 1e6:.1f}",
                f"{d['merge_seconds'] * 1000:.0f}",
            ]
        )
    delta_table = md_table(
        [
            "main n",
            "delta entries",
            "merged index median / p99 ms",
            "with delta median / p99 ms",
            "slowdown",
            "add() us",
            "merging add() ms",
        ],
        delta_rows,
    )
    target_rows = []
    for r in results:
        if r["n"] not in (10**6, 10**7):
            continue
        bound = 0.005 if r["n"] == 10**6 else 0.020
        for radius in (10, 11):
            t = r["index_seconds"][str(radius)]
            c = r["index_cpu_seconds"][str(radius)]
            for label, v, vc in (
                ("median", median(t), median(c)),
                ("p99", percentile(t, 99), percentile(c, 99)),
            ):
                target_rows.append(
                    [
                        f"{r['dataset']} {r['n']:.0e} r={radius} {label}".replace("e+0", "e"),
                        f"< {bound * 1000:.0f} ms",
                        fmt_ms(v),
                        fmt_ms(vc),
                        "met" if v < bound else f"**missed** by {fmt_ratio(v / bound)}",
                    ]
                )
        bpi = r["nbytes"] / r["n"]
        target_rows.append(
            [
                f"{r['dataset']} {r['n']:.0e} memory".replace("e+0", "e"),
                "< 64 B/image",
                f"{bpi:.1f}",
                "",
                "met" if bpi < 64 else "**missed**",
            ]
        )
    target_table = md_table(["target", "bound", "wall", "CPU time", ""], target_rows)
    total_misses = sum(sum(r["misses"].values()) + sum(r["extras"].values()) for r in results)
    return f"""# Search latency (`python -m bench.search{" --quick" if meta["quick"] else ""}`)

{meta["machine"]}. Run took {meta["elapsed"]:.0f} s.

One query = 8 hashes (orientations). Queries per size: {meta["queries"]}; half
near-duplicates of a stored hash (0-{QUERY_FLIPS} flips, at a random orientation), half random.
Radius 10 and 11 both search chunk radius 2 (same cost); 15 is the `loose` preset (chunk
radius 3). The numpy flat scan is timed once per query (its cost does not depend on the
radius). Pure Python: measured at 1e5 over {meta["py_queries"]} queries (radius 11) and
extrapolated linearly to larger n. "misses" = ids whose best distance differs from the
brute-force set, plus ids returned that brute force does not have (must be 0; total
{total_misses}). "MIH candidates" / "flat fallbacks": from the index's private tables, for
diagnosis.

{lat_table}

## Queries with views

`matching.query_hashes` adds 8 hashes per view of the query (caption removed, inner
picture): a query with 3 views looks up {VIEW_HASHES} hashes. Same queries plus
{VIEW_HASHES - ORIENTATIONS} random hashes, radius {VIEW_RADIUS}, timed in the same interleaved
loop:

{view_table}

## Memory and build

{mem_table}

Peak while building: traced numpy allocations during `from_arrays` (the ids and hashes
arrays passed in not included).

## Live index: delta segment

`add()` puts an entry in a delta segment that every search scans flat (all query hashes
against all delta entries); it is merged into the main segment, rebuilding the tables,
synchronously, when it exceeds max({DELTA_MIN}, n/{DELTA_SHARE}) entries. Uniform data,
radius 11, the same {meta["delta_queries"]} queries against a freshly built index and against
one holding a delta just under the threshold:

{delta_table}

## Targets

{target_table}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1e5 and 1e6 only, fewer queries")
    parser.add_argument("--sizes", type=str, help="comma-separated sizes (default 1e5,1e6,1e7)")
    parser.add_argument(
        "--queries", type=int, help="queries per size (default 200 and 100 at 1e7, quick 150)"
    )
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(float(s)) for s in args.sizes.split(",")]
    else:
        sizes = [10**5, 10**6] if args.quick else [10**5, 10**6, 10**7]
    n_queries = args.queries or (150 if args.quick else 200)
    # the flat scans that check every answer cost ~0.4 s per query at 1e7: fewer there
    big_queries = args.queries or 100
    n_py = 10 if args.quick else 30
    delta_queries = 40 if args.quick else 100
    started = time.perf_counter()
    machine = machine_line()
    results = []
    for n in sizes:
        for kind in ("uniform", "clustered"):
            print(f"{kind} n={n:,}...", file=sys.stderr, flush=True)
            count = big_queries if n >= 10**7 else n_queries
            results.append(run_size(kind, n, count, n_py, args.seed))
    deltas = []
    for n in sizes:
        if n >= 10**6:
            print(f"delta n={n:,}...", file=sys.stderr, flush=True)
            deltas.append(run_delta(n, delta_queries, args.seed))
    meta = {
        "machine": machine,
        "quick": args.quick,
        "queries": f"{n_queries} ({big_queries} at 1e7)" if max(sizes) >= 10**7 else n_queries,
        "py_queries": n_py,
        "delta_queries": delta_queries,
        "elapsed": time.perf_counter() - started,
    }
    md = report(results, deltas, meta)
    write_results(
        "search-quick" if args.quick else "search",
        md,
        {"meta": meta, "results": results, "deltas": deltas},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
