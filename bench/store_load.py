"""Loading a guild of 10^6 images from SQLite into the index, and insert throughput.

Run ``python -m bench.store_load`` (a few minutes; builds a ~300 MB database in a temp
dir, deleted afterwards) or ``python -m bench.store_load --quick`` (10^5 rows).

Setup: ``SQLiteStore`` creates the schema, then the rows are written fast with the
``sqlite3`` module (``executemany``): the measured guild's images plus a fifth as many
of another guild, interleaved, so that the load is a range scan of the
``images_guild`` index as in a shared database. Snowflake-like increasing message ids.

Measured, interleaved over several rounds in one process (page cache warm):

* ``seenit``: ``SQLiteStore.load_hashes(guild)`` then ``HammingIndex.from_arrays``, as the
  service does on a guild's first query;
* ``sqlite3 fetchall``: the same SELECT through a plain ``sqlite3`` connection,
  ``fetchall()`` only: the floor of any row-based loader;
* ``np.array(rows)``: the conversion ``load_hashes`` applies to that list;
* ``sqlite3 + np.fromiter``: a streaming alternative (``np.fromiter`` over the cursor,
  no list of tuples), for comparison only.

Peak RSS: a fresh child process loads the guild once and reports ``VmHWM`` (peak) and
``VmRSS`` from ``/proc/self/status`` before and after.

Inserts: ``SQLiteStore.add_images`` with batches of 1 (the bot, message by message) and of
100 (a channel scan), against the same SQL run through a plain ``sqlite3`` connection
with one transaction per batch (same WAL / synchronous=NORMAL settings).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import Stopwatch, fmt_ms, fmt_ratio, machine_line, md_table, median, write_results
from bot.index import HammingIndex, to_signed
from bot.records import NewImage
from bot.store.sqlite import SQLiteStore

GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
SELECT = "SELECT id, phash64 FROM images WHERE guild_id = ? ORDER BY id"
INSERT = (
    "INSERT INTO images (guild_id, channel_id, message_id, author_id, slot,"
    " posted_at, phash64, phash256, quality) VALUES (?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (guild_id, message_id, slot) DO NOTHING"
)
I64 = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- setup


def _rows(n: int, other: int, seed: int) -> tuple[list[tuple[Any, ...]], float]:
    rng = np.random.default_rng(seed)
    total = n + other
    guild_of = np.full(total, GUILD, dtype=np.int64)
    guild_of[rng.permutation(total)[:other]] = OTHER_GUILD
    message = 1_100_000_000_000_000_000 + np.cumsum(rng.integers(1, 1 << 22, size=total))
    channel = 900_000_000_000_000_000 + rng.integers(0, 40, size=total)
    author = 800_000_000_000_000_000 + rng.integers(0, 5000, size=total)
    posted = 1_700_000_000_000 + np.arange(total, dtype=np.int64) * 1000
    hashes = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=total)
    blobs = rng.integers(0, 256, size=(total, 32), dtype=np.uint8)
    quality = rng.integers(25, 101, size=total)
    start = time.perf_counter()
    rows = list(
        zip(
            guild_of.tolist(),
            channel.tolist(),
            message.tolist(),
            author.tolist(),
            itertools.repeat(0),
            posted.tolist(),
            hashes.tolist(),
            (b.tobytes() for b in blobs),
            quality.tolist(),
            strict=False,
        )
    )
    return rows, time.perf_counter() - start


async def _create_schema(url: str) -> None:
    async with SQLiteStore(url):
        pass


def setup_db(path: Path, n: int, seed: int) -> dict[str, float]:
    url = f"sqlite:///{path}"
    start = time.perf_counter()
    asyncio.run(_create_schema(url))
    rows, _ = _rows(n, n // 5, seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO images (guild_id, channel_id, message_id, author_id, slot, posted_at,"
        " phash64, phash256, quality) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"setup_seconds": time.perf_counter() - start, "db_bytes": path.stat().st_size}


# --------------------------------------------------------------------------- loads


Times = tuple[float, float]  # (wall, CPU) seconds


async def load_seenit(store: SQLiteStore) -> tuple[HammingIndex, Times, Times]:
    sw = Stopwatch()
    ids, hashes = await store.load_hashes(GUILD)
    loaded = sw.read()
    sw = Stopwatch()
    index = HammingIndex.from_arrays(ids, hashes)
    return index, loaded, sw.read()


def load_fetchall(con: sqlite3.Connection) -> tuple[list[Any], Times]:
    sw = Stopwatch()
    rows = con.execute(SELECT, (GUILD,)).fetchall()
    return rows, sw.read()


def to_arrays(rows: list[Any]) -> tuple[I64, I64, Times]:
    sw = Stopwatch()
    table = np.array(rows, dtype=np.int64)
    ids, hashes = np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])
    return ids, hashes, sw.read()


def load_fromiter(con: sqlite3.Connection, count: int) -> tuple[I64, I64, Times]:
    sw = Stopwatch()
    cur = con.execute(SELECT, (GUILD,))
    flat = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.int64, count=2 * count)
    table = flat.reshape(-1, 2)
    ids, hashes = np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])
    return ids, hashes, sw.read()


LOAD_STEPS = (
    "seenit load_hashes",
    "seenit from_arrays",
    "seenit total",
    "sqlite3 fetchall",
    "np.array(rows)",
    "sqlite3 + np.fromiter",
)


async def measure_loads(path: Path, n: int, rounds: int) -> dict[str, list[Times]]:
    out: dict[str, list[Times]] = {step: [] for step in LOAD_STEPS}
    con = sqlite3.connect(path)
    async with SQLiteStore(f"sqlite:///{path}") as store:
        # warm the page cache and both connections once, untimed
        await store.load_hashes(GUILD)
        con.execute(SELECT, (GUILD,)).fetchall()
        for r in range(rounds):
            steps = ["seenit", "fetchall", "fromiter"]
            if r % 2:
                steps.reverse()
            for step in steps:
                if step == "seenit":
                    index, t_load, t_build = await load_seenit(store)
                    assert len(index) == n, (len(index), n)
                    out["seenit load_hashes"].append(t_load)
                    out["seenit from_arrays"].append(t_build)
                    out["seenit total"].append((t_load[0] + t_build[0], t_load[1] + t_build[1]))
                    del index
                elif step == "fetchall":
                    rows, t_fetch = load_fetchall(con)
                    out["sqlite3 fetchall"].append(t_fetch)
                    *_, t_conv = to_arrays(rows)
                    out["np.array(rows)"].append(t_conv)
                    del rows
                else:
                    ids, _, t_iter = load_fromiter(con, n)
                    assert len(ids) == n
                    out["sqlite3 + np.fromiter"].append(t_iter)
            print(f"\rloads: round {r + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    con.close()
    return out


# --------------------------------------------------------------------------- peak RSS


def _status() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def rss_child(path: str, mode: str, n: int) -> None:
    """Run in a fresh process: one load, and the memory it took."""
    before = _status()
    if mode == "seenit":

        async def go() -> HammingIndex:
            async with SQLiteStore(f"sqlite:///{path}") as store:
                ids, hashes = await store.load_hashes(GUILD)
                return HammingIndex.from_arrays(ids, hashes)

        index = asyncio.run(go())
    else:
        con = sqlite3.connect(path)
        ids, hashes, _ = load_fromiter(con, n)
        con.close()
        index = HammingIndex.from_arrays(ids, hashes)
        del ids, hashes
    after = _status()
    print(
        json.dumps(
            {
                "rss_before": before["VmRSS"],
                "peak_delta": after["VmHWM"] - before["VmRSS"],
                "retained_delta": after["VmRSS"] - before["VmRSS"],
                "index_nbytes": index.nbytes(),
            }
        )
    )


def measure_rss(path: Path, mode: str, n: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.store_load", "--rss-child", str(path), mode, str(n)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- inserts


def _new_images(start_message: int, count: int, seed: int) -> list[NewImage]:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64).tolist()
    return [
        NewImage(
            guild_id=GUILD,
            channel_id=900_000_000_000_000_001,
            message_id=start_message + k,
            author_id=800_000_000_000_000_001,
            slot=0,
            posted_at=1_800_000_000_000 + k,
            phash64=int(h),
            phash256=rng.bytes(32),
            quality=80,
        )
        for k, h in enumerate(hashes)
    ]


def _raw_insert(con: sqlite3.Connection, images: list[NewImage]) -> None:
    con.execute("BEGIN IMMEDIATE")
    for img in images:
        con.execute(
            INSERT,
            (
                img.guild_id,
                img.channel_id,
                img.message_id,
                img.author_id,
                img.slot,
                img.posted_at,
                to_signed(img.phash64),
                img.phash256,
                img.quality,
            ),
        )
    con.execute("COMMIT")


async def measure_inserts(path: Path, singles: int, batches: int, seed: int) -> dict[str, Any]:
    """(wall, CPU) seconds per row; CPU includes aiosqlite's worker thread."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA busy_timeout=5000")
    times: dict[str, list[Times]] = {
        "seenit 1": [],
        "sqlite3 1": [],
        "seenit 100": [],
        "sqlite3 100": [],
    }
    message = 2_000_000_000_000_000_000
    chunk = 50
    async with SQLiteStore(f"sqlite:///{path}") as store:
        # interleave: a chunk of 50 single-row inserts, then a batch of 100, each both ways
        plan = ["1"] * ((singles + chunk - 1) // chunk) + ["100"] * batches
        random.Random(seed).shuffle(plan)
        for r, batch in enumerate(plan):
            for who in ("seenit", "sqlite3") if r % 2 == 0 else ("sqlite3", "seenit"):
                count = chunk if batch == "1" else 100
                images = _new_images(message, count, seed + message % 1000)
                message += count
                sw = Stopwatch()
                if batch == "1":
                    for img in images:
                        if who == "seenit":
                            stored = await store.add_images([img])
                            assert len(stored) == 1
                        else:
                            _raw_insert(con, [img])
                elif who == "seenit":
                    stored = await store.add_images(images)
                    assert len(stored) == 100
                else:
                    _raw_insert(con, images)
                wall, cpu = sw.read()
                times[f"{who} {batch}"].append((wall / count, cpu / count))
    con.close()
    return {"seconds_per_row": times, "singles": singles, "batches": batches}


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^5 rows, fewer rounds")
    parser.add_argument("--rows", type=int, help="images in the measured guild (default 10^6)")
    parser.add_argument("--rounds", type=int, help="load rounds (default 7, quick 5)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rss-child", nargs=3, metavar=("DB", "MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child[0], args.rss_child[1], int(args.rss_child[2]))
        return 0
    n = args.rows or (10**5 if args.quick else 10**6)
    rounds = args.rounds or (5 if args.quick else 7)
    singles = 300 if args.quick else 2000
    batches = 20 if args.quick else 100
    started = time.perf_counter()
    machine = machine_line()
    with tempfile.TemporaryDirectory(prefix="seenit-bench-") as tmp:
        path = Path(tmp) / "seenit.db"
        print(f"building a database of {n + n // 5:,} rows...", file=sys.stderr, flush=True)
        setup = setup_db(path, n, args.seed)
        loads = asyncio.run(measure_loads(path, n, rounds))
        rss = {mode: measure_rss(path, mode, n) for mode in ("seenit", "fromiter")}
        print("inserts...", file=sys.stderr, flush=True)
        inserts = asyncio.run(measure_inserts(path, singles, batches, args.seed))
    elapsed = time.perf_counter() - started

    med = {k: median(w for w, _ in v) for k, v in loads.items()}
    cpu_med = {k: median(c for _, c in v) for k, v in loads.items()}
    load_rows = [
        [
            k,
            fmt_ms(med[k]),
            fmt_ms(min(w for w, _ in v)),
            fmt_ms(max(w for w, _ in v)),
            fmt_ms(cpu_med[k]),
            fmt_ratio(med[k] / med["sqlite3 fetchall"]),
        ]
        for k, v in loads.items()
    ]
    load_table = md_table(
        ["step", "median ms", "min ms", "max ms", "CPU median ms", "vs sqlite3 fetchall"],
        load_rows,
    )
    rss_rows = [
        [
            "seenit (load_hashes + from_arrays)"
            if mode == "seenit"
            else "sqlite3 + np.fromiter + from_arrays",
            f"{r['peak_delta'] / 2**20:.0f}",
            f"{r['retained_delta'] / 2**20:.0f}",
            f"{r['index_nbytes'] / 2**20:.0f}",
            f"{r['peak_delta'] / n:.0f}",
        ]
        for mode, r in rss.items()
    ]
    rss_table = md_table(
        [
            "load",
            "peak RSS delta MiB",
            "RSS delta after MiB",
            "index.nbytes() MiB",
            "peak bytes/image",
        ],
        rss_rows,
    )
    per_row = inserts["seconds_per_row"]
    ins_rows = []
    for batch in ("1", "100"):
        sw_ = median(w for w, _ in per_row[f"seenit {batch}"])
        sc = median(c for _, c in per_row[f"seenit {batch}"])
        bw = median(w for w, _ in per_row[f"sqlite3 {batch}"])
        bc = median(c for _, c in per_row[f"sqlite3 {batch}"])
        ins_rows.append(
            [
                batch,
                f"{1 / sw_:,.0f}",
                f"{sw_ * 1e6:.0f}",
                f"{sc * 1e6:.0f}",
                f"{1 / bw:,.0f}",
                f"{bw * 1e6:.0f}",
                f"{bc * 1e6:.0f}",
                fmt_ratio(sw_ / bw),
            ]
        )
    ins_table = md_table(
        [
            "batch",
            "seenit add_images rows/s",
            "seenit us/row",
            "seenit CPU us/row",
            "sqlite3 rows/s",
            "sqlite3 us/row",
            "sqlite3 CPU us/row",
            "seenit/sqlite3 wall",
        ],
        ins_rows,
    )
    total = med["seenit total"]
    target_table = md_table(
        ["target", "bound", "measured", "CPU time", ""],
        [
            [
                f"{n:,} images loaded (load_hashes + from_arrays, median)",
                "< 1 s",
                f"{total:.2f} s",
                f"{cpu_med['seenit total']:.2f} s",
                "met" if total < 1 else f"**missed** by {fmt_ratio(total)}",
            ]
        ],
    )
    command = "python -m bench.store_load" + (" --quick" if args.quick else "")
    md = f"""# Store load and insert throughput (`{command}`)

{machine}. Run took {elapsed:.0f} s.

SQLite file in a temp dir: {n:,} images of the measured guild + {n // 5:,} of another,
interleaved; {setup["db_bytes"] / 2**20:.0f} MiB after setup (setup {setup["setup_seconds"]:.0f} s
through `sqlite3.executemany`). Page cache warm. {rounds} rounds, the three loaders
interleaved (order alternating).

## Loading one guild

{load_table}

`seenit total` = `load_hashes` + `from_arrays`; `np.array(rows)` is the list -> array
conversion inside `load_hashes`, timed on the list `sqlite3 fetchall` returned.
`sqlite3 + np.fromiter` (cursor streamed into an array, no list) is not what seenit
does; it is there to show what the load could cost.

## Peak memory of one load (fresh process)

{rss_table}

## Inserts (into the {n:,}-row database)

{ins_table}

Batches of 1: {inserts["singles"]:,} rows each way, timed in chunks of 50 rows; batches of
100: {inserts["batches"]} batches each way; chunks and batches shuffled together, seenit and
sqlite3 alternating. One transaction per `add_images` call / per raw batch. CPU time
includes aiosqlite's worker thread. Wall time of `add_images` depends on how fast the
event loop and aiosqlite's thread get a core back after each hand-off (one or more per
statement), so it swings with the machine's load.

## Targets

{target_table}
"""
    data = {
        "machine": machine,
        "n": n,
        "setup": setup,
        "loads_seconds": loads,
        "rss": rss,
        "inserts": inserts,
        "elapsed_seconds": elapsed,
    }
    write_results("store_load-quick" if args.quick else "store_load", md, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
