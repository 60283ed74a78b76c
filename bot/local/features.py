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
from functools import cache, cached_property, lru_cache
from typing import NamedTuple

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
#: Text drawn over the top and bottom of a picture (the classic meme layout) can take every
#: keypoint: its letters outscore the corners of a smooth picture (a sea under white
#: outlined words kept 1 of its 362 keypoints in the middle). When the middle band
#: (:data:`MIDDLE_BAND`, a share of the height) holds under :data:`MIDDLE_SHARE` of the
#: keypoints, it gets up to :data:`MIDDLE_KEYPOINTS` of its own, found as for a whole image.
MIDDLE_BAND = (0.22, 0.78)
MIDDLE_SHARE = 0.1
MIDDLE_KEYPOINTS = 200
#: Keypoints closer than this (working pixels) count as one place for :data:`MIN_KEYPOINTS`.
PLACE = 8
#: ORB's image pyramid, as OpenCV's defaults build it: levels, the scale from one to the next,
#: and the border in which no keypoint is kept.
ORB_LEVELS = 8
ORB_SCALE = 1.2
ORB_EDGE = 31
#: Higher FAST thresholds tried first, highest first: on a textured picture FAST scores tens of
#: thousands of corners at :data:`FAST_THRESHOLD`, most of them to be thrown away, and a higher
#: threshold that keeps the same keypoints (see :func:`_orb_default`) halves ORB's time.
SHORTCUT_THRESHOLDS: tuple[int, ...] = (40, 25)
#: FAST threshold tried first on the middle levels of the pyramid (all but the finest and the
#: coarsest) once the shortcut is taken: ORB works on the picture scaled up to
#: :data:`WORK_SIDE`, so the finest levels are its smoothest, and the middle ones hold several
#: times their share of corners at 40 (a 12 MP photo: 3.3-6.3 times). A middle level that
#: fills its share at this threshold keeps it; one that does not is run at the shortcut's.
MIDDLE_THRESHOLD = 60
#: Words kept for the index (a few hundred bytes per image): those of the strongest
#: keypoints, the middle of the picture first (see :func:`index_words`).
INDEX_WORDS = 160
#: A keypoint's place in the strength order counts 1 + INDEX_CENTRE_WEIGHT * d**2 times
#: farther down, d its way from the centre to the border (0 at the centre, 1 on the border).
INDEX_CENTRE_WEIGHT = 8.0
#: Longer side of the thumbnail used for the dense check: at 128 pixels the picture inside
#: a phone screenshot is 60 pixels wide, too blurred to tell a repost at the dense check.
THUMB_SIDE = 192
THUMB_JPEG_QUALITY = 80
#: Longer side of the colour thumbnail (RGB, stored raw): all seenit keeps of an image's
#: colours. Its hashes and the dense check are grey; the colour tells apart near-blank
#: pictures that carry the same caption or stamp (see :mod:`bot.local.tone`).
COLOUR_SIDE = 16
#: Fixed-point factor of stored keypoint coordinates.
POINT_SCALE = 16

#: Names of the regions a query may be searched by, as :func:`bot.regions.candidate_views`
#: names them; their position in this tuple is their code in the blob.
REGION_NAMES = ("captioned", "screenshot of an image")

