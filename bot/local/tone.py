"""The colour of near-blank pictures: what tells two of them apart under the same caption.

A flat block of colour has no keypoints and no hash of its own worth the name: under a caption
bar or a stamp, the caption or the stamp is all that seenit's grey hashes and keypoints see.
The same caption over a purple block and over a maroon one, or "THIS IS FINE" over a black
block and over a blue one, are then one image to them, though nobody would call one a repost
of the other. When both pictures (outside their caption bars) are blank, their colours must
agree too.

The colours are compared in ways the usual edits keep: brightness, contrast and saturation
changes scale the colour-opponent channels (R - G, (R + G) / 2 - B) of every pixel by one
positive factor, so they keep the hue; grey levels move by a bounded factor. A grey copy has
no hue left, so the hue is only compared when both pictures have one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bot.local.features import LocalFeatures
from bot.regions import SCREENSHOT_VIEW, Box

#: Neighbouring thumbnail pixels further apart than this many grey levels make an edge.
EDGE_STEP = 12
#: A picture is blank when under this share of its thumbnail pixels sit on an edge (a stamp
#: or a few words over a flat block stay under it, a photo does not)...
BLANK_EDGES = 0.04
#: ...and the middle 80% of its grey levels span at most this many: smooth wallpapers and
#: skies have few edges too, but their colour moves with every crop.
BLANK_RANGE = 12
#: Two blank pictures differ when their grey levels (plus :data:`DARK_FLOOR`, so that near-black
#: ones do not turn noise into ratios) are further apart than this factor: brightness x1.3 is
#: within it...
MAX_GREY_FACTOR = 1.5
DARK_FLOOR = 32.0
#: ...or when both have a hue (a colour-opponent magnitude of at least :data:`MIN_CHROMA`
#: levels) and their hues are more than :data:`MAX_HUE_DEGREES` apart.
MIN_CHROMA = 16.0
MAX_HUE_DEGREES = 25.0
#: A grey copy keeps no hue (under :data:`GREY_CHROMA` levels); a less saturated one keeps a
#: share of it, and one colour seen dimmer, paler and less saturated at once keeps more than
#: 1 / :data:`MAX_CHROMA_FACTOR` of it: a dark blue and a grey with a hint of blue differ.
GREY_CHROMA = 3.0
MAX_CHROMA_FACTOR = 4.0
#: A grey copy keeps its colour's grey level (Pillow's "L" is that level), give or take this
#: many levels of re-encoding: a mid grey block is no grey copy of a blue one of another
#: level. Unless the grey is white or black within :data:`CLIPPED_LEVELS`: a brighter copy of
#: a light colour turns white, a darker copy of a dark one black.
GREY_COPY_LEVELS = 8.0
CLIPPED_LEVELS = 8.0

#: Grey level of an RGB colour, as Pillow converts to "L".
LUMA = (0.299, 0.587, 0.114)

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


class Sketch(Protocol):
    """What the blank-picture rules read of an image: the size of the frame its regions are
    in, a grey thumbnail of it and its regions (caption removed, inner picture).
    :class:`bot.local.features.LocalFeatures` is one."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def thumbnail(self) -> U8: ...

    @property
    def regions(self) -> Sequence[tuple[str, Box]]: ...


def picture_box(features: Sketch) -> Box:
    """The picture of an image without its caption bars (working frame): what every caption
    removal of it keeps; all of it when it has none."""
    box = Box(0, 0, features.width, features.height)
    for name, removed in features.regions:
        if name == "captioned":
            box = Box(
                max(box.left, removed.left),
                max(box.top, removed.top),
                min(box.right, removed.right),
                min(box.bottom, removed.bottom),
            )
    return box


def framed(features: Sketch) -> bool:
    """Whether the picture sits in a screenshot: an inner picture inside the caption-removed
    part (the inner picture a caption bar's text passes for lies outside it)."""
    return framed_box(features) is not None


def framed_box(features: Sketch) -> Box | None:
    """The inner picture of a screenshot (see :func:`framed`), working frame; None if none."""
    picture = picture_box(features)
    for name, inner in features.regions:
        if name == SCREENSHOT_VIEW and (
            inner.left >= picture.left
            and inner.top >= picture.top
            and inner.right <= picture.right
            and inner.bottom <= picture.bottom
        ):
            return inner
    return None


def scaled_box(box: Box, features: Sketch, shape: tuple[int, ...]) -> Box:
    """``box`` (working frame) in a thumbnail of ``shape``, shrunk to whole pixels."""
    fy, fx = shape[0] / features.height, shape[1] / features.width
    top, bottom = math.ceil(box.top * fy), int(box.bottom * fy)
    left, right = math.ceil(box.left * fx), int(box.right * fx)
    if bottom <= top or right <= left:  # a thin picture: the nearest pixel row or column
        top, bottom = min(int(box.top * fy), shape[0] - 1), max(int(box.top * fy) + 1, bottom)
        left, right = min(int(box.left * fx), shape[1] - 1), max(int(box.left * fx) + 1, right)
    return Box(left, top, right, bottom)


