"""Train the visual-word vocabulary that ``bot/local`` ships (``bot/local/vocabulary.npz``).

Run ``python -m bench.local_vocabulary``. Training pictures: the WebP photographs and
paintings inside GCompris's Qt resource files (Debian package ``gcompris-qt-data``, installed
with apt-get when missing). None of them belongs to a family of the detection benchmark's
corpus (``bench/quality``), so the benchmark's recall is measured on pictures the vocabulary
never saw.

Each picture goes through seenit's own decode (``bot.hashing.decode``) and the same ORB
settings as ``bot.local.features.extract_local``, at two sizes (whole, and its centre at
60%, for keypoints at other scales). The tree is trained top-down with k-majority (k-means
for binary descriptors: Hamming distance, bitwise majority as the centre), seeded.
"""

from __future__ import annotations

import argparse
import glob
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from bot.hashing import decode
from bot.local.features import FAST_THRESHOLD, MAX_KEYPOINTS, WORK_SIDE
from bot.local.vocabulary import VOCABULARY_FILE, hamming_table

PACKAGE = "gcompris-qt-data"
RCC_GLOB = "/usr/share/gcompris-qt/rcc/*.rcc"
MIN_SIDE = 128
BRANCH = (256, 256)
ITERATIONS = 8
SEED = 20261202
OUT = Path(__file__).resolve().parent.parent / "bot" / "local" / VOCABULARY_FILE

U8 = npt.NDArray[np.uint8]


def ensure_package() -> None:
    if not glob.glob(RCC_GLOB):
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", PACKAGE], check=True)


def training_pictures() -> list[bytes]:
    """Encoded WebP pictures found in the resource files, sorted by content for determinism."""
    found: dict[bytes, None] = {}
    for path in sorted(glob.glob(RCC_GLOB)):
        data = Path(path).read_bytes()
        for match in re.finditer(rb"RIFF(....)WEBPVP8", data, re.S):
            size = int.from_bytes(match.group(1), "little") + 8
            blob = data[match.start() : match.start() + size]
            try:
                with Image.open(io.BytesIO(blob)) as image:
                    if min(image.size) < MIN_SIDE:
                        continue
            except OSError:
                continue
            found.setdefault(blob, None)
    return sorted(found, key=lambda b: (len(b), b[:64]))


def descriptors_of(blob: bytes) -> list[U8]:
    image = decode(blob)
    gray = np.asarray(image.convert("L"))
    out = []
    h, w = gray.shape
    crops = [gray, gray[int(h * 0.2) : int(h * 0.8), int(w * 0.2) : int(w * 0.8)]]
    orb = cv2.ORB_create(nfeatures=MAX_KEYPOINTS, fastThreshold=FAST_THRESHOLD)
    for part in crops:
        ph, pw = part.shape
        factor = WORK_SIDE / max(ph, pw)
        work = cv2.resize(
            part,
            (max(1, round(pw * factor)), max(1, round(ph * factor))),
            interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR,
        )
        _, desc = orb.detectAndCompute(work, None)
        if desc is not None:
            out.append(desc)
    return out


def kmajority(data: U8, k: int, rng: np.random.Generator) -> U8:
    """k binary centres for ``data`` (rows of 32 bytes)."""
    if len(data) <= k:
        extra = data[rng.integers(0, len(data), k - len(data))] if len(data) else None
        centres = data if extra is None else np.concatenate([data, extra])
        if len(centres) < k:
            centres = rng.integers(0, 256, (k, 32), dtype=np.uint8)
        return np.ascontiguousarray(centres[:k])
    centres = data[rng.choice(len(data), k, replace=False)].copy()
    bits = np.unpackbits(data, axis=1)
    for _ in range(ITERATIONS):
        nearest = np.concatenate(
            [
                np.argmin(hamming_table(data[i : i + 4096], centres), axis=1)
                for i in range(0, len(data), 4096)
            ]
        )
        counts = np.bincount(nearest, minlength=k)
        order = np.argsort(nearest, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        sums = np.zeros((k, 256), dtype=np.int64)
        filled = counts > 0
        sums[filled] = np.add.reduceat(bits[order].astype(np.int32), starts[filled], axis=0)
        empty = counts == 0
        majority = np.packbits(sums * 2 > counts[:, None], axis=1)
        centres = np.where(empty[:, None], centres, majority).astype(np.uint8)
        if empty.any():  # reseed empty centres on random points
            centres[empty] = data[rng.choice(len(data), int(empty.sum()), replace=False)]
    return np.ascontiguousarray(centres)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    ensure_package()
    start = time.perf_counter()
    pictures = training_pictures()
    descriptors = np.concatenate([d for blob in pictures for d in descriptors_of(blob)])
    print(f"{len(pictures)} pictures, {len(descriptors)} descriptors", file=sys.stderr)
    rng = np.random.default_rng(SEED)
    k1, k2 = BRANCH
    top = kmajority(descriptors, k1, rng)
    nearest = np.concatenate(
        [
            np.argmin(hamming_table(descriptors[i : i + 4096], top), axis=1)
            for i in range(0, len(descriptors), 4096)
        ]
    )
    leaves = np.stack([kmajority(descriptors[nearest == node], k2, rng) for node in range(k1)])
    np.savez_compressed(args.out, top=top, leaves=leaves)
    print(
        f"vocabulary {k1}x{k2} -> {args.out} ({args.out.stat().st_size} bytes) "
        f"in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
