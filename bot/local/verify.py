"""Is a query a repost of a stored image, judged on local features?

1. Descriptor matching (nearest neighbour, ratio test) between the two keypoint sets.
2. Geometric verification: a similarity transform (rotation, uniform scale, translation) fitted
   with RANSAC; at least :data:`MIN_INLIERS` consistent matches and a scale within
   :data:`SCALE_RANGE`.
3. The dense check: the query's thumbnail warped onto the stored one by that transform, and
   the 256-bit DCT hash of the aligned overlap compared. Inliers alone are never enough:
   screenshots of one application share dozens of consistent keypoints. When the whole
   overlap differs, its middle band alone gets a stricter second check: meme text drawn
   over the top and bottom of a picture spares the middle.
4. Templates: when the pictures agree but each image carries its own, different caption, the
   verdict says so (``template``) instead of calling it a repost.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import scipy.fftpack

from bot.local.features import LocalFeatures
from bot.local.tone import BLANK_RANGE, blank_picture, picture_box, scaled_box, tones_differ
from bot.regions import SCREENSHOT_VIEW, Box

#: Fewest RANSAC inliers for a geometric match.
MIN_INLIERS = 8
#: Lowe's ratio test on Hamming distances.
RATIO = 0.85
#: A descriptor match farther than this (of 256 bits) is noise.
MAX_DESCRIPTOR_DISTANCE = 80
#: Accepted scale between query and stored working frames.
SCALE_RANGE = (0.2, 5.0)
#: Largest tilt, in degrees, of a fit off the nearest quarter turn. Reposts are turned by a
#: few degrees (or by quarter turns); a fit at 30 degrees is a watermark or a texture that
#: happens to line up on two different pictures.
MAX_TILT = 15.0
#: Fits turned too far (see :data:`MAX_TILT`) whose matches are set aside before the others.
FITS = 3
#: Fits, each putting the matches somewhere else, examined in turn while the earlier ones
#: do not show the same picture (see :func:`_fits`).
ALIGNMENTS = 4
#: The last refit of a fit is made on the matches within this share of the threshold, and
#: kept when it keeps this share of the inliers.
TIGHT = 0.5
KEEP = 0.9
#: A fit turned by less than this many degrees is examined upright too (see
#: :func:`alignments`).
UPRIGHT = 2.0
#: Two fits whose places for the matched region are this share of the threshold apart (on
#: average) are one fit.
SAME_PLACE = 0.5
#: Two matches closer than this many working-frame pixels (one keypoint at two pyramid
#: levels) make no model.
MIN_SAMPLE_SPAN = 3.0
#: Random pairs of matches a RANSAC fit draws its models from (see :func:`_fits`).
SAMPLES = 400
#: OpenCV's fit is the first fit, without sampling, when it holds this share of the matches.
DOMINANT = 0.6
#: Least-squares refits of a RANSAC model on its growing inliers (see :func:`_refined`).
REFITS = 4
#: RANSAC reprojection threshold, as a share of the stored working image's longer side.
REPROJECTION = 0.012
#: Largest 256-bit DCT-hash distance of the aligned overlaps.
MAX_DENSE_DISTANCE = 28
#: The aligned overlap must cover at least this share of the smaller image's thumbnail.
MIN_OVERLAP = 0.25
#: Most edge cuts when looking for the rectangle inside an aligned overlap.
INNER_RECT_STEPS = 160
#: Side of an overlap, in thumbnail pixels (of 192), below which the dense check cannot be
#: trusted.
MIN_OVERLAP_SIDE = 36
#: Least share of two screenshots' shared inner picture the warped query must cover for
#: :func:`inner_distance` to compare them.
INNER_COVERED = 0.9
#: Two caption bars are at the same place when this share of the stored one is covered.
CAPTION_AGREEMENT = 0.7
#: A caption pixel differs (text against background) beyond this grey-level difference...
TEXT_CONTRAST = 64
#: ...and two captions differ when more than this share of their pixels do, and that is
#: more than this share of the text pixels of either.
TEXT_DIFFERENCE = 0.03
TEXT_CHANGED = 0.25
#: Two captions are two texts only when neither keeps this share of its marks (on the rows
#: where the bars differ, this many rows around them; a mark is kept when it and the pixels
#: around it are unchanged) in the other, and each has marks there, at least this share of
#: the differing pixels.
TEXT_KEPT = 0.25
TEXT_ROWS = 2
TEXT_MARKS = 0.1
#: Text drawn over a picture: the top and bottom bands of this share of the overlap's height
#: are left out of a second, stricter dense check of the middle band.
LETTERING_SHARE = 0.22
MAX_BAND_DISTANCE = 24
#: The band's limit when the fit lines up the windows around two screenshots' inner pictures
#: and those pictures are unrelated or cannot be compared (see :data:`ON_CAPTIONS`): text
#: drawn over the top and bottom of a picture leaves its middle band within 0-8 bits (the
#: caption overlays of quality sets 0 and 2 whose picture the detector takes for a
#: screenshot's), two chat screenshots of a blank page and of a faint chart came within 18.
MAX_WINDOWS_BAND_DISTANCE = 12
#: Dense distance over which two inner pictures are unrelated: two unrelated pictures sit
#: about 128 bits apart (a blank page and a chart in one chat layout: 120-122); one picture
#: made brighter, with its detected inner region moved, 60-62.
INNER_UNRELATED = 96
#: Two screenshots' inner pictures lined up (see :func:`inners_differ`): one blank and one
#: spread over at least DETAILED_LEVELS grey levels (10th to 90th percentile, away from the
#: top and bottom bands text is drawn over) are two pictures. Two blank ones are when their
#: levels are INNER_LEVELS apart while the window pixels between CLIPPED_WINDOW and
#: 255 - CLIPPED_WINDOW in both (a brightness or contrast change would move them; at least
#: WINDOW_SHARE of the picture's size of them) moved by at most WINDOW_KEPT_LEVELS.
DETAILED_LEVELS = 60.0
INNER_LEVELS = 12.0
CLIPPED_WINDOW = 16.0
WINDOW_KEPT_LEVELS = 2.0
WINDOW_SHARE = 0.1
#: Share of a DCT block's energy (the mean left out) in its first row or column above which
#: the picture changes along one axis only: a hash of it is decided by noise across the
#: other. Vertical stripes under a caption bar: 1.0; star fields, wallpapers, a white frame:
#: 0.34-0.78.
ONE_AXIS = 0.98
#: The aligned pictures (the overlaps, or their middle bands for text drawn over the
#: picture), reduced to :data:`AGREEMENT_SIDE` pixels, must correlate at least
#: :data:`MIN_AGREEMENT`: two different pictures whose dense hashes agree (gradients, star
#: fields, wood grain) do not.
MIN_AGREEMENT = 0.7
AGREEMENT_SIDE = 24
#: A fit whose inliers span less than this share of both images is pinned by one small
#: patch: a watermark or a logo that two different pictures share lines up as well as a
#: real repost does. Such a fit must show the same picture more surely:
#: :data:`MIN_PINNED_AGREEMENT`.
MIN_SPREAD = 0.15
MIN_PINNED_AGREEMENT = 0.85
#: A fit spread over the image (at least :data:`MIN_SPREAD`) whose aligned pictures agree
#: this closely is one picture even when its dense hash moved more than
#: :data:`MAX_DENSE_DISTANCE`: fine textures (a chessboard, grass, noise added to a photo)
#: move a DCT hash more than they move the picture. The closer of the whole overlap and its
#: middle band must still stay within :data:`MAX_TEXTURE_DISTANCE`. On the tuning sets,
#: wrong pairs spread that far agree at 0.67 at most and sit 104 bits or more apart. Only
#: for bare pictures: when either image frames its picture (a caption bar, a chat window),
#: the frame decides the correlation. Two chat screenshots of different smooth pictures,
#: lined up on the glyphs of their messages, agree at 0.96-0.97 within 38-48 bits.
TEXTURE_AGREEMENT = 0.95
MAX_TEXTURE_DISTANCE = 48
#: A fit whose inliers lie this much in the caption bars of both images lines up two captions
#: and says nothing of the pictures under them: the same words over a photo of the sea and
#: over a flat block line up as well as a repost does, and one caption over two star
#: clusters within 28 bits. When either picture is blank (see
#: :func:`bot.local.tone.blank_picture`), the pictures themselves (without their bars) are
#: judged instead of the whole overlap, within :data:`MAX_DENSE_DISTANCE`, when they can be
#: compared; when neither is and the fit does not turn the picture, they must agree besides
#: the whole overlap (alone they would pass the same picture under two captions whose texts
#: were not told apart). Not for a turned fit on two bars: a plain band of a wallpaper
#: passes for a bar, and a fit pinned on the logo in it lines a turned copy up too loosely
#: to compare the stripes above.
#: Likewise a fit whose inliers lie this much around the inner pictures of two screenshots
#: lines up their windows (the glyphs of chat messages): when the whole overlap differs and
#: the inner pictures do not agree, its middle band must agree closely to speak for it.
ON_CAPTIONS = 0.8
#: A global match is refuted only by a fit pinned tighter than this (see
#: :func:`pictures_differ`).
REFUTE_SPREAD = 0.05
#: ...and lines the two pictures up within this many degrees of a quarter turn: a stamp two
#: pictures share lines up unturned (give or take 4 degrees: a fit on a patch of a few
#: dozen pixels is loose). Eight matches of noise can fit a small patch at any turn the
#: search allows (12 degrees, on a phone screenshot of a storm photo).
REFUTE_TILT = 8.0
#: Rotations below this many degrees are not worth mentioning.
ROTATION_WORDS_MIN = 1.5
#: The query shows less than this share of the stored picture: "cropped".
CROP_SHARE = 0.92
#: The stored picture fills less than this share of the query: something was added.
ADDED_SHARE = 0.92
#: Caption bars take less than half of a captioned image: the picture fills more than this.
CAPTIONED_SHARE = 0.5
#: Share of the query's width within which the stored picture counts as touching an edge.
EDGE = 0.03

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class LocalVerdict:
    """A local-stage match: how the query relates to the stored image."""

    inliers: int
    #: 256-bit DCT-hash distance of the aligned overlaps (0 = identical).
    dense_distance: int
    #: Rotation of the query relative to the stored image, degrees counter-clockwise.
    rotation: float
    #: Query size / stored size of the same content.
    scale: float
    #: What was done to the stored picture, in plain words ("cropped", "captioned", ...).
    edit: str
    #: Same picture, but each image has its own different caption: a new meme, not a repost.
    template: bool = False

    @property
    def repost(self) -> bool:
        return not self.template


@dataclass(frozen=True, slots=True)
class _Alignment:
    matrix: F64  # 2x3, query working frame -> stored working frame
    inliers: int
    rotation: float
    scale: float
    #: Share of the image the inliers span (the larger of the two images' shares).
    spread: float
    #: The inliers lie in the caption bars of both images (see :data:`ON_CAPTIONS`).
    on_captions: bool = False
    #: The inliers lie around the inner pictures of two screenshots (see :data:`ON_CAPTIONS`).
    on_chrome: bool = False


@dataclass(frozen=True, slots=True)
class Examination:
    """Everything the decision looks at for one pair that matched geometrically."""

    inliers: int
    rotation: float
    scale: float
    #: Dense distance of the aligned overlap; None when the overlap is too small to judge.
    dense_distance: int | None
    #: Both images carry a caption bar, and the bars hold different text or sit at different
    #: places.
    different_captions: bool
    #: Dense distance of the two pictures without their caption bars (None: not both captioned).
    template_distance: int | None
    edit: str
    #: Dense distance of the overlap's middle band (text drawn over the top or bottom of a
    #: picture spares it); None when the whole overlap agreed or the band is too small.
    band_distance: int | None = None
    #: Share of the image the inliers span (see :data:`MIN_SPREAD`).
    spread: float = 1.0
    #: Correlation of the aligned pictures (see :data:`MIN_AGREEMENT`); None when the
    #: overlap is too small to judge.
    agreement: float | None = None
    #: Either image shows its picture in a frame of its own (a caption bar, a screenshot's
    #: window: see :data:`bot.local.features.REGION_NAMES`).
    framed: bool = False
    #: The fit lines up the two caption bars only, and either picture is blank (see
    #: :data:`ON_CAPTIONS`).
    on_captions: bool = False
    #: Both pictures are blank and of different colours (see :mod:`bot.local.tone`).
    tones_differ: bool = False
    #: The fit lines up the caption bars only, unturned, and neither picture is blank: the
    #: pictures under the bars must agree too, when they can be compared (see
    #: :data:`ON_CAPTIONS`).
    captions_only: bool = False
    #: The fit lines up the windows around two screenshots' inner pictures (see
    #: :attr:`_Alignment.on_chrome`).
    on_chrome: bool = False
    #: Dense distance of the two inner pictures once lined up (see :func:`inner_distance`);
    #: None when the fit is not on the windows or the pictures cannot be compared.
    inner_distance: int | None = None
    #: The fit lines up two screenshots' inner pictures, and they are two pictures (see
    #: :func:`inners_differ`).
    inners_differ: bool = False

    @property
    def pictures_differ(self) -> bool:
        """The fit found lines up two pictures that do not agree (see :data:`MIN_AGREEMENT`):
        evidence that the images are not one picture, whatever else matched."""
        return self.agreement is not None and self.agreement < agreement_floor(self.spread)

    @property
    def closest_distance(self) -> int | None:
        """The closer of the whole overlap's and its middle band's dense distances."""
        if self.dense_distance is None or self.band_distance is None:
            return self.dense_distance
        return min(self.dense_distance, self.band_distance)

    @property
    def pinned_on_band(self) -> bool:
        """A fit pinned on one patch (see :data:`MIN_SPREAD`) whose whole overlap differs."""
        return self.spread < MIN_SPREAD and (
            self.dense_distance is None or self.dense_distance > MAX_DENSE_DISTANCE
        )

    @property
    def margin(self) -> int | None:
        """How many bits the closest of the dense checks stayed above its limit (negative or
        zero: within it); None when the overlap is too small to judge."""
        if self.dense_distance is None:
            return None
        margin = self.dense_distance - MAX_DENSE_DISTANCE
        if self.band_distance is not None:
            margin = min(margin, self.band_distance - MAX_BAND_DISTANCE)
        texture = self.texture_agreement
        closest = self.closest_distance
        if texture is not None and texture >= TEXTURE_AGREEMENT and closest is not None:
            margin = min(margin, closest - MAX_TEXTURE_DISTANCE)
        return margin

    @property
    def texture_agreement(self) -> float | None:
        """The agreement the texture path judges (see :data:`TEXTURE_AGREEMENT`): that of a
        fit over much of two bare pictures; None for any other fit."""
        if self.framed or self.spread < MIN_SPREAD or self.dense_distance is None:
            return None
        return self.agreement

    @property
    def same_texture(self) -> bool:
        """A fit over much of two bare pictures lining them up to agree closely, though their
        dense hashes differ (see :data:`TEXTURE_AGREEMENT`)."""
        agreed = self.texture_agreement
        closest = self.closest_distance
        return (
            agreed is not None
            and closest is not None
            and agreed >= TEXTURE_AGREEMENT
            and closest <= MAX_TEXTURE_DISTANCE
        )

    @property
    def verdict(self) -> LocalVerdict | None:
        """The decision: a repost, a template, or nothing (None).

        A template needs evidence of two captions: both images carry a caption bar, and the
        bars hold different text (or sit at different places). An edit of one picture
        (brighter, turned, re-encoded) is never a template, whatever its dense distance.
        """
        if self.dense_distance is None:
            return None
        if self.pictures_differ or self.tones_differ or self.inners_differ:
            return None
        if (
            self.captions_only
            and self.template_distance is not None
            and self.template_distance > MAX_DENSE_DISTANCE
        ):
            return None
        if self.on_captions and not self.different_captions and self.template_distance is not None:
            if self.template_distance > MAX_DENSE_DISTANCE:
                return None
            return LocalVerdict(
                self.inliers, self.template_distance, self.rotation, self.scale, self.edit
            )
        if self.dense_distance <= MAX_DENSE_DISTANCE and not self.different_captions:
            return LocalVerdict(
                self.inliers, self.dense_distance, self.rotation, self.scale, self.edit
            )
        # The whole overlap differs: its middle band may still say one picture with text
        # drawn over it, but two screenshots lined up by their windows alone need the band
        # to agree closely (see :data:`MAX_WINDOWS_BAND_DISTANCE`).
        band_limit = MAX_BAND_DISTANCE
        if self.on_chrome and (
            self.inner_distance is None or self.inner_distance > INNER_UNRELATED
        ):
            band_limit = MAX_WINDOWS_BAND_DISTANCE
        if (
            not self.different_captions
            and self.band_distance is not None
            and self.band_distance <= band_limit
        ):
            return LocalVerdict(
                self.inliers,
                self.dense_distance,
                self.rotation,
                self.scale,
                "text added over the picture",
            )
        if not self.different_captions and self.same_texture:
            return LocalVerdict(
                self.inliers, self.dense_distance, self.rotation, self.scale, self.edit
            )
        if (
            self.different_captions
            and self.template_distance is not None
            and self.template_distance <= MAX_DENSE_DISTANCE
        ):
            return LocalVerdict(
                self.inliers,
                self.dense_distance,
                self.rotation,
                self.scale,
                "same picture with another caption",
                template=True,
            )
        return None


def judge_local(query: LocalFeatures, stored: LocalFeatures) -> LocalVerdict | None:
    """The local verdict for ``query`` against ``stored``; None when it is not a repost."""
    examination = examine(query, stored)
    return None if examination is None else examination.verdict


def pictures_differ(query: LocalFeatures, stored: LocalFeatures) -> bool:
    """Whether an unturned fit pinned on one small patch (its inliers under :data:`REFUTE_SPREAD` of
    the image: a stamp, a logo) lines up pictures that do not agree.

    Evidence against a global match: a stamp two smooth pictures share explains how their
    global hashes came together. A fit over most of the image that disagrees is more likely
    a wrong fit on a repeating texture (a brighter copy of a patterned wallpaper lined up a
    little off) than a sign of two pictures. Only the fit, the overlap and the agreement are
    computed: cheaper than :func:`examine`.

    Two blank pictures of different colours differ whatever lines them up (see
    :func:`bot.local.tone.tones_differ`): a caption or a stamp they share is all their grey
    hashes see. So do two screenshots' inner pictures the fit lines up that
    :func:`inners_differ` tells apart: the window is all their hashes see.
    """
    if tones_differ(query, stored):
        return True
    alignment = align(query, stored)
    if alignment is None:
        return False
    if inners_differ(query, stored, alignment.matrix):
        return True
    if alignment.spread >= REFUTE_SPREAD:
        return False
    if abs((alignment.rotation + 45.0) % 90.0 - 45.0) > REFUTE_TILT:
        return False
    dense = dense_distance(query, stored, alignment.matrix)
    if dense is None:
        return False
    found = agreement(query, stored, alignment.matrix, dense[1])
    return found < agreement_floor(alignment.spread)


def agreement_floor(spread: float) -> float:
    """The least agreement a fit whose inliers span ``spread`` of the image must show."""
    return MIN_PINNED_AGREEMENT if spread < MIN_SPREAD else MIN_AGREEMENT


def examine(query: LocalFeatures, stored: LocalFeatures) -> Examination | None:
    """Geometric verification, then the dense and caption checks; None without a geometric match.

    The fits of :func:`alignments` are examined in turn until one gives a verdict; when none
    does, the examination that came closest to one (see :attr:`Examination.margin`).
    """
    toned = tones_differ(query, stored)
    closest: Examination | None = None
    for tried, alignment in enumerate(alignments(query, stored)):
        found = _examine_fit(query, stored, alignment, toned)
        # A later fit pinned on one patch is one more chance for two screenshots of one
        # application to line up on their window's chrome: it must show the whole overlap
        # agreeing, not only its middle band.
        if found.verdict is not None:
            if tried == 0 or not found.pinned_on_band:
                return found
            continue
        if closest is None or _nearer(found, closest):
            closest = found
        if toned or found.inners_differ:
            break
    return closest


def _nearer(a: Examination, b: Examination) -> bool:
    """Whether ``a`` came closer to a verdict than ``b``."""
    if a.margin is None:
        return False
    return b.margin is None or a.margin < b.margin


def _examine_fit(
    query: LocalFeatures, stored: LocalFeatures, alignment: _Alignment, toned: bool
) -> Examination:
    """The dense and caption checks of one fit (``toned``: :func:`tones_differ` of the pair)."""
    dense = dense_distance(query, stored, alignment.matrix)
    if dense is None:
        return Examination(
            alignment.inliers,
            alignment.rotation,
            alignment.scale,
            None,
            False,
            None,
            "",
            spread=alignment.spread,
        )
    distance, overlap = dense
    differ = different_captions(query, stored, alignment.matrix)
    on_captions = alignment.on_captions and (blank_picture(query) or blank_picture(stored))
    captions_only = (
        alignment.on_captions and not on_captions and abs(alignment.rotation) < ROTATION_WORDS_MIN
    )
    inner = inner_distance(query, stored, alignment.matrix) if alignment.on_chrome else None
    inners = not toned and inners_differ(query, stored, alignment.matrix)
    template = None
    band = None
    if differ or on_captions:
        template = template_distance(query, stored, alignment.matrix)
    elif captions_only:
        template = template_distance(query, stored, alignment.matrix, decisive=True)
    if not differ and distance > MAX_DENSE_DISTANCE:
        band = band_distance(query, stored, alignment.matrix, overlap)
    return Examination(
        inliers=alignment.inliers,
        rotation=alignment.rotation,
        scale=alignment.scale,
        dense_distance=distance,
        different_captions=differ,
        template_distance=template,
        edit=describe(query, stored, alignment, overlap),
        band_distance=band,
        spread=alignment.spread,
        agreement=agreement(query, stored, alignment.matrix, overlap),
        framed=bool(query.regions or stored.regions),
        on_captions=on_captions,
        tones_differ=toned,
        captions_only=captions_only,
        on_chrome=alignment.on_chrome,
        inner_distance=inner,
        inners_differ=inners,
    )


def _bands(overlap: Box) -> tuple[Box, Box, Box]:
    """The top, middle and bottom bands of an overlap (meme lettering sits top and bottom)."""
    edge = int((overlap.bottom - overlap.top) * LETTERING_SHARE)
    top = Box(overlap.left, overlap.top, overlap.right, overlap.top + edge)
    middle = Box(overlap.left, overlap.top + edge, overlap.right, overlap.bottom - edge)
    bottom = Box(overlap.left, overlap.bottom - edge, overlap.right, overlap.bottom)
    return top, middle, bottom


def band_distance(
    query: LocalFeatures, stored: LocalFeatures, matrix: F64, overlap: Box
) -> int | None:
    """Dense distance of the overlap without its top and bottom bands."""
    found = dense_distance(query, stored, matrix, _bands(overlap)[1])
    return None if found is None else found[0]


def agreement(query: LocalFeatures, stored: LocalFeatures, matrix: F64, overlap: Box) -> float:
    """How well the aligned pictures correlate: the better of the whole overlap and its
    middle band, both reduced to :data:`AGREEMENT_SIDE` pixels (-1 to 1; 0 when flat)."""
    warped, _ = _warp(query, stored, matrix)
    best = 0.0
    for box in (overlap, _bands(overlap)[1]):
        if box.bottom - box.top < 2 or box.right - box.left < 2:
            continue
        size = (AGREEMENT_SIDE, AGREEMENT_SIDE)
        a = stored.thumbnail[box.top : box.bottom, box.left : box.right]
        b = warped[box.top : box.bottom, box.left : box.right]
        small_a = cv2.resize(a, size, interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
        small_b = cv2.resize(b, size, interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
        if small_a.std() < 1.0 or small_b.std() < 1.0:
            continue
        best = max(best, float(np.corrcoef(small_a, small_b)[0, 1]))
    return best


def align(query: LocalFeatures, stored: LocalFeatures) -> _Alignment | None:
    """Fit a similarity transform query -> stored on matched keypoints; None if none holds."""
    return next(alignments(query, stored), None)


def alignments(query: LocalFeatures, stored: LocalFeatures) -> Iterator[_Alignment]:
    """Similarity fits query -> stored, the best first (see :func:`_fits`)."""
    if len(query) < MIN_INLIERS or len(stored) < MIN_INLIERS:
        return
    # The two nearest stored descriptors of each query descriptor, as arrays: knnMatch's
    # DMatch objects cost more to read in Python than the matching itself.
    distances, nearest = cv2.batchDistance(
        query.descriptors, stored.descriptors, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2
    )
    best, second = distances[:, 0], distances[:, 1]
    kept = (best <= MAX_DESCRIPTOR_DISTANCE) & (best < RATIO * second)
    src = np.ascontiguousarray(query.points[kept], dtype=np.float32)
    dst = np.ascontiguousarray(stored.points[nearest[kept, 0]], dtype=np.float32)
    threshold = REPROJECTION * max(stored.width, stored.height)
    for matrix, inliers in _fits(src, dst, threshold):
        found = _alignment(query, stored, src, dst, matrix, inliers)
        if found is None:
            continue
        yield found
        if 0.0 < abs(found.rotation) < UPRIGHT:
            # Few inliers on one side of a smooth picture leave the turn loose: a crop turned
            # by a degree misses the dense check by a few bits. Most crops are not turned.
            upright = _least_squares(src[inliers], dst[inliers], turn=False)
            if upright is not None:
                kept = _errors(src, dst, upright) < threshold
                if np.count_nonzero(kept) >= MIN_INLIERS:
                    straight = _alignment(query, stored, src, dst, upright, kept)
                    if straight is not None:
                        yield straight


def _alignment(
    query: LocalFeatures,
    stored: LocalFeatures,
    src: F32,
    dst: F32,
    matrix: F64,
    inliers: npt.NDArray[np.bool_],
) -> _Alignment | None:
    """The fit ``matrix`` described; None when its scale or turn is no repost's."""
    a, b = float(matrix[0, 0]), float(matrix[1, 0])
    scale = math.hypot(a, b)  # stored units per query unit
    # The stored image is the query rotated back: the query's rotation is the opposite.
    rotation = -math.degrees(math.atan2(b, a))
    if not _repost_like(matrix):
        return None
    spread = max(_spread(src[inliers], query), _spread(dst[inliers], stored))
    on_captions = _in_captions(src[inliers], query) and _in_captions(dst[inliers], stored)
    on_chrome = _around_inner(src[inliers], query) and _around_inner(dst[inliers], stored)
    return _Alignment(
        matrix, int(inliers.sum()), rotation, 1.0 / scale, spread, on_captions, on_chrome
    )