def blank_picture(features: Sketch) -> bool:
    """Whether the picture (outside any caption bar) is a flat block or a smooth gradient,
    give or take a stamp or a few words (see :data:`BLANK_EDGES`, :data:`BLANK_RANGE`)."""
    return _blank_in(features, picture_box(features))


def _blank_in(features: Sketch, region: Box) -> bool:
    """Whether ``region`` (working frame) of an image is blank (see :func:`blank_picture`)."""
    box = scaled_box(region, features, features.thumbnail.shape)
    grey = features.thumbnail[box.top : box.bottom, box.left : box.right].astype(np.int16)
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        return False
    edges = np.zeros(grey.shape, dtype=np.bool_)
    edges[:, 1:] |= np.abs(np.diff(grey, axis=1)) > EDGE_STEP
    edges[1:, :] |= np.abs(np.diff(grey, axis=0)) > EDGE_STEP
    if float(edges.mean()) >= BLANK_EDGES:
        return False
    low, high = np.percentile(grey, (10, 90))
    return float(high - low) <= BLANK_RANGE


def additions_only(sketch: Sketch) -> bool:
    """Whether an image is a blank picture and what was added to it: a stamp over a flat
    block, caption bars or lines of text above and below one, a phone's status bar and a
    line of likes around one. Such an image shows no picture; its stamp or caption is all
    that its hashes and keypoints see, and one caption goes over blocks of many colours,
    some of which no colour rule tells from a brightness change of another (near-black and
    dark grey, white and a near-white page). Like a blank image, it never matches.

    The blank part is the whole image, the picture under its caption bars, or a plain band
    of rows across it (:data:`PLAIN_BAND_SHARE`); it must be flat (:data:`FLAT_LEVELS`) and
    cover :data:`ADDED_TO_SHARE` of the image: a sun with a few spots is a picture. A blank
    picture inside a window with margins on every side is not counted: an empty film-strip
    frame is one too, and the colour rule of :func:`tones_differ` still tells two blocks in
    one window layout apart. Nor is text spread over a plain background: that is what a page
    of text or a posted message looks like."""
    if _flat_in(sketch, Box(0, 0, sketch.width, sketch.height)):
        return True
    if any(name == "captioned" for name, _ in sketch.regions) and _flat_in(
        sketch, picture_box(sketch)
    ):
        return True
    band = _plain_band(sketch)
    return band is not None and _flat_in(sketch, band)


#: A plain band of rows covering this share of an image's height, across its whole width, is
#: its picture when nothing else is found: a phone screenshot of a tall picture has only a
#: status bar and a name above it and a line of likes below, which no caption rule finds.
PLAIN_BAND_SHARE = 0.7
#: A plain band reaching the top or bottom edge leaves at most this share of the height to
#: what was added on the other side (a caption line the caption rule missed: a pale bar on a
#: white page); a landscape strip under a plain sky takes a quarter.
EDGE_ADDITION = 0.2


def _plain_band(sketch: Sketch) -> Box | None:
    """The longest run of thumbnail rows that each stay within :data:`BLANK_RANGE` grey
    levels (5th to 95th percentile) of the image's median, working frame; None when it
    covers under :data:`PLAIN_BAND_SHARE` of the height, or reaches its top or bottom edge
    and leaves more than :data:`EDGE_ADDITION` on the other side (a landscape under a plain
    sky is a picture)."""
    grey = sketch.thumbnail.astype(np.int16)
    middle = float(np.median(grey))
    if np.mean(np.abs(grey - middle) <= BLANK_RANGE) < PLAIN_BAND_SHARE * 0.9:
        return None  # cheapest first: most pictures are nowhere near plain
    low, high = np.percentile(grey, (5, 95), axis=1)
    plain = (low >= middle - BLANK_RANGE) & (high <= middle + BLANK_RANGE)
    best, start, run = (0, 0), 0, 0
    for row, is_plain in enumerate(plain):
        run = run + 1 if is_plain else 0
        if run == 1:
            start = row
        if run > best[1] - best[0]:
            best = (start, row + 1)
    rows = grey.shape[0]
    if best[1] - best[0] < PLAIN_BAND_SHARE * rows:
        return None
    if (best[0] == 0 or best[1] == rows) and best[1] - best[0] < (1 - EDGE_ADDITION) * rows:
        return None  # a plain sky over a landscape strip
    top = math.ceil(best[0] * sketch.height / rows)
    return Box(0, top, sketch.width, int(best[1] * sketch.height / rows))


