"""PostgreSQL-only behaviour on a real server: the benchmark's search in the database,
several writer processes, a server restart mid-burst, lost COMMIT answers, concurrent migrations.

The engine-independent behaviour is tested for both engines in tests/test_store.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import numpy as np
import pytest

from bot.index import HammingIndex, to_unsigned
from bot.records import AlertRecord, ImageRecord, NewImage
from bot.store import SCHEMA_VERSION, StoreError, open_store
from bot.store.postgres import PostgresStore, StoreUnavailable, parse_binary_copy, redacted

if TYPE_CHECKING:
    from tests.pgserver import PostgresServer

# The fixtures postgres_server and postgres_url (imported by pytest: no module-level import
# of tests.pgserver here, so that pytest can rewrite its asserts).
pytest_plugins = ("tests.pgserver",)

ROOT = Path(__file__).resolve().parent.parent


def image(message: int, slot: int = 0, *, guild: int = 1, h64: int = 7) -> NewImage:
    return NewImage(guild, 10, message, 100, slot, 1_000 + message, h64, bytes(32), 90)


async def rows(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Read the database behind the store's back (test only)."""
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def flip(rng: random.Random, value: int, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


async def test_the_benchmarks_search_in_the_database_equals_the_in_memory_index(
    postgres_url: str,
) -> None:
    # Imported here: bench.pg_store imports tests.pgserver, which pytest must import first
    # (as a plugin) to rewrite its asserts.
    from bench.pg_store import search_in_database

    rng = random.Random(5)
    queries = [rng.getrandbits(64) for _ in range(8)]
    hashes = [rng.getrandbits(64) for _ in range(30_000)]
    # Near-duplicates of the queries at every distance, and exact copies, for ties.
    hashes += [flip(rng, q, rng.randint(0, 14)) for q in queries for _ in range(60)]
    hashes += queries[:3]
    rng.shuffle(hashes)
    async with PostgresStore(postgres_url) as store:
        for start in range(0, len(hashes), 5_000):
            await store.add_images(
                [image(start + i, h64=h) for i, h in enumerate(hashes[start : start + 5_000])]
            )
        await store.add_images([image(n, guild=2, h64=queries[0]) for n in range(5)])
        ids, stored = await store.load_hashes(1)
    assert len(ids) == len(hashes)
    index = HammingIndex.from_arrays(ids, stored)
    conn = await asyncpg.connect(postgres_url)
    try:
        for radius, limit, wanted in (
            (0, 100, queries[:3]),
            (6, 1_000, queries),
            (10, 1_000_000, queries),
            (14, 25, queries[2:5]),
            (10, 1_000, queries[:1]),
        ):
            expected = [(h.image_id, h.distance) for h in index.search(wanted, radius, limit)]
            found = await search_in_database(conn, 1, wanted, radius, limit)
            assert found == expected, (radius, limit)
            assert found, (radius, limit)
        assert await search_in_database(conn, 1, [], 10, 10) == []
        assert await search_in_database(conn, 1, queries, -1, 10) == []
        assert await search_in_database(conn, 3, queries, 64, 10) == []
    finally:
        await conn.close()


async def test_two_processes_write_one_guild_without_loss_or_duplicates(
    postgres_url: str,
) -> None:
    """Two real OS processes insert overlapping messages into one fresh database at once.

    They start together on an empty database (so both try to migrate it) and go through
    the shared messages first, from opposite ends, with batches of their own sizes and a
    pause between batches, so that they meet in the middle and race on the same keys even
    if one of them starts a little late.
    """
    rng = random.Random(11)
    shared = list(range(400, 1200))
    rng.shuffle(shared)
    plans = {
        "a": shared + list(range(0, 400)),
        "b": shared[::-1] + list(range(1200, 1600)),
    }
    procs = {
        name: await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.pgwriter",
            postgres_url,
            "1",
            str(seed),
            *(str(m) for m in plan),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for seed, (name, plan) in enumerate(plans.items())
    }
    try:
        for proc in procs.values():
            assert proc.stdout is not None and proc.stderr is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            if line.strip() != b"ready":
                pytest.fail(f"writer did not start: {(await proc.stderr.read()).decode()}")
        for proc in procs.values():  # go
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        reported: dict[str, list[tuple[int, int, int]]] = {}
        for name, proc in procs.items():
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            reported[name] = [tuple(r) for r in json.loads(out.decode().strip().splitlines()[-1])]
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    stored = await rows(postgres_url, "SELECT id, message_id, slot FROM images WHERE guild_id = 1")
    table = {(r["id"], r["message_id"], r["slot"]) for r in stored}
    everything = {(m, s) for m in range(1600) for s in (0, 1)}
    assert len(stored) == len(everything)  # no duplicates...
    assert {(m, s) for _, m, s in table} == everything  # ... and no loss
    a, b = set(reported["a"]), set(reported["b"])
    assert not a & b  # every row reported inserted by exactly one process
    assert a | b == table  # and each report is true
    assert len(reported["a"]) == len(a) and len(reported["b"]) == len(b)
    # Both really wrote shared messages (the processes did overlap).
    assert {m for _, m, _ in a} & set(shared) and {m for _, m, _ in b} & set(shared)
    version = (await rows(postgres_url, "SELECT version FROM schema_version"))[0][0]
    assert version == SCHEMA_VERSION


async def test_a_burst_of_inserts_survives_a_server_restart(
    postgres_server: PostgresServer,
    postgres_url: str,
) -> None:
    """500 single-row inserts; the server restarts (pg_ctl restart -m fast) mid-burst.

    Calls that fail during the outage raise StoreError promptly and the loop retries them,
    as the bot would; every acknowledged row is in the database, and the burst goes on
    after the restart.
    """
    total = 500
    acknowledged: dict[int, ImageRecord] = {}
    failures: list[StoreError] = []
    reached_100 = asyncio.Event()
    restarted = asyncio.Event()
    after_restart = 0
    slowest = 0.0

    async def burst(store: PostgresStore) -> None:
        nonlocal after_restart, slowest
        for message in range(total):
            if message == 100:
                reached_100.set()
            if message == 400:
                await restarted.wait()  # keep the last 100 for after the restart
            while True:
                began = time.perf_counter()
                try:
                    stored = await asyncio.wait_for(store.add_images([image(message)]), 15)
                except StoreError as exc:
                    failures.append(exc)
                    await asyncio.sleep(0.02)
                    continue
                finally:
                    slowest = max(slowest, time.perf_counter() - began)
                break
            # [] only if a call that raised had committed after all: the row is there.
            for record in stored:
                acknowledged[message] = record
            if restarted.is_set():
                after_restart += 1
            elif message >= 100:
                await asyncio.sleep(0.003)  # spread the rest over the restart

    async with PostgresStore(postgres_url, retry_delay=0.1) as store:
        task = asyncio.create_task(burst(store))
        await reached_100.wait()
        await asyncio.to_thread(postgres_server.restart)
        restarted.set()
        await asyncio.wait_for(task, 60)
        assert await store.count_images(1) == total

    stored = await rows(postgres_url, "SELECT id, message_id, slot FROM images WHERE guild_id = 1")
    by_message = {r["message_id"]: r for r in stored}
    assert len(stored) == total and set(by_message) == set(range(total))
    for message, record in acknowledged.items():
        assert by_message[message]["id"] == record.id
    assert len(acknowledged) >= total - len(failures)
    assert after_restart >= 100
    assert all(isinstance(f, StoreUnavailable) for f in failures)
    assert slowest < 15
    print(f"restart: {len(failures)} failed calls retried, slowest call {slowest:.2f} s")


async def test_an_outage_fails_fast_and_the_pool_recovers_after_it(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    async with PostgresStore(postgres_url, retry_delay=0.05) as store:
        await store.add_images([image(1)])
        await asyncio.to_thread(postgres_server.halt)
        try:
            calls: list[Awaitable[object]] = [
                store.add_images([image(2)]),
                store.count_images(1),
                store.load_hashes(1),
                store.record_alert(AlertRecord(1, 10, 2, 100, 1, None, None, 5_000)),
            ]
            for call in calls:
                started = time.perf_counter()
                with pytest.raises(StoreUnavailable):
                    await asyncio.wait_for(call, 10)
                assert time.perf_counter() - started < 2
        finally:
            await asyncio.to_thread(postgres_server.resume)
        assert [r.message_id for r in await store.add_images([image(1), image(2)])] == [2]
        assert await store.count_images(1) == 2
        assert await store.integrity_check()


class LoseCommitAnswers:
    """Replaces a store's commit: the server commits (or not), but the answer is lost."""

    def __init__(self, store: PostgresStore, times: int = 1, *, commit: bool = True) -> None:
        self.times = times
        self.commit = commit
        self.real: Callable[[Any], Awaitable[None]] = store._commit

    async def __call__(self, transaction: Any) -> None:
        if self.times <= 0:
            await self.real(transaction)
            return
        self.times -= 1
        if self.commit:
            await self.real(transaction)
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "rolled-back"])
async def test_writes_report_exactly_what_they_did_when_a_commit_answer_is_lost(
    postgres_url: str, committed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url, retry_delay=0) as store:
        (earlier,) = await store.add_images([image(1)])

        def lose() -> None:
            monkeypatch.setattr(store, "_commit", LoseCommitAnswers(store, commit=committed))

        lose()
        stored = await store.add_images([image(1), image(2), image(2, 1)])
        assert [(r.message_id, r.slot) for r in stored] == [(2, 0), (2, 1)]
        assert await store.count_images(1) == 3
        assert await store.add_images([image(2)]) == []
        lose()
        assert sorted(await store.delete_messages(1, [2])) == sorted(r.id for r in stored)
        await store.add_images([image(n) for n in range(10, 15)])
        lose()
        assert await store.delete_guild(1) == 6
        assert await store.get_images([earlier.id]) == []
        lose()
        allowed = await store.allow_image(1, 99, b"\x01" * 32, 5)
        assert await store.allowed_images(1) == [allowed]
        lose()
        assert await store.disallow_image(1, allowed.id)
        assert await store.allowed_images(1) == []
        lose()
        await store.record_alert(AlertRecord(1, 10, 7, 100, 1, None, None, 5_000))
        assert len(await store.alerts_for_message(7)) == 1
        lose()
        await store.add_not_repost(1, 5, b"\x02" * 32, 100)
        assert await store.not_reposts(1) == [(5, b"\x02" * 32)]