def _spread(points: F32, features: LocalFeatures) -> float:
    """Share of the image's working frame covered by the bounding box of ``points``."""
    low, high = points.min(axis=0), points.max(axis=0)
    return float((high[0] - low[0]) * (high[1] - low[1]) / (features.width * features.height))


def _in_captions(points: F32, features: LocalFeatures) -> bool:
    """Whether :data:`ON_CAPTIONS` of ``points`` lie in the image's caption bars (False for
    an image without any)."""
    if _picture_box(features) is None:
        return False
    return _mostly_outside(points, picture_box(features))


def _around_inner(points: F32, features: LocalFeatures) -> bool:
    """Whether :data:`ON_CAPTIONS` of ``points`` lie outside the inner picture of a
    screenshot, on its window (False for an image without one)."""
    box = _inner_box(features)
    return box is not None and _mostly_outside(points, box)


def _mostly_outside(points: F32, box: Box) -> bool:
    """Whether :data:`ON_CAPTIONS` of ``points`` lie outside ``box``."""
    x, y = points[:, 0], points[:, 1]
    inside = (x >= box.left) & (x < box.right) & (y >= box.top) & (y < box.bottom)
    return float(np.mean(~inside)) >= ON_CAPTIONS


def _fits(src: F32, dst: F32, threshold: float) -> Iterator[tuple[F64, npt.NDArray[np.bool_]]]:
    """RANSAC similarity fits within :data:`SCALE_RANGE` and :data:`MAX_TILT`, best first:
    each a matrix and which matches are its inliers; at most :data:`ALIGNMENTS`.

    Models come from :data:`SAMPLES` random pairs of matches (seeded: the same pair always
    gets the same fits) and only those a repost can have are scored. Left unconstrained, the
    best consensus is often a degenerate fit: a cluster of keypoints repeated across
    pyramid levels pulls every query point onto one stored spot. On a repeating picture (a
    chart, a chessboard, code) a shifted copy of the pattern can line up more matches than
    the real place of a crop: the next fits are the best models that put the matches
    elsewhere.
    """
    n = len(src)
    if n < MIN_INLIERS:
        return
    # OpenCV's RANSAC fit, any scale and turn: when even it finds too few inliers (most
    # pairs of different pictures), no constrained fit can have more. Its model competes
    # with the sampled ones.
    opencv, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=2000
    )
    if opencv is None or mask is None or np.count_nonzero(mask) < MIN_INLIERS:
        return
    model: F64 = np.asarray(opencv, dtype=np.float64)
    found: list[F64] = []
    if np.count_nonzero(mask) >= DOMINANT * n and _repost_like(model):
        # Most pairs that get this far are reposts whose matches nearly all agree: no sampled
        # model can cost less than that consensus, and they are scored only if a later fit
        # is asked for.
        matrix, inliers = _refined(src, dst, model, threshold)
        found.append(matrix)
        yield matrix, inliers
    rng = np.random.default_rng(n)
    first, second = rng.integers(0, n, SAMPLES), rng.integers(0, n, SAMPLES)
    zs = src[:, 0].astype(np.float64) + 1j * src[:, 1].astype(np.float64)
    zd = dst[:, 0].astype(np.float64) + 1j * dst[:, 1].astype(np.float64)
    span_s, span_d = zs[second] - zs[first], zd[second] - zd[first]
    # One keypoint found at two pyramid levels gives no direction and no scale.
    usable = (np.abs(span_s) > MIN_SAMPLE_SPAN) & (np.abs(span_d) > MIN_SAMPLE_SPAN)
    ratio = span_d[usable] / span_s[usable]  # scale and rotation, as one complex number
    shift = zd[first][usable] - ratio * zs[first][usable]
    ratio = np.append(ratio, model[0, 0] + 1j * model[1, 0])
    shift = np.append(shift, model[0, 2] + 1j * model[1, 2])
    turn = np.degrees(np.angle(ratio))
    tilt = np.abs((turn + 45.0) % 90.0 - 45.0)
    scale = np.abs(ratio)
    sized = (scale >= SCALE_RANGE[0]) & (scale <= SCALE_RANGE[1])
    ratio, shift, tilted = ratio[sized], shift[sized], tilt[sized] > MAX_TILT
    predicted = ratio[:, None] * zs[None, :] + shift[:, None]
    errors = np.abs(predicted - zd[None, :])
    # MSAC: a match costs its squared error, at most the threshold's. Counting inliers alone
    # ties a fit of many exact matches with a tilted one that keeps as many in the threshold.
    costs = (np.minimum(errors, threshold) ** 2).sum(axis=1)
    # A picture turned like no repost is (a shared watermark at 30 degrees) has its matches
    # taken by that turn: they count for no other fit.
    for _ in range(FITS):
        if len(costs) == 0 or not tilted[np.argmin(costs)]:
            break
        taken = errors[int(np.argmin(costs))] < threshold
        errors[:, taken] = threshold
        costs = (np.minimum(errors, threshold) ** 2).sum(axis=1)
    ratio, shift = ratio[~tilted], shift[~tilted]
    errors, costs = errors[~tilted], costs[~tilted]
    # Every model that puts the matched region where a fit or its sample does is one place:
    # judged on the corners and the centre of the query points' bounding box.
    low, high = src.min(axis=0), src.max(axis=0)
    marks = np.array([low, high, [low[0], high[1]], [high[0], low[1]], (low + high) / 2])
    at = marks[:, 0] + 1j * marks[:, 1]
    models = ratio[:, None] * at[None, :] + shift[:, None]
    for matrix in found:
        costs = np.where(_placed_at(models, at, matrix, threshold), np.inf, costs)
    counts = np.count_nonzero(errors < threshold, axis=1)
    for attempt in range(len(found), 2 * ALIGNMENTS):
        if len(costs) == 0 or len(found) == ALIGNMENTS:
            return
        # The second fit is the one with most inliers: MSAC can prefer a tight cluster of
        # matches to more of them spread over the picture.
        if attempt == 1:
            best = int(np.argmax(np.where(costs == np.inf, -1, counts)))
        else:
            best = int(np.argmin(costs))
        if costs[best] == np.inf or np.count_nonzero(errors[best] < threshold) < MIN_INLIERS:
            return
        matrix, inliers = _refined(src, dst, _matrix(ratio[best], shift[best]), threshold)
        same = _placed_at(models, at, matrix, threshold)
        same |= np.abs(models - models[best][None, :]).mean(axis=1) < threshold * SAME_PLACE
        costs = np.where(same, np.inf, costs)
        if any(_same_place(src, matrix, other, threshold * SAME_PLACE) for other in found):
            continue
        found.append(matrix)
        yield matrix, inliers


