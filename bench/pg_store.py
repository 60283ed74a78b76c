"""SQLite against PostgreSQL in one run: inserts, loading a big guild, searching it.

    python -m bench.pg_store [--rows 1000000] [--out bench/results/pg_store.md]

Measures, for each engine through the Store interface:

* insert throughput of add_images with batches of 1 and of 100 rows (rows/s);
* time and peak memory to load a guild of ``--rows`` images into a HammingIndex
  (load_hashes + HammingIndex.from_arrays), each load in a fresh child process so that
  its peak resident memory is its own;
* a search inside PostgreSQL (``search_in_database``: popcount of XOR over the guild's
  rows, radius 10, 8 query hashes) against HammingIndex.search on the same guild.

PostgreSQL runs from the installed binaries in a temporary directory (tests/pgserver.py),
with its durable defaults (fsync on, synchronous_commit on); inserts are also measured
with ``synchronous_commit=off`` (set through the URL), which is closer to what SQLite's
WAL mode with synchronous=NORMAL promises: a crash may lose the last commits, never
corrupt. Prints a markdown table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import numpy as np

from bot.index import HammingIndex, to_signed, to_unsigned
from bot.records import NewImage
from bot.store import Store, open_store
from bot.store.postgres import PostgresStore
from tests.pgserver import PostgresServer, find_bindir

ROOT = Path(__file__).resolve().parent.parent
GUILD = 7
QUERIES = 8
RADIUS = 10


def rss_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def new_image(guild: int, message: int, phash64: int) -> NewImage:
    return NewImage(guild, 10, message, 100 + message % 50, 0, message, phash64, bytes(32), 90)


async def insert_rate(url: str, batch: int, rows: int) -> float:
    """Rows per second inserted by add_images calls of ``batch`` rows into a fresh guild."""
    rng = random.Random(batch)
    async with open_store(url) as store:
        started = time.perf_counter()
        for start in range(0, rows, batch):
            await store.add_images(
                [new_image(batch, m, rng.getrandbits(64)) for m in range(start, start + batch)]
            )
        return rows / (time.perf_counter() - started)


async def populate(store: Store, hashes: np.ndarray, batch: int = 10_000) -> float:
    """Fill GUILD with one image per hash; returns rows per second."""
    started = time.perf_counter()
    values = hashes.tolist()
    for start in range(0, len(values), batch):
        await store.add_images(
            [new_image(GUILD, start + i, h) for i, h in enumerate(values[start : start + batch])]
        )
    return len(values) / (time.perf_counter() - started)


async def load_child(url: str) -> dict[str, float]:
    """In a child process: load GUILD into an index; time and peak memory of just that."""
    async with open_store(url) as store:
        await store.count_images(GUILD)  # connection and caches warm
        baseline = rss_kib("VmRSS")
        started = time.perf_counter()
        ids, hashes = await store.load_hashes(GUILD)
        loaded = time.perf_counter()
        index = HammingIndex.from_arrays(ids, hashes)
        built = time.perf_counter()
    return {
        "rows": len(index),
        "load_s": loaded - started,
        "index_s": built - loaded,
        "total_s": built - started,
        "peak_mib": (rss_kib("VmHWM") - baseline) / 1024,
        "index_mib": index.nbytes() / 2**20,
    }


def measure_load(url: str, runs: int = 3) -> dict[str, float]:
    """Median times, largest peak memory, over ``runs`` child processes."""
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-m", "bench.pg_store", "--load-child", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    merged = {k: statistics.median(r[k] for r in results) for k in results[0]}
    merged["peak_mib"] = max(r["peak_mib"] for r in results)
    return merged


def queries_near(hashes: np.ndarray, rng: random.Random) -> list[int]:
    """8 query hashes, each a stored hash with a few bits flipped (so there are hits)."""
    picked = [int(hashes[rng.randrange(len(hashes))]) for _ in range(QUERIES)]
    return [h ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) for h in picked]


async def search_in_database(
    conn: Any, guild_id: int, hashes: list[int], radius: int, limit: int
) -> list[tuple[int, int]]:
    """(image id, distance) of a guild's images within ``radius`` of any query hash.

    Computed inside PostgreSQL, the alternative to seenit's in-memory index: the distance
    to the nearest query hash, nearest first, ties by id (as HammingIndex.search).
    """
    queries = [to_signed(to_unsigned(h)) for h in dict.fromkeys(hashes)]
    if radius < 0 or limit <= 0 or not queries:
        return []
    distances = ", ".join(
        f"bit_count((phash64 # ${n})::bit(64))" for n in range(4, 4 + len(queries))
    )
    sql = (
        f"SELECT id, d FROM (SELECT id, least({distances})::integer AS d FROM images"
        " WHERE guild_id = $1) AS scored WHERE d <= $2 ORDER BY d, id LIMIT $3"
    )
    rows = await conn.fetch(sql, guild_id, radius, limit, *queries)
    return [(int(r[0]), int(r[1])) for r in rows]


async def search_times(url: str, hashes: np.ndarray) -> dict[str, float]:
    rng = random.Random(3)
    queries = queries_near(hashes, rng)
    async with PostgresStore(url) as store:
        ids, stored = await store.load_hashes(GUILD)
    index = HammingIndex.from_arrays(ids, stored)
    conn = await asyncpg.connect(url)
    try:
        db_ms = []
        for _ in range(5):
            started = time.perf_counter()
            found = await search_in_database(conn, GUILD, queries, RADIUS, 100)
            db_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    memory_ms = []
    for _ in range(50):
        started = time.perf_counter()
        hits = index.search(queries, RADIUS, 100)
        memory_ms.append((time.perf_counter() - started) * 1000)
    assert [(h.image_id, h.distance) for h in hits] == found, "the two searches disagree"
    return {
        "db_ms": statistics.median(db_ms),
        "memory_ms": statistics.median(memory_ms),
        "hits": len(found),
    }


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


async def run(server: PostgresServer, scratch: Path, rows: int, pg_version: str) -> str:
    """Every measurement; returns the markdown report."""
    began = time.perf_counter()
    load_before = os.getloadavg()[0]

    files = itertools.count()

    def sqlite_url(name: str) -> str:
        """A new SQLite file."""
        return f"sqlite:///{scratch / name}-{next(files)}.db"

    engines: dict[str, Any] = {
        "SQLite (WAL, synchronous=NORMAL)": sqlite_url,
        "PostgreSQL (durable defaults)": lambda name: server.create_database(),
        "PostgreSQL (synchronous_commit=off)": lambda name: (
            server.create_database() + "?synchronous_commit=off"
        ),
    }
    inserts: dict[str, tuple[float, float]] = {}
    for engine, make in engines.items():
        # Median of 3 runs, each on a fresh database: other work on the machine is noise.
        single = statistics.median([await insert_rate(make("1"), 1, 2_000) for _ in range(3)])
        hundred = statistics.median([await insert_rate(make("100"), 100, 20_000) for _ in range(3)])
        inserts[engine] = (single, hundred)
        print(f"{engine}: {single:,.0f} rows/s singly, {hundred:,.0f} in 100s", flush=True)

    hashes = np.random.default_rng(42).integers(0, 2**64, rows, dtype=np.uint64)
    big = {"SQLite": sqlite_url("big"), "PostgreSQL": server.create_database()}
    loads: dict[str, dict[str, float]] = {}
    bulk: dict[str, float] = {}
    for engine, url in big.items():
        async with open_store(url) as store:
            bulk[engine] = await populate(store, hashes)
        print(f"{engine}: {rows:,} rows stored at {bulk[engine]:,.0f} rows/s", flush=True)
        loads[engine] = measure_load(url)
        print(f"{engine}: load {loads[engine]}", flush=True)
    search = await search_times(big["PostgreSQL"], hashes)
    print(f"search: {search}", flush=True)
    elapsed = time.perf_counter() - began
    load_after = os.getloadavg()[0]

    insert_rows = [("engine", "add_images, 1 row per call", "100 rows per call")]
    for engine, (single, hundred) in inserts.items():
        insert_rows.append((engine, f"{single:,.0f} rows/s", f"{hundred:,.0f} rows/s"))
    load_rows = [
        (
            "engine",
            "fill (10,000 per call)",
            "load_hashes",
            "from_arrays",
            "load total",
            "peak memory",
            "index size",
        )
    ]
    for engine, r in loads.items():
        load_rows.append(
            (
                engine,
                f"{bulk[engine]:,.0f} rows/s",
                f"{r['load_s'] * 1000:,.0f} ms",
                f"{r['index_s'] * 1000:,.0f} ms",
                f"{r['total_s'] * 1000:,.0f} ms",
                f"{r['peak_mib']:,.0f} MiB",
                f"{r['index_mib']:,.0f} MiB",
            )
        )
    search_rows = [
        ("search (radius 10, 8 query hashes, limit 100)", "median time"),
        ("inside PostgreSQL (bit_count)", f"{search['db_ms']:,.1f} ms"),
        ("HammingIndex.search (in memory)", f"{search['memory_ms']:,.2f} ms"),
    ]
    report = "\n".join(
        [
            "# PostgreSQL and SQLite stores",
            "",
            f"Written by `python -m bench.pg_store --rows {rows}` in {elapsed:,.0f} s on"
            f" {os.cpu_count()} CPUs, Python {platform.python_version()}, {pg_version},"
            f" SQLite {sqlite3.sqlite_version}. PostgreSQL ran on the same machine over"
            " TCP on 127.0.0.1, default settings otherwise. Load average (1 min) at start"
            f" {load_before:.1f}, at end {load_after:.1f}: other work on the machine slows"
            " everything, fsync-bound inserts most.",
            "",
            "## Inserts",
            "",
            table(insert_rows),
            "",
            "Median of 3 runs of 2,000 calls (1 row) and 200 calls (100 rows), each on a fresh"
            " database. Each call is one transaction. PostgreSQL with durable defaults"
            " flushes its WAL to disk at every commit; SQLite in WAL mode with"
            " synchronous=NORMAL does not (a crash may lose the last commits), which"
            " synchronous_commit=off matches.",
            "",
            f"## Loading a guild of {rows:,} images",
            "",
            table(load_rows),
            "",
            "load_hashes returns (ids, hashes) arrays; from_arrays builds the index. Each"
            " load runs in a fresh process (median of 3); peak memory is the rise of that"
            " process's peak resident set over its size before the load.",
            "",
            f"## Searching {rows:,} images ({search['hits']} hits)",
            "",
            table(search_rows),
            "",
        ]
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pg_store.md")
    parser.add_argument("--load-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_child:
        print(json.dumps(asyncio.run(load_child(args.load_child))))
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found: install postgresql")
    pg_version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    server = PostgresServer(bindir, durable=True)
    scratch = Path(tempfile.mkdtemp(prefix="seenit-bench-"))
    try:
        server.start()
        report = asyncio.run(run(server, scratch, args.rows, pg_version))
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
