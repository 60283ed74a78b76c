"""Local index and full query cost at 10^5 and 10^6 stored images, with retrieval recall.

Run ``python -m bench.local_search`` (10^5 and 10^6; about 8 minutes and 4 GB of RAM on a
quiet machine) or ``python -m bench.local_search --quick`` (10^5 only).

Stored images: the *originals* (every real picture of ``bench.common.real_pictures``,
fingerprinted by ``bot.hashing.fingerprint`` from a 1280 px JPEG) among synthetic ones. A
synthetic image's word list is realistic for the trained vocabulary: a real word list (the
*pool*: the pictures the vocabulary was trained on, ``bench.local_vocabulary``, and synthetic
chat screenshots, code editors, articles and charts drawn by ``bench.quality.corpus``, whose
text and UI share many words) of which each word is kept with probability :data:`KEEP` and
otherwise replaced by a word drawn from the pool's word frequencies (10% uniform); the
originals are not in the pool. Its 64-bit hash is random.

Queries: hard edits of every original (``bench.quality.corpus.apply_transform``: crops,
corner crops, captions, a chat screenshot, a 5 degree rotation), which the global hashes
miss and the local stage is for. Timed per query, interleaved, in this process:

* ``LocalIndex.query(fp.local, 20)`` and the same query on ``bench.local_baseline`` (the
  index as first shipped, every posting read and every image ranked), with whether the
  edit's original is among the candidates (*retrieved*: what verification can accept);
* the *full query* as ``SeenService.search`` runs it for an image the global stage does not
  catch: ``HammingIndex.search`` of the query hashes (views included) within the ``normal``
  radius, ``LocalIndex.query``, ``Store.get_images`` and ``Store.local_features`` of the
  candidates (a SQLite file holding the originals' real blobs: a synthetic candidate reads
  the blob of an original of another picture, as a wrong candidate does), and
  ``verify_local`` (``judge_local`` on each blob; the service runs it in a worker thread).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import random
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import (
    CACHE_DIR,
    cached_rgb,
    fmt_ms,
    fmt_ratio,
    machine_line,
    md_table,
    median,
    percentile,
    real_pictures,
    write_results,
)
from bench.local_baseline import BaselineLocalIndex
from bot.hashing import Fingerprint, decode, fingerprint
from bot.index import HammingIndex
from bot.local import LocalIndex, extract_local
from bot.local.index import POSTINGS_BUDGET
from bot.local.vocabulary import vocabulary
from bot.matching import DEFAULT, LOCAL_CANDIDATES, query_hashes, verify_local
from bot.records import NewImage
from bot.store import SQLiteStore

#: Share of a pool word list kept in a synthetic image's words.
KEEP = 0.5
#: Edits queried, each applied to every original.
EDITS = ("crop_center_10", "crop_topleft_20", "caption", "canvas_chat", "rotate_5")
PICTURE_SIDE = 1280
#: Synthetic pool pictures drawn per kind of graphic.
GRAPHICS_PER_KIND = 20
#: Full queries (with store reads and verification) timed per size; retrieval uses all.
FULL_QUERIES = 150

U16 = npt.NDArray[np.uint16]
I64 = npt.NDArray[np.int64]


def word_pool() -> list[U16]:
    """Real word lists of pictures that are not the originals (cached between runs)."""
    cache = CACHE_DIR / f"local-word-pool-{vocabulary().size}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            flat, lengths = data["flat"], data["lengths"]
        return np.split(flat, np.cumsum(lengths)[:-1])
    from bench.local_vocabulary import ensure_package, training_pictures
    from bench.quality import corpus

    ensure_package()
    lists: list[U16] = []
    for blob in training_pictures():
        local = extract_local(decode(blob))
        if local is not None:
            lists.append(np.frombuffer(local.words, "<u2").astype(np.uint16))
    makers = (
        corpus._chat_desktop,
        corpus._chat_phone,
        corpus._settings_page,
        corpus._code_editor,
        corpus._article,
        corpus._bar_chart,
        corpus._line_chart,
        corpus._pie_chart,
    )
    for k in range(GRAPHICS_PER_KIND * len(makers)):
        image = makers[k % len(makers)](random.Random(k)).convert("RGB")
        local = extract_local(image)
        if local is not None:
            lists.append(np.frombuffer(local.words, "<u2").astype(np.uint16))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, flat=np.concatenate(lists), lengths=np.array([len(w) for w in lists], np.int64))
    return lists


def synthetic_words(count: int, pool: list[U16], seed: int) -> list[bytes]:
    """``count`` word lists (sorted distinct uint16 LE), each a noisy copy of a pool list."""
    size = vocabulary().size
    rng = np.random.default_rng(seed)
    width = max(len(w) for w in pool)
    padded = np.full((len(pool), width), size, dtype=np.int64)
    lengths = np.array([len(w) for w in pool], dtype=np.int64)
    for i, w in enumerate(pool):
        padded[i, : len(w)] = w
    frequency = np.bincount(np.concatenate(pool), minlength=size).astype(np.float64)
    frequency = 0.9 * frequency / frequency.sum() + 0.1 / size
    cdf = np.cumsum(frequency)
    out: list[bytes] = []
    batch = 50_000
    for start in range(0, count, batch):
        m = min(batch, count - start)
        base = rng.integers(0, len(pool), m)
        rows = padded[base]
        drawn = np.minimum(np.searchsorted(cdf, rng.random((m, width))), size - 1)
        rows = np.where(rng.random((m, width)) < KEEP, rows, drawn)
        rows[np.arange(width)[None, :] >= lengths[base][:, None]] = size
        rows.sort(axis=1)
        repeated = np.zeros_like(rows, dtype=np.bool_)
        repeated[:, 1:] = rows[:, 1:] == rows[:, :-1]
        valid = (rows < size) & ~repeated
        flat = rows[valid].astype("<u2").tobytes()
        ends = np.cumsum(valid.sum(axis=1) * 2).tolist()
        begin = 0
        for end in ends:
            out.append(flat[begin:end])
            begin = end
    return out


def jpeg_print(image: Any) -> Fingerprint:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return fingerprint(buf.getvalue())


def originals_and_queries() -> tuple[list[Fingerprint], list[tuple[int, str, Fingerprint]]]:
    """Fingerprints of the originals, and (original index, edit, fingerprint) queries."""
    from bench.quality.corpus import apply_transform

    originals: list[Fingerprint] = []
    queries: list[tuple[int, str, Fingerprint]] = []
    for picture in real_pictures():
        image = cached_rgb(picture.path, PICTURE_SIDE)
        fp = jpeg_print(image)
        if fp.local is None:
            continue
        k = len(originals)
        originals.append(fp)
        for edit in EDITS:
            data, _ = apply_transform(image, edit, picture.name)
            edited = fingerprint(data)
            if edited.local is not None:
                queries.append((k, edit, edited))
    return originals, queries


async def measure(
    n: int,
    pool: list[U16],
    originals: list[Fingerprint],
    queries: list[tuple[int, str, Fingerprint]],
    store: SQLiteStore,
) -> dict[str, Any]:
    rng = np.random.default_rng(n)
    ids: I64 = np.arange(1, n + 1, dtype=np.int64)
    # The originals sit at random places among the synthetic images.
    original_ids = rng.choice(ids, len(originals), replace=False)
    row_of = {int(i): k + 1 for k, i in enumerate(original_ids.tolist())}
    started = time.perf_counter()
    words = synthetic_words(n, pool, seed=n)
    for k, i in enumerate(original_ids.tolist()):
        assert originals[k].local is not None
        words[i - 1] = originals[k].local.words
    made = time.perf_counter() - started
    hashes = rng.integers(0, 2**63, size=n, dtype=np.int64)
    hashes[original_ids - 1] = np.array([fp.phash64 for fp in originals], np.uint64).view(np.int64)
    hamming = HammingIndex.from_arrays(ids, hashes)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    local = LocalIndex()
    local.load(zip(ids.tolist(), words, strict=True))
    built = time.perf_counter() - started
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    started = time.perf_counter()
    baseline = BaselineLocalIndex()
    baseline.load(zip(ids.tolist(), words, strict=True))
    baseline_built = time.perf_counter() - started
    del words
    gc.collect()
    times: dict[str, list[float]] = defaultdict(list)
    retrieved: dict[str, dict[str, list[bool]]] = {
        "new": defaultdict(list),
        "base": defaultdict(list),
    }
    full_every = max(1, len(queries) // FULL_QUERIES)
    for q, (k, edit, fp) in enumerate(queries):
        assert fp.local is not None
        wanted = int(original_ids[k])
        # Alternate which index goes first: the second one finds the postings in cache.
        for turn in (0, 1) if q % 2 else (1, 0):
            if turn:
                t0, c0 = time.perf_counter(), time.thread_time()
                found = local.query(fp.local, LOCAL_CANDIDATES)
                t1, c1 = time.perf_counter(), time.thread_time()
                times["local"].append(t1 - t0)
                times["local_cpu"].append(c1 - c0)
            else:
                t0 = time.perf_counter()
                before = baseline.query(fp.local, LOCAL_CANDIDATES)
                times["baseline"].append(time.perf_counter() - t0)
        retrieved["new"][edit].append(wanted in found)
        retrieved["base"][edit].append(wanted in before)
        if q % full_every:
            continue
        t0 = time.perf_counter()
        hamming.search(query_hashes(fp), DEFAULT.radius64)
        t1 = time.perf_counter()
        found = local.query(fp.local, LOCAL_CANDIDATES)
        t2 = time.perf_counter()
        rows = [row_of.get(i, 1 + i % len(originals)) for i in found]
        records = {r.id: r for r in await store.get_images(rows)}
        blobs = await store.local_features(list(records))
        t3 = time.perf_counter()
        verify_local(fp.local, [(records[r], blobs[r]) for r in rows])
        t4 = time.perf_counter()
        for key, value in (
            ("global", t1 - t0),
            ("query", t2 - t1),
            ("read", t3 - t2),
            ("verify", t4 - t3),
            ("full", t4 - t0),
        ):
            times[key].append(value)
    result = {
        "n": n,
        "words_made_s": made,
        "build_s": built,
        "baseline_build_s": baseline_built,
        "bytes_per_image": local.nbytes / n,
        "traced_bytes_per_image": held / n,
        "traced_peak_bytes_per_image": peak / n,
        "baseline_bytes_per_image": baseline.nbytes / n,
        "times": dict(times),
        "retrieved": {
            k: {e: float(np.mean(v)) for e, v in r.items()} for k, r in retrieved.items()
        },
        "retrieved_all": {
            k: float(np.mean([x for v in r.values() for x in v])) for k, r in retrieved.items()
        },
    }
    del local, baseline, hamming
    gc.collect()
    return result


def p50_p99(values: list[float]) -> str:
    return f"{fmt_ms(median(values))} / {fmt_ms(percentile(values, 99))}"


async def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    pool = word_pool()
    originals, queries = originals_and_queries()
    sizes = args.sizes or ((100_000,) if args.quick else (100_000, 1_000_000))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteStore(f"sqlite:///{Path(tmp) / 'bench.db'}") as store:
            await store.add_images(
                [
                    NewImage(
                        1,
                        10,
                        m + 1,
                        100,
                        0,
                        m,
                        fp.phash64,
                        fp.phash256,
                        fp.quality,
                        fp.local.to_bytes() if fp.local else None,
                        fp.local.words if fp.local else None,
                    )
                    for m, fp in enumerate(originals)
                ]
            )
            for n in sizes:
                print(f"{n:,} stored images", flush=True)
                results.append(await measure(n, pool, originals, queries, store))
    pool_lengths = [len(w) for w in pool]
    cost_rows = []
    for r in results:
        t = r["times"]
        cost_rows.append(
            [
                f"{r['n']:,}",
                p50_p99(t["local"]),
                fmt_ms(median(t["local_cpu"])),
                p50_p99(t["baseline"]),
                fmt_ratio(median(t["baseline"]) / median(t["local"])),
                f"{100 * r['retrieved_all']['new']:.1f}%",
                f"{100 * r['retrieved_all']['base']:.1f}%",
            ]
        )
    full_rows = [
        [
            f"{r['n']:,}",
            *(p50_p99(r["times"][k]) for k in ("global", "query", "read", "verify", "full")),
        ]
        for r in results
    ]
    recall_rows = [
        [
            f"{r['n']:,}",
            edit,
            f"{100 * r['retrieved']['new'][edit]:.1f}%",
            f"{100 * r['retrieved']['base'][edit]:.1f}%",
        ]
        for r in results
        for edit in EDITS
    ]
    memory_rows = [
        [
            f"{r['n']:,}",
            f"{r['bytes_per_image']:.0f} B",
            f"{r['traced_bytes_per_image']:.0f} B",
            f"{r['traced_peak_bytes_per_image']:.0f} B",
            f"{r['build_s']:.1f} s",
            f"{r['baseline_bytes_per_image']:.0f} B",
            f"{r['baseline_build_s']:.1f} s",
        ]
        for r in results
    ]
    per_size = len(queries)
    full_count = len(results[0]["times"]["full"]) if results else 0
    text = "\n\n".join(
        [
            "# Local index and full query cost (`python -m bench.local_search"
            + (" --quick`)" if args.quick else "`)"),
            machine_line(),
            f"Stored: {len(originals)} real originals among synthetic images (word lists"
            f" copied from a pool of {len(pool)} real ones of other pictures, {KEEP:.0%} of"
            f" each kept, the rest drawn from the pool's word frequencies; pool lists"
            f" {min(pool_lengths)}-{max(pool_lengths)} words, median {median(pool_lengths):.0f})."
            f" Queries: {per_size} per size, the edits {', '.join(EDITS)} of every original."
            f" *retrieved*: the edit's original is among the {LOCAL_CANDIDATES} candidates."
            f" Postings budget per ranking: {POSTINGS_BUDGET:,}. Times are ms, median / p99,"
            " wall clock on a shared machine; *CPU* is the thread's CPU time (median);"
            " *baseline* is the index as first shipped (`bench/local_baseline.py`), timed on"
            " the same queries, interleaved.",
            "## Local index query",
            md_table(
                [
                    "stored images",
                    "query",
                    "query CPU",
                    "baseline",
                    "baseline / query",
                    "retrieved",
                    "baseline retrieved",
                ],
                cost_rows,
            ),
            md_table(["stored images", "edit", "retrieved", "baseline retrieved"], recall_rows),
            "## Full query (global + local + read + verify)",
            f"{full_count} of the queries per size. The global stage searches the query's"
            " hashes and those of its views within the `normal` radius; *read* is the two"
            f" store reads of the {LOCAL_CANDIDATES} candidates; *verify* is `verify_local`"
            " (the service runs it in a worker thread, so it does not hold the event loop).",
            md_table(
                ["stored images", "global", "local query", "read", "verify", "full query"],
                full_rows,
            ),
            "## Memory and build",
            "*arrays*: `LocalIndex.nbytes`; *traced*: every allocation `LocalIndex.load` left"
            " behind (the id dictionary included), measured with `tracemalloc`; *peak*: the"
            " most it held while building.",
            md_table(
                [
                    "stored images",
                    "arrays / image",
                    "traced / image",
                    "peak while building / image",
                    "build",
                    "baseline arrays / image",
                    "baseline build",
                ],
                memory_rows,
            ),
        ]
    )
    data = {
        "sizes": [
            {k: v for k, v in r.items() if k != "times"}
            | {
                "ms": {
                    k: {"p50": median(v) * 1000, "p99": percentile(v, 99) * 1000, "n": len(v)}
                    for k, v in r["times"].items()
                }
            }
            for r in results
        ],
        "queries": per_size,
        "pool": len(pool),
        "keep": KEEP,
        "postings_budget": POSTINGS_BUDGET,
    }
    return text, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^5 only")
    parser.add_argument("--sizes", type=int, nargs="+", help="stored images (default 10^5 10^6)")
    args = parser.parse_args()
    text, data = asyncio.run(run(args))
    name = "local_search-quick" if args.quick else "local_search"
    if args.sizes:
        name = "local_search-" + "-".join(str(n) for n in args.sizes)
    write_results(name, text, data)


if __name__ == "__main__":
    main()
