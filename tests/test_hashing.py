"""Fingerprints: known hashes, agreement with ImageHash, fast decode, bad input."""

from __future__ import annotations

import io
import struct
import time
import zlib

import imagehash
import pytest
from PIL import Image, ImageOps

from bot import hashing
from bot.hashing import (
    CorruptImage,
    EmptyImage,
    ImageTooLarge,
    Limits,
    NotAnImage,
    fingerprint,
    hamming64,
    hamming_bytes,
)
from tests.support import (
    DATA,
    PHOTOS,
    VARIANTS,
    encode,
    grey_bar_on_white,
    photo,
    striped_wallpaper,
    thin_grid_board,
)

# Pinned from the committed images: a change here changes every stored fingerprint.
KNOWN = {
    "astronaut.jpg": ("c2924c5532bddfc8", "c2d692764c9f550f"),
    "camera.png": ("bff1c1c0434e8cbc", "bf78f183c10ac067"),
    "chelsea.jpg": ("b15fe6465121175e", "b1ac5ffee6df4622"),
    "coffee.jpg": ("bb8320376c0f3637", "bb2483cc209e37f2"),
    "motorcycle.jpg": ("c507c66b9370aa73", "c5110711c6356b0f"),
    "rocket.jpg": ("c0371bec1bed1263", "c0d937671b96ec20"),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_hashes_of_committed_images(name: str) -> None:
    fp = fingerprint((DATA / name).read_bytes())
    assert (fp.hex64, fp.hex256[:16]) == KNOWN[name]
    assert len(fp.phash256) == 32
    assert fp.quality == 100


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_hashes_equal_imagehash_on_the_same_pixels(name: str) -> None:
    data = (DATA / name).read_bytes()
    pixels = hashing.decode(data)
    fp = hashing.fingerprint_image(pixels)
    assert fp.hex64 == str(imagehash.phash(pixels))
    assert fp.hex256 == str(imagehash.phash(pixels, hash_size=16))


TRANSPOSES = {
    "identity": None,
    "mirrored": Image.Transpose.FLIP_LEFT_RIGHT,
    "flipped": Image.Transpose.FLIP_TOP_BOTTOM,
    "rotated 180": Image.Transpose.ROTATE_180,
    "transposed": Image.Transpose.TRANSPOSE,
    "rotated 90": Image.Transpose.ROTATE_90,
    "rotated 270": Image.Transpose.ROTATE_270,
    "transversed": Image.Transpose.TRANSVERSE,
}


@pytest.mark.parametrize("name", PHOTOS)
def test_orientations_equal_imagehash_of_transposed_pixels(name: str) -> None:
    pixels = hashing.decode((DATA / name).read_bytes())
    fp = hashing.fingerprint_image(pixels)
    for position, orientation in enumerate(hashing.ORIENTATION_NAMES):
        method = TRANSPOSES[orientation]
        turned = pixels if method is None else pixels.transpose(method)
        expected64 = int(str(imagehash.phash(turned)), 16)
        expected256 = bytes.fromhex(str(imagehash.phash(turned, hash_size=16)))
        # Resampling a mirrored grid rounds a few pixel values the other way: allow 2 bits.
        assert hamming64(fp.phash64_orientations[position], expected64) <= 2, orientation
        assert hamming_bytes(fp.phash256_orientations[position], expected256) <= 3, orientation


def test_fast_decode_is_close_to_full_decode() -> None:
    for name in PHOTOS:
        big = photo(name).resize((2000, 1400), Image.Resampling.LANCZOS)
        data = encode(big, quality=90)
        fast = fingerprint(data)
        with Image.open(io.BytesIO(data)) as full:
            full_rgb = full.convert("RGB")
        full_fp = hashing.fingerprint_image(full_rgb)
        assert hamming64(fast.phash64, full_fp.phash64) <= 4, name
        assert hamming_bytes(fast.phash256, full_fp.phash256) <= 12, name
        assert (fast.width, fast.height) == (2000, 1400)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_stay_close_in_some_orientation(variant: str) -> None:
    for name in PHOTOS:
        original = fingerprint((DATA / name).read_bytes())
        edited = fingerprint(VARIANTS[variant](photo(name)))
        distance, _ = hashing.min_oriented_distance(edited.phash256_orientations, original.phash256)
        assert distance <= 29, (name, variant, distance)


def test_distinct_photos_are_far_apart() -> None:
    fps = [fingerprint((DATA / n).read_bytes()) for n in PHOTOS]
    for i, a in enumerate(fps):
        for b in fps[i + 1 :]:
            distance, _ = hashing.min_oriented_distance(a.phash256_orientations, b.phash256)
            assert distance > 60


def test_exif_orientation_is_applied() -> None:
    upright = photo("chelsea.jpg")
    stored_sideways = upright.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view": undoes the turn above
    data = encode(stored_sideways, exif=exif.tobytes())
    fp = fingerprint(data)
    assert (fp.width, fp.height) == upright.size
    assert hamming_bytes(fp.phash256, fingerprint(encode(upright)).phash256) <= 8


def test_transparent_png_is_composited_on_white() -> None:
    rgba = photo("coffee.jpg").convert("RGBA")
    rgba.putalpha(255)
    clear = Image.new("RGBA", rgba.size, (0, 0, 0, 0))
    clear.paste(rgba.crop((0, 0, 100, 100)), (0, 0))
    on_white = Image.new("RGB", rgba.size, (255, 255, 255))
    on_white.paste(rgba.crop((0, 0, 100, 100)), (0, 0))
    assert (
        fingerprint(encode(clear, "PNG")).phash256 == fingerprint(encode(on_white, "PNG")).phash256
    )


def test_animated_gif_uses_first_frame() -> None:
    first = photo("rocket.jpg")
    frames = [first, ImageOps.invert(first), ImageOps.mirror(first)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    fp = fingerprint(buf.getvalue())
    assert hamming_bytes(fp.phash256, fingerprint(encode(first)).phash256) <= 24


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP", "PNG", "GIF"])
def test_chat_formats_decode(fmt: str) -> None:
    fp = fingerprint(encode(photo("astronaut.jpg"), fmt))
    assert fp.quality > 50


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (width * 3)
    compressor = zlib.compressobj(9)
    idat = compressor.compress(row * 50) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyImage),
        (b"just some text, not an image", NotAnImage),
        (b"<html><body>hello</body></html>", NotAnImage),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00garbage", CorruptImage),
        (_png_header_only(20000, 20000), ImageTooLarge),
    ],
    ids=["empty", "text", "html", "corrupt jpeg", "20000x20000 png bomb"],
)
def test_bad_input_gives_a_typed_error_quickly(data: bytes, error: type[Exception]) -> None:
    started = time.perf_counter()
    with pytest.raises(error):
        fingerprint(data)
    assert time.perf_counter() - started < 1.0