def _repost_like(matrix: F64) -> bool:
    """Whether a fit's scale and turn are a repost's (:data:`SCALE_RANGE`, :data:`MAX_TILT`)."""
    ratio = complex(matrix[0, 0], matrix[1, 0])
    tilt = abs((math.degrees(math.atan2(ratio.imag, ratio.real)) + 45.0) % 90.0 - 45.0)
    return SCALE_RANGE[0] <= abs(ratio) <= SCALE_RANGE[1] and tilt <= MAX_TILT


def _placed_at(
    models: npt.NDArray[np.complex128],
    at: npt.NDArray[np.complex128],
    matrix: F64,
    threshold: float,
) -> npt.NDArray[np.bool_]:
    """Which sampled models (``models``: where each takes the marks ``at``) put the marks
    within :data:`SAME_PLACE` of the threshold of where ``matrix`` does."""
    place = at * (matrix[0, 0] + 1j * matrix[1, 0]) + matrix[0, 2] + 1j * matrix[1, 2]
    return np.asarray(np.abs(models - place[None, :]).mean(axis=1) < threshold * SAME_PLACE)


def _matrix(ratio: complex, shift: complex) -> F64:
    """The 2x3 matrix of the similarity z -> ratio z + shift."""
    return np.array(
        [[ratio.real, -ratio.imag, shift.real], [ratio.imag, ratio.real, shift.imag]],
        dtype=np.float64,
    )