#: Blob magic: SLF2 adds the colour thumbnail to SLF1 (which is still read, without colour).
MAGIC = b"SLF2"
MAGIC_V1 = b"SLF1"
_HEADER = struct.Struct("<4sHHHBBBI")
_COLOUR = struct.Struct("<BB")
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
    #: (h, w, 3) uint8 RGB thumbnail, longer side :data:`COLOUR_SIDE`; None in blobs written
    #: before seenit kept colour.
    colour: U8 | None = None

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
            and (
                np.array_equal(self.colour, other.colour)
                if self.colour is not None and other.colour is not None
                else self.colour is other.colour
            )
        )

    def __hash__(self) -> int:
        return hash((self.width, self.height, self.descriptors.tobytes()))

    @cached_property
    def words(self) -> bytes:
        """The index's word list: sorted distinct words, :func:`index_words` (uint16 LE)."""
        size = (self.width, self.height)
        return index_words(self.word_ids, self.points, size).astype("<u2").tobytes()

    def to_bytes(self) -> bytes:
        """Compact blob for the store (keypoints, descriptors, words, JPEG thumbnail, colour
        thumbnail)."""
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
        colour = self.colour if self.colour is not None else np.zeros((0, 0, 3), np.uint8)
        tail = _COLOUR.pack(colour.shape[1], colour.shape[0]) + colour.tobytes()
        return header + regions + points + self.descriptors.tobytes() + words + thumb + tail

    @classmethod
    def from_bytes(cls, blob: bytes) -> LocalFeatures:
        """Read a blob written by :meth:`to_bytes`; raise :class:`FeaturesError` if malformed."""
        try:
            magic, width, height, n, tw, th, n_regions, thumb_len = _HEADER.unpack_from(blob)
            if magic not in (MAGIC, MAGIC_V1):
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
            at += thumb_len
            colour: U8 | None = None
            if magic == MAGIC:
                cw, ch = _COLOUR.unpack_from(blob, at)
                at += _COLOUR.size
                if cw and ch:
                    colour = np.frombuffer(blob, np.uint8, cw * ch * 3, at).reshape(ch, cw, 3)
                    at += cw * ch * 3
        except (struct.error, ValueError, IndexError, cv2.error) as exc:
            raise FeaturesError(f"malformed local-features blob: {exc}") from exc
        if thumb is None or thumb.shape != (th, tw):
            raise FeaturesError("malformed local-features blob: thumbnail")
        if at != len(blob):
            raise FeaturesError("malformed local-features blob: length")
        return cls(
            width=width,
            height=height,
            points=(points.astype(np.float32) / np.float32(POINT_SCALE)).astype(np.float32),
            descriptors=descriptors.copy(),
            word_ids=word_ids.astype(np.uint16),
            thumbnail=np.asarray(thumb, dtype=np.uint8),
            regions=tuple(regions),
            colour=None if colour is None else colour.copy(),
        )

    def region_mask(self, box: Box) -> npt.NDArray[np.bool_]:
        """Which keypoints lie inside ``box``."""
        x, y = self.points[:, 0], self.points[:, 1]
        return (x >= box.left) & (x < box.right) & (y >= box.top) & (y < box.bottom)


def index_words(
    word_ids: U16,
    points: F32 | None = None,
    size: tuple[int, int] | None = None,
    limit: int = INDEX_WORDS,
) -> U16:
    """Sorted distinct words of the keypoints that come first, at most ``limit`` of them.

    Keypoints come strongest first, and with their ``points`` in a frame of ``size``
    (width, height) the middle of the picture first: a keypoint ``k``-th in strength order
    (from 1) at distance ``d`` from the centre ranks as ``k * (1 + INDEX_CENTRE_WEIGHT *
    d**2)``, ``d`` the larger of its horizontal and vertical offsets from the centre, a
    share of half the width and half the height (1 at the edges). Every crop keeps the
    middle of a picture and loses some of its edges: a crop of the middle 60% of each side
    shares a fifth more of its original's words this way than with the strongest keypoints
    alone (a median of 20 of 160 words instead of 17, over bench/local_search.py's pictures).
    Points are rounded as the blob stores them, so reloaded features give the same words.
    """
    n = len(word_ids)
    order = np.arange(n)
    if points is not None and size is not None and n:
        width, height = max(size[0], 1), max(size[1], 1)
        stored = np.round(np.asarray(points, dtype=np.float64) * POINT_SCALE) / POINT_SCALE
        dx = np.abs(stored[:, 0] / width - 0.5)
        dy = np.abs(stored[:, 1] / height - 0.5)
        d = np.minimum(2 * np.maximum(dx, dy), 1.0)
        rank = (order + 1) * (1 + INDEX_CENTRE_WEIGHT * d * d)
        order = np.lexsort((order, rank))
    _, first = np.unique(word_ids[order], return_index=True)
    keep = order[np.sort(first)[:limit]]
    return np.sort(word_ids[keep]).astype(np.uint16)