def test_truncated_files_are_refused() -> None:
    for fmt in ("JPEG", "PNG", "WEBP", "GIF"):
        data = encode(photo("chelsea.jpg"), fmt)
        with pytest.raises(hashing.ImageError):
            fingerprint(data[: len(data) // 2])


def test_byte_cap_is_enforced() -> None:
    with pytest.raises(ImageTooLarge):
        fingerprint(encode(photo("chelsea.jpg")), Limits(max_bytes=1000))


def test_blank_images_score_low_quality() -> None:
    solid = Image.new("RGB", (640, 480), (30, 120, 200))
    gradient = Image.linear_gradient("L").resize((640, 480)).point(lambda v: 100 + v // 8)
    gradient = gradient.convert("RGB")
    faint = Image.new("RGB", (640, 480), (250, 250, 250))
    faint.paste((245, 245, 245), (300, 200, 340, 240))
    for image in (solid, gradient, faint):
        assert fingerprint(encode(image, "PNG")).quality < 25
    assert fingerprint((DATA / "coffee.jpg").read_bytes()).quality == 100


def test_pictures_that_do_not_change_along_one_axis_score_no_quality() -> None:
    """Their hash bits across that axis are ties, not picture: two such hashes agree on them."""
    bar = fingerprint(encode(grey_bar_on_white(), "JPEG"))
    stripes = fingerprint(encode(striped_wallpaper(), "PNG"))
    # Alike as hashes, though the pictures have nothing in common...
    assert hashing.min_oriented_distance(bar.phash256_orientations, stripes.phash256)[0] <= 8
    # ...because most of their bits are not set by the picture at all.
    for fp in (bar, stripes):
        assert fp.quality == 0
        assert not hashing.decisive(fp.phash256)
    for name in PHOTOS:
        fp = fingerprint((DATA / name).read_bytes())
        assert hashing.decisive(fp.phash256), name
        assert int.from_bytes(fp.phash256, "big").bit_count() == 128, name


def test_a_thin_grid_hashes_alike_whatever_the_decoder_reduces_it_by() -> None:
    """The PNG is reduced by 3 before hashing, its JPEG copies are decoded at half scale: a box
    average folded the thin grid into a moire of its own at each factor (60+ bits apart)."""
    board = thin_grid_board()
    original = fingerprint(encode(board, "PNG"))
    half = board.resize((board.width // 2, board.height // 2), Image.Resampling.LANCZOS)
    for copy in (encode(board, quality=85), encode(half, quality=85)):
        query = fingerprint(copy)
        distance, _ = hashing.min_oriented_distance(query.phash256_orientations, original.phash256)
        assert distance <= 24


def _captioned(image: Image.Image) -> Image.Image:
    from PIL import ImageDraw

    bar = int(image.height * 0.18)
    out = Image.new("RGB", (image.width, image.height + bar), "white")
    out.paste(image, (0, bar))
    draw = ImageDraw.Draw(out)
    for row in range(3):
        draw.text((10, 6 + row * 14), "WHEN THE CODE WORKS ON THE FIRST TRY", fill="black")
    return out


def _on_canvas(image: Image.Image) -> Image.Image:
    from PIL import ImageDraw

    canvas = Image.new("RGB", (int(image.width * 1.6), int(image.height * 1.7)), (236, 236, 240))
    small = image.resize((image.width, image.height))
    left, top = int(image.width * 0.3), int(image.height * 0.35)
    canvas.paste(small, (left, top))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, 20), fill=(200, 200, 205))
    draw.text((10, top - 16), "look what I found", fill=(40, 40, 40))
    draw.text((10, top + image.height + 6), "lol", fill=(40, 40, 40))
    return canvas


@pytest.mark.parametrize(
    ("edit", "view"), [(_captioned, "captioned"), (_on_canvas, "screenshot of an image")]
)
def test_captions_and_screenshots_give_a_view_of_the_picture(edit, view) -> None:  # type: ignore[no-untyped-def]
    for name in PHOTOS:
        original = fingerprint((DATA / name).read_bytes())
        query = fingerprint(encode(edit(photo(name))))
        distances = [
            hashing.min_oriented_distance(v.phash256_orientations, original.phash256)[0]
            for v in query.views
            if v.name == view
        ]
        assert distances and min(distances) <= 25, (name, distances)
    # A plain photo has no caption bar and no canvas around it.
    assert fingerprint((DATA / "coffee.jpg").read_bytes()).views == ()
