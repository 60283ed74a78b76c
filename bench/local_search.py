"""Cost of a full repost query, global and local stage, against 10^5 and 10^6 stored images.

Run ``python -m bench.local_search`` (a few minutes, about 3 GB of RAM at 10^6) or
``python -m bench.local_search --quick`` (10^5 only, fewer queries).

What ``SeenService.search`` does for a new image the global stage finds nothing for (most new
images), timed part by part on the same queries:

* *global*: ``HammingIndex.search`` of the query's 64-bit hashes (8 orientations, plus those
  of its views) within the ``normal`` radius;
* *local query*: ``LocalIndex.query(fp.local, 20)``, the local index's 20 best candidates;
* *read*: ``Store.get_images`` and ``Store.local_features`` of those candidates from a SQLite
  file (the service's two reads);
* *verify*: ``verify_local``, each candidate's features decoded and judged by ``judge_local``
  (the service runs it in a worker thread).

Stored images at scale are synthetic: random 64-bit hashes, and for the local index a word
list per image as long as real ones (``INDEX_WORDS`` distinct words) drawn from a Zipf-like
distribution over the vocabulary, so that frequent words sit in many images as real visual
words do. Verification cost does not depend on how many images are stored: the candidates'
features are real (real pictures, ``bench.common.real_pictures``, fingerprinted by
``bot.hashing.fingerprint``), stored in the SQLite file, and each synthetic candidate id maps to
one of them. The queries are other real pictures, so (as for most new images) no candidate is
a repost and every one is verified to the end of what a rejection costs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import (
    cached_rgb,
    fmt_ms,
    machine_line,
    md_table,
    median,
    percentile,
    real_pictures,
    spread,
    write_results,
)
from bot.hashing import Fingerprint, fingerprint
from bot.index import HammingIndex
from bot.local import LocalIndex
from bot.local.features import INDEX_WORDS
from bot.local.vocabulary import vocabulary
from bot.matching import DEFAULT, LOCAL_CANDIDATES, query_hashes, verify_local
from bot.records import NewImage
from bot.store import SQLiteStore

#: Real pictures whose features the candidates are, and real pictures used as queries.
STORED_PICTURES = 40
QUERY_PICTURES = 30
#: Zipf exponent of the synthetic word frequencies.
ZIPF = 1.0
PICTURE_SIDE = 1280


def synthetic_words(count: int, seed: int) -> list[bytes]:
    """``count`` word lists of ``INDEX_WORDS`` distinct sorted words (uint16 LE), Zipf-like."""
    size = vocabulary().size
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, size + 1) ** ZIPF
    weights /= weights.sum()
    # Rank -> word: a fixed shuffle so that frequent words are spread over the vocabulary.
    rank_to_word = rng.permutation(size).astype(np.uint16)
    lists: list[bytes] = []
    batch = 10_000
    for start in range(0, count, batch):
        n = min(batch, count - start)
        # Draw extra and keep the first INDEX_WORDS distinct of each row.
        draws = rng.choice(size, size=(n, INDEX_WORDS * 2), p=weights)
        for row in draws:
            distinct = np.unique(row)[:INDEX_WORDS]
            lists.append(np.sort(rank_to_word[distinct]).astype("<u2").tobytes())
    return lists


def picture_prints(pictures: list[Any]) -> list[Fingerprint]:
    prints = []
    for picture in pictures:
        image = cached_rgb(picture.path, PICTURE_SIDE)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        fp = fingerprint(buf.getvalue())
        if fp.local is not None:
            prints.append(fp)
    return prints


async def measure(
    n: int, queries: list[Fingerprint], stored: list[Fingerprint], store: SQLiteStore, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ids: npt.NDArray[np.int64] = np.arange(1, n + 1, dtype=np.int64)
    hashes = rng.integers(0, 2**63, size=n, dtype=np.int64)
    started = time.perf_counter()
    words = synthetic_words(n, seed)
    made = time.perf_counter() - started
    gc.collect()
    started = time.perf_counter()
    hamming = HammingIndex.from_arrays(ids, hashes)
    local = LocalIndex()
    local.load(zip(ids.tolist(), words, strict=True))
    built = time.perf_counter() - started
    del words
    gc.collect()
    parts: dict[str, list[float]] = {k: [] for k in ("global", "local", "read", "verify", "total")}
    candidates_seen: list[int] = []
    for fp in queries:
        assert fp.local is not None
        t0 = time.perf_counter()
        hamming.search(query_hashes(fp), DEFAULT.radius64)
        t1 = time.perf_counter()
        found = local.query(fp.local, LOCAL_CANDIDATES)
        t2 = time.perf_counter()
        # Each synthetic id stands for one of the stored real pictures' rows.
        rows = [1 + i % len(stored) for i in found]
        records = {r.id: r for r in await store.get_images(rows)}
        blobs = await store.local_features(list(records))
        t3 = time.perf_counter()
        verify_local(fp.local, [(records[r], blobs[r]) for r in rows])
        t4 = time.perf_counter()
        candidates_seen.append(len(found))
        for key, value in (
            ("global", t1 - t0),
            ("local", t2 - t1),
            ("read", t3 - t2),
            ("verify", t4 - t3),
            ("total", t4 - t0),
        ):
            parts[key].append(value)
    return {
        "n": n,
        "words_made_s": made,
        "build_s": built,
        "local_bytes_per_image": local.nbytes / n,
        "candidates_median": median(candidates_seen),
        "parts": parts,
    }


async def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    pictures = spread(real_pictures(), STORED_PICTURES + QUERY_PICTURES)
    prints = picture_prints(pictures)
    stored, queries = prints[:STORED_PICTURES], prints[STORED_PICTURES:]
    queries = (queries * (args.queries // max(1, len(queries)) + 1))[: args.queries]
    sizes = (100_000,) if args.quick else (100_000, 1_000_000)
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
                    for m, fp in enumerate(stored)
                ]
            )
            for n in sizes:
                print(f"{n:,} stored images", flush=True)
                results.append(await measure(n, queries, stored, store, seed=n))
    blob_sizes = [len(fp.local.to_bytes()) for fp in prints if fp.local]
    word_sizes = [len(fp.local.words) for fp in prints if fp.local]
    rows = []
    for r in results:
        p = r["parts"]
        rows.append(
            [
                f"{r['n']:,}",
                *(
                    f"{fmt_ms(median(p[k]))} / {fmt_ms(percentile(p[k], 99))}"
                    for k in ("global", "local", "read", "verify", "total")
                ),
                f"{r['candidates_median']:.0f}",
            ]
        )
    build_rows = [
        [
            f"{r['n']:,}",
            f"{r['build_s']:.2f} s",
            f"{r['local_bytes_per_image']:.0f} B",
        ]
        for r in results
    ]
    text = "\n\n".join(
        [
            "# Full query cost, global and local stage (`python -m bench.local_search`)",
            machine_line(),
            f"{len(queries)} queries (real pictures, none stored) per size; the local index"
            f" holds {INDEX_WORDS} synthetic words per stored image; verification reads and"
            f" judges the real features of {len(stored)} real pictures stored in a SQLite"
            f" file (a blob is {min(blob_sizes):,}-{max(blob_sizes):,} bytes, median"
            f" {median(blob_sizes):,.0f}; the words {median(word_sizes):.0f} bytes). Times are"
            " median / p99 per query, one core, in this process (the service runs *verify*"
            " in a worker thread).",
            md_table(
                [
                    "stored images",
                    "global",
                    "local query",
                    "read 20 candidates",
                    "verify",
                    "total",
                    "candidates",
                ],
                rows,
            ),
            md_table(["stored images", "local index build", "local index per image"], build_rows),
        ]
    )
    data = {
        "sizes": [
            {k: v for k, v in r.items() if k != "parts"}
            | {
                "ms": {
                    k: {"p50": median(v) * 1000, "p99": percentile(v, 99) * 1000}
                    for k, v in r["parts"].items()
                }
            }
            for r in results
        ],
        "queries": len(queries),
        "blob_bytes_median": median(blob_sizes),
        "words_bytes_median": median(word_sizes),
    }
    return text, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^5 only, fewer queries")
    parser.add_argument("--queries", type=int, default=None)
    args = parser.parse_args()
    if args.queries is None:
        args.queries = 60 if args.quick else 200
    text, data = asyncio.run(run(args))
    write_results("local_search-quick" if args.quick else "local_search", text, data)


if __name__ == "__main__":
    main()