def _distinct_places(points: F32) -> int:
    """Keypoints at distinct places: one corner is found again at every pyramid level."""
    if len(points) == 0:
        return 0
    cells = (points // PLACE).astype(np.int64)
    return len(np.unique(cells[:, 0] * 65_536 + cells[:, 1]))


def single_threaded() -> None:
    """Run OpenCV on the calling thread only: the set-up of a process that hashes.

    Workers are one process per core already. OpenCV's own threads, handed pictures this
    small, add only hand-offs and spinning: one thread costs 3-4% less CPU per fingerprint
    (``python -m bench.hashing``), with the same keypoints.
    """
    cv2.setNumThreads(1)


def _detector(keypoints: int = MAX_KEYPOINTS, threshold: int = FAST_THRESHOLD) -> cv2.Feature2D:
    orb: cv2.Feature2D = cv2.ORB.create(
        nfeatures=keypoints,
        scaleFactor=ORB_SCALE,
        nlevels=ORB_LEVELS,
        edgeThreshold=ORB_EDGE,
        fastThreshold=threshold,
    )
    return orb


def _fast(threshold: int) -> cv2.FastFeatureDetector:
    # Made per call (a few microseconds), not cached: workers=0 hashes in threads.
    return cv2.FastFeatureDetector.create(threshold, True)


@cache
def _level_quotas(keypoints: int) -> tuple[int, ...]:
    """Keypoints ORB keeps on each pyramid level, computed as OpenCV does (in float32)."""
    one = np.float32(1)
    factor = np.float32(1.0 / float(np.float32(ORB_SCALE)))
    per_level = (
        np.float32(keypoints) * (one - factor) / (one - np.float32(float(factor) ** ORB_LEVELS))
    )
    quotas = []
    for _ in range(ORB_LEVELS - 1):
        quotas.append(int(np.rint(per_level)))
        per_level = np.float32(per_level * factor)
    quotas.append(max(keypoints - sum(quotas), 0))
    return tuple(quotas)


@lru_cache(maxsize=1024)
def _level_sizes(width: int, height: int) -> tuple[tuple[int, int], ...]:
    """(width, height) of each level of ORB's pyramid, rounded as OpenCV rounds them: times the
    float inverse of the level's scale (465 / 1.2 rounds to 387, 465 * (1 / 1.2) to 388)."""
    sizes = []
    for scale in _level_scales():
        inverse = np.float32(1) / np.float32(scale)
        sizes.append(
            (int(np.rint(np.float32(width) * inverse)), int(np.rint(np.float32(height) * inverse)))
        )
    return tuple(sizes)


def _pyramid(work: U8) -> list[U8]:
    """ORB's pyramid of ``work``: each level resized from the one before, as OpenCV does."""
    levels = [work]
    for size in _level_sizes(work.shape[1], work.shape[0])[1:]:
        levels.append(
            np.asarray(
                cv2.resize(levels[-1], size, interpolation=cv2.INTER_LINEAR_EXACT), dtype=np.uint8
            )
        )
    return levels


#: FAST's circle has a radius of 3 pixels and its non-maximum suppression compares a corner with
#: its 8 neighbours: a crop this much wider than ORB's inner part scores every corner of that
#: part, and their neighbours, exactly as the whole image does.
_FAST_MARGIN = 4


def _corners(image: U8, threshold: int) -> int:
    """FAST corners (non-maximum suppressed) of ``image`` outside ORB's border.

    FAST runs on the inner part only (with :data:`_FAST_MARGIN`): on a coarse level the border
    is most of the image, and each corner found there would cost a Python object.
    """
    height, width = image.shape
    if min(width, height) <= 2 * ORB_EDGE:
        return 0
    start = ORB_EDGE - _FAST_MARGIN
    inner = image[start : height - start, start : width - start]
    found = _fast(threshold).detect(inner)
    if not found:
        return 0
    points = np.asarray(cv2.KeyPoint.convert(found), dtype=np.float32)
    x, y = points[:, 0], points[:, 1]
    low, high_x, high_y = (
        _FAST_MARGIN,
        width - 2 * start - _FAST_MARGIN,
        height - 2 * start - _FAST_MARGIN,
    )
    inside = (x >= low) & (x < high_x) & (y >= low) & (y < high_y)
    return int(np.count_nonzero(inside))


class _Found(NamedTuple):
    """Keypoints as ORB returns them, in arrays: points in the working frame, Harris responses
    and descriptors, in ORB's order (level by level)."""

    points: F32
    responses: F32
    descriptors: U8


def _found(keypoints: Sequence[cv2.KeyPoint], descriptors: U8 | None, scale: float = 1.0) -> _Found:
    """ORB's output as arrays, points multiplied by ``scale`` (float32, as ORB does)."""
    if descriptors is None or not keypoints:
        return _Found(
            np.zeros((0, 2), dtype=np.float32),
            np.zeros(0, dtype=np.float32),
            np.zeros((0, 32), dtype=np.uint8),
        )
    points = np.asarray(cv2.KeyPoint.convert(keypoints), dtype=np.float32)
    if scale != 1.0:
        points = points * np.float32(scale)
    responses = np.array([kp.response for kp in keypoints], dtype=np.float32)
    return _Found(points, responses, np.asarray(descriptors, dtype=np.uint8))


@cache
def _level_scales() -> tuple[float, ...]:
    """Factor from each pyramid level's pixels to the working frame's, as ORB computes it
    (``pow`` in double of the float scale factor, then rounded to float)."""
    return tuple(
        float(np.float32(float(np.float32(ORB_SCALE)) ** level)) for level in range(ORB_LEVELS)
    )


def _orb_level(level: U8, index: int, quota: int, threshold: int) -> _Found:
    """What ORB keeps of one pyramid level (``index``), in working-frame coordinates.

    ORB treats its levels apart (FAST, then the best Harris responses of the level's share,
    then orientation and descriptor on the blurred level), so one level given to a one-level
    ORB yields the same keypoints, responses and descriptors as the level of a whole pyramid;
    only the points are scaled back to the working frame, as ORB scales them.
    """
    if quota <= 0:
        return _found((), None)
    detector = cv2.ORB.create(
        nfeatures=quota,
        scaleFactor=ORB_SCALE,
        nlevels=1,
        edgeThreshold=ORB_EDGE,
        fastThreshold=threshold,
    )
    keypoints, descriptors = detector.detectAndCompute(level, None)
    found = None if descriptors is None else np.asarray(descriptors, dtype=np.uint8)
    return _found(keypoints, found, _level_scales()[index])


def _joined(parts: Sequence[_Found]) -> _Found:
    return _Found(
        np.concatenate([part.points for part in parts]),
        np.concatenate([part.responses for part in parts]),
        np.ascontiguousarray(np.concatenate([part.descriptors for part in parts])),
    )


def _orb_default(work: U8, keypoints: int) -> _Found:
    """ORB's keypoints at :data:`FAST_THRESHOLD`, found at a higher threshold when that is safe.

    On each pyramid level ORB keeps the ``2 q`` corners FAST scores best (``q``: the level's
    share of the keypoints), then the ``q`` of them with the best Harris response. FAST's
    score of a corner does not depend on the threshold, which only drops the corners scoring
    under it (non-maximum suppression included: a neighbour that suppresses a corner scores
    higher, so it stays too). On a level with ``2 q`` corners at a higher threshold, the same
    ``q`` keypoints and descriptors come out; FAST just scores far fewer corners.

    Counting corners on every level costs half what it saves, so only the two levels that run
    out first are counted: the finest and the coarsest. The others must at least fill their
    share, or the default threshold is used for every level. A middle level with between
    ``q`` and ``2 q`` corners sees a few other keypoints: 27 of the 5,640 pictures of the
    detection bench's tuning sets had one.

    The middle levels are tried at :data:`MIDDLE_THRESHOLD` first, which is not exact: a
    level with between ``q`` and ``2 q`` corners there keeps the ``q`` best Harris responses
    among the corners FAST scores highest, not always those the default threshold keeps (925
    of the 5,640 pictures differ from the default threshold's keypoints, 4-10% of the
    keypoints of a textured photo). The detection bench's tuning sets found the same edits,
    with the same margins, either way, and with stored features computed without it.

    The levels are those of :func:`_pyramid`, which the counts need anyway, each given to ORB
    on its own (:func:`_orb_level`): ORB does not build the pyramid a second time.
    """
    quotas = _level_quotas(keypoints)
    sizes = _level_sizes(work.shape[1], work.shape[0])
    if not SHORTCUT_THRESHOLDS or min(min(size) for size in sizes) <= 2 * ORB_EDGE:
        return _found(*_orb(work, keypoints, FAST_THRESHOLD))  # a level too small for any corner
    # A glance at the coarsest level first: one direct resize keeps more detail than ORB's
    # chain of small steps, so it seldom counts fewer corners, and it costs a tenth of the
    # pyramid. It only decides whether the exact counts are worth making.
    glance: U8 = np.asarray(cv2.resize(work, sizes[-1], interpolation=cv2.INTER_LINEAR), np.uint8)
    levels: list[U8] | None = None
    chosen = FAST_THRESHOLD
    for threshold in SHORTCUT_THRESHOLDS:
        if _corners(glance, threshold) < 2 * quotas[-1]:
            continue
        if _corners(work, threshold) < 2 * quotas[0]:
            continue
        levels = levels or _pyramid(work)
        if _corners(levels[-1], threshold) >= 2 * quotas[-1]:
            chosen = threshold
            break
    if levels is None or chosen == FAST_THRESHOLD:
        return _found(*_orb(work, keypoints, FAST_THRESHOLD))
    parts = []
    for index, (level, quota) in enumerate(zip(levels, quotas, strict=True)):
        part = None
        if 0 < index < ORB_LEVELS - 1 and chosen < MIDDLE_THRESHOLD:
            part = _orb_level(level, index, quota, MIDDLE_THRESHOLD)
        if part is None or len(part.points) != quota:
            part = _orb_level(level, index, quota, chosen)
        if len(part.points) != quota:
            # Fewer corners than the level's share: so few that the levels around it may
            # hold under 2 q too. (More: ties at the share's last response, kept by ORB.)
            return _found(*_orb(work, keypoints, FAST_THRESHOLD))
        parts.append(part)
    return _joined(parts)


def _orb(work: U8, keypoints: int, threshold: int) -> tuple[Sequence[cv2.KeyPoint], U8 | None]:
    """ORB on ``work`` with its whole pyramid: the reference the level by level run equals."""
    found, descriptors = _detector(keypoints, threshold).detectAndCompute(work, None)
    return found, None if descriptors is None else np.asarray(descriptors, dtype=np.uint8)


def _detect(work: U8, keypoints: int = MAX_KEYPOINTS) -> tuple[F32, U8] | None:
    """ORB keypoints (strongest first) and descriptors; a lower FAST threshold for smooth pictures.

    None when the picture has too few keypoints even then.
    """
    points, descriptors = _strongest_first(_orb_default(work, keypoints))
    places = _distinct_places(points)
    for threshold in LOW_TEXTURE_THRESHOLDS:
        if places >= TEXTURE_PLACES:
            break
        points, descriptors = _strongest_first(_found(*_orb(work, keypoints, threshold)))
        places = _distinct_places(points)
    if places < MIN_KEYPOINTS:
        return None
    return points, descriptors


def _middle_keypoints(work: U8, points: F32) -> tuple[F32, U8] | None:
    """Keypoints of the middle band when the image's own left it nearly bare (see
    :data:`MIDDLE_BAND`), in working-frame coordinates; None when not needed or none found."""
    height = work.shape[0]
    top, bottom = round(height * MIDDLE_BAND[0]), round(height * MIDDLE_BAND[1])
    inside = (points[:, 1] >= top) & (points[:, 1] < bottom)
    if np.count_nonzero(inside) >= MIDDLE_SHARE * len(points):
        return None
    band = np.ascontiguousarray(work[top:bottom])
    if min(band.shape) <= 2 * ORB_EDGE:
        return None
    found = _detect(band, MIDDLE_KEYPOINTS)
    if found is None:
        return None
    band_points, band_descriptors = found
    return (band_points + np.array([0, top], dtype=np.float32)).astype(np.float32), band_descriptors


def _strongest_first(found: _Found) -> tuple[F32, U8]:
    """Points and descriptors sorted by response, strongest first."""
    points, response, descriptors = found
    # Equal responses (repeated patterns) are put in the order of their position, not in the
    # order ORB happened to sort them in, which depends on how many corners FAST found.
    order = np.lexsort((points[:, 0], points[:, 1], -response))
    return points[order], np.ascontiguousarray(descriptors[order])


def _resized(gray: U8, side: int) -> tuple[U8, float]:
    """``gray`` with its longer side ``side`` pixels, and the factor applied."""
    height, width = gray.shape
    factor = side / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, size, interpolation=interpolation), dtype=np.uint8), factor


