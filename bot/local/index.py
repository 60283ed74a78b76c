"""Per-guild in-memory retrieval of local features: an inverted file over visual words.

Each stored image contributes its :attr:`~bot.local.features.LocalFeatures.words` (at most
:data:`~bot.local.features.INDEX_WORDS` distinct words, 2 bytes each). A query scores every
stored image by the summed inverse document frequency of the words they share, once for the
whole query and once for each of its regions (caption removed, inner picture), so that a
caption shared by many stored memes cannot drown the picture's own words.

Layout, like :mod:`bot.index`: a *main* segment in compressed-sparse-row form (per word, the
slots of the images holding it, 4 bytes per posting) and a small *delta* of recent inserts
scanned flat; the delta is merged into the main segment when it grows past 1/32 of it.
Removed images are tombstoned and dropped at the next rebuild. Words shared by more than
:data:`STOP_SHARE` of the images carry no information and are skipped at query time, which
also bounds the work per query.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from bot.local.features import LocalFeatures
from bot.local.vocabulary import vocabulary

#: Words held by more than this share of the stored images are not looked up.
STOP_SHARE = 0.02
#: Never treat a word as a stop word while it has fewer postings than this.
STOP_MIN = 64
#: The delta is merged once it holds more than 1/DELTA_SHARE of the main segment's images.
DELTA_SHARE = 32
DELTA_MIN = 2048
#: Rebuild once this share of the slots are removed images.
DEAD_SHARE = 0.25

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]
F64 = npt.NDArray[np.float64]


def _parse(words: bytes) -> U16:
    return np.frombuffer(words, "<u2").astype(np.uint16)


class LocalIndex:
    """Visual-word retrieval over one guild's stored images."""

    def __init__(self, vocabulary_size: int | None = None) -> None:
        self._size = vocabulary_size if vocabulary_size is not None else vocabulary().size
        self._slot_of: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._count = 0  # slots used
        self._dead = 0
        self._df = np.zeros(self._size, dtype=np.int32)
        # Main segment (CSR by word) covering slots [0, _main_slots).
        self._offsets = np.zeros(self._size + 1, dtype=np.int64)
        self._postings = np.zeros(0, dtype=np.int32)
        self._main_slots = 0
        # Delta: one words array per slot from _main_slots on.
        self._delta: list[U16] = []
        self._delta_flat: tuple[U16, I32] | None = None

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._slot_of

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the id dictionary aside)."""
        delta = sum(w.nbytes for w in self._delta)
        arrays = (self._ids, self._alive, self._df, self._offsets, self._postings)
        return delta + sum(a.nbytes for a in arrays)

    def load(self, items: Iterable[tuple[int, bytes]]) -> None:
        """Add many images at once (a guild's stored words), building the main segment once."""
        for image_id, words in items:
            self._append(image_id, _parse(words))
        self._rebuild()

    def add(self, image_id: int, words: bytes) -> None:
        """Index an image's word list (``LocalFeatures.words``); re-adding replaces it."""
        self._append(image_id, _parse(words))
        if len(self._delta) > max(DELTA_MIN, self._main_slots // DELTA_SHARE):
            self._rebuild()

    def remove(self, image_id: int) -> bool:
        """Forget an image; False if it was not indexed."""
        slot = self._slot_of.pop(image_id, None)
        if slot is None:
            return False
        self._alive[slot] = False
        self._dead += 1
        if self._dead > DEAD_SHARE * max(self._count, DELTA_MIN):
            self._rebuild()
        return True

    def _append(self, image_id: int, words: U16) -> None:
        if image_id in self._slot_of:
            self.remove(image_id)
        words = np.unique(words[words < self._size])
        slot = self._count
        if slot >= len(self._ids):
            capacity = max(1024, 2 * len(self._ids))
            self._ids = np.resize(self._ids, capacity)
            self._alive = np.resize(self._alive, capacity)
        self._ids[slot] = image_id
        self._alive[slot] = True
        self._count += 1
        self._slot_of[image_id] = slot
        self._delta.append(words)
        self._delta_flat = None
        np.add.at(self._df, words.astype(np.int64), 1)

    def _delta_arrays(self) -> tuple[U16, I32]:
        if self._delta_flat is None:
            if self._delta:
                words = np.concatenate(self._delta).astype(np.uint16)
                lengths = np.fromiter((len(w) for w in self._delta), np.int64, len(self._delta))
                slots = np.repeat(
                    np.arange(
                        self._main_slots, self._main_slots + len(self._delta), dtype=np.int32
                    ),
                    lengths,
                )
            else:
                words = np.zeros(0, dtype=np.uint16)
                slots = np.zeros(0, dtype=np.int32)
            self._delta_flat = (words, slots)
        return self._delta_flat

    def _rebuild(self) -> None:
        """Merge the delta into the main segment, dropping removed images when many are."""
        delta_words, delta_slots = self._delta_arrays()
        if self._dead > DEAD_SHARE * max(self._count, DELTA_MIN):
            self._compact(delta_words, delta_slots)
            return
        order = np.argsort(delta_words, kind="stable")
        words_sorted = delta_words[order]
        # Inserting at the end of each word's run keeps every run sorted by slot.
        at = self._offsets[words_sorted.astype(np.int64) + 1]
        self._postings = np.insert(self._postings, at, delta_slots[order])
        counts = np.bincount(delta_words, minlength=self._size)
        self._offsets[1:] += np.cumsum(counts)
        self._main_slots = self._count
        self._delta = []
        self._delta_flat = None

    def _compact(self, delta_words: U16, delta_slots: I32) -> None:
        main_words = np.repeat(
            np.arange(self._size, dtype=np.uint16), np.diff(self._offsets).astype(np.int64)
        )
        words = np.concatenate([main_words, delta_words])
        slots = np.concatenate([self._postings, delta_slots])
        live = self._alive[slots]
        words, slots = words[live], slots[live]
        # Renumber the live slots densely, in their old order.
        live_slots = np.flatnonzero(self._alive[: self._count])
        renumber = np.full(self._count, -1, dtype=np.int32)
        renumber[live_slots] = np.arange(len(live_slots), dtype=np.int32)
        slots = renumber[slots]
        order = np.argsort(words, kind="stable")
        self._postings = slots[order]
        self._offsets = np.zeros(self._size + 1, dtype=np.int64)
        self._offsets[1:] = np.cumsum(np.bincount(words, minlength=self._size))
        self._df = np.diff(self._offsets).astype(np.int32)
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
        word_sets = [np.unique(local.word_ids)]
        for _, box in local.regions:
            inside = local.word_ids[local.region_mask(box)]
            if len(inside) >= 8:
                word_sets.append(np.unique(inside))
        words = word_sets[0][word_sets[0] < self._size].astype(np.int64)
        df = self._df[words]
        stop = max(STOP_MIN, STOP_SHARE * len(self._slot_of))
        keep = (df > 0) & (df <= stop)
        words, df = words[keep], df[keep]
        if len(words) == 0:
            return []
        idf = np.log(1.0 + len(self._slot_of) / df)
        slots, which = self._postings_of(words)
        rankings = []
        for chosen in word_sets:
            weights = np.where(np.isin(words, chosen), idf, 0.0)
            scores = np.bincount(slots, weights=weights[which], minlength=self._count).astype(
                np.float64
            )
            rankings.append(self._best(scores, top))
        return _interleave(rankings, top)

    def _postings_of(self, words: I64) -> tuple[I64, I64]:
        """Slots holding each of the (sorted) ``words``, and which word brought each slot."""
        starts = self._offsets[words]
        lengths = self._offsets[words + 1] - starts
        total = int(lengths.sum())
        which = np.repeat(np.arange(len(words)), lengths)
        # Positions of every posting: starts[word] + rank within the word's run.
        run_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions = np.repeat(starts, lengths) + (np.arange(total) - run_start)
        main_slots = self._postings[positions].astype(np.int64)
        delta_words, delta_slots = self._delta_arrays()
        if len(delta_words):
            at = np.searchsorted(words, delta_words.astype(np.int64))
            at_clipped = np.minimum(at, len(words) - 1)
            hit = words[at_clipped] == delta_words
            main_slots = np.concatenate([main_slots, delta_slots[hit].astype(np.int64)])
            which = np.concatenate([which, at_clipped[hit]])
        return main_slots, which

    def _best(self, scores: F64, top: int) -> list[int]:
        scores = scores[: self._count] * self._alive[: self._count]
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
