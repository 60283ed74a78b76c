"""Image bytes -> fingerprint: the perceptual hashes seenit stores and searches.

A fingerprint holds two DCT perceptual hashes, both equal to what ``imagehash.phash``
computes on the same decoded pixels:

* ``phash64``: ``imagehash.phash(img)`` (8x8 bits) -- compact, used to find candidates fast.
* ``phash256``: ``imagehash.phash(img, hash_size=16)`` -- used to decide.

plus a gradient-based quality score (modelled on PDQ's) so that near-blank images, which
all look alike, never raise an alert.

A query is searched in all 8 orientations (flips and 90-degree rotations). Those are
derived from the one DCT instead of hashing 8 transformed images: mirroring the pixels
along an axis multiplies DCT coefficient k along that axis by (-1)**k, and transposing
the pixels transposes the coefficients.

Everything here is pure and synchronous; callers run it in an executor.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fftpack
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from bot.config import DEFAULTS
from bot.local.features import LocalFeatures, colour_thumbnail, extract_local, image_sketch
from bot.local.tone import additions_only, pack_colour
from bot.regions import candidate_views, hashed_views

# Pillow's own bomb check would warn or raise on its own schedule; seenit checks the
# declared size itself before decoding anything.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Formats seenit decodes. Anything else is refused as "not an image".
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
#: Default caps on declared pixels (width x height) and on encoded size: the bot's
#: defaults for MAX_IMAGE_PIXELS and MAX_IMAGE_BYTES (only the defaults are read here,
#: never the environment), so that ``seenit`` on files and the bot refuse the same inputs.
#: 50 MP covers phone cameras.
DEFAULT_MAX_PIXELS = DEFAULTS.max_image_pixels
DEFAULT_MAX_BYTES = DEFAULTS.max_image_bytes
#: Smallest side the fast decode path may shrink an image to; below it hashes shift.
DECODE_MIN_SIDE = 128
#: Background that transparent pixels are composited on.
BACKGROUND = (255, 255, 255)

HASH64_SIDE = 8
HASH256_SIDE = 16
HIGHFREQ_FACTOR = 4
ORIENTATIONS = 8
#: Names of the 8 orientations, in the order the ``*_orientations`` tuples hold them.
ORIENTATION_NAMES = (
    "identity",
    "mirrored",
    "flipped",
    "rotated 180",
    "transposed",
    "rotated 90",
    "rotated 270",
    "transversed",
)


class ImageError(Exception):
    """Base of every reason an input cannot be fingerprinted."""

    reason = "could not read the image"


class EmptyImage(ImageError):
    reason = "the file is empty"


class NotAnImage(ImageError):
    reason = "the file is not an image seenit can read"


class CorruptImage(ImageError):
    reason = "the image is corrupt or truncated"


class ImageTooLarge(ImageError):
    reason = "the image is too large"


class TooPlain(ImageError):
    """An image read well that shows no picture to compare: near-blank, or a blank picture
    under a caption or a stamp (:func:`bot.local.tone.additions_only`): its quality score is
    under the server's minimum.
    Only a member's search reports it; posted, such an image is stored and never alerts."""

    reason = "the picture is almost blank: there is nothing in it to compare"