def _region_keypoints(
    gray: U8, regions: Sequence[tuple[str, Box]], factor: float
) -> tuple[list[F32], list[U8]]:
    """Keypoints of the small regions at their own scale, in working-frame coordinates."""
    height, width = gray.shape
    points: list[F32] = []
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
        found, found_descriptors = _strongest_first(_orb_default(work, REGION_KEYPOINTS))
        if not len(found):
            continue
        origin = np.array([box.left, box.top], dtype=np.float64)
        points.append(
            ((origin + found.astype(np.float64) / region_factor) * factor).astype(np.float32)
        )
        descriptors.append(found_descriptors)
    return points, descriptors


def extract_local(
    image: Image.Image,
    regions: list[tuple[str, Box]] | None = None,
    colour: U8 | None = None,
) -> LocalFeatures | None:
    """Local features of a decoded image; None when it has too little texture.

    ``regions`` are :func:`bot.regions.candidate_views` of ``image`` and ``colour`` its
    :func:`colour_thumbnail` when the caller has them already (they are computed otherwise).
    """
    gray = np.asarray(image.convert("L"))
    height, width = gray.shape
    if min(width, height) < 16:
        return None
    work, factor = _resized(gray, WORK_SIDE)
    work_h, work_w = work.shape
    detected = _detect(work)
    if detected is None:
        return None
    points, descriptors = detected
    middle = _middle_keypoints(work, points)
    if middle is not None:
        points = np.concatenate([points, middle[0]])
        descriptors = np.ascontiguousarray(np.concatenate([descriptors, middle[1]]))
    thumb, _ = _resized(gray, THUMB_SIDE)
    if regions is None:
        regions = candidate_views(image)
    regions = [(name, box) for name, box in regions if name in REGION_NAMES]
    if REGION_KEYPOINTS:
        more_points, more_descriptors = _region_keypoints(gray, regions, factor)
        if more_points:
            points = np.concatenate([points, *more_points])
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
        colour=colour_thumbnail(image) if colour is None else colour,
    )


