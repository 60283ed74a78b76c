"""The Hamming index against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import index as index_module
from bot.index import DELTA_MIN, HammingIndex, Hit, to_signed, to_unsigned

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


def brute_force(entries: dict[int, int], queries: list[int], radius: int) -> dict[int, int]:
    best: dict[int, int] = {}
    for image_id, h in entries.items():
        d = min((h ^ q).bit_count() for q in queries)
        if d <= radius:
            best[image_id] = d
    return best


def as_dict(hits: list[Hit]) -> dict[int, int]:
    return {h.image_id: h.distance for h in hits}


def near(h: int, rng: np.random.Generator, flips: int) -> int:
    for bit in rng.choice(64, size=flips, replace=False):
        h ^= 1 << int(bit)
    return h


@settings(max_examples=60, deadline=None)
@given(
    hashes=st.lists(U64, min_size=0, max_size=60),
    queries=st.lists(U64, min_size=1, max_size=8),
    radius=st.integers(min_value=0, max_value=24),
)
def test_small_index_matches_brute_force(
    hashes: list[int], queries: list[int], radius: int
) -> None:
    entries = dict(enumerate(hashes))
    index = HammingIndex(entries.keys(), entries.values())
    assert as_dict(index.search(queries, radius)) == brute_force(entries, queries, radius)


@pytest.mark.parametrize("layout", ["four 16-bit chunks", "three wide chunks"])
def test_multi_index_tables_match_brute_force_on_clustered_data(monkeypatch, layout) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(index_module, "MIH_MIN_ENTRIES", 100)
    if layout == "three wide chunks":
        monkeypatch.setattr(index_module, "LARGE_MIN_ENTRIES", 100)
    rng = np.random.default_rng(7)
    base = [int(x) for x in rng.integers(0, 1 << 63, 3000, dtype=np.int64)]
    # 30% of entries are near-duplicates of a few originals, as in a real guild.
    clustered = [near(base[i % 20], rng, int(rng.integers(0, 6))) for i in range(1300)]
    entries = dict(enumerate(base + clustered))
    index = HammingIndex(entries.keys(), entries.values())
    assert index._tables is not None
    assert len(index._tables.layout) == (3 if layout == "three wide chunks" else 4)
    for trial in range(30):
        q0 = near(entries[int(rng.integers(0, len(entries)))], rng, trial % 9)
        queries = [q0, *(int(x) for x in rng.integers(0, 1 << 63, 7, dtype=np.int64))]
        for radius in (4, 10, 11, 15):
            assert as_dict(index.search(queries, radius)) == brute_force(entries, queries, radius)


def test_results_are_nearest_first_and_limited() -> None:
    entries = {1: 0b0, 2: 0b111, 3: 0b1, 4: 0b11}
    index = HammingIndex(entries.keys(), entries.values())
    hits = index.search([0], radius=3)
    assert [h.image_id for h in hits] == [1, 3, 4, 2]
    assert [h.image_id for h in index.search([0], radius=3, limit=2)] == [1, 3]


def test_the_matching_query_position_is_reported() -> None:
    index = HammingIndex([5], [0xFFFF])
    (hit,) = index.search([0, 0xFFFF, 1], radius=2)
    assert hit == Hit(image_id=5, distance=0, query=1)


def test_added_entries_are_searchable_at_once_and_deletion_is_real(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(index_module, "MIH_MIN_ENTRIES", 50)
    rng = np.random.default_rng(3)
    hashes = [int(x) for x in rng.integers(0, 1 << 63, 200, dtype=np.int64)]
    index = HammingIndex(range(200), hashes)
    index.add(1000, hashes[10] ^ 1)
    assert {h.image_id for h in index.search([hashes[10]], 2)} == {10, 1000}
    assert index.remove([10, 1000, 999_999]) == 2
    assert index.search([hashes[10]], 2) == []
    assert 10 not in index and 1000 not in index and 11 in index
    # Many additions trigger a merge into the main segment; nothing is lost or revived.
    for i in range(5000):
        index.add(2000 + i, hashes[i % 200] ^ (1 << 40))
    assert 10 not in index
    assert len(index) == 199 + 5000
    assert {h.image_id for h in index.search([hashes[11]], 1)} == {
        11,
        *(2000 + i for i in range(11, 5000, 200)),
    }


def test_signed_storage_round_trip() -> None:
    for value in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        assert to_unsigned(to_signed(value)) == value
        assert -(1 << 63) <= to_signed(value) < (1 << 63)


def test_memory_per_image_is_under_64_bytes() -> None:
    n = 100_000
    rng = np.random.default_rng(1)
    index = HammingIndex.from_arrays(
        np.arange(n, dtype=np.int64), rng.integers(0, 1 << 63, n, dtype=np.int64)
    )
    assert index.nbytes() / n < 64


def test_a_deferred_merge_keeps_the_index_usable_and_loses_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(index_module, "MIH_MIN_ENTRIES", 50)
    rng = np.random.default_rng(11)
    hashes = [int(x) for x in rng.integers(0, 1 << 63, 6000, dtype=np.int64)]
    index = HammingIndex(range(100), hashes[:100])
    index.defer_merges = True
    for i in range(100, 5000):
        index.add(i, hashes[i])
    assert index.merge_due()
    ids, stored, consumed = index.begin_merge()
    assert not index.merge_due()  # one merge at a time
    # While the new segment is built elsewhere: more inserts, and removals of old and new ids.
    for i in range(5000, 6000):
        index.add(i, hashes[i])
    index.remove([3, 4000, 5500])
    index.finish_merge(index_module.build_main(ids, stored), consumed)
    expected = {i: hashes[i] for i in range(6000) if i not in (3, 4000, 5500)}
    assert len(index) == len(expected)
    for probe in (3, 4000, 5500, 7, 4999, 5999):
        found = {h.image_id for h in index.search([hashes[probe]], 0)}
        assert found == ({probe} if probe in expected else set())
    assert index._tables is not None and index._delta_n == 999  # 5500 left the delta


async def test_the_service_merges_off_the_event_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.hashing_pool import Hasher
    from bot.records import NewImage
    from bot.service import SeenService
    from bot.store import SQLiteStore

    async with SQLiteStore(f"sqlite:///{tmp_path / 'm.db'}") as store, Hasher(0) as hasher:
        service = SeenService(store, hasher)
        index = await service.index(1)
        assert index.defer_merges
        rng = np.random.default_rng(5)
        rows = [
            NewImage(1, 10, m, 100, 0, m, int(h), b"\0" * 32, 90)
            for m, h in enumerate(rng.integers(0, 1 << 63, 4200, dtype=np.int64).tolist())
        ]
        for row in await store.add_images(rows):
            index.add(row.id, row.phash64)
            service._merge_if_due(index)
        await service.wait_for_merges()
        assert index._delta_n < DELTA_MIN and len(index) == 4200
