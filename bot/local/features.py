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
#: Lower FAST thresholds tried, in turn, while an image has fewer than
#: :data:`TEXTURE_PLACES` keypoint places: smooth pictures (gradients, skies, a planet) have
#: few corners above 10 grey levels, and a crop of them would otherwise find nothing.
LOW_TEXTURE_THRESHOLDS = (5, 3)
TEXTURE_PLACES = 60
#: Below this many keypoints an image is low-texture: the global hashes judge it alone.
MIN_KEYPOINTS = 10
#: A region (inner picture, caption removed) smaller than this share of the image gets
#: keypoints of its own, found at its own scale: in a phone screenshot the picture is a
#: third of the image, and the text around it would otherwise take most keypoints.
REGION_DETAIL_SHARE = 0.7
#: Keypoints found in such a region, on top of :data:`MAX_KEYPOINTS`.
REGION_KEYPOINTS = 200
#: Keypoints closer than this (working pixels) count as one place for :data:`MIN_KEYPOINTS`.
PLACE = 8
#: Words of the strongest keypoints kept for the index (a few hundred bytes per image).
INDEX_WORDS = 160
#: Longer side of the thumbnail used for the dense check: at 128 pixels the picture inside
#: a phone screenshot is 60 pixels wide, too blurred to tell a repost at the dense check.
THUMB_SIDE = 192
THUMB_JPEG_QUALITY = 80
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


def _detector(keypoints: int = MAX_KEYPOINTS, threshold: int = FAST_THRESHOLD) -> cv2.Feature2D:
    orb: cv2.Feature2D = cv2.ORB.create(nfeatures=keypoints, fastThreshold=threshold)
    return orb


def _detect(work: U8) -> tuple[Sequence[cv2.KeyPoint], U8 | None]:
    """ORB keypoints and descriptors, at a lower FAST threshold for smooth pictures."""
    keypoints, found = _detector().detectAndCompute(work, None)
    for threshold in LOW_TEXTURE_THRESHOLDS:
        if found is not None and _distinct_places(keypoints) >= TEXTURE_PLACES:
            break
        keypoints, found = _detector(threshold=threshold).detectAndCompute(work, None)
    return keypoints, None if found is None else np.asarray(found, dtype=np.uint8)


def _resized(gray: U8, side: int) -> tuple[U8, float]:
    """``gray`` with its longer side ``side`` pixels, and the factor applied."""
    height, width = gray.shape
    factor = side / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, size, interpolation=interpolation), dtype=np.uint8), factor


def _region_keypoints(
    gray: U8, regions: Sequence[tuple[str, Box]], factor: float
) -> tuple[list[tuple[float, float]], list[U8]]:
    """Keypoints of the small regions at their own scale, in working-frame coordinates."""
    height, width = gray.shape
    points: list[tuple[float, float]] = []
    descriptors: list[U8] = []
    done: set[Box] = set()
    for _, box in regions:
        area = (box.right - box.left) * (box.bottom - box.top)
        if box in done or area >= REGION_DETAIL_SHARE * width * height or area <= 0:
            continue
        done.add(box)
        crop = gray[box.top : box.bottom, box.left : box.right]
        if min(crop.shape) < 16:
            continue
        work, region_factor = _resized(crop, WORK_SIDE)
        keypoints, found = _detector(REGION_KEYPOINTS).detectAndCompute(work, None)
        if found is None:
            continue
        order = np.argsort([-kp.response for kp in keypoints], kind="stable")
        for i in order:
            x, y = keypoints[i].pt
            points.append(
                ((box.left + x / region_factor) * factor, (box.top + y / region_factor) * factor)
            )
        descriptors.append(np.asarray(found, dtype=np.uint8)[order])
    return points, descriptors


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
    work, factor = _resized(gray, WORK_SIDE)
    work_h, work_w = work.shape
    keypoints, found = _detect(work)
    if found is None or _distinct_places(keypoints) < MIN_KEYPOINTS:
        return None
    order = np.argsort([-kp.response for kp in keypoints], kind="stable")
    points = np.array([keypoints[i].pt for i in order], dtype=np.float32)
    descriptors: U8 = np.ascontiguousarray(np.asarray(found, dtype=np.uint8)[order])
    thumb, _ = _resized(gray, THUMB_SIDE)
    if regions is None:
        regions = candidate_views(image)
    regions = [(name, box) for name, box in regions if name in REGION_NAMES]
    if REGION_KEYPOINTS:
        more_points, more_descriptors = _region_keypoints(gray, regions, factor)
        if more_points:
            points = np.concatenate([points, np.array(more_points, dtype=np.float32)])
            descriptors = np.ascontiguousarray(np.concatenate([descriptors, *more_descriptors]))
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