#: The least share of an image that the blank picture of :func:`additions_only` covers.
ADDED_TO_SHARE = 0.2
#: A blank picture of :func:`additions_only` is flat: nearly all of its grey levels (2nd to
#: 98th percentile) within this many of a plane fitted to them (a faint ramp is a plane). The
#: corpus's blank pictures under a caption, a watermark or in a window stay within 4.5 (the
#: ghost text of a page); the closest pictures (a sun with a few spots made brighter, a line
#: chart turned by 2 degrees) spread 6.
FLAT_LEVELS = 5.0


def _flat_in(sketch: Sketch, region: Box) -> bool:
    """Whether ``region`` is blank (:func:`_blank_in`), flat (:data:`FLAT_LEVELS`) and
    covers :data:`ADDED_TO_SHARE` of the image."""
    area = (region.right - region.left) * (region.bottom - region.top)
    if area < ADDED_TO_SHARE * sketch.width * sketch.height or not _blank_in(sketch, region):
        return False
    box = scaled_box(region, sketch, sketch.thumbnail.shape)
    grey = sketch.thumbnail[box.top : box.bottom, box.left : box.right].astype(np.float64)
    rows, cols = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
    terms = np.stack([np.ones(grey.size), rows.ravel(), cols.ravel()], axis=1)
    levels = grey.ravel()
    plane, *_ = np.linalg.lstsq(terms, levels, rcond=None)
    # Fitted again on the middle 80% of the levels: a stamp or a line tilts the first fit.
    apart = levels - terms @ plane
    low, high = np.percentile(apart, (10, 90))
    middle = (apart >= low) & (apart <= high)
    plane, *_ = np.linalg.lstsq(terms[middle], levels[middle], rcond=None)
    low, high = np.percentile(levels - terms @ plane, (2, 98))
    return float(high - low) <= FLAT_LEVELS


def picture_colour(features: LocalFeatures) -> F64 | None:
    """Median RGB of the picture outside any caption bar; None without a colour thumbnail."""
    return _colour_in(features, picture_box(features))


def _colour_in(features: LocalFeatures, region: Box) -> F64 | None:
    """Median RGB of ``region`` (working frame); None without a colour thumbnail."""
    if features.colour is None:
        return None
    box = scaled_box(region, features, features.colour.shape)
    cells = features.colour[box.top : box.bottom, box.left : box.right].reshape(-1, 3)
    return np.median(cells.astype(np.float64), axis=0)


def pack_colour(colour: U8) -> bytes:
    """The colour thumbnail as stored beside the hashes: width, height, then RGB rows."""
    return bytes((colour.shape[1], colour.shape[0])) + colour.tobytes()


def unpack_colour(blob: bytes | None) -> U8 | None:
    """The thumbnail :func:`pack_colour` stored; None for no (or a damaged) blob."""
    if blob is None or len(blob) < 2 or len(blob) != 2 + 3 * blob[0] * blob[1] or not blob[0]:
        return None
    return np.frombuffer(blob, np.uint8, offset=2).reshape(blob[1], blob[0], 3)


def flat_colour(colour: U8) -> F64 | None:
    """The median RGB of a whole colour thumbnail when it is one flat colour give or take a
    stamp (the middle 80% of its grey levels within :data:`BLANK_RANGE`); None otherwise."""
    cells = colour.reshape(-1, 3).astype(np.float64)
    grey = cells @ LUMA
    low, high = np.percentile(grey, (10, 90))
    if high - low > BLANK_RANGE:
        return None
    return np.median(cells, axis=0)


def blocks_differ(query: bytes | None, stored: bytes | None) -> bool:
    """Whether two whole images, each one flat colour give or take a stamp, are blocks of
    different colours (see :func:`colours_differ`). For near-blank images with too few
    keypoints for local features: their colour is stored beside their hashes."""
    ours, theirs = unpack_colour(query), unpack_colour(stored)
    if ours is None or theirs is None:
        return False
    colour_q, colour_s = flat_colour(ours), flat_colour(theirs)
    return colour_q is not None and colour_s is not None and colours_differ(colour_q, colour_s)


def colours_differ(a: F64, b: F64) -> bool:
    """Whether two flat colours (RGB) are beyond what a brightness, contrast or saturation
    change (or a grey copy) makes of one colour."""
    grey_a, grey_b = (float(c @ LUMA) + DARK_FLOOR for c in (a, b))
    if max(grey_a, grey_b) > MAX_GREY_FACTOR * min(grey_a, grey_b):
        return True
    hue_a, hue_b = _opponent(a), _opponent(b)
    weak, strong = sorted((abs(hue_a), abs(hue_b)))
    if strong >= MIN_CHROMA and weak <= GREY_CHROMA:
        grey = (grey_a if abs(hue_a) <= GREY_CHROMA else grey_b) - DARK_FLOOR
        if CLIPPED_LEVELS < grey < 255 - CLIPPED_LEVELS:
            return abs(grey_a - grey_b) > GREY_COPY_LEVELS  # a grey copy keeps its level
    if strong >= MIN_CHROMA and weak > GREY_CHROMA and strong > MAX_CHROMA_FACTOR * weak:
        return True  # faded far more than a saturation change does, yet not grey
    if weak < MIN_CHROMA:
        return False
    turn = abs(math.degrees(np.angle(hue_a / hue_b)))
    return turn > MAX_HUE_DEGREES