@dataclass(frozen=True, eq=False)
class ImageSketch:
    """An image's grey thumbnail and regions, in the frame of the decoded image: what the
    blank-picture rules of :mod:`bot.local.tone` read of an image without local features."""

    width: int
    height: int
    #: Grayscale thumbnail, longer side :data:`THUMB_SIDE`, as :class:`LocalFeatures` keeps.
    thumbnail: U8
    regions: tuple[tuple[str, Box], ...]


def image_sketch(image: Image.Image, regions: Sequence[tuple[str, Box]]) -> ImageSketch:
    """The :class:`ImageSketch` of a decoded image whose :func:`bot.regions.candidate_views`
    are ``regions``."""
    thumb, _ = _resized(np.asarray(image.convert("L")), THUMB_SIDE)
    kept = tuple((name, box) for name, box in regions if name in REGION_NAMES)
    return ImageSketch(image.width, image.height, thumb, kept)


def colour_thumbnail(image: Image.Image) -> U8:
    """The (h, w, 3) RGB thumbnail of ``image``, longer side :data:`COLOUR_SIDE`."""
    rgb = image.convert("RGB")
    scale = COLOUR_SIDE / max(rgb.size)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    return np.ascontiguousarray(rgb.resize(size, Image.Resampling.BOX), dtype=np.uint8)
