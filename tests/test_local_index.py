"""The local index under adds, removals and merges, deferred or not."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from bot.local import LocalFeatures, LocalIndex
from bot.local import index as index_module
from bot.local.index import MainSegment, MergeJob, build_main

SIZE = 4096
WORDS = 40


def word_list(rng: np.random.Generator) -> bytes:
    return np.sort(rng.choice(SIZE, WORDS, replace=False)).astype("<u2").tobytes()


def query_of(words: bytes) -> LocalFeatures:
    ids = np.frombuffer(words, "<u2").astype(np.uint16)
    n = len(ids)
    return LocalFeatures(
        width=100,
        height=100,
        points=np.zeros((n, 2), dtype=np.float32),
        descriptors=np.zeros((n, 32), dtype=np.uint8),
        word_ids=ids,
        thumbnail=np.zeros((8, 8), dtype=np.uint8),
    )


def check(index: LocalIndex, live: dict[int, bytes], removed: set[int]) -> None:
    """Every live image is found first by its own words; no removed one is ever found."""
    assert len(index) == len(live)
    find(index, live, removed)


def find(index: LocalIndex, some: dict[int, bytes], removed: set[int]) -> None:
    for image_id, words in some.items():
        found = index.query(query_of(words), top=5)
        assert found[0] == image_id
        assert not removed & set(found)


@pytest.mark.parametrize(("deferred", "budget"), [(False, 150_000), (True, 150_000), (True, 60)])
def test_adds_removals_and_merges_keep_every_image_findable(
    monkeypatch: pytest.MonkeyPatch, deferred: bool, budget: int
) -> None:
    monkeypatch.setattr(index_module, "DELTA_MIN", 50)
    # A small budget: the rarest words pick the candidates, the forward lists rank them.
    monkeypatch.setattr(index_module, "POSTINGS_BUDGET", budget)
    rng = np.random.default_rng(7)
    index = LocalIndex(SIZE)
    index.defer_merges = deferred
    live: dict[int, bytes] = {}
    removed: set[int] = set()
    merges = 0
    for step in range(1, 900):
        if live and rng.random() < 0.35:
            gone = int(rng.choice(list(live)))
            assert index.remove(gone)
            del live[gone]
            removed.add(gone)
        else:
            words = word_list(rng)
            index.add(step, words)
            live[step] = words
        if deferred and index.merge_due():
            job = index.begin_merge()
            assert not index.merge_due()
            # What happens while the merge is built in a thread must survive it.
            for extra in range(3):
                words = word_list(rng)
                index.add(10_000 + 10 * step + extra, words)
                live[10_000 + 10 * step + extra] = words
            gone = int(rng.choice(list(live)))
            index.remove(gone)
            del live[gone]
            removed.add(gone)
            index.finish_merge(build_main(job))
            merges += 1
        if step % 150 == 0:
            check(index, live, removed)
    check(index, live, removed)
    assert not index.remove(next(iter(removed)))
    if deferred:
        assert merges >= 3


def test_removed_images_are_dropped_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "DELTA_MIN", 50)
    rng = np.random.default_rng(3)
    index = LocalIndex(SIZE)
    lists = {i: word_list(rng) for i in range(2000)}
    index.load(lists.items())
    full = index.nbytes
    for i in range(1500):
        index.remove(i)
    kept = {i: w for i, w in lists.items() if i >= 1500}
    assert index.nbytes < full / 2
    check(index, kept, set(range(1500)))


def test_an_image_readded_during_a_compaction_keeps_its_new_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "DELTA_MIN", 50)
    monkeypatch.setattr(index_module, "POSTINGS_BUDGET", 60)
    rng = np.random.default_rng(5)
    index = LocalIndex(SIZE)
    index.defer_merges = True
    lists = {i: word_list(rng) for i in range(400)}
    index.load(lists.items())
    for i in range(200):
        index.remove(i)
        del lists[i]
    assert index.merge_due()
    job = index.begin_merge()
    lists[300] = word_list(rng)
    index.add(300, lists[300])
    index.remove(301)
    del lists[301]
    index.finish_merge(build_main(job))
    check(index, lists, set(range(200)) | {301})


def test_a_small_budget_still_finds_the_image_by_its_rarest_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    index = LocalIndex(SIZE)
    lists = {i: word_list(rng) for i in range(3000)}
    index.load(lists.items())
    monkeypatch.setattr(index_module, "POSTINGS_BUDGET", 200)
    find(index, dict(list(lists.items())[:200]), set())


def test_memory_per_image_stays_under_two_kilobytes() -> None:
    rng = np.random.default_rng(1)
    n, per_image = 20_000, 160
    lists = [
        np.sort(rng.choice(65536, per_image, replace=False)).astype("<u2").tobytes()
        for _ in range(n)
    ]
    tracemalloc.start()
    index = LocalIndex(65536)
    index.load(enumerate(lists))
    for i in range(n, n + 500):  # some recent inserts in the delta too
        index.add(i, lists[i - n])
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert index.nbytes / len(index) < 2048
    assert held / len(index) < 2048


async def test_the_service_merges_the_local_index_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.hashing_pool import Hasher
    from bot.service import SeenService
    from bot.store import SQLiteStore

    monkeypatch.setattr(index_module, "DELTA_MIN", 50)
    threads: list[int] = []

    def build_in_thread(job: MergeJob) -> MainSegment:
        threads.append(threading.get_ident())
        return build_main(job)

    monkeypatch.setattr(index_module, "build_main", build_in_thread)
    rng = np.random.default_rng(9)
    async with SQLiteStore(f"sqlite:///{tmp_path / 'm.db'}") as store, Hasher(0) as hasher:
        service = SeenService(store, hasher)
        local = (await service.indexes(1)).local
        assert local.defer_merges
        lists = {i: word_list(rng) for i in range(1, 200)}
        for image_id, words in lists.items():
            local.add(image_id, words)
            service._merge_local_if_due(local)
        await service.wait_for_merges()
        # The adds above never yielded: the rest of the delta goes at the next chance.
        service._merge_local_if_due(local)
        await service.wait_for_merges()
    assert threads and threading.get_ident() not in threads
    assert not local.merge_due()
    find(local, lists, set())


def test_an_image_made_only_of_frequent_words_is_still_found() -> None:
    # Low-texture pictures (a dark wallpaper, a gradient) hold a few common words that
    # thousands of stored images share: a query of the same words must still find it.
    rng = np.random.default_rng(13)
    frequent = rng.choice(SIZE, 100, replace=False)
    rest = np.setdiff1d(np.arange(SIZE), frequent)
    index = LocalIndex(SIZE)
    lists = {}
    for i in range(3000):
        words = np.concatenate(
            [rng.choice(frequent, 20, replace=False), rng.choice(rest, 20, replace=False)]
        )
        lists[i] = np.sort(words).astype("<u2").tobytes()
    plain = np.sort(rng.choice(frequent, 12, replace=False)).astype("<u2").tobytes()
    lists[5000] = plain
    index.load(lists.items())
    # Each word of the plain picture is held by hundreds of images, over ten times the
    # average word.
    words = np.frombuffer(plain, "<u2")
    held = [sum(w in np.frombuffer(v, "<u2") for v in lists.values()) for w in words[:3]]
    assert min(held) > 10 * 3000 * 40 / SIZE
    assert index.query(query_of(plain), top=5)[0] == 5000