@dataclass(frozen=True, slots=True)
class View:
    """Hashes of a region of a query image that may be the reposted picture on its own."""

    name: str
    phash64_orientations: tuple[int, ...]
    phash256_orientations: tuple[bytes, ...]
    quality: int


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What seenit knows of one image."""

    phash64: int
    phash256: bytes
    quality: int
    width: int
    height: int
    #: phash64 of each of the 8 orientations; index 0 is ``phash64`` itself.
    phash64_orientations: tuple[int, ...]
    #: phash256 of each of the 8 orientations; index 0 is ``phash256`` itself.
    phash256_orientations: tuple[bytes, ...]
    #: Regions (caption removed, inner picture) searched too when this image is a query.
    views: tuple[View, ...] = ()
    #: Keypoints for the local stage (crops, rotations, captions); None for low-texture images.
    local: LocalFeatures | None = None
    #: A 16-pixel colour thumbnail (:func:`bot.local.tone.pack_colour`): the hashes are grey.
    colour: bytes | None = None

    @property
    def hex64(self) -> str:
        return f"{self.phash64:016x}"

    @property
    def hex256(self) -> str:
        return self.phash256.hex()


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied before any pixel is decoded."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES


def fingerprint(data: bytes, limits: Limits = Limits()) -> Fingerprint:
    """Fingerprint encoded image bytes; raise an :class:`ImageError` subclass if unusable."""
    image, size, smooth = _decode(data, limits)
    try:
        return fingerprint_image(image, size, smooth=smooth)
    except MemoryError as exc:
        raise ImageTooLarge("not enough memory to hash the image") from exc


#: Longest side accepted: what JPEG, WebP and GIF can declare at most anyway. Pillow keeps a
#: pointer per row, and a 1-pixel-wide image of millions of rows costs gigabytes.
MAX_SIDE = 65_535
#: Decoded bytes per pixel beyond the usual 4, per format: libwebp's animation decoder holds
#: two RGBA canvases and Pillow copies one; a GIF is converted P -> RGBA before reducing.
BYTES_PER_PIXEL = {"WEBP": 16, "GIF": 8}
#: Segments (JPEG markers, PNG chunks, GIF extension blocks) allowed before the image data,
#: and JPEG scans in all: Pillow walks segments in Python, libjpeg decodes every scan.
MAX_SEGMENTS = 1_000
MAX_JPEG_SCANS = 200


def _check_structure(data: bytes) -> None:
    """Refuse files whose structure alone would take seconds to walk, before Pillow does."""
    if data[:2] == b"\xff\xd8":
        # 0xFF is byte-stuffed in entropy-coded data, so FF DA only ever starts a scan.
        if data.count(b"\xff\xda") > MAX_JPEG_SCANS:
            raise CorruptImage("the JPEG has too many scans")
        at, seen = 2, 0
        while at + 4 <= len(data) and seen <= MAX_SEGMENTS:
            if data[at] != 0xFF:
                return
            marker = data[at + 1]
            if marker == 0xFF:
                at += 1
                continue
            if marker == 0xDA or marker == 0xD9:
                return
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
            seen += 1
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        at, seen = 8, 0
        while at + 8 <= len(data) and seen <= MAX_SEGMENTS:
            if data[at + 4 : at + 8] == b"IDAT":
                return
            at += 12 + int.from_bytes(data[at : at + 4], "big")
            seen += 1
    elif data[:4] == b"GIF8" and len(data) >= 13:
        flags = data[10]
        at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        seen = 0
        while at < len(data) and data[at] == 0x21 and seen <= MAX_SEGMENTS:
            at += 2
            while at < len(data) and data[at]:
                at += data[at] + 1
            at += 1
            seen += 1
    else:
        return
    if seen > MAX_SEGMENTS:
        raise CorruptImage("the file has too many segments before its image data")


def fingerprint_image(
    image: Image.Image,
    size: tuple[int, int] | None = None,
    *,
    local: bool = True,
    smooth: Image.Image | None = None,
) -> Fingerprint:
    """Fingerprint an already decoded Pillow image (``size``: its size before reduction).

    ``local=False`` leaves out the local features (video frames, which are searched by their
    global hashes only). ``smooth``: the same picture reduced to the same size by a triangle
    filter rather than a box (see :func:`_reduce`), which the hashes are taken from.
    """
    width, height = size or image.size
    if smooth is None or smooth.size != image.size:
        smooth = image
    gray = smooth.convert("L")
    h64, h256, pixels256 = _oriented_hashes(gray)
    regions = candidate_views(image)
    colour = colour_thumbnail(image)
    features = extract_local(image, regions, colour) if local else None
    views: list[View] = []
    if additions_only(features if features is not None else image_sketch(image, regions)):
        # A blank picture under a stamp, caption bars or a window: no picture to match.
        quality = 0
    else:
        quality = hash_quality(h256[0], pixels256)
        for name, box in hashed_views(regions, image.size):
            v64, v256, v_pixels = _oriented_hashes(box.crop(gray))
            views.append(View(name, v64, v256, hash_quality(v256[0], v_pixels)))
    return Fingerprint(
        phash64=h64[0],
        phash256=h256[0],
        quality=quality,
        width=width,
        height=height,
        phash64_orientations=h64,
        phash256_orientations=h256,
        views=tuple(views),
        local=features,
        colour=pack_colour(colour),
    )


def _oriented_hashes(
    gray: Image.Image,
) -> tuple[tuple[int, ...], tuple[bytes, ...], npt.NDArray[np.uint8]]:
    coeffs64 = _dct_block(gray, HASH64_SIDE)
    coeffs256, pixels256 = _dct_block_and_pixels(gray, HASH256_SIDE)
    h64 = tuple(_bits_to_int(b) for b in _oriented_bits(coeffs64))
    h256 = tuple(_bits_to_bytes(b) for b in _oriented_bits(coeffs256))
    return h64, h256, pixels256


def decode(data: bytes, limits: Limits = Limits(), min_side: int = DECODE_MIN_SIDE) -> Image.Image:
    """Decode bytes to a small RGB image, fast and safely.

    JPEGs are decoded at reduced scale by libjpeg (draft mode); other formats are
    reduced right after decoding. EXIF orientation is applied, transparency is
    composited on a fixed background and animations contribute their first frame.
    """
    return _decode(data, limits, min_side)[0]


def _decode(
    data: bytes, limits: Limits, min_side: int = DECODE_MIN_SIDE
) -> tuple[Image.Image, tuple[int, int], Image.Image]:
    """Decoded image, its full size (after EXIF orientation) before any reduction, and the
    same reduced by a triangle filter (the image itself when nothing was reduced)."""
    if not data:
        raise EmptyImage()
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes is over the {limits.max_bytes} byte cap")
    _check_structure(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = opened.size
            if width < 1 or height < 1:
                raise CorruptImage("the image has no pixels")
            if max(width, height) > MAX_SIDE:
                raise ImageTooLarge(f"{width}x{height}: a side is over {MAX_SIDE} pixels")
            cost = BYTES_PER_PIXEL.get(opened.format or "", 4) // 4
            if width * height * cost > limits.max_pixels:
                raise ImageTooLarge(f"{width}x{height} is over the {limits.max_pixels:,} pixel cap")
            if opened.format == "JPEG":
                opened.draft("RGB", _draft_request(width, height, min_side))
            opened.load()
            image = _reduce(opened, min_side)
            smooth = (
                _reduce(opened, min_side, smooth=True) if min(image.size) < SMOOTH_BELOW else image
            )
            turned = _apply_exif_orientation(image)
            if turned.size != image.size:
                width, height = height, width
            flat = _flatten(turned)
            if smooth is image:
                return flat, (width, height), flat
            return flat, (width, height), _flatten(_apply_exif_orientation(smooth))
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise NotAnImage() from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        raise CorruptImage(str(exc) or type(exc).__name__) from exc
    except MemoryError as exc:
        raise ImageTooLarge("not enough memory to decode the image") from exc


def _draft_request(width: int, height: int, min_side: int) -> tuple[int, int]:
    """The size to ask libjpeg for so that the shorter side stays >= ``min_side``."""
    short = min(width, height)
    if short <= min_side:
        return (width, height)
    scale = min_side / short
    return (max(1, int(width * scale)), max(1, int(height * scale)))


#: Longest side the hashing works on: a tall, narrow image (short side under 2 x min_side, so
#: not reduced at all) is reduced along its long side only, down to this.
MAX_WORKING_SIDE = 2048


def _reduce(image: Image.Image, min_side: int, *, smooth: bool = False) -> Image.Image:
    """``image`` reduced by a whole factor (short side >= ``min_side``): a box average, or
    with ``smooth`` a triangle filter of the same size (what the hashes are taken from)."""
    width, height = image.size
    factor = min(width, height) // min_side
    factor = min(factor, 8) if factor >= 2 else 1
    fx = (
        max(factor, -(-width // (factor * MAX_WORKING_SIDE)) * factor) if width > height else factor
    )
    fy = (
        max(factor, -(-height // (factor * MAX_WORKING_SIDE)) * factor)
        if height >= width
        else factor
    )
    if fx == fy == 1:
        return image
    if image.mode == "P" or image.mode not in ("RGB", "RGBA", "L", "LA", "I", "F", "I;16"):
        image = image.convert("RGBA")
    if not smooth:
        return image.reduce((fx, fy))
    size = (-(-width // fx), -(-height // fy))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)


#: The hashes are taken from a reduction by a triangle filter (Pillow's bilinear resampling,
#: whose support grows with the factor), after a box average down to no less than this many
#: times the final size (Pillow's ``reducing_gap``). A box average alone folds thin lines and
#: fine stripes into a low-frequency moire that depends on the exact factor, so the same
#: picture reduced by 3 (a PNG) or decoded at half scale (its JPEG copy) hashed 32-48 bits
#: apart (a chessboard with a thin grid). The local features and the regions keep the box
#: average, which their keypoint and margin thresholds were set on.
REDUCING_GAP = 3.0
#: A box average that leaves at least this many pixels on the short side (the factor is capped
#: at 8: a huge picture) stands for the triangle filter: what it folds lands near its own
#: sampling rate, far above the 64-pixel grid the hashes are resampled to, and filtering
#: 50 MP again would cost a tenth more time.
SMOOTH_BELOW = 512


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    try:
        transposed = ImageOps.exif_transpose(image)
    except (KeyError, ValueError, TypeError, SyntaxError, struct.error, OSError):
        # A malformed EXIF block is not worth refusing the pixels for.
        return image
    return transposed if transposed is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "F"):
        return image.convert("L").convert("RGB")
    return image.convert("RGB")


def _resized_pixels(gray: Image.Image, hash_side: int) -> npt.NDArray[np.uint8]:
    side = hash_side * HIGHFREQ_FACTOR
    return np.asarray(gray.resize((side, side), Image.Resampling.LANCZOS))


def _dct_block(gray: Image.Image, hash_side: int) -> npt.NDArray[np.float64]:
    return _dct_block_and_pixels(gray, hash_side)[0]


def _dct_block_and_pixels(
    gray: Image.Image, hash_side: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
    pixels = _resized_pixels(gray, hash_side)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    return np.asarray(dct[:hash_side, :hash_side], dtype=np.float64), pixels


def _oriented_bits(block: npt.NDArray[np.float64]) -> list[npt.NDArray[np.bool_]]:
    """Hash bits of the 8 orientations, in :data:`ORIENTATION_NAMES` order."""
    n = block.shape[0]
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    mirror = block * sign[np.newaxis, :]  # pixels reversed left-right
    flip = block * sign[:, np.newaxis]  # pixels reversed top-bottom
    both = mirror * sign[:, np.newaxis]
    # A transposed block holds the same values, so four medians serve all eight.
    bits = [v > np.median(v) for v in (block, mirror, flip, both)]
    plain, mirrored, flipped, rotated = bits
    # transpose; rot90 (counter-clockwise, as Image.ROTATE_90) = transpose of the mirror;
    # rot270 = transpose of the flip; transverse = transpose of the 180-degree rotation.
    return [plain, mirrored, flipped, rotated, plain.T, mirrored.T, flipped.T, rotated.T]


def _bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def _bits_to_bytes(bits: npt.NDArray[np.bool_]) -> bytes:
    return np.packbits(bits.ravel()).tobytes()


def quality_score(pixels: npt.NDArray[np.uint8]) -> int:
    """Gradient-based information score 0..100, after PDQ's: near-blank images score ~0."""
    values = pixels.astype(np.float64) * (100.0 / 255.0)
    vertical = np.abs(np.diff(values, axis=0)).astype(np.int64).sum()
    horizontal = np.abs(np.diff(values, axis=1)).astype(np.int64).sum()
    # PDQ divides by 90 on a 64x64 buffer; the pixels here are that size too.
    return int(min(100, (vertical + horizontal) // 90))


#: A 256-bit hash with fewer bits set than this is decided by ties, not by its picture: see
#: :func:`decisive`. A hash whose every bit its picture decides has exactly half of them set.
MIN_SET_BITS = 96


def decisive(phash256: bytes) -> bool:
    """Whether a 256-bit hash's bits say something about its picture.

    A bit is set when its DCT coefficient is above the median of the 256, so a hash has
    exactly 128 bits set unless many coefficients equal the median. They do when the picture
    does not change along one axis (a bar on a plain canvas, stripes, a plain colour): all
    their coefficients across that axis are exactly zero, their bits all clear whatever the
    picture, and two such hashes agree on them though the pictures have nothing in common
    (a grey bar on white sits 3 bits from a striped wallpaper). Such a hash matches nothing.
    """
    return int.from_bytes(phash256, "big").bit_count() >= MIN_SET_BITS


#: A picture with almost no edges whose grey levels (64x64) still spread this much (standard
#: deviation, 0-255) shows something: a dark nebula wallpaper, soft light lines. Its detail
#: score (PDQ's counts only steps of 3 levels and more between neighbours) says 0-9, which no
#: preset would match; it is scored :data:`SMOOTH_QUALITY` instead, so that such pictures
#: match under the default and loose presets with the low-detail rules of
#: :mod:`bot.matching` (close 64-bit hashes, agreeing colours). Near-blank pictures (a flat
#: colour, a faint ramp, a page of ghost text, a dark pane's noise) spread under 4.
SMOOTH_STD = 6.0
SMOOTH_QUALITY = 10


def hash_quality(phash256: bytes, pixels: npt.NDArray[np.uint8]) -> int:
    """The quality score of an image (or view) whose hash is ``phash256``: its detail, or 0
    when the hash is not :func:`decisive`; at least :data:`SMOOTH_QUALITY` for a smooth
    picture that is not blank."""
    if not decisive(phash256):
        return 0
    score = quality_score(pixels)
    if score < SMOOTH_QUALITY and float(pixels.std()) >= SMOOTH_STD:
        return SMOOTH_QUALITY
    return score


def hamming64(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return (a ^ b).bit_count()


def hamming_bytes(a: bytes, b: bytes) -> int:
    """Bits that differ between two equally long byte hashes."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def min_oriented_distance(query: Sequence[bytes], stored: bytes) -> tuple[int, int]:
    """Smallest phash256 distance over the query's orientations, and that orientation."""
    stored_int = int.from_bytes(stored, "big")
    best = (HASH256_SIDE * HASH256_SIDE + 1, 0)
    for orientation, q in enumerate(query):
        d = (int.from_bytes(q, "big") ^ stored_int).bit_count()
        if d < best[0]:
            best = (d, orientation)
    return best