def _same_place(src: F32, a: F64, b: F64, threshold: float) -> bool:
    """Whether two fits put the query's matched points within ``threshold`` of each other."""
    moved = (src @ a[:, :2].T + a[:, 2]) - (src @ b[:, :2].T + b[:, 2])
    return bool(np.median(np.hypot(moved[:, 0], moved[:, 1])) < threshold)


def _refined(
    src: F32, dst: F32, matrix: F64, threshold: float
) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Least-squares refits on the inliers while they lower the MSAC cost (see :func:`_fits`).

    RANSAC keeps the model of its best two-point sample: a few degrees off when those two
    points lie close together, and the matches farther away fall outside the threshold
    (a crop of a screenshot lined up on two letters of one word).
    """
    errors = _errors(src, dst, matrix)
    cost = _cost(errors, threshold)
    for _ in range(REFITS):
        close = errors < threshold
        if int(close.sum()) < MIN_INLIERS:
            break
        fitted = _least_squares(src[close], dst[close])
        if fitted is None:
            break
        fitted_errors = _errors(src, dst, fitted)
        fitted_cost = _cost(fitted_errors, threshold)
        if fitted_cost >= cost:
            break
        matrix, errors, cost = fitted, fitted_errors, fitted_cost
    # Last, the closest matches alone: those near the threshold pull a fit of many exact
    # ones off by a fraction of a degree, which moves the dense hash of lines of text.
    close = errors < threshold * TIGHT
    if int(close.sum()) >= MIN_INLIERS:
        fitted = _least_squares(src[close], dst[close])
        if fitted is not None:
            fitted_errors = _errors(src, dst, fitted)
            kept = np.count_nonzero(fitted_errors < threshold)
            if kept >= KEEP * np.count_nonzero(errors < threshold):
                matrix, errors = fitted, fitted_errors
    return matrix, errors < threshold


def _errors(src: F32, dst: F32, matrix: F64) -> F64:
    """Distance of each match's stored point from where ``matrix`` takes its query point."""
    return np.asarray(np.hypot(*(src @ matrix[:, :2].T + matrix[:, 2] - dst).T), dtype=np.float64)


