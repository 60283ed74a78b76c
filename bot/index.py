"""In-memory Hamming search over 64-bit hashes, one index per guild; pure, no I/O.

The index holds a large *main* segment, searched with multi-index hashing, and a small
*delta* segment of recent inserts, scanned flat, so that an image is searchable the moment
it is added. When the delta grows past a fraction of the main segment the two are merged.

Multi-index hashing: the 64 bits are cut into m chunks (four of 16 bits; three of 21-22 bits
past four million entries). Two hashes within distance ``r`` agree within ``r // m`` bits on
at least one chunk (pigeonhole), so the
candidates are the entries whose chunk value lies within that small radius of the query's
chunk, found through one sorted table per chunk. When the tables would yield too many
candidates (large radius, or a cluster of near-duplicates sharing chunk values) the search
falls back to a flat vectorised scan, which has a fixed, small cost per entry.

Memory per stored image: 8 bytes of hash, 8 of id, 1 of liveness and 4 per chunk table,
plus the tables' offsets (fixed: 2 MiB for 16-bit chunks, 96 MiB for the wide ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np
import numpy.typing as npt

#: Chunk widths: four 16-bit chunks, or three wider ones for very large indexes, where
#: 16-bit buckets hold too many entries (10^7 / 65,536 = 150 per key) and verifying the
#: candidates dominates; with 21-22 bits a bucket holds a few entries.
SMALL_LAYOUT = (16, 16, 16, 16)
LARGE_LAYOUT = (22, 21, 21)
LARGE_MIN_ENTRIES = 1 << 22
#: Below this many entries a flat scan is as fast as the tables: none are built.
MIH_MIN_ENTRIES = 32_768
#: The delta is merged once it holds more than 1/DELTA_SHARE of the main segment (and
#: more than DELTA_MIN entries): every search scans it flat, and merges run in a worker
#: thread for the bot.
DELTA_SHARE = 32
DELTA_MIN = 4096
#: Removed entries stay in the main segment, marked dead, until more than 1/DEAD_SHARE of
#: it is dead; then a merge rebuilds it without them.
DEAD_SHARE = 4
#: Flat-scan instead when the tables would yield more than this share of the entries.
MAX_CANDIDATE_SHARE = 0.25

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Hit:
    """One stored image within the search radius of one of the query hashes."""

    image_id: int
    distance: int
    #: Position of the query hash that matched best (the orientation, for a fingerprint).
    query: int


def to_signed(value: int) -> int:
    """Unsigned 64-bit hash -> the signed integer databases store."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    """Signed database integer -> unsigned 64-bit hash."""
    return value + (1 << 64) if value < 0 else value


@cache
def _chunk_masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    """All ``width``-bit XOR masks with at most ``radius`` bits set."""
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(width), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


def _stable_order(keys: npt.NDArray[np.uint16] | npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
    """Positions sorting ``keys``, stable: numpy radix-sorts 16-bit keys, so wider keys go
    through two 16-bit passes (low half, then high half) instead of a comparison sort."""
    if keys.dtype == np.uint16:
        return np.argsort(keys, kind="stable").astype(np.int32)
    low = (keys & 0xFFFF).astype(np.uint16)
    high = (keys >> 16).astype(np.uint16)
    first = np.argsort(low, kind="stable")
    return first[np.argsort(high[first], kind="stable")].astype(np.int32)


class _Tables:
    """One sorted table per chunk: entry positions grouped by chunk value."""

    __slots__ = ("layout", "offsets", "order", "shifts")

    def __init__(self, hashes: U64) -> None:
        self.layout = LARGE_LAYOUT if len(hashes) >= LARGE_MIN_ENTRIES else SMALL_LAYOUT
        self.shifts = [sum(self.layout[:c]) for c in range(len(self.layout))]
        self.order: list[npt.NDArray[np.int32]] = []
        self.offsets: list[npt.NDArray[np.int64]] = []
        for width, shift in zip(self.layout, self.shifts, strict=True):
            keys = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
            keys = keys.astype(np.uint16 if width <= 16 else np.uint32)
            self.order.append(_stable_order(keys))
            counts = np.bincount(keys, minlength=1 << width)
            offsets = np.zeros((1 << width) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            self.offsets.append(offsets)

    def candidates(
        self, queries: U64, radius: int, budget: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]] | None:
        """Positions (and which query found them) to verify, or None if over ``budget``."""
        chunk_radius = radius // len(self.layout)
        masks = [_chunk_masks(width, chunk_radius) for width in self.layout]
        if sum(len(m) for m in masks) * len(queries) > budget:
            return None  # even looking the keys up would cost more than a flat scan
        starts_all: list[npt.NDArray[np.int64]] = []
        counts_all: list[npt.NDArray[np.int64]] = []
        owners: list[npt.NDArray[np.int64]] = []
        tables: list[int] = []
        total = 0
        for qi, q in enumerate(queries.tolist()):
            for c, (width, shift) in enumerate(zip(self.layout, self.shifts, strict=True)):
                keys = ((q >> shift) & ((1 << width) - 1)) ^ masks[c]
                offsets = self.offsets[c]
                starts = offsets[keys]
                counts = offsets[keys + 1] - starts
                total += int(counts.sum())
                if total > budget:
                    return None
                starts_all.append(starts)
                counts_all.append(counts)
                owners.append(np.full(len(keys), qi, dtype=np.int64))
                tables.append(c)
        if total == 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        positions: list[npt.NDArray[np.int32]] = []
        which: list[npt.NDArray[np.int64]] = []
        for starts, counts, owner, c in zip(starts_all, counts_all, owners, tables, strict=True):
            n = int(counts.sum())
            if n == 0:
                continue
            run_starts = np.cumsum(counts) - counts
            flat = np.repeat(starts - run_starts, counts) + np.arange(n, dtype=np.int64)
            positions.append(self.order[c][flat])
            which.append(np.repeat(owner, counts))
        return np.concatenate(positions), np.concatenate(which)


@dataclass(frozen=True, slots=True)
class MainSegment:
    """The bulk of an index: entries sorted by id, with their chunk tables."""

    ids: I64
    hashes: U64
    tables: _Tables | None


def build_main(ids: I64, hashes: U64 | I64) -> MainSegment:
    """Sort entries and build their tables: pure, so it may run in a worker thread."""
    if len(ids) != len(hashes):
        raise ValueError("ids and hashes differ in length")
    order = np.argsort(ids, kind="stable")
    sorted_ids = np.ascontiguousarray(ids[order], dtype=np.int64)
    sorted_hashes = np.ascontiguousarray(hashes[order]).view(np.uint64)
    tables = _Tables(sorted_hashes) if len(sorted_ids) >= MIH_MIN_ENTRIES else None
    return MainSegment(sorted_ids, sorted_hashes, tables)


class HammingIndex:
    """Image ids with their 64-bit hashes, searchable by Hamming distance.

    By default a merge of the delta into the main segment happens inside ``add``/``remove``.
    With ``defer_merges`` the owner runs merges instead (``merge_due``, ``begin_merge``,
    :func:`build_main` in a thread, ``finish_merge``), so a large merge never blocks an event
    loop; the index stays searchable and writable meanwhile.
    """

    def __init__(self, ids: Iterable[int] = (), hashes: Iterable[int] = ()) -> None:
        self._ids: I64 = np.empty(0, dtype=np.int64)
        self._hashes: U64 = np.empty(0, dtype=np.uint64)
        self._alive: npt.NDArray[np.bool_] = np.empty(0, dtype=np.bool_)
        self._tables: _Tables | None = None
        self._dead = 0
        # Recent inserts, in arrays grown by doubling: scanned flat, without conversion.
        self._delta_ids: I64 = np.empty(64, dtype=np.int64)
        self._delta_hashes: U64 = np.empty(64, dtype=np.uint64)
        self._delta_n = 0
        self.defer_merges = False
        #: While a merge is being built: ids removed since it began (re-applied after).
        self._merging: set[int] | None = None
        ids_arr = np.fromiter(ids, dtype=np.int64)
        hashes_arr = np.fromiter((to_unsigned(h) for h in hashes), dtype=np.uint64)
        self.load(ids_arr, hashes_arr)

    @classmethod
    def from_arrays(cls, ids: I64, hashes: U64 | I64) -> HammingIndex:
        """Build from arrays (hashes as uint64, or int64 as stored: same bits)."""
        index = cls()
        index.load(ids, hashes)
        return index

    def load(self, ids: I64, hashes: npt.NDArray[np.uint64] | I64) -> None:
        """Replace the contents with these entries."""
        self._delta_n = 0
        self._set_main(build_main(ids, hashes))

    def _set_main(self, main: MainSegment) -> None:
        self._ids, self._hashes, self._tables = main.ids, main.hashes, main.tables
        self._alive = np.ones(len(self._ids), dtype=np.bool_)
        self._dead = 0

    def merge_due(self) -> bool:
        """Whether the delta or the dead entries have grown enough to merge."""
        main = len(self._ids)
        return self._merging is None and (
            self._delta_n > max(DELTA_MIN, main // DELTA_SHARE) or self._dead > main // DEAD_SHARE
        )

    def begin_merge(self) -> tuple[I64, U64, int]:
        """Copies of the live entries to build a new main segment from, and the delta count."""
        n = self._delta_n
        ids = np.concatenate([self._ids[self._alive], self._delta_ids[:n]])
        hashes = np.concatenate([self._hashes[self._alive], self._delta_hashes[:n]])
        self._merging = set()
        return ids, hashes, n

    def finish_merge(self, main: MainSegment, consumed: int) -> None:
        """Install a segment built from ``begin_merge``'s entries."""
        removed, self._merging = self._merging or set(), None
        self._set_main(main)
        rest = self._delta_n - consumed
        self._delta_ids[:rest] = self._delta_ids[consumed : self._delta_n]
        self._delta_hashes[:rest] = self._delta_hashes[consumed : self._delta_n]
        self._delta_n = rest
        if removed:
            self.remove(removed)

    def abort_merge(self) -> None:
        """Give up a merge that failed to build; removals made meanwhile are applied."""
        removed, self._merging = self._merging or set(), None
        if removed:
            self.remove(removed)

    def __len__(self) -> int:
        return len(self._ids) - self._dead + self._delta_n

    def nbytes(self) -> int:
        """Memory held by the arrays (tables included)."""
        total = self._ids.nbytes + self._hashes.nbytes + self._alive.nbytes
        if self._tables is not None:
            total += sum(o.nbytes for o in self._tables.order)
            total += sum(o.nbytes for o in self._tables.offsets)
        return total + self._delta_ids.nbytes + self._delta_hashes.nbytes

    def add(self, image_id: int, hash64: int) -> None:
        """Add one entry; it is searchable at once."""
        n = self._delta_n
        if n == len(self._delta_ids):
            self._delta_ids = np.resize(self._delta_ids, 2 * n)
            self._delta_hashes = np.resize(self._delta_hashes, 2 * n)
        self._delta_ids[n] = image_id
        self._delta_hashes[n] = to_unsigned(hash64)
        self._delta_n = n + 1
        if not self.defer_merges and self.merge_due():
            self._merge()

    def remove(self, image_ids: Iterable[int]) -> int:
        """Remove entries by id; returns how many were present."""
        wanted = np.fromiter(image_ids, dtype=np.int64)
        if len(wanted) == 0:
            return 0
        removed = 0
        if self._merging is not None:
            # A merge is being built from copies: remember the ids and leave the delta's
            # positions alone (the merge consumes a prefix of it); the owner's store lookup
            # drops hits on rows already deleted until the merge is installed.
            self._merging.update(int(x) for x in wanted)
        elif self._delta_n:
            n = self._delta_n
            keep = ~np.isin(self._delta_ids[:n], wanted)
            kept = int(keep.sum())
            removed += n - kept
            self._delta_ids[:kept] = self._delta_ids[:n][keep]
            self._delta_hashes[:kept] = self._delta_hashes[:n][keep]
            self._delta_n = kept
        if len(self._ids):
            # An id may have several entries (a clip's frames): take every position of each.
            left = np.searchsorted(self._ids, wanted, side="left")
            counts = np.searchsorted(self._ids, wanted, side="right") - left
            starts = np.repeat(left, counts)
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            pos = starts + offsets
            pos = pos[self._alive[pos]]
            self._alive[pos] = False
            self._dead += len(pos)
            removed += len(pos)
            if not self.defer_merges and self.merge_due():
                self._merge()
        return removed

    def __contains__(self, image_id: object) -> bool:
        if not isinstance(image_id, int):
            return False
        if image_id in self._delta_ids[: self._delta_n]:
            return True
        pos = int(np.searchsorted(self._ids, image_id))
        return pos < len(self._ids) and self._ids[pos] == image_id and bool(self._alive[pos])

    def _merge(self) -> None:
        ids, hashes, consumed = self.begin_merge()
        self.finish_merge(build_main(ids, hashes), consumed)

    def search(self, queries: Sequence[int], radius: int, limit: int | None = None) -> list[Hit]:
        """Entries within ``radius`` of any query hash, nearest first, one hit per id."""
        if radius < 0 or not queries:
            return []
        q = np.array([to_unsigned(x) for x in queries], dtype=np.uint64)
        found_ids: list[I64] = []
        found_dist: list[npt.NDArray[np.int64]] = []
        found_query: list[npt.NDArray[np.int64]] = []
        if len(self._ids):
            pos, which = self._main_candidates(q, radius)
            dist = np.bitwise_count(self._hashes[pos] ^ q[which]).astype(np.int64)
            keep = (dist <= radius) & self._alive[pos]
            found_ids.append(self._ids[pos[keep]])
            found_dist.append(dist[keep])
            found_query.append(which[keep])
        if self._delta_n:
            d_ids = self._delta_ids[: self._delta_n]
            d_hashes = self._delta_hashes[: self._delta_n]
            dist = np.bitwise_count(d_hashes[np.newaxis, :] ^ q[:, np.newaxis]).astype(np.int64)
            which, col = np.nonzero(dist <= radius)
            found_ids.append(d_ids[col])
            found_dist.append(dist[which, col])
            found_query.append(which.astype(np.int64))
        if not found_ids:
            return []
        ids = np.concatenate(found_ids)
        dists = np.concatenate(found_dist)
        qs = np.concatenate(found_query)
        if len(ids) == 0:
            return []
        # Best distance per id, then nearest first (ties: older image first).
        order = np.lexsort((qs, dists, ids))
        ids, dists, qs = ids[order], dists[order], qs[order]
        first = np.ones(len(ids), dtype=np.bool_)
        first[1:] = ids[1:] != ids[:-1]
        ids, dists, qs = ids[first], dists[first], qs[first]
        ranked = np.lexsort((ids, dists))
        if limit is not None:
            ranked = ranked[:limit]
        return [Hit(int(ids[i]), int(dists[i]), int(qs[i])) for i in ranked.tolist()]

    def _main_candidates(
        self, q: U64, radius: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        n = len(self._ids)
        if self._tables is not None:
            budget = int(n * len(q) * MAX_CANDIDATE_SHARE)
            found = self._tables.candidates(q, radius, budget)
            if found is not None:
                pos, which = found
                return pos.astype(np.intp), which
        return self._flat_candidates(q, radius)

    def _flat_candidates(
        self, q: U64, radius: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        positions: list[npt.NDArray[np.intp]] = []
        which: list[npt.NDArray[np.int64]] = []
        for qi in range(len(q)):
            close = np.flatnonzero(np.bitwise_count(self._hashes ^ q[qi]) <= radius)
            positions.append(close)
            which.append(np.full(len(close), qi, dtype=np.int64))
        return np.concatenate(positions), np.concatenate(which)
