"""Baseline perceptual-hash methods for the detection-quality benchmark.

Every baseline hashes the decoded image the way the libraries are commonly used:
``Image.open(path)`` and then the library call, with no EXIF handling and no
downscaled decode. One decode feeds every *family* of hashes (see :data:`FAMILIES`);
the evaluation caches each family separately.

Hashes are stored as packed bits in ``uint64`` words, one row per orientation:
``(orientations, words)``. Orientation 0 is the image itself; the "8 orientations"
methods also hold the hash of the image transposed by each :class:`PIL.Image.Transpose`
member, in :data:`ORIENTATIONS` order.

The 8 orientations are computed as "transpose the image, then hash", bit-exactly, but
without resampling the full image 8 times: Pillow's resampling commutes exactly with
mirroring (the filter is symmetric), so ``resize(flip(img)) == flip(resize(img))``; only
transposition changes the order of the two resampling passes. So each hash size needs
two full-size resizes (the image and its transpose) and the other six orientations are
mirrors of those two small images. :func:`check_orientation_shortcut` verifies the
equivalence against the naive path; the evaluation runs it on a sample every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import imagehash
import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

__all__ = [
    "FAMILIES",
    "METHODS",
    "METHODS_VERSION",
    "ORIENTATIONS",
    "Method",
    "check_orientation_shortcut",
    "hash_file",
    "library_versions",
    "pack_bits",
]

#: Bump when a family's hash computation changes (invalidates the hash caches).
METHODS_VERSION = 1

U64 = npt.NDArray[np.uint64]

T = Image.Transpose
#: The 8 orientations, as the transposition applied to the image (None = identity).
ORIENTATIONS: tuple[T | None, ...] = (
    None,
    T.FLIP_LEFT_RIGHT,
    T.FLIP_TOP_BOTTOM,
    T.ROTATE_180,
    T.TRANSPOSE,
    T.ROTATE_90,
    T.ROTATE_270,
    T.TRANSVERSE,
)
#: How each orientation is obtained from the resized image (index 0) or the resized
#: transposed image (index 1), followed by a mirror (or None).
_SHORTCUT: tuple[tuple[int, T | None], ...] = (
    (0, None),
    (0, T.FLIP_LEFT_RIGHT),
    (0, T.FLIP_TOP_BOTTOM),
    (0, T.ROTATE_180),
    (1, None),
    (1, T.FLIP_TOP_BOTTOM),  # ROTATE_90 == FLIP_TOP_BOTTOM after TRANSPOSE
    (1, T.FLIP_LEFT_RIGHT),  # ROTATE_270 == FLIP_LEFT_RIGHT after TRANSPOSE
    (1, T.ROTATE_180),  # TRANSVERSE == ROTATE_180 after TRANSPOSE
)
_LANCZOS = Image.Resampling.LANCZOS


def pack_bits(bits: npt.ArrayLike) -> U64:
    """Bits (any shape, truthy = 1) -> packed uint64 words, zero-padded to a whole word."""
    flat = np.asarray(bits).ravel() != 0
    packed = np.packbits(flat)
    pad = (-len(packed)) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros(pad, dtype=np.uint8)])
    return packed.view(">u8").astype(np.uint64)


def _phash_orientations(gray: Image.Image, hash_size: int) -> U64:
    """``imagehash.phash(gray.transpose(t), hash_size)`` for the 8 orientations, packed."""
    side = hash_size * 4  # imagehash's highfreq_factor
    small = (
        gray.resize((side, side), _LANCZOS),
        gray.transpose(T.TRANSPOSE).resize((side, side), _LANCZOS),
    )
    rows = []
    for base, mirror in _SHORTCUT:
        img = small[base] if mirror is None else small[base].transpose(mirror)
        # img is already side x side: imagehash's own resize is then a plain copy.
        rows.append(pack_bits(imagehash.phash(img, hash_size=hash_size).hash))
    return np.stack(rows)


def _article(img: Image.Image, gray: Image.Image) -> U64:
    ahash = pack_bits(imagehash.average_hash(gray).hash)  # 64 bits
    chash = pack_bits(imagehash.colorhash(img).hash)  # binbits=3: 14 x 3 = 42 bits
    return np.concatenate([ahash, chash])[np.newaxis, :]


def _dhash(img: Image.Image, gray: Image.Image) -> U64:
    return pack_bits(imagehash.dhash(gray).hash)[np.newaxis, :]


def _phash64(img: Image.Image, gray: Image.Image) -> U64:
    return _phash_orientations(gray, 8)


def _phash256(img: Image.Image, gray: Image.Image) -> U64:
    return _phash_orientations(gray, 16)


def _pdq(img: Image.Image, gray: Image.Image) -> U64:
    rgb = np.asarray(img.convert("RGB"))
    hashes, quality = pdqhash.compute_dihedral(rgb)
    # compute_dihedral's first hash is exactly pdqhash.compute(rgb)'s; the quality is
    # kept in an extra word so that the cache holds it.
    rows = [np.concatenate([pack_bits(h), np.array([quality], dtype=np.uint64)]) for h in hashes]
    return np.stack(rows)


#: Hash family name -> function of (decoded image, its ``convert("L")``) -> (orient, words).
#: ``gray`` is only a shared conversion: imagehash's ahash/dhash/phash start with
#: ``image.convert("L")`` themselves, which is a copy on an "L" image.
FAMILIES: dict[str, Callable[[Image.Image, Image.Image], U64]] = {
    "article": _article,
    "dhash": _dhash,
    "phash64": _phash64,
    "phash256": _phash256,
    "pdq": _pdq,
}
#: Words of each family that hold hash bits (pdq has a trailing quality word).
FAMILY_WORDS: dict[str, int] = {"article": 2, "dhash": 1, "phash64": 1, "phash256": 4, "pdq": 4}


@dataclass(frozen=True)
class Method:
    """A baseline: which cached family, how many of its orientations the query tries.

    The distance of a (query, stored) pair is the Hamming distance of the packed hash
    words (for ``article``: ahash distance + colorhash distance, which is the Hamming
    distance of the two concatenated); with ``orientations == 8`` it is the minimum over
    the query's 8 orientations against the stored image's own hash.
    """

    name: str
    family: str
    bits: int
    orientations: int
    description: str


METHODS: tuple[Method, ...] = (
    Method("article", "article", 106, 1, "imagehash average_hash + colorhash, sum of distances"),
    Method("dhash", "dhash", 64, 1, "imagehash.dhash"),
    Method("phash64", "phash64", 64, 1, "imagehash.phash"),
    Method("phash64-8", "phash64", 64, 8, "imagehash.phash, min over 8 orientations"),
    Method("phash256", "phash256", 256, 1, "imagehash.phash(hash_size=16)"),
    Method("phash256-8", "phash256", 256, 8, "imagehash.phash(hash_size=16), 8 orientations"),
    Method("pdq", "pdq", 256, 1, "pdqhash.compute"),
    Method("pdq-8", "pdq", 256, 8, "pdqhash.compute_dihedral, min over 8 orientations"),
)


def hash_file(path: str | Path, families: Sequence[str]) -> dict[str, U64]:
    """Decode one file with ``Image.open`` and compute the requested hash families."""
    with Image.open(path) as img:
        img.load()
        gray = img.convert("L")
        return {f: FAMILIES[f](img, gray) for f in families}


def check_orientation_shortcut(paths: Sequence[str | Path]) -> int:
    """Compare the shortcut with hashing each transposed image; return mismatches."""
    bad = 0
    for path in paths:
        with Image.open(path) as img:
            img.load()
            gray = img.convert("L")
            for hash_size in (8, 16):
                fast = _phash_orientations(gray, hash_size)
                for i, t in enumerate(ORIENTATIONS):
                    oriented = img if t is None else img.transpose(t)
                    slow = pack_bits(imagehash.phash(oriented, hash_size=hash_size).hash)
                    bad += int(not np.array_equal(fast[i], slow))
            rgb = np.asarray(img.convert("RGB"))
            hashes, _ = pdqhash.compute_dihedral(rgb)
            bad += int(not np.array_equal(hashes[0], pdqhash.compute(rgb)[0]))
    return bad


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output the cached hashes depend on."""
    out = {}
    for dist in ("ImageHash", "pdqhash", "pillow", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out
