"""Local features of one image: ORB keypoints, their visual words, and a small thumbnail.

They are computed from the small image the hashing workers already decoded, so they add a
few milliseconds to a fingerprint and no decoding. The blob (:meth:`LocalFeatures.to_bytes`)
is what verification reads for a candidate; :attr:`LocalFeatures.words` is the short list the
in-memory index keeps.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from bot.local.vocabulary import vocabulary
from bot.regions import Box, candidate_views

#: The image is resized so that its longer side is this many pixels before ORB runs.
WORK_SIDE = 480
#: Keypoints kept per image, strongest first.
MAX_KEYPOINTS = 400
#: FAST threshold of ORB's detector (OpenCV's default is 20: too few corners on small images).
FAST_THRESHOLD = 10
#: Below this many keypoints an image is low-texture: the global hashes judge it alone.
MIN_KEYPOINTS = 10
#: Keypoints closer than this (working pixels) count as one place for :data:`MIN_KEYPOINTS`.
PLACE = 8
#: Words of the strongest keypoints kept for the index (a few hundred bytes per image).
INDEX_WORDS = 160
#: Longer side of the thumbnail used for the dense check.
THUMB_SIDE = 128
THUMB_JPEG_QUALITY = 90
#: Fixed-point factor of stored keypoint coordinates.
POINT_SCALE = 16

#: Names of the regions a query may be searched by, as :func:`bot.regions.candidate_views`
#: names them; their position in this tuple is their code in the blob.
REGION_NAMES = ("captioned", "screenshot of an image")

MAGIC = b"SLF1"
_HEADER = struct.Struct("<4sHHHBBBI")
_REGION = struct.Struct("<BHHHH")

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]


class FeaturesError(ValueError):
    """A local-features blob that cannot be read."""


@dataclass(frozen=True, eq=False)
class LocalFeatures:
    """ORB keypoints of one image in its working frame, with words and a dense-check thumbnail.

    Coordinates are pixels of the working image (``width`` x ``height``, the longer side
    :data:`WORK_SIDE`); ``regions`` are the parts of the image that may be the reposted
    picture on its own (caption removed, inner picture), in the same frame.
    """

    width: int
    height: int
    #: (n, 2) float32 x, y of each keypoint, strongest first.
    points: F32
    #: (n, 32) uint8 ORB descriptors.
    descriptors: U8
    #: (n,) uint16 visual word of each descriptor.
    word_ids: U16
    #: Grayscale thumbnail, longer side :data:`THUMB_SIDE`.
    thumbnail: U8
    regions: tuple[tuple[str, Box], ...] = ()

    def __len__(self) -> int:
        return len(self.points)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LocalFeatures):
            return NotImplemented
        return (
            (self.width, self.height, self.regions) == (other.width, other.height, other.regions)
            and np.array_equal(self.points, other.points)
            and np.array_equal(self.descriptors, other.descriptors)
            and np.array_equal(self.word_ids, other.word_ids)
            and np.array_equal(self.thumbnail, other.thumbnail)
        )

    def __hash__(self) -> int:
        return hash((self.width, self.height, self.descriptors.tobytes()))

    @cached_property
    def words(self) -> bytes:
        """The index's word list: sorted distinct words of the strongest keypoints (uint16 LE)."""
        return index_words(self.word_ids).astype("<u2").tobytes()

    def to_bytes(self) -> bytes:
        """Compact blob for the store (keypoints, descriptors, words, JPEG thumbnail)."""
        ok, jpeg = cv2.imencode(
            ".jpg", self.thumbnail, [cv2.IMWRITE_JPEG_QUALITY, THUMB_JPEG_QUALITY]
        )
        if not ok:  # pragma: no cover - OpenCV encodes any 2-D uint8 array
            raise FeaturesError("could not encode the thumbnail")
        thumb = jpeg.tobytes()
        header = _HEADER.pack(
            MAGIC,
            self.width,
            self.height,
            len(self.points),
            self.thumbnail.shape[1],
            self.thumbnail.shape[0],
            len(self.regions),
            len(thumb),
        )
        regions = b"".join(
            _REGION.pack(REGION_NAMES.index(name), box.left, box.top, box.right, box.bottom)
            for name, box in self.regions
        )
        points = np.round(self.points * POINT_SCALE).astype("<u2").tobytes()
        words = self.word_ids.astype("<u2").tobytes()
        return header + regions + points + self.descriptors.tobytes() + words + thumb

    @classmethod
    def from_bytes(cls, blob: bytes) -> LocalFeatures:
        """Read a blob written by :meth:`to_bytes`; raise :class:`FeaturesError` if malformed."""
        try:
            magic, width, height, n, tw, th, n_regions, thumb_len = _HEADER.unpack_from(blob)
            if magic != MAGIC:
                raise FeaturesError("not a local-features blob")
            at = _HEADER.size
            regions = []
            for _ in range(n_regions):
                code, left, top, right, bottom = _REGION.unpack_from(blob, at)
                regions.append((REGION_NAMES[code], Box(left, top, right, bottom)))
                at += _REGION.size
            points = np.frombuffer(blob, "<u2", 2 * n, at).reshape(n, 2)
            at += 4 * n
            descriptors = np.frombuffer(blob, np.uint8, 32 * n, at).reshape(n, 32)
            at += 32 * n
            word_ids = np.frombuffer(blob, "<u2", n, at)
            at += 2 * n
            thumb = cv2.imdecode(np.frombuffer(blob, np.uint8, thumb_len, at), cv2.IMREAD_GRAYSCALE)
        except (struct.error, ValueError, IndexError, cv2.error) as exc:
            raise FeaturesError(f"malformed local-features blob: {exc}") from exc
        if thumb is None or thumb.shape != (th, tw) or at + thumb_len != len(blob):
            raise FeaturesError("malformed local-features blob: thumbnail")
        return cls(
            width=width,
            height=height,
            points=(points.astype(np.float32) / np.float32(POINT_SCALE)).astype(np.float32),
            descriptors=descriptors.copy(),
            word_ids=word_ids.astype(np.uint16),
            thumbnail=np.asarray(thumb, dtype=np.uint8),
            regions=tuple(regions),
        )

    def region_mask(self, box: Box) -> npt.NDArray[np.bool_]:
        """Which keypoints lie inside ``box``."""
        x, y = self.points[:, 0], self.points[:, 1]
        return (x >= box.left) & (x < box.right) & (y >= box.top) & (y < box.bottom)