def _cost(errors: F64, threshold: float) -> float:
    """MSAC cost: squared errors, each at most the threshold's square."""
    return float((np.minimum(errors, threshold) ** 2).sum())


def _least_squares(src: F32, dst: F32, *, turn: bool = True) -> F64 | None:
    """The similarity transform mapping ``src`` onto ``dst`` best in the least-squares sense
    (``turn`` False: a scale and a shift only)."""
    x, y = src[:, 0].astype(np.float64), src[:, 1].astype(np.float64)
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    # x' = a x - b y + tx ; y' = b x + a y + ty
    columns = [np.concatenate([x, y]), np.concatenate([ones, zeros]), np.concatenate([zeros, ones])]
    if turn:
        columns.insert(1, np.concatenate([-y, x]))
    system = np.stack(columns, axis=1)
    target = np.concatenate([dst[:, 0], dst[:, 1]]).astype(np.float64)
    solution, _, rank, _ = np.linalg.lstsq(system, target, rcond=None)
    if rank < len(columns):
        return None
    a, b, tx, ty = solution if turn else (solution[0], 0.0, *solution[1:])
    if not turn and a <= 0:
        return None
    return np.array([[a, -b, tx], [b, a, ty]], dtype=np.float64)


def _thumb_matrix(query: LocalFeatures, stored: LocalFeatures, matrix: F64) -> F64:
    """The query -> stored transform between thumbnails instead of working frames."""
    sq = query.thumbnail.shape[1] / query.width
    ss = stored.thumbnail.shape[1] / stored.width
    out = matrix.copy()
    out[:, :2] *= ss / sq
    # Pixel centres: a resize by k maps x to k x + (k - 1) / 2. Left out, a half-pixel
    # error turns into a pixel once the query is upside down, and caption text compared
    # pixel by pixel differs along every stroke.
    centre = np.full(2, (sq - 1) / 2)
    out[:, 2] = ss * matrix[:, 2] + (ss - 1) / 2 - out[:, :2] @ centre
    return out


