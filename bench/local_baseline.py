"""The local index as first shipped, kept as the baseline of ``bench.local_search``.

Every query word's postings are read, every stored image is scored and the best are picked
among all of them (``np.argpartition`` over the whole score array); the delta is merged
synchronously. Only ``load`` and ``query`` are used by the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from bot.local.features import LocalFeatures
from bot.local.vocabulary import vocabulary

#: Words held by more than this many times the average number of images per word are
#: not looked up (they are in too many pictures to tell them apart).
STOP_FACTOR = 8
#: Never treat a word as a stop word while it has fewer postings than this.
STOP_MIN = 64
#: The delta is merged once it holds more than 1/DELTA_SHARE of the main segment's images.
DELTA_SHARE = 32
DELTA_MIN = 2048
#: Rebuild without the removed images once they are this share of the slots.
DEAD_SHARE = 0.25
#: A region of the query is searched on its own when it holds at least this many keypoints.
REGION_MIN_KEYPOINTS = 8

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]


class BaselineLocalIndex:
    """Visual-word retrieval over one guild's stored images (first version)."""

    def __init__(self, vocabulary_size: int | None = None) -> None:
        self._size = vocabulary_size if vocabulary_size is not None else vocabulary().size
        self._slot_of: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._count = 0  # slots used, dead ones included
        self._dead = 0
        self._df = np.zeros(self._size, dtype=np.int32)
        self._total = 0  # postings, dead ones included
        # Main segment (CSR by word) covering slots [0, _main_slots).
        self._offsets = np.zeros(self._size + 1, dtype=np.int64)
        self._postings = np.zeros(0, dtype=np.int32)
        self._main_slots = 0
        # Delta: (words, slots) blocks of the slots from _main_slots on.
        self._delta: list[tuple[U16, I32]] = []
        self._delta_flat: tuple[U16, I32] | None = None

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._slot_of

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the id dictionary aside)."""
        delta = sum(w.nbytes + s.nbytes for w, s in self._delta)
        arrays = (self._ids, self._alive, self._df, self._offsets, self._postings)
        return delta + sum(a.nbytes for a in arrays)

    def load(self, items: Iterable[tuple[int, bytes]]) -> None:
        """Add many images at once (a guild's stored words), building the main segment once."""
        ids: list[int] = []
        blobs: list[bytes] = []
        for image_id, words in items:
            if image_id in self._slot_of:
                self.remove(image_id)
            ids.append(image_id)
            blobs.append(words)
        if len(set(ids)) != len(ids):  # the last word list of an id wins, as with add()
            last = {image_id: i for i, image_id in enumerate(ids)}
            keep = sorted(last.values())
            ids, blobs = [ids[i] for i in keep], [blobs[i] for i in keep]
        self._append(ids, blobs)
        self._rebuild()

    def add(self, image_id: int, words: bytes) -> None:
        """Index an image's word list (``LocalFeatures.words``); re-adding replaces it."""
        if image_id in self._slot_of:
            self.remove(image_id)
        self._append([image_id], [words])
        if self._count - self._main_slots > max(DELTA_MIN, self._main_slots // DELTA_SHARE):
            self._rebuild()

    def remove(self, image_id: int) -> bool:
        """Forget an image; False if it was not indexed."""
        slot = self._slot_of.pop(image_id, None)
        if slot is None:
            return False
        self._alive[slot] = False
        self._dead += 1
        return True

    def _append(self, ids: list[int], blobs: list[bytes]) -> None:
        if not ids:
            return
        lengths = np.fromiter((len(b) // 2 for b in blobs), np.int64, len(blobs))
        words = np.frombuffer(b"".join(b[: len(b) // 2 * 2] for b in blobs), "<u2")
        first, end = self._count, self._count + len(ids)
        slots = np.repeat(np.arange(first, end, dtype=np.int32), lengths)
        valid = words < self._size
        words, slots = words[valid].astype(np.uint16), slots[valid]
        if end > len(self._ids):
            capacity = max(1024, end, 2 * len(self._ids))
            self._ids = np.resize(self._ids, capacity)
            self._alive = np.resize(self._alive, capacity)
        self._ids[first:end] = ids
        self._alive[first:end] = True
        self._count = end
        self._slot_of.update(zip(ids, range(first, end), strict=True))
        self._df += np.bincount(words, minlength=self._size).astype(np.int32)
        self._total += len(words)
        self._delta.append((words, slots))
        self._delta_flat = None

    def _delta_arrays(self) -> tuple[U16, I32]:
        if self._delta_flat is None:
            if self._delta:
                words = np.concatenate([w for w, _ in self._delta])
                slots = np.concatenate([s for _, s in self._delta])
            else:
                words = np.zeros(0, dtype=np.uint16)
                slots = np.zeros(0, dtype=np.int32)
            self._delta = [(words, slots)] if len(words) else []
            self._delta_flat = (words, slots)
        return self._delta_flat

    def _rebuild(self) -> None:
        """Merge the delta into the main segment (dropping removed images when many are)."""
        delta_words, delta_slots = self._delta_arrays()
        if self._dead > DEAD_SHARE * max(self._count, DELTA_MIN):
            self._compact(delta_words, delta_slots)
            return
        order = np.argsort(delta_words, kind="stable")
        words_sorted = delta_words[order]
        if not len(self._postings):  # a first load: no need to insert (same result, faster)
            self._postings = delta_slots[order]
            self._offsets[1:] = np.cumsum(np.bincount(delta_words, minlength=self._size))
            self._main_slots = self._count
            self._delta = []
            self._delta_flat = None
            return
        # Inserting at the end of each word's run keeps every run sorted by slot.
        at = self._offsets[words_sorted.astype(np.int64) + 1]
        self._postings = np.insert(self._postings, at, delta_slots[order])
        counts = np.bincount(delta_words, minlength=self._size)
        self._offsets[1:] += np.cumsum(counts)
        self._main_slots = self._count
        self._delta = []
        self._delta_flat = None

    def _compact(self, delta_words: U16, delta_slots: I32) -> None:
        lengths = np.diff(self._offsets)
        main_words = np.repeat(np.arange(self._size, dtype=np.uint16), lengths)
        words = np.concatenate([main_words, delta_words])
        slots = np.concatenate([self._postings, delta_slots])
        live = self._alive[slots]
        words, slots = words[live], slots[live]
        live_slots = np.flatnonzero(self._alive[: self._count])
        renumber = np.full(self._count, -1, dtype=np.int32)
        renumber[live_slots] = np.arange(len(live_slots), dtype=np.int32)
        slots = renumber[slots]
        order = np.argsort(words, kind="stable")
        self._postings = slots[order]
        self._offsets = np.zeros(self._size + 1, dtype=np.int64)
        self._offsets[1:] = np.cumsum(np.bincount(words, minlength=self._size))
        self._df = np.diff(self._offsets).astype(np.int32)
        self._total = len(self._postings)
        self._ids = self._ids[live_slots].copy()
        self._alive = np.ones(len(live_slots), dtype=np.bool_)
        self._count = self._main_slots = len(live_slots)
        self._slot_of = {int(i): s for s, i in enumerate(self._ids.tolist())}
        self._dead = 0
        self._delta = []
        self._delta_flat = None

    def query(self, local: LocalFeatures, top: int = 20) -> list[int]:
        """Ids of the stored images sharing the most informative words with ``local``.

        The whole query and each of its regions rank the images separately; the result
        takes the best of each ranking in turn, best first, at most ``top`` ids.
        """
        if not self._slot_of or len(local) == 0:
            return []
        if self._dead > DEAD_SHARE * max(self._count, DELTA_MIN):
            self._rebuild()
        words = np.unique(local.word_ids).astype(np.int64)
        words = words[words < self._size]
        df = self._df[words]
        stop = max(STOP_MIN, STOP_FACTOR * self._total / self._size)
        keep = (df > 0) & (df <= stop)
        words, df = words[keep], df[keep]
        if len(words) == 0:
            return []
        idf = np.log1p(len(self._slot_of) / df).astype(np.float32)
        slots, which = self._postings_of(words)
        rankings = [self._best(slots, idf[which], top)]
        for _, box in local.regions:
            inside = local.region_mask(box)
            if inside.sum() < REGION_MIN_KEYPOINTS:
                continue
            chosen = np.isin(words, local.word_ids[inside])
            picked = chosen[which]
            rankings.append(self._best(slots[picked], idf[which[picked]], top))
        return _interleave(rankings, top)

    def _postings_of(self, words: I64) -> tuple[I32, I64]:
        """Slots holding each of the (sorted) ``words``, and which word brought each slot."""
        starts = self._offsets[words]
        ends = self._offsets[words + 1]
        lengths = ends - starts
        main = np.concatenate(
            [self._postings[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        )
        which = np.repeat(np.arange(len(words)), lengths)
        delta_words, delta_slots = self._delta_arrays()
        if len(delta_words):
            at = np.minimum(np.searchsorted(words, delta_words), len(words) - 1)
            hit = words[at] == delta_words
            main = np.concatenate([main, delta_slots[hit]])
            which = np.concatenate([which, at[hit]])
        return main, which

    def _best(self, slots: I32, weights: F32, top: int) -> list[int]:
        if len(slots) == 0:
            return []
        scores = np.bincount(slots, weights=weights, minlength=self._count)
        scores[~self._alive[: self._count]] = 0.0
        if top < len(scores):
            picked = np.argpartition(-scores, top)[:top]
        else:
            picked = np.arange(len(scores))
        picked = picked[scores[picked] > 0]
        picked = picked[np.argsort(-scores[picked], kind="stable")]
        return [int(i) for i in self._ids[picked]]


def _interleave(rankings: list[list[int]], top: int) -> list[int]:
    seen: dict[int, None] = {}
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking):
                seen.setdefault(ranking[rank], None)
    return list(seen)[:top]