def index_words(word_ids: U16, limit: int = INDEX_WORDS) -> U16:
    """Sorted distinct words of the first (strongest) keypoints, at most ``limit`` of them."""
    _, first = np.unique(word_ids, return_index=True)
    keep = np.sort(first)[:limit]
    return np.sort(word_ids[keep]).astype(np.uint16)


def _distinct_places(keypoints: Sequence[cv2.KeyPoint]) -> int:
    """Keypoints at distinct places: one corner is found again at every pyramid level."""
    return len({(int(kp.pt[0]) // PLACE, int(kp.pt[1]) // PLACE) for kp in keypoints})


def _detector() -> cv2.Feature2D:
    orb: cv2.Feature2D = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=MAX_KEYPOINTS, fastThreshold=FAST_THRESHOLD
    )
    return orb


def extract_local(
    image: Image.Image, regions: list[tuple[str, Box]] | None = None
) -> LocalFeatures | None:
    """Local features of a decoded image; None when it has too little texture.

    ``regions`` are :func:`bot.regions.candidate_views` of ``image`` when the caller has them
    already (they are computed otherwise).
    """
    gray = np.asarray(image.convert("L"))
    height, width = gray.shape
    if min(width, height) < 16:
        return None
    factor = WORK_SIDE / max(width, height)
    work_w, work_h = max(1, round(width * factor)), max(1, round(height * factor))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    work = cv2.resize(gray, (work_w, work_h), interpolation=interpolation)
    keypoints, found = _detector().detectAndCompute(work, None)
    if found is None or _distinct_places(keypoints) < MIN_KEYPOINTS:
        return None
    order = np.argsort([-kp.response for kp in keypoints], kind="stable")
    points = np.array([keypoints[i].pt for i in order], dtype=np.float32)
    descriptors: U8 = np.ascontiguousarray(np.asarray(found, dtype=np.uint8)[order])
    thumb_factor = THUMB_SIDE / max(width, height)
    thumb = cv2.resize(
        gray,
        (max(1, round(width * thumb_factor)), max(1, round(height * thumb_factor))),
        interpolation=cv2.INTER_AREA if thumb_factor < 1 else cv2.INTER_LINEAR,
    )
    if regions is None:
        regions = candidate_views(image)
    scaled = tuple(
        (
            name,
            Box(
                round(box.left * factor),
                round(box.top * factor),
                round(box.right * factor),
                round(box.bottom * factor),
            ),
        )
        for name, box in regions
        if name in REGION_NAMES
    )
    return LocalFeatures(
        width=work_w,
        height=work_h,
        points=points,
        descriptors=descriptors,
        word_ids=vocabulary().words(descriptors),
        thumbnail=np.ascontiguousarray(thumb, dtype=np.uint8),
        regions=scaled,
    )