async def test_a_write_whose_retry_fails_too_raises_store_unavailable(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_url, retry_delay=0) as store:
        monkeypatch.setattr(store, "_commit", LoseCommitAnswers(store, times=2))
        with pytest.raises(StoreUnavailable, match="add_images"):
            await store.add_images([image(1)])
        # It did commit: the caller's retry finds the row stored (a replay, no alert).
        assert await store.add_images([image(1)]) == []
        assert await store.count_images(1) == 1


async def test_stores_starting_together_migrate_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    await asyncio.gather(*(s.__aenter__() for s in stores))
    try:
        assert {await s.schema_version() for s in stores} == {SCHEMA_VERSION}
        assert all([await s.integrity_check() for s in stores])
    finally:
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in stores))
    assert len(await rows(postgres_url, "SELECT version FROM schema_version")) == 1


async def test_an_unreachable_server_is_a_store_error_not_a_hang() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port nobody listens on
        port = sock.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(StoreError, match="cannot connect") as caught:
            async with open_store(f"postgresql://seenit:secret@127.0.0.1:{port}/x"):
                pass
    assert "secret" not in str(caught.value)
    assert time.perf_counter() - started < 10


async def test_load_hashes_of_an_empty_and_a_negative_hash_guild(postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        ids, hashes = await store.load_hashes(1)
        assert ids.dtype == np.int64 and hashes.dtype == np.int64 and len(ids) == 0
        stored = await store.add_images([image(m, h64=(1 << 64) - 1 - m) for m in range(3)])
        ids, hashes = await store.load_hashes(1)
        assert ids.tolist() == [r.id for r in stored]
        assert [to_unsigned(h) for h in hashes.tolist()] == [r.phash64 for r in stored]


def test_binary_copy_parsing_rejects_garbage() -> None:
    with pytest.raises(StoreError):
        parse_binary_copy(b"not a copy")
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    ids, hashes = parse_binary_copy(header + b"\xff\xff")
    assert len(ids) == len(hashes) == 0
    row = (2).to_bytes(2, "big") + (8).to_bytes(4, "big") + (5).to_bytes(8, "big", signed=True)
    row += (8).to_bytes(4, "big") + (-3).to_bytes(8, "big", signed=True)
    ids, hashes = parse_binary_copy(header + row + b"\xff\xff")
    assert ids.tolist() == [5] and hashes.tolist() == [-3]
    with pytest.raises(StoreError):
        parse_binary_copy(header + row[:-1] + b"\xff\xff")


def test_passwords_stay_out_of_logs() -> None:
    assert redacted("postgresql://seenit:hunter2@db:5432/seenit") == (
        "postgresql://seenit:***@db:5432/seenit"
    )
    assert redacted("postgresql://seenit@db/seenit") == "postgresql://seenit@db/seenit"