def _inner_rect(mask: npt.NDArray[np.bool_]) -> Box | None:
    """A large axis-aligned rectangle inside ``mask`` (rows/columns almost fully covered)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0 or len(cols) == 0:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    # A query turned by 10 degrees covers a tilted rectangle: reaching the rectangle inside it
    # takes a cut of about a sixth of each side, 30-60 steps.
    for _ in range(INNER_RECT_STEPS):
        block = mask[top:bottom, left:right]
        if block.size == 0:
            return None
        if block.all():
            return Box(int(left), int(top), int(right), int(bottom))
        # Cut the worst edge (most uncovered pixels) by one pixel.
        edges = [
            (1.0 - block[0].mean(), "top"),
            (1.0 - block[-1].mean(), "bottom"),
            (1.0 - block[:, 0].mean(), "left"),
            (1.0 - block[:, -1].mean(), "right"),
        ]
        _, edge = max(edges)
        step = max(1, min(bottom - top, right - left) // 40)
        if edge == "top":
            top += step
        elif edge == "bottom":
            bottom -= step
        elif edge == "left":
            left += step
        else:
            right -= step
    block = mask[top:bottom, left:right]
    if block.size and block.mean() > 0.995:
        return Box(int(left), int(top), int(right), int(bottom))
    return None


def _warp(
    query: LocalFeatures, stored: LocalFeatures, matrix: F64, image: U8 | None = None
) -> tuple[U8, npt.NDArray[np.bool_]]:
    """The query thumbnail (or ``image`` of its size) in the stored thumbnail's frame, and
    which pixels it covers."""
    m = _thumb_matrix(query, stored, matrix)
    h, w = stored.thumbnail.shape
    source = query.thumbnail if image is None else image
    warped = cv2.warpAffine(source, m, (w, h), flags=cv2.INTER_LINEAR)
    coverage = cv2.warpAffine(
        np.full(query.thumbnail.shape, 255, dtype=np.uint8), m, (w, h), flags=cv2.INTER_NEAREST
    )
    return np.asarray(warped, dtype=np.uint8), np.asarray(coverage) > 0


def _caption_zone(features: LocalFeatures) -> npt.NDArray[np.bool_] | None:
    """Thumbnail pixels outside the picture (the caption bars); None without a caption."""
    box = _picture_box(features)
    if box is None:
        return None
    h, w = features.thumbnail.shape
    factor = w / features.width
    zone = np.ones((h, w), dtype=np.bool_)
    zone[int(box.top * factor) : math.ceil(box.bottom * factor), :] = False
    return zone if zone.any() else None


def different_captions(query: LocalFeatures, stored: LocalFeatures, matrix: F64) -> bool:
    """Whether both images carry a caption bar and the captions differ.

    Bars at the same place are compared pixel by pixel, once the query's grey levels are
    fitted to the stored ones (a brighter or darker copy has the same text). Bars at
    different places, each outside the other image (a caption above one picture, below the
    other), differ.
    """
    s_zone = _caption_zone(stored)
    q_zone = _caption_zone(query)
    if s_zone is None or q_zone is None:
        return False
    warped, coverage = _warp(query, stored, matrix)
    q_zone_warped, _ = _warp(query, stored, matrix, q_zone.astype(np.uint8) * 255)
    q_in_stored = (q_zone_warped > 127) & coverage
    shared = s_zone & q_in_stored
    if shared.sum() < CAPTION_AGREEMENT * min(s_zone.sum(), max(1, q_in_stored.sum())):
        # The bars do not line up. Two captions when each bar lies outside the other image
        # (one above the picture, one below it); not when a bar is inside the other image
        # (a screenshot of a captioned meme shows its caption, and its own title bar).
        s_out = (s_zone & coverage).sum() <= (1 - CAPTION_AGREEMENT) * s_zone.sum()
        q_out = q_in_stored.sum() <= (1 - CAPTION_AGREEMENT) * q_zone.sum() * _area_ratio(
            query, stored, matrix
        )
        return bool(s_out and q_out)
    gain, offset = _fit_levels(
        warped[shared].astype(np.float64), stored.thumbnail[shared].astype(np.float64)
    )
    fitted = np.clip(warped.astype(np.float64) * gain + offset, 0, 255).astype(np.uint8)
    differing = shared & (np.abs(fitted.astype(np.int16) - stored.thumbnail) > TEXT_CONTRAST)
    # Each bar on its own (above the picture, below it): a plain band of the picture taken
    # for a second bar must not dilute the text of the real one.
    rows = np.flatnonzero(~s_zone.all(axis=1))
    if len(rows) == 0:
        return _texts_differ(differing, shared, fitted, stored.thumbnail)
    above = np.zeros_like(shared)
    above[: rows[0]] = True
    return any(
        _texts_differ(differing & part, shared & part, fitted, stored.thumbnail)
        for part in (above, ~above)
    )


def _texts_differ(
    differing: npt.NDArray[np.bool_], shared: npt.NDArray[np.bool_], a: U8, b: U8
) -> bool:
    """Whether the differing pixels of one caption bar make another text."""
    total = np.count_nonzero(shared)
    changed = np.count_nonzero(differing)
    if total == 0 or changed <= TEXT_DIFFERENCE * total:
        return False
    # Another caption changes most of the text; a watermark stamped on a bar full of UI
    # text (a screenshot's toolbar) changes a little of it.
    text = 0
    for pixels in (a[shared].astype(np.int16), b[shared].astype(np.int16)):
        text = max(text, int(np.count_nonzero(np.abs(pixels - np.median(pixels)) > TEXT_CONTRAST)))
    if changed <= TEXT_CHANGED * text:
        return False
    return _texts_replaced(differing, shared, a, b)


def _texts_replaced(
    differing: npt.NDArray[np.bool_], shared: npt.NDArray[np.bool_], a: U8, b: U8
) -> bool:
    """Whether each image's marks, on the rows where the bars differ, are gone in the other.

    Another caption replaces the text of both. Text drawn over a picture whose edge passes
    for a bar (stars on a night sky, a window's title) leaves the marks of that edge where
    they were, and a bar with no marks there had no text to replace.
    """
    rows = np.convolve(differing.any(axis=1), np.ones(2 * TEXT_ROWS + 1), mode="same") > 0
    near = shared & rows[:, None]
    # A mark is kept where the other image shows the same, and so does every pixel around
    # it: a thin letter inside another text's thick one is not kept.
    changed = cv2.dilate(differing.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for pixels in (a, b):
        values = pixels[near].astype(np.int16)
        if len(values) == 0:
            return False
        marks = np.zeros_like(near)
        marks[near] = np.abs(values - np.median(values)) > TEXT_CONTRAST
        count = np.count_nonzero(marks)
        if count < TEXT_MARKS * np.count_nonzero(differing):
            return False
        if np.count_nonzero(marks & ~changed) >= TEXT_KEPT * count:
            return False
    return True


def _area_ratio(query: LocalFeatures, stored: LocalFeatures, matrix: F64) -> float:
    """Stored-thumbnail pixels per query-thumbnail pixel under ``matrix``."""
    return float(abs(np.linalg.det(_thumb_matrix(query, stored, matrix)[:, :2])))


def _fit_levels(a: F64, b: F64) -> tuple[float, float]:
    """Gain and offset mapping ``a``'s grey levels onto ``b``'s (least squares, gain 0.5-2)."""
    spread = float(a.std())
    if spread < 1.0:
        return 1.0, float(b.mean() - a.mean())
    gain = float(np.clip(np.cov(a, b, bias=True)[0, 1] / spread**2, 0.5, 2.0))
    return gain, float(b.mean() - gain * a.mean())


def dense_distance(
    query: LocalFeatures, stored: LocalFeatures, matrix: F64, region: Box | None = None
) -> tuple[int, Box] | None:
    """256-bit DCT-hash distance of the aligned overlap, and that overlap (stored thumbnail).

    ``region`` (stored thumbnail pixels) restricts the overlap further. None when the
    overlap is too small to judge.
    """
    target = stored.thumbnail
    warped, mask = _warp(query, stored, matrix)
    m = _thumb_matrix(query, stored, matrix)
    if region is not None:
        limit = np.zeros_like(mask)
        limit[region.top : region.bottom, region.left : region.right] = True
        mask &= limit
    box = _inner_rect(mask)
    if box is None:
        return None
    bw, bh = box.right - box.left, box.bottom - box.top
    smaller = min(target.size, query.thumbnail.size * (abs(np.linalg.det(m[:, :2]))))
    if bw < MIN_OVERLAP_SIDE or bh < MIN_OVERLAP_SIDE or bw * bh < MIN_OVERLAP * smaller:
        return None
    a = target[box.top : box.bottom, box.left : box.right]
    b = warped[box.top : box.bottom, box.left : box.right]
    return _hash_distance(a, b), box


def _dct_block(pixels: U8) -> F64:
    """The 16x16 low-frequency DCT of a picture at 64x64, less its median (the hash's cut)."""
    small = cv2.resize(pixels, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float64)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(small, axis=0), axis=1)[:16, :16]
    return np.asarray(dct - np.median(dct), dtype=np.float64)


def _one_axis(pixels: U8) -> bool:
    """Whether a picture changes along one axis only (stripes, a gradient): the first row or
    column of its hash's DCT block holds :data:`ONE_AXIS` of the energy besides the mean."""
    energy = _dct_block(pixels) ** 2
    energy[0, 0] = 0.0
    total = float(energy.sum())
    if total == 0.0:
        return True
    return max(float(energy[0, :].sum()), float(energy[:, 0].sum())) >= ONE_AXIS * total


def _hash_distance(a: U8, b: U8) -> int:
    return int(np.count_nonzero((_dct_block(a) > 0) != (_dct_block(b) > 0)))


def _confident_disagreement(a: U8, b: U8) -> float:
    """The share of the bits two pictures' hashes both hold firmly (coefficient in the far
    half from the median, in each) on which they disagree: about 0.5 for two unrelated
    pictures, near 0 for one picture twice. The bits near the median are left out: on a
    mostly plain picture (a white canvas in a frame) they flip with any resampling."""
    da, db = _dct_block(a), _dct_block(b)
    firm = (np.abs(da) > np.median(np.abs(da))) & (np.abs(db) > np.median(np.abs(db)))
    held = int(np.count_nonzero(firm))
    if held == 0:
        return 0.0
    return int(np.count_nonzero(((da > 0) != (db > 0)) & firm)) / held


def pictures_apart(query: LocalFeatures, stored: LocalFeatures) -> float | None:
    """How far apart the two images' pictures under their caption bars are, unaligned: the
    least :func:`_confident_disagreement` of every caption cut of one against every cut of
    the other (the cut is not always found at the same place); None unless both have a
    caption bar over a picture that changes along both axes."""
    # A picture that changes along one axis only has no firm bits across the other.
    cuts = [
        [cut for cut in _caption_cuts(features) if not _one_axis(cut)]
        for features in (query, stored)
    ]
    if not cuts[0] or not cuts[1]:
        return None
    return min(_confident_disagreement(a, b) for a in cuts[0] for b in cuts[1])


def _caption_cuts(features: LocalFeatures) -> list[U8]:
    """The thumbnail of each caption-removed region of an image."""
    shape = features.thumbnail.shape
    cuts = [box for name, box in features.regions if name == "captioned"]
    boxes = [scaled_box(box, features, shape) for box in cuts]
    return [features.thumbnail[b.top : b.bottom, b.left : b.right] for b in boxes]


def _picture_box(features: LocalFeatures) -> Box | None:
    """The caption-removed region of an image (working frame), if it has a caption bar."""
    return _region(features, "captioned")


def _inner_box(features: LocalFeatures) -> Box | None:
    """The inner picture of a screenshot (working frame), if the image has one."""
    return _region(features, SCREENSHOT_VIEW)


def _region(features: LocalFeatures, name: str) -> Box | None:
    """The first region of an image called ``name`` (working frame), if any."""
    return next((box for found, box in features.regions if found == name), None)


def template_distance(
    query: LocalFeatures, stored: LocalFeatures, matrix: F64, *, decisive: bool = False
) -> int | None:
    """Dense distance of the two pictures without their captions; None if either has none.

    With ``decisive``, None too when either picture changes along one axis only (see
    :data:`ONE_AXIS`): its hash bits across the other axis are decided by noise, and one
    meme of vertical stripes came 108-116 bits from itself made smaller.
    """
    region = _shared_region(stored, _picture_box(query), _picture_box(stored), matrix)
    if region is None:
        return None
    result = dense_distance(query, stored, matrix, region)
    if result is None:
        return None
    if decisive:
        box = result[1]
        warped, _ = _warp(query, stored, matrix)
        for pixels in (stored.thumbnail, warped):
            if _one_axis(pixels[box.top : box.bottom, box.left : box.right]):
                return None
    return result[0]


def inner_distance(query: LocalFeatures, stored: LocalFeatures, matrix: F64) -> int | None:
    """Dense distance of the two screenshots' inner pictures, aligned by ``matrix``; None if
    either has none or they barely overlap. The inner picture is a small part of a
    screenshot: the overlap is judged however little of the whole image it is."""
    region = _inner_region(stored, _inner_box(query), _inner_box(stored), matrix)
    if region is None:
        return None
    warped, mask = _warp(query, stored, matrix)
    if mask[region.top : region.bottom, region.left : region.right].mean() < INNER_COVERED:
        return None
    a = stored.thumbnail[region.top : region.bottom, region.left : region.right]
    b = warped[region.top : region.bottom, region.left : region.right]
    return _hash_distance(a, b)


def _inner_region(
    stored: LocalFeatures, q_box: Box | None, s_box: Box | None, matrix: F64
) -> Box | None:
    """The part of two screenshots' inner pictures ``matrix`` lines up (stored thumbnail
    pixels); None when either has none or it is too small to judge."""
    region = _shared_region(stored, q_box, s_box, matrix)
    if region is None:
        return None
    if min(region.right - region.left, region.bottom - region.top) < MIN_OVERLAP_SIDE:
        return None
    return region


def inners_differ(query: LocalFeatures, stored: LocalFeatures, matrix: F64) -> bool:
    """Whether two screenshots lined up by ``matrix`` show two pictures in one window layout
    where their hashes cannot tell: a blank picture against a detailed one (stripes and a
    block), or two blank ones of different grey levels in windows that kept theirs (a
    near-black and a dark grey block). False unless both are screenshots whose inner
    pictures the fit lines up. See :data:`DETAILED_LEVELS`."""
    q_box, s_box = _inner_box(query), _inner_box(stored)
    region = _inner_region(stored, q_box, s_box, matrix)
    if region is None or q_box is None or s_box is None:
        return False
    # Cheapest first: most inner pictures are not blank, and then there is nothing to say.
    if not (_plain(_crop(query, q_box)) or _plain(_crop(stored, s_box))):
        return False
    warped, mask = _warp(query, stored, matrix)
    inside = np.zeros(mask.shape, dtype=np.bool_)
    inside[region.top : region.bottom, region.left : region.right] = True
    if mask[inside].mean() < INNER_COVERED:
        return False
    a = stored.thumbnail[region.top : region.bottom, region.left : region.right]
    b = warped[region.top : region.bottom, region.left : region.right]
    blank_a, blank_b = _plain(a), _plain(b)
    if blank_a != blank_b:
        # Text drawn over the top and bottom of the image may cross the picture.
        height = stored.thumbnail.shape[0]
        edge = int(height * LETTERING_SHARE)
        top, bottom = max(region.top, edge), min(region.bottom, height - edge)
        if bottom - top < MIN_OVERLAP_SIDE // 2:
            return False
        middle = (warped if blank_a else stored.thumbnail)[top:bottom, region.left : region.right]
        return _spread_levels(middle) >= DETAILED_LEVELS
    if not blank_a:
        return False
    # Window pixels away from black and white in both: a brightness or contrast change of
    # the screenshot would have moved them.
    kept, moved = stored.thumbnail.astype(np.int16), warped.astype(np.int16)
    window = mask & ~inside
    for grey in (kept, moved):
        window &= (grey > CLIPPED_WINDOW) & (grey < 255 - CLIPPED_WINDOW)
    if window.sum() < inside.sum() * WINDOW_SHARE:
        return False
    if abs(float(np.median(moved[window] - kept[window]))) > WINDOW_KEPT_LEVELS:
        return False
    return abs(float(np.median(b)) - float(np.median(a))) > INNER_LEVELS


def _crop(features: LocalFeatures, box: Box) -> U8:
    """``box`` (working frame) of an image's grey thumbnail."""
    if box.bottom <= box.top or box.right <= box.left:
        return features.thumbnail[:0, :0]
    inner = scaled_box(box, features, features.thumbnail.shape)
    return features.thumbnail[inner.top : inner.bottom, inner.left : inner.right]


def _plain(grey: U8) -> bool:
    """Whether a thumbnail region is one flat level give or take a few marks (the level
    range :func:`bot.local.tone.blank_picture` allows)."""
    return grey.size > 0 and _spread_levels(grey) <= BLANK_RANGE


def _spread_levels(grey: U8) -> float:
    """Grey levels between a region's 10th and 90th percentiles (nearest level: counted,
    faster than :func:`numpy.percentile` on a region this small)."""
    cumulative = np.cumsum(np.bincount(grey.ravel(), minlength=256))
    low, high = np.searchsorted(cumulative, (0.1 * grey.size, 0.9 * grey.size))
    return float(high - low)


def inner_pictures_differ(query: LocalFeatures, stored: LocalFeatures) -> bool:
    """Whether two screenshots' inner pictures, lined up by the best fit of the pair (their
    windows, most often), are more than :data:`MAX_DENSE_DISTANCE` apart. False unless both
    images are screenshots, a fit holds and the pictures can be compared."""
    if _inner_box(query) is None or _inner_box(stored) is None:
        return False
    alignment = align(query, stored)
    if alignment is None:
        return False
    distance = inner_distance(query, stored, alignment.matrix)
    return distance is not None and distance > MAX_DENSE_DISTANCE


def _shared_region(
    stored: LocalFeatures, q_box: Box | None, s_box: Box | None, matrix: F64
) -> Box | None:
    """The part of the stored box (working frame) the query's box covers once ``matrix``
    lines them up, in stored thumbnail pixels; None if either box is missing or they miss."""
    if q_box is None or s_box is None:
        return None
    st = stored.thumbnail.shape[1] / stored.width
    region = Box(
        math.ceil(s_box.left * st),
        math.ceil(s_box.top * st),
        int(s_box.right * st),
        int(s_box.bottom * st),
    )
    corners = np.array(
        [
            [q_box.left, q_box.top],
            [q_box.right, q_box.top],
            [q_box.left, q_box.bottom],
            [q_box.right, q_box.bottom],
        ],
        dtype=np.float64,
    )
    mapped = (corners @ matrix[:, :2].T + matrix[:, 2]) * st
    region = Box(
        max(region.left, math.ceil(mapped[:, 0].min())),
        max(region.top, math.ceil(mapped[:, 1].min())),
        min(region.right, int(mapped[:, 0].max())),
        min(region.bottom, int(mapped[:, 1].max())),
    )
    if region.right <= region.left or region.bottom <= region.top:
        return None
    return region


def describe(
    query: LocalFeatures, stored: LocalFeatures, alignment: _Alignment, overlap: Box
) -> str:
    """Plain words for what turned the stored picture into the query."""
    words = []
    st_h, st_w = stored.thumbnail.shape
    shown = (overlap.right - overlap.left) * (overlap.bottom - overlap.top) / (st_w * st_h)
    # How much of the query the stored picture fills.
    inverse = cv2.invertAffineTransform(alignment.matrix)
    corners = np.array(
        [[0, 0], [stored.width, 0], [0, stored.height], [stored.width, stored.height]],
        dtype=np.float64,
    )
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    left, top = np.clip(mapped.min(axis=0), 0, [query.width, query.height])
    right, bottom = np.clip(mapped.max(axis=0), 0, [query.width, query.height])
    fills = (right - left) * (bottom - top) / (query.width * query.height)
    if shown < CROP_SHARE:
        words.append("cropped")
    if abs(alignment.rotation) >= ROTATION_WORDS_MIN:
        words.append(f"rotated by {round(abs(alignment.rotation))} degrees")
    if fills < ADDED_SHARE:
        # A caption bar spans the whole width; a screenshot leaves margins on the sides, or
        # (a phone's, the picture at the screen's width) adds more than bars would.
        full_width = left <= EDGE * query.width and right >= (1 - EDGE) * query.width
        bars = fills >= CAPTIONED_SHARE
        words.append("captioned" if full_width and bars else "inside a screenshot")
    return " and ".join(words) if words else "the same picture"