def _opponent(rgb: F64) -> complex:
    r, g, b = (float(v) for v in rgb)
    return complex(r - g, (r + g) / 2 - b)


def tones_differ(query: LocalFeatures, stored: LocalFeatures) -> bool:
    """Whether two images whose pictures are both blank show blocks of different colours:
    whatever caption or stamp they share, they are two images. When both are screenshots,
    their inner pictures are compared (two blocks of different colours in one window layout
    are two images); when only one is, not judged: what its window leaves of the picture is
    too uncertain to read a colour from."""
    # Cheapest first: most pictures are not blank.
    if query.colour is None or stored.colour is None:
        return False
    inner_q, inner_s = framed_box(query), framed_box(stored)
    if inner_q is None and inner_s is None:
        region_q, region_s = picture_box(query), picture_box(stored)
    elif inner_q is not None and inner_s is not None:
        region_q, region_s = inner_q, inner_s
    else:
        return False
    if not (_blank_in(query, region_q) and _blank_in(stored, region_s)):
        return False
    colour_q, colour_s = _colour_in(query, region_q), _colour_in(stored, region_s)
    return colour_q is not None and colour_s is not None and colours_differ(colour_q, colour_s)


#: A picture changes along one axis only (stripes) when the means across that axis explain
#: this share of its colour thumbnail's grey variance.
STRIPES_EXPLAINED = 0.97
#: Its profile (those means, in grey levels) must spread at least this much (a faint ramp or
#: a flat colour is no picture)...
STRIPES_MIN_STD = 10.0
#: ...and turn (rise then fall, or the reverse) at least this many times: two ramps, or two
#: bands of colour split at one place, have one shape whatever their picture.
STRIPES_MIN_TURNS = 3
#: Two profiles, brought to one length, are one picture when they correlate this well
#: (forwards or backwards: a flip reverses a profile, a quarter turn moves it to the other axis).
STRIPES_MIN_CORRELATION = 0.98
#: Length profiles are compared at.
STRIPES_CELLS = 16


def stripes_profile(colour: U8) -> F64 | None:
    """The grey profile of a picture that changes along one axis only (a picture of stripes:
    its DCT hashes are undecided, see :func:`bot.hashing.decisive`), from its colour thumbnail;
    None for any other picture, or stripes too faint or too plain to tell apart."""
    grey = colour.astype(np.float64) @ np.asarray(LUMA)
    if min(grey.shape) < 2:
        return None
    total = float(((grey - grey.mean()) ** 2).sum())
    if total <= 0.0:
        return None
    for axis in (0, 1):
        profile = grey.mean(axis=axis)
        expanded = np.expand_dims(profile, axis)
        residual = float(((grey - expanded) ** 2).sum())
        if residual > (1.0 - STRIPES_EXPLAINED) * total:
            continue
        cells = np.interp(
            np.linspace(0.0, len(profile) - 1.0, STRIPES_CELLS),
            np.arange(len(profile), dtype=np.float64),
            profile,
        )
        steps = np.sign(np.diff(cells))
        steps = steps[steps != 0]
        turns = int((steps[1:] != steps[:-1]).sum())
        if float(cells.std()) < STRIPES_MIN_STD or turns < STRIPES_MIN_TURNS:
            return None
        return np.asarray(cells, dtype=np.float64)
    return None


def stripes_alike(query: bytes | None, stored: bytes | None) -> bool:
    """Whether two pictures of stripes (see :func:`stripes_profile`) are one picture: their
    profiles correlate (either way round) and their colours agree."""
    ours, theirs = unpack_colour(query), unpack_colour(stored)
    if ours is None or theirs is None:
        return False
    profile_q, profile_s = stripes_profile(ours), stripes_profile(theirs)
    if profile_q is None or profile_s is None:
        return False
    best = max(
        float(np.corrcoef(profile_q, profile_s)[0, 1]),
        float(np.corrcoef(profile_q[::-1], profile_s)[0, 1]),
    )
    if best < STRIPES_MIN_CORRELATION:
        return False
    median_q = np.median(ours.reshape(-1, 3).astype(np.float64), axis=0)
    median_s = np.median(theirs.reshape(-1, 3).astype(np.float64), axis=0)
    return not colours_differ(median_q, median_s)
