"""Visual words: ORB descriptors quantised by a two-level vocabulary tree.

The vocabulary is trained offline by ``bench/local_vocabulary.py`` on pictures that packages
ship and that seenit's detection benchmark never evaluates, and ships as package data
(``vocabulary.npz``). A descriptor's word is found by descending the tree: the nearest of
``BRANCH`` first-level centres, then the nearest of that centre's children, all by Hamming
distance on the 256-bit ORB descriptor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np
import numpy.typing as npt

#: Name of the shipped vocabulary file inside the ``bot.local`` package.
VOCABULARY_FILE = "vocabulary.npz"

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A two-level tree of binary centres: ``top`` (k1, 32) and ``leaves`` (k1, k2, 32)."""

    top: U8
    leaves: U8

    @property
    def size(self) -> int:
        """Number of words."""
        return int(self.leaves.shape[0] * self.leaves.shape[1])

    def words(self, descriptors: U8) -> U16:
        """The word of each descriptor (rows of 32 bytes).

        Exactly the nearest centre at each level, the first of equals (``argmin``); the
        distances are summed two 64-bit lanes at a time in bytes (at most 128) and xor-ed in
        place into fresh copies of the centres: fewer passes over memory than broadcasting.
        """
        if len(descriptors) == 0:
            return np.zeros(0, dtype=np.uint16)
        mine = np.ascontiguousarray(descriptors, dtype=np.uint8).view(np.uint64)
        top = self._top_by_lane
        first = np.argmin(
            _distances(mine, lambda lane: np.repeat(top[lane][None, :], len(mine), axis=0)),
            axis=1,
        )
        leaves = self._leaves_by_lane
        second = np.argmin(_distances(mine, lambda lane: leaves[lane][first]), axis=1)
        words: U16 = (first * self.leaves.shape[1] + second).astype(np.uint16)
        return words

    @cached_property
    def _top_by_lane(self) -> npt.NDArray[np.uint64]:
        """First-level centres as (4, k1) 64-bit lanes."""
        lanes = np.ascontiguousarray(self.top).view(np.uint64)
        return np.ascontiguousarray(lanes.T)

    @cached_property
    def _leaves_by_lane(self) -> npt.NDArray[np.uint64]:
        """Leaves as (4, k1, k2) 64-bit lanes: one lane of every sibling is contiguous."""
        lanes = np.ascontiguousarray(self.leaves).view(np.uint64)
        return np.ascontiguousarray(lanes.transpose(2, 0, 1))


def _distances(
    mine: npt.NDArray[np.uint64], centres: Callable[[int], npt.NDArray[np.uint64]]
) -> npt.NDArray[np.uint16]:
    """Hamming distances (n, k) from each row of ``mine`` (n, 4 lanes) to its candidate
    centres: ``centres(lane)`` gives that lane of them, (n, k), a fresh array it overwrites."""

    def bits(lane: int) -> npt.NDArray[np.uint8]:
        xor = centres(lane)
        np.bitwise_xor(xor, mine[:, lane, None], out=xor)
        return np.bitwise_count(xor)  # uint8, at most 64

    def two_lanes(lane: int) -> npt.NDArray[np.uint8]:
        counts = bits(lane)
        counts += bits(lane + 1)  # at most 128: still a byte
        return counts

    total = two_lanes(0).astype(np.uint16)
    for lane in range(2, mine.shape[1], 2):
        total += two_lanes(lane)
    return total


def hamming_table(a: U8, b: U8) -> npt.NDArray[np.uint16]:
    """Hamming distances between every row of ``a`` and every row of ``b`` (32-byte rows)."""
    a64 = np.ascontiguousarray(a).view(np.uint64)
    b64 = np.ascontiguousarray(np.ascontiguousarray(b).view(np.uint64).T)
    total = np.zeros((len(a64), b64.shape[1]), dtype=np.uint16)
    for lane in range(a64.shape[1]):
        total += np.bitwise_count(a64[:, lane, None] ^ b64[lane][None, :])
    return total


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded once per process."""
    with (
        resources.files("bot.local").joinpath(VOCABULARY_FILE).open("rb") as handle,
        np.load(handle) as data,
    ):
        return Vocabulary(
            top=np.ascontiguousarray(data["top"], dtype=np.uint8),
            leaves=np.ascontiguousarray(data["leaves"], dtype=np.uint8),
        )
