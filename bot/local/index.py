"""Per-guild in-memory retrieval of local features: an inverted file over visual words.

Each stored image contributes its :attr:`~bot.local.features.LocalFeatures.words` (at most
:data:`~bot.local.features.INDEX_WORDS` distinct words, 2 bytes each). A query scores the
stored images by the summed inverse document frequency of the words they share, once for the
whole query and once for each of its regions (caption removed, inner picture), so that a
caption shared by many stored memes cannot drown the picture's own words.

Layout, like :mod:`bot.index`: a *main* segment in compressed-sparse-row form (per word, the
slots of the images holding it, 4 bytes per posting) and a *delta* of recent inserts kept as
flat (word, slot) pairs; the delta is merged into the main segment when it grows past
1/:data:`DELTA_SHARE` of it, and removed images (tombstoned) are dropped at a merge once
they are many. With ``defer_merges`` the owner runs merges in a worker thread
(``merge_due``, ``begin_merge``, :func:`build_main` in the thread, ``finish_merge``).

What keeps a query cheap at a million images:

* each ranking reads the postings of the query's *rarest* words first and stops after
  :data:`POSTINGS_BUDGET` postings: the frequent words it leaves out weigh little in the
  score and would cost most of the reading. No word is left out for being frequent alone:
  a low-texture picture (a dark wallpaper, a gradient) may hold only words that thousands
  of stored images share, and a query with few words reads them all within the budget;
* the best images are found by a few sequential passes over the scores (those above a cut
  halved until enough pass), not by a selection over all images;
* the :data:`RERANK` best of that partial ranking are then scored on every query word, from
  a forward list of each image's words (2 bytes a word), so the words left out still decide
  the order among the images that matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.local.features import LocalFeatures
from bot.local.vocabulary import vocabulary

#: Postings read per ranking, rarest words first (every word is read in small indexes). A
#: crop keeping 60% of each side shares some 20 words with its original: at 10^6 images, a
#: budget of 150,000 left the original out of the candidates for 19% of them, 250,000 for 12%.
POSTINGS_BUDGET = 250_000
#: Images of the partial ranking scored again on all the query's words. The words a crop
#: shares with its original are often frequent ones the budget leaves out, so the original
#: may rank low on the rarest words alone: among 10^6 stored images, 200 kept the original
#: of 96.0% of the edits the local stage verifies, 400 of 96.8% for a tenth more CPU time
#: per query, 600 of 97.1% for a sixth more.
RERANK = 400
#: The delta is merged once it holds more than 1/DELTA_SHARE of the main segment's images
#: (and more than DELTA_MIN): every query scans it flat.
DELTA_SHARE = 64
DELTA_MIN = 2048
#: Merges drop the removed images once they are this share of the slots.
DEAD_SHARE = 0.25
#: A region of the query is searched on its own when it holds at least this many keypoints.
REGION_MIN_KEYPOINTS = 8

BOOL = npt.NDArray[np.bool_]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class MergeJob:
    """What a merge builds from: copies, or arrays the index never changes in place."""

    size: int
    offsets: I64
    postings: I32
    delta_words: U16
    delta_slots: I32
    #: Slots [0, slots) make the new main segment.
    slots: int
    #: When removed images are dropped: which of those slots were alive, and their ids.
    alive: BOOL | None
    ids: I64 | None
    #: Forward lists of the slots [0, slots): words in slot order, and where each slot starts.
    forward_words: U16
    forward_starts: I64


@dataclass(frozen=True, slots=True, eq=False)
class MainSegment:
    """A built main segment; after a compaction, ``live`` are the old slots kept, in order
    (a kept slot's new number is its position), and ``slot_of`` their ids' new slots."""

    offsets: I64
    postings: I32
    live: I64 | None
    slot_of: dict[int, int] | None
    #: After a compaction: the kept slots' forward lists (words, starts with the end last).
    forward_words: U16 | None = None
    forward_starts: I64 | None = None


def build_main(job: MergeJob) -> MainSegment:
    """Merge a job's delta into its main segment: pure, so it may run in a worker thread."""
    offsets, postings = job.offsets, job.postings
    delta_words, delta_slots = job.delta_words, job.delta_slots
    live: I64 | None = None
    slot_of: dict[int, int] | None = None
    forward_words: U16 | None = None
    forward_starts: I64 | None = None
    if job.alive is not None and job.ids is not None:
        live = np.flatnonzero(job.alive).astype(np.int64)
        renumber = np.full(job.slots, -1, dtype=np.int32)
        renumber[live] = np.arange(len(live), dtype=np.int32)
        keep = job.alive[postings]
        kept = np.zeros(len(postings) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        offsets = kept[offsets]
        postings = renumber[postings[keep]]
        in_delta = job.alive[delta_slots]
        delta_words, delta_slots = delta_words[in_delta], renumber[delta_slots[in_delta]]
        slot_of = dict(zip(job.ids[live].tolist(), range(len(live)), strict=True))
        lengths = np.diff(job.forward_starts)
        forward_words = job.forward_words[np.repeat(job.alive, lengths)]
        forward_starts = np.zeros(len(live) + 1, dtype=np.int64)
        np.cumsum(lengths[live], out=forward_starts[1:])
    # Within a word, delta slots come after every main slot: appending each word's delta
    # run at the end of its main run keeps the runs sorted by slot.
    order = np.argsort(delta_words, kind="stable")
    if len(postings):
        at = offsets[delta_words[order].astype(np.int64) + 1]
        postings = np.insert(postings, at, delta_slots[order])
    else:
        postings = delta_slots[order]
    del order
    new_offsets = offsets.copy()
    new_offsets[1:] += np.cumsum(np.bincount(delta_words, minlength=job.size))
    return MainSegment(
        new_offsets,
        postings.astype(np.int32, copy=False),
        live,
        slot_of,
        forward_words,
        forward_starts,
    )


class LocalIndex:
    """Visual-word retrieval over one guild's stored images."""

    def __init__(self, vocabulary_size: int | None = None) -> None:
        self._size = vocabulary_size if vocabulary_size is not None else vocabulary().size
        self._slot_of: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._count = 0  # slots used, dead ones included
        self._dead = 0
        self._df = np.zeros(self._size, dtype=np.int32)
        self._total = 0  # postings, dead ones included
        # Main segment (CSR by word) covering slots [0, _main_slots); never changed in place,
        # so that a merge may read it from another thread.
        self._offsets = np.zeros(self._size + 1, dtype=np.int64)
        self._postings = np.zeros(0, dtype=np.int32)
        self._main_slots = 0
        # Delta: (word, slot) pairs of the slots from _main_slots on, in arrays grown by doubling.
        self._delta_words = np.zeros(1024, dtype=np.uint16)
        self._delta_slots = np.zeros(1024, dtype=np.int32)
        self._delta_n = 0
        # Forward lists: each slot's words, in slot order; _forward_starts[slot] is where they
        # begin and _forward_starts[_count] where the next slot's will.
        self._forward_words = np.zeros(1024, dtype=np.uint16)
        self._forward_starts = np.zeros(1025, dtype=np.int64)
        self.defer_merges = False
        self._merging: MergeJob | None = None

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._slot_of

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the id dictionary aside)."""
        arrays = (
            self._ids,
            self._alive,
            self._df,
            self._offsets,
            self._postings,
            self._delta_words,
            self._delta_slots,
            self._forward_words,
            self._forward_starts,
        )
        return sum(a.nbytes for a in arrays)

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
        if self._merging is None:
            self._merge()

    def add(self, image_id: int, words: bytes) -> None:
        """Index an image's word list (``LocalFeatures.words``); re-adding replaces it."""
        if image_id in self._slot_of:
            self.remove(image_id)
        self._append([image_id], [words])
        if not self.defer_merges and self.merge_due():
            self._merge()

    def remove(self, image_id: int) -> bool:
        """Forget an image; False if it was not indexed."""
        slot = self._slot_of.pop(image_id, None)
        if slot is None:
            return False
        self._alive[slot] = False
        self._dead += 1
        if not self.defer_merges and self.merge_due():
            self._merge()
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
        # A word counts once per image: word lists are sorted and distinct, but trust no blob.
        if bool(np.any((words[1:] <= words[:-1]) & (slots[1:] == slots[:-1]))):
            keys = np.unique(slots.astype(np.int64) * self._size + words)
            slots = (keys // self._size).astype(np.int32)
            words = (keys % self._size).astype(np.uint16)
        if end > len(self._ids):
            capacity = max(1024, end, 2 * len(self._ids))
            self._ids = np.resize(self._ids, capacity)
            self._alive = np.resize(self._alive, capacity)
            self._forward_starts = np.resize(self._forward_starts, capacity + 1)
        self._ids[first:end] = ids
        self._alive[first:end] = True
        self._count = end
        self._slot_of.update(zip(ids, range(first, end), strict=True))
        if len(words) > 1024:
            self._df += np.bincount(words, minlength=self._size).astype(np.int32)
        else:
            np.add.at(self._df, words, 1)
        self._total += len(words)
        n, need = self._delta_n, self._delta_n + len(words)
        if need > len(self._delta_words):
            capacity = max(need, 2 * len(self._delta_words))
            self._delta_words = np.resize(self._delta_words, capacity)
            self._delta_slots = np.resize(self._delta_slots, capacity)
        self._delta_words[n:need] = words
        self._delta_slots[n:need] = slots
        self._delta_n = need
        # The forward lists grow by the same words (they are in slot order already).
        at = int(self._forward_starts[first])
        if at + len(words) > len(self._forward_words):
            capacity = max(at + len(words), 2 * len(self._forward_words))
            self._forward_words = np.resize(self._forward_words, capacity)
        self._forward_words[at : at + len(words)] = words
        per_slot = np.bincount(slots - first, minlength=end - first)
        self._forward_starts[first + 1 : end + 1] = at + np.cumsum(per_slot)

    # merges

    def _dead_due(self) -> bool:
        return self._dead > DEAD_SHARE * max(self._count, DELTA_MIN)

    def merge_due(self) -> bool:
        """Whether the delta or the removed images have grown enough to merge."""
        delta = self._count - self._main_slots
        return self._merging is None and (
            delta > max(DELTA_MIN, self._main_slots // DELTA_SHARE) or self._dead_due()
        )

    def begin_merge(self, *, copy: bool = True) -> MergeJob:
        """What :func:`build_main` needs to fold the delta in (and drop removed images).

        Without ``copy`` the job holds views of the delta: only for a merge built before the
        index changes again.
        """
        compact = self._dead_due()
        n = self._delta_n
        job = MergeJob(
            size=self._size,
            offsets=self._offsets,
            postings=self._postings,
            delta_words=self._delta_words[:n].copy() if copy else self._delta_words[:n],
            delta_slots=self._delta_slots[:n].copy() if copy else self._delta_slots[:n],
            slots=self._count,
            alive=self._alive[: self._count].copy() if compact else None,
            ids=self._ids[: self._count].copy() if compact else None,
            # Only ever appended to: the part the job covers does not change.
            forward_words=self._forward_words[: int(self._forward_starts[self._count])],
            forward_starts=self._forward_starts[: self._count + 1],
        )
        self._merging = job
        return job

    def finish_merge(self, main: MainSegment) -> None:
        """Install a segment built from ``begin_merge``'s job; what changed meanwhile stays."""
        job, self._merging = self._merging, None
        if job is None:
            raise RuntimeError("no merge in progress")
        consumed = len(job.delta_words)
        rest = self._delta_n - consumed
        rest_words = self._delta_words[consumed : self._delta_n].copy()
        rest_slots = self._delta_slots[consumed : self._delta_n].copy()
        if main.live is not None and main.slot_of is not None:
            # Slots renumbered: the kept ones by their position, later ones shifted down.
            kept = len(main.live)
            shift = job.slots - kept
            gone = self._ids[main.live[~self._alive[main.live]]]
            slot_of = main.slot_of
            for image_id in gone.tolist():
                slot_of.pop(image_id, None)
            later_ids = self._ids[job.slots : self._count]
            later_alive = self._alive[job.slots : self._count]
            self._ids = np.concatenate([self._ids[main.live], later_ids])
            if main.forward_words is not None and main.forward_starts is not None:
                begin = int(self._forward_starts[job.slots])
                end = int(self._forward_starts[self._count])
                moved = int(main.forward_starts[-1]) - begin
                self._forward_words = np.concatenate(
                    [main.forward_words, self._forward_words[begin:end]]
                )
                self._forward_starts = np.concatenate(
                    [
                        main.forward_starts[:-1],
                        self._forward_starts[job.slots : self._count + 1] + moved,
                    ]
                )
            self._alive = np.concatenate([self._alive[main.live], later_alive])
            slot_of.update(
                (int(i), kept + k)
                for k, i in enumerate(later_ids.tolist())
                if later_alive[k] and self._slot_of.get(int(i)) == job.slots + k
            )
            self._slot_of = slot_of
            self._count = kept + len(later_ids)
            self._dead = int(self._count - np.count_nonzero(self._alive[: self._count]))
            rest_slots -= shift
            self._df = (
                np.diff(main.offsets) + np.bincount(rest_words, minlength=self._size)
            ).astype(np.int32)
            self._total = int(main.offsets[-1]) + rest
        self._offsets, self._postings = main.offsets, main.postings
        self._main_slots = job.slots if main.live is None else len(main.live)
        if len(self._delta_words) > 4 * max(1024, rest):  # a bulk load's delta: give it back
            self._delta_words = np.zeros(max(1024, 2 * rest), dtype=np.uint16)
            self._delta_slots = np.zeros(max(1024, 2 * rest), dtype=np.int32)
        self._delta_words[:rest] = rest_words
        self._delta_slots[:rest] = rest_slots
        self._delta_n = rest

    def abort_merge(self) -> None:
        """Give up a merge that failed to build."""
        self._merging = None

    def _merge(self) -> None:
        self.finish_merge(build_main(self.begin_merge(copy=False)))

    # queries

    def query(self, local: LocalFeatures, top: int = 20) -> list[int]:
        """Ids of the stored images sharing the most informative words with ``local``.

        The whole query and each of its regions rank the images separately; the result
        takes the best of each ranking in turn, best first, at most ``top`` ids.
        """
        if not self._slot_of or len(local) == 0 or top <= 0:
            return []
        words = np.unique(local.word_ids).astype(np.int64)
        words = words[words < self._size]
        df = self._df[words]
        keep = df > 0
        words, df = words[keep], df[keep]
        if len(words) == 0:
            return []
        idf = np.log1p(len(self._slot_of) / df).astype(np.float32)
        rankings = [self._best(words, df, idf, top)]
        for _, box in local.regions:
            inside = local.region_mask(box)
            if inside.sum() < REGION_MIN_KEYPOINTS:
                continue
            chosen = np.isin(words, local.word_ids[inside])
            rankings.append(self._best(words[chosen], df[chosen], idf[chosen], top))
        return _interleave(rankings, top)

    def _best(self, words: I64, df: I32, idf: F32, top: int) -> list[int]:
        """Ids of the ``top`` images scoring best on ``words`` (sorted), best first."""
        if len(words) == 0:
            return []
        rarest = np.argsort(df, kind="stable")
        reach = np.cumsum(df[rarest])
        read = max(1, int(np.searchsorted(reach, POSTINGS_BUDGET, side="right")))
        chosen = np.sort(rarest[:read])
        slots, which = self._postings_of(words[chosen])
        if len(slots) == 0:
            return []
        weights = idf[chosen][which]
        scores = np.bincount(slots, weights, self._count).astype(np.float64, copy=False)
        if read < len(words):
            pool = self._top_by_scan(scores, max(top, RERANK))
            picked = self._rescore(pool, words, idf, top)
        else:
            picked = self._top_by_scan(scores, top)
        return [int(i) for i in self._ids[picked]]

    def _rescore(self, slots: I64, words: I64, idf: F32, top: int) -> I64:
        """The ``top`` of ``slots`` by their score on all of ``words`` (forward lists)."""
        weight = np.zeros(self._size, dtype=np.float32)
        weight[words] = idf
        starts = self._forward_starts[slots]
        lengths = self._forward_starts[slots + 1] - starts
        owner = np.repeat(np.arange(len(slots)), lengths)
        first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        at = first + np.arange(int(lengths.sum()))
        scores = np.bincount(owner, weight[self._forward_words[at]], len(slots))
        order = np.lexsort((slots, -scores))[:top]
        picked: I64 = slots[order]
        return picked

    def _postings_of(self, words: I64) -> tuple[I32, I64]:
        """Slots holding each of the (sorted) ``words``, and which word brought each slot."""
        starts = self._offsets[words]
        ends = self._offsets[words + 1]
        postings = self._postings
        parts = [postings[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        slots = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        which = np.repeat(np.arange(len(words)), ends - starts)
        n = self._delta_n
        if n:
            position = np.full(self._size, -1, dtype=np.int64)
            position[words] = np.arange(len(words))
            at = position[self._delta_words[:n]]
            hit = at >= 0
            slots = np.concatenate([slots, self._delta_slots[:n][hit]])
            which = np.concatenate([which, at[hit]])
        return slots, which

    def _top_by_scan(self, scores: F64, top: int) -> I64:
        """The ``top`` live slots of highest score (ties: lower slot first).

        Sequential passes over the scores (a cut halved until enough slots pass it) cost less
        than a selection over all of them or a gather at every posting's slot.
        """
        best = float(scores.max()) if len(scores) else 0.0
        if best <= 0.0:
            return np.zeros(0, dtype=np.int64)
        cut = best / 2
        while True:
            found = np.flatnonzero(scores >= cut) if cut > 0.0 else np.flatnonzero(scores > 0.0)
            if self._dead:
                found = found[self._alive[found]]
            if len(found) >= top or cut == 0.0:
                break
            cut = cut / 4 if cut > best / 1000 else 0.0
        if len(found) > top:
            found = found[np.argpartition(-scores[found], top - 1)[:top]]
        order = np.lexsort((found, -scores[found]))
        picked: I64 = found[order].astype(np.int64)
        return picked


def _interleave(rankings: list[list[int]], top: int) -> list[int]:
    seen: dict[int, None] = {}
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking):
                seen.setdefault(ranking[rank], None)
    return list(seen)[:top]
