"""The hostile image corpus: every kind of bad upload seenit must survive, built in code.

Each :class:`Case` says what a file is and what seenit must do with it:

* ``Expect.DECODE``: a valid (if unusual) image; it must fingerprint.
* ``Expect.REFUSE``: must be refused with an ``ImageError`` (``Case.error`` names the
  subclass when only one is right: ``EmptyImage``, ``NotAnImage`` or ``ImageTooLarge``; a
  subclass of it, such as the videos' ``VideoTooLong``, is right too).
* ``Expect.EITHER``: damaged data; a fingerprint or an ``ImageError`` are both fine.

Files that need a valid base are made from the committed photographs in ``tests/data``
(decoded by Pillow, shrunk to 160 px) so that decoding stays fast. Everything is
deterministic: random damage uses fixed seeds. Nothing here imports seenit.

``KNOWN_ISSUES`` lists the cases that still break a bound (time, memory or the error
contract) with the current ``bot/hashing.py``; the tests mark them xfail(strict).
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PIL import Image, ImageOps

DATA = Path(__file__).resolve().parent.parent / "data"
#: Side of the base images (longest side), small so that decoding is quick.
BASE_SIDE = 160


class Expect(Enum):
    DECODE = "decode"
    REFUSE = "refuse"
    EITHER = "either"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    what: str
    expect: Expect
    build: Callable[[], bytes]
    #: Name of the one ImageError subclass that is right, when there is only one.
    error: str | None = None


# --------------------------------------------------------------------------- bases


@functools.cache
def _photo_cached(name: str, side: int) -> Image.Image:
    with Image.open(DATA / name) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return rgb


def photo(name: str = "chelsea.jpg", side: int = BASE_SIDE) -> Image.Image:
    """A committed photograph as RGB, its longest side ``side`` pixels (a fresh copy)."""
    return _photo_cached(name, side).copy()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


@functools.cache
def base_images() -> dict[str, bytes]:
    """Valid small files, one per format seenit reads, from different photographs."""
    return {
        "JPEG": encode(photo("chelsea.jpg"), "JPEG", quality=85),
        "PNG": encode(photo("coffee.jpg"), "PNG"),
        "GIF": encode(photo("rocket.jpg"), "GIF"),
        "WEBP": encode(photo("astronaut.jpg"), "WEBP", quality=80),
        "TIFF": encode(photo("motorcycle.jpg"), "TIFF"),
        "BMP": encode(photo("camera.png"), "BMP"),
    }


def _base(fmt: str) -> bytes:
    return base_images()[fmt]


# --------------------------------------------------------------------------- PNG


def png_chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    if crc is None:
        crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc & 0xFFFFFFFF)


def png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk of a well-formed PNG; end is past the CRC."""
    out = []
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        out.append((kind, i, end))
        i = end
    return out


def _png_body(data: bytes, kind: bytes) -> bytes:
    for k, start, end in png_chunks(data):
        if k == kind:
            return data[start + 8 : end - 4]
    raise ValueError(kind)


def _png_replace(data: bytes, kind: bytes, new: bytes) -> bytes:
    """Replace the first chunk of ``kind`` by the raw bytes ``new``."""
    for k, start, end in png_chunks(data):
        if k == kind:
            return data[:start] + new + data[end:]
    raise ValueError(kind)


def _png_insert_before(data: bytes, kind: bytes, new: bytes) -> bytes:
    for k, start, _ in png_chunks(data):
        if k == kind:
            return data[:start] + new + data[start:]
    raise ValueError(kind)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _ihdr(width: int, height: int, depth: int = 8, color: int = 2, interlace: int = 0) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace))


def png_flat(width: int, height: int, color: int = 2, depth: int = 8) -> bytes:
    """A valid PNG of all-zero pixels, compressed in pieces (huge sizes stay cheap)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    row = b"\x00" * (1 + (width * channels * depth + 7) // 8)
    rows_per_block = max(1, (1 << 20) // len(row))
    compressor = zlib.compressobj(9)
    parts = []
    left = height
    block = row * min(rows_per_block, height)
    while left > 0:
        count = min(left, rows_per_block)
        parts.append(compressor.compress(block[: count * len(row)]))
        left -= count
    parts.append(compressor.flush())
    palette = png_chunk(b"PLTE", b"\x00\x00\x00") if color == 3 else b""
    return (
        PNG_SIGNATURE
        + _ihdr(width, height, depth, color)
        + palette
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring ``width`` x ``height`` RGB, with 50 rows of actual data."""
    row = b"\x00" * (1 + min(width, 100_000) * 3)
    idat = zlib.compress(row * 50, 9)
    return PNG_SIGNATURE + _ihdr(width, height) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def _png_with_ihdr(**fields: int) -> bytes:
    data = _base("PNG")
    width, height, depth, color, comp, filt, interlace = struct.unpack(
        ">IIBBBBB", _png_body(data, b"IHDR")
    )
    values = {
        "width": width,
        "height": height,
        "depth": depth,
        "color": color,
        "comp": comp,
        "filt": filt,
        "interlace": interlace,
    }
    values.update(fields)
    body = struct.pack(
        ">IIBBBBB",
        values["width"],
        values["height"],
        values["depth"],
        values["color"],
        values["comp"],
        values["filt"],
        values["interlace"],
    )
    return _png_replace(data, b"IHDR", png_chunk(b"IHDR", body))


def _png_idat_edit(edit: Callable[[bytes], bytes], *, fix_crc: bool = True) -> bytes:
    data = _base("PNG")
    body = _png_body(data, b"IDAT")
    new = edit(body)
    crc = None if fix_crc else zlib.crc32(b"IDAT" + body) ^ 0xFFFF
    return _png_replace(data, b"IDAT", png_chunk(b"IDAT", new, crc))


def _png_text_chunk_bomb() -> bytes:
    # 20 MB of tEXt (under the 25 MB byte cap): a text chunk far past Pillow's 1 MB cap.
    body = b"Comment\x00" + b"A" * 20_000_000
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"tEXt", body))


def _deflate_zeros(size: int) -> bytes:
    """A valid zlib stream inflating to ``size`` (a multiple of 1 MiB) zero bytes, built fast.

    After a full flush deflate forgets its history, so every further 1 MiB block of zeros
    compresses to the same bytes: compress one, repeat it, and close the stream by hand
    (an empty final block, then the Adler-32 of all the data).
    """
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first[2:] == again
    adler = 1
    for _ in range(size >> 20):
        adler = zlib.adler32(block, adler)
    return first + again * ((size >> 20) - 1) + b"\x03\x00" + struct.pack(">I", adler)


def _png_ztxt_bomb() -> bytes:
    # ~1 MB zTXt inflating to 1 GB.
    body = b"Comment\x00\x00" + _deflate_zeros(1 << 30)
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"zTXt", body))


def _png_iccp_bomb() -> bytes:
    body = b"evil\x00\x00" + _deflate_zeros(256 << 20)
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"iCCP", body))


def _png_itxt_bomb() -> bytes:
    body = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + _deflate_zeros(256 << 20)
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"iTXt", body))


def _png_many_ztxt() -> bytes:
    # 200 zTXt chunks of 1 KB each inflating to 1 MB each: 200 MB of text in total.
    one = png_chunk(b"zTXt", b"Comment\x00\x00" + _deflate_zeros(1 << 20))
    return _png_insert_before(_base("PNG"), b"IDAT", one * 200)


def _png_many_chunks(count: int) -> bytes:
    # Unknown private ancillary chunks, each 12 bytes: Pillow walks them one by one.
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"zzZz", b"") * count)


def _png_idat_split() -> bytes:
    # A valid PNG whose image data is cut into one-byte IDAT chunks.
    data = _base("PNG")
    body = _png_body(data, b"IDAT")
    split = b"".join(png_chunk(b"IDAT", body[i : i + 1]) for i in range(len(body)))
    return _png_replace(data, b"IDAT", split)


def _apng(frames: int, side: int = 16) -> bytes:
    small = photo("coffee.jpg").resize((side, side))
    idat = _png_body(encode(small, "PNG"), b"IDAT")
    seq = 0

    def fctl() -> bytes:
        nonlocal seq
        body = struct.pack(">IIIIIHHBB", seq, side, side, 0, 0, 1, 25, 0, 0)
        seq += 1
        return png_chunk(b"fcTL", body)

    parts = [PNG_SIGNATURE, _ihdr(side, side), png_chunk(b"acTL", struct.pack(">II", frames, 0))]
    parts += [fctl(), png_chunk(b"IDAT", idat)]
    for _ in range(frames - 1):
        parts.append(fctl())
        parts.append(png_chunk(b"fdAT", struct.pack(">I", seq) + idat))
        seq += 1
    parts.append(png_chunk(b"IEND", b""))
    return b"".join(parts)


def _with_alpha(image: Image.Image) -> Image.Image:
    """``image`` with a real alpha channel: a horizontal ramp from clear to opaque."""
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").rotate(90).resize(image.size))
    return rgba


def _png_mode(mode: str, **params: object) -> bytes:
    image = photo("coffee.jpg")
    if mode == "I;16":
        gray = ImageOps.grayscale(image)
        return encode(gray.point(lambda v: v * 257, "I").convert("I;16"), "PNG")
    if mode == "RGB;16":
        # Pillow writes 8 bits per channel; write 16 by hand.
        raw = b"".join(
            b"\x00" + b"".join(bytes([c, c]) for px in row for c in px) for row in _rows(image)
        )
        w, h = image.size
        return (
            PNG_SIGNATURE
            + _ihdr(w, h, 16, 2)
            + png_chunk(b"IDAT", zlib.compress(raw))
            + png_chunk(b"IEND", b"")
        )
    if mode == "P+tRNS":
        pal = image.quantize(64)
        return encode(pal, "PNG", transparency=0)
    if mode == "L+tRNS":
        return encode(ImageOps.grayscale(image), "PNG", transparency=128)
    return encode(image.convert(mode), "PNG", **params)


#: Adam7 passes: (x start, y start, x step, y step).
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def png_adam7(image: Image.Image) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow reads them but cannot write them)."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    raw = rgb.tobytes()
    out = bytearray()
    for x0, y0, dx, dy in ADAM7:
        xs = range(x0, w, dx)
        if not xs:
            continue
        for y in range(y0, h, dy):
            out.append(0)
            for x in xs:
                at = (y * w + x) * 3
                out += raw[at : at + 3]
    return (
        PNG_SIGNATURE
        + _ihdr(w, h, 8, 2, interlace=1)
        + png_chunk(b"IDAT", zlib.compress(bytes(out)))
        + png_chunk(b"IEND", b"")
    )


def _rows(image: Image.Image) -> list[list[tuple[int, ...]]]:
    w, h = image.size
    px = image.load()
    assert px is not None
    return [[px[x, y] for x in range(w)] for y in range(h)]  # type: ignore[misc]


# --------------------------------------------------------------------------- JPEG


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment up to EOI; a scan's end includes its data."""
    out = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"no marker at {i}")
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, i, i + 2))
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        end = i + 2 + length
        if marker == 0xDA:
            j = end
            while True:
                j = data.index(b"\xff", j)
                if data[j + 1] == 0 or 0xD0 <= data[j + 1] <= 0xD7:
                    j += 2
                    continue
                break
            end = j
        out.append((marker, i, end))
        i = end
    return out


def _jpeg_segment(data: bytes, markers: tuple[int, ...]) -> tuple[int, int]:
    for marker, start, end in jpeg_segments(data):
        if marker in markers:
            return start, end
    raise ValueError(markers)


SOF_MARKERS = (0xC0, 0xC1, 0xC2)


def _jpeg_patch(data: bytes, markers: tuple[int, ...], offset: int, new: bytes) -> bytes:
    """Overwrite bytes at ``offset`` from the start of the first segment of ``markers``."""
    start, _ = _jpeg_segment(data, markers)
    at = start + offset
    return data[:at] + new + data[at + len(new) :]


def _jpeg_sof(height: int, width: int, data: bytes | None = None) -> bytes:
    return _jpeg_patch(data or _base("JPEG"), SOF_MARKERS, 5, struct.pack(">HH", height, width))


def _entropy_range(data: bytes) -> tuple[int, int]:
    start, end = _jpeg_segment(data, (0xDA,))
    (length,) = struct.unpack(">H", data[start + 2 : start + 4])
    return start + 2 + length, end


def _flip_bytes(data: bytes, lo: int, hi: int, count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        at = rng.randrange(lo, hi)
        out[at] ^= rng.randrange(1, 256)
    return bytes(out)


def _jpeg_entropy_flips(seed: int) -> bytes:
    data = _base("JPEG")
    lo, hi = _entropy_range(data)
    return _flip_bytes(data, lo, hi, 12, seed)


def _jpeg_entropy_edit(edit: Callable[[bytes], bytes]) -> bytes:
    data = _base("JPEG")
    lo, hi = _entropy_range(data)
    return data[:lo] + edit(data[lo:hi]) + data[hi:]


def _jpeg_dht_counts(counts: bytes) -> bytes:
    data = _base("JPEG")
    start, _ = _jpeg_segment(data, (0xC4,))
    return data[: start + 5] + counts + data[start + 5 + len(counts) :]


def _jpeg_without(markers: tuple[int, ...]) -> bytes:
    data = _base("JPEG")
    keep = [data[:2]]
    for marker, start, end in jpeg_segments(data):
        if marker not in markers:
            keep.append(data[start:end])
    return b"".join(keep)


def _jpeg_dqt_zero() -> bytes:
    data = _base("JPEG")
    start, end = _jpeg_segment(data, (0xDB,))
    body = bytearray(data[start:end])
    body[5:69] = b"\x00" * 64
    return data[:start] + bytes(body) + data[end:]


def _jpeg_duplicate_sof() -> bytes:
    data = _base("JPEG")
    start, end = _jpeg_segment(data, SOF_MARKERS)
    sof = data[start:end]
    huge = sof[:5] + struct.pack(">HH", 65000, 65000) + sof[9:]
    return data[:start] + huge + sof + data[end:]


def _jpeg_insert_after_soi(data: bytes, segment: bytes) -> bytes:
    return data[:2] + segment + data[2:]


def _app(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg_scan_bomb(scans: int, side: int = 7000) -> bytes:
    """A progressive JPEG whose cheapest scan is repeated ``scans`` times (~75 bytes each)."""
    data = encode(Image.new("L", (side, side), 128), "JPEG", progressive=True)
    segments = jpeg_segments(data)
    scan_ranges = [(s, e) for m, s, e in segments if m == 0xDA]
    s, e = min(scan_ranges, key=lambda r: r[1] - r[0])
    eoi = segments[-1][1]
    return data[:eoi] + data[s:e] * scans + data[eoi:]


def _jpeg_many_markers(marker: int, count: int) -> bytes:
    return _jpeg_insert_after_soi(_base("JPEG"), bytes([0xFF, marker, 0x00, 0x02]) * count)


def _mpo() -> bytes:
    first = photo("chelsea.jpg")
    return encode(first, "MPO", save_all=True, append_images=[ImageOps.mirror(first)])


def _jpeg_cmyk_adobe() -> bytes:
    # Photoshop writes CMYK inverted with an Adobe APP14 marker.
    return encode(ImageOps.invert(photo("chelsea.jpg")).convert("CMYK"), "JPEG")


# --------------------------------------------------------------------------- EXIF


Entry = tuple[int, int, int, bytes]


def tiff_ifd(entries: list[Entry], at: int, endian: str = "<", next_ifd: int = 0) -> bytes:
    """One IFD placed at file offset ``at``; values over 4 bytes follow it.

    A value given in 4 bytes or fewer is written inline as is, whatever the count says: a
    way to make a field claim more data than there is, at any offset.
    """
    values_at = at + 2 + 12 * len(entries) + 4
    head = struct.pack(endian + "H", len(entries))
    area = b""
    for tag, kind, count, raw in sorted(entries):
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack(endian + "I", values_at + len(area))
            area += raw + (b"\x00" if len(raw) % 2 else b"")
        head += struct.pack(endian + "HHI", tag, kind, count) + field
    return head + struct.pack(endian + "I", next_ifd) + area


def tiff_file(
    entries: list[Entry], data: bytes = b"", endian: str = "<", next_ifd: int = 0
) -> bytes:
    """A TIFF stream: header, ``data`` at offset 8, then one IFD (``next_ifd=-1``: itself)."""
    mark = b"II" if endian == "<" else b"MM"
    pad = data + (b"\x00" if len(data) % 2 else b"")
    at = 8 + len(pad)
    nxt = at if next_ifd == -1 else next_ifd
    return mark + struct.pack(endian + "HI", 42, at) + pad + tiff_ifd(entries, at, endian, nxt)


def short(tag: int, *values: int, endian: str = "<") -> Entry:
    return (tag, 3, len(values), struct.pack(f"{endian}{len(values)}H", *values))


def long(tag: int, *values: int, endian: str = "<") -> Entry:
    return (tag, 4, len(values), struct.pack(f"{endian}{len(values)}I", *values))


ORIENTATION = 0x0112


def _jpeg_with_exif(tiff: bytes, image: bytes | None = None) -> bytes:
    return _jpeg_insert_after_soi(image or _base("JPEG"), _app(0xE1, b"Exif\x00\x00" + tiff))


def _sideways_jpeg() -> bytes:
    return encode(photo("chelsea.jpg").rotate(90, expand=True), "JPEG", quality=85)


EXIF_ORIENTATIONS: dict[str, Entry] = {
    "orientation-0": short(ORIENTATION, 0),
    "orientation-9": short(ORIENTATION, 9),
    "orientation-65535": short(ORIENTATION, 65535),
    "orientation-sshort-minus-1": (ORIENTATION, 8, 1, struct.pack("<h", -1)),
    "orientation-slong-min": (ORIENTATION, 9, 1, struct.pack("<i", -(2**31))),
    "orientation-ascii": (ORIENTATION, 2, 8, b"rotate6\x00"),
    "orientation-rational-6": (ORIENTATION, 5, 1, struct.pack("<II", 6, 1)),
    "orientation-rational-div0": (ORIENTATION, 5, 1, struct.pack("<II", 6, 0)),
    "orientation-double-nan": (ORIENTATION, 12, 1, struct.pack("<d", float("nan"))),
    "orientation-array-1000": short(ORIENTATION, *([6] * 1000)),
    "orientation-type-99": (ORIENTATION, 99, 1, b"\x06\x00\x00\x00"),
    "orientation-count-0": (ORIENTATION, 3, 0, b""),
    "orientation-undefined": (ORIENTATION, 7, 4, b"\x06\x00\x00\x00"),
    "orientation-count-huge-offset-past-end": (
        ORIENTATION,
        3,
        0x4000_0000,
        struct.pack("<I", 0xFFFF_FF00),
    ),
}


def _exif_loops() -> bytes:
    # Orientation 6 (so exif_transpose rewrites the block), an Exif IFD pointing back at IFD0
    # and IFD1 pointing at itself.
    entries = [short(ORIENTATION, 6), long(0x8769, 8)]
    return _jpeg_with_exif(tiff_file(entries, next_ifd=-1), _sideways_jpeg())


def _exif_gps_garbage() -> bytes:
    entries = [short(ORIENTATION, 6), long(0x8825, 0xFFFF_FF00), long(0xA005, 3)]
    return _jpeg_with_exif(tiff_file(entries), _sideways_jpeg())


def _exif_big_endian_6() -> bytes:
    return _jpeg_with_exif(
        tiff_file([short(ORIENTATION, 6, endian=">")], endian=">"), _sideways_jpeg()
    )


def _exif_random(seed: int) -> bytes:
    rng = random.Random(seed)
    return _jpeg_insert_after_soi(
        _base("JPEG"), _app(0xE1, b"Exif\x00\x00" + bytes(rng.randrange(256) for _ in range(300)))
    )


def _png_exif(tiff: bytes) -> bytes:
    return _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"eXIf", tiff))


def _png_xmp(xmp: str) -> bytes:
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp.encode()
    image = encode(photo("coffee.jpg").rotate(90, expand=True), "PNG")
    return _png_insert_before(image, b"IDAT", png_chunk(b"iTXt", body))


XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
    'rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    'tiff:Orientation="{}"/></rdf:RDF></x:xmpmeta>'
)


# --------------------------------------------------------------------------- GIF


def gif_blocks(data: bytes) -> list[tuple[str, int, int]]:
    """("header"|"extension"|"image"|"trailer", start, end) of a GIF's blocks."""
    flags = data[10]
    at = 13 + (3 * (2 ** ((flags & 7) + 1)) if flags & 0x80 else 0)
    out = [("header", 0, at)]
    while at < len(data):
        kind = data[at]
        start = at
        if kind == 0x3B:
            out.append(("trailer", at, at + 1))
            break
        if kind == 0x21:
            at += 2
        elif kind == 0x2C:
            local = data[at + 9]
            at += 10 + (3 * (2 ** ((local & 7) + 1)) if local & 0x80 else 0)
            at += 1  # LZW minimum code size
        else:
            raise ValueError(f"unknown GIF block {kind:#x} at {at}")
        while data[at] != 0:
            at += data[at] + 1
        at += 1
        out.append(("extension" if kind == 0x21 else "image", start, at))
    return out


def _gif_image_block(data: bytes) -> tuple[int, int]:
    for kind, start, end in gif_blocks(data):
        if kind == "image":
            return start, end
    raise ValueError("no image")


def _gif_frames(frames: int, side: int = 16) -> bytes:
    single = encode(photo("rocket.jpg").resize((side, side)), "GIF")
    head = gif_blocks(single)[0][2]
    start, end = _gif_image_block(single)
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    gce = b"\x21\xf9\x04\x04\x02\x00\x00\x00"
    return single[:head] + loop + (gce + single[start:end]) * frames + b"\x3b"


def _gif_screen(width: int, height: int, frame: tuple[int, int, int, int] | None = None) -> bytes:
    """A small GIF whose logical screen (and optionally first frame box) is patched."""
    single = encode(photo("rocket.jpg").resize((16, 16)), "GIF")
    data = bytearray(single[:6] + struct.pack("<HH", width, height) + single[10:])
    if frame is not None:
        start, _ = _gif_image_block(bytes(data))
        data[start + 1 : start + 9] = struct.pack("<HHHH", *frame)
    return bytes(data)


def _gif_lzw_flips(seed: int) -> bytes:
    data = _base("GIF")
    start, end = _gif_image_block(data)
    return _flip_bytes(data, start + 12, end - 1, 10, seed)


def _gif_lzw_code_size(value: int) -> bytes:
    data = bytearray(_base("GIF"))
    start, _ = _gif_image_block(bytes(data))
    local = data[start + 9]
    at = start + 10 + (3 * (2 ** ((local & 7) + 1)) if local & 0x80 else 0)
    data[at] = value
    return bytes(data)


def _gif_many_extensions(count: int) -> bytes:
    data = _base("GIF")
    head = gif_blocks(data)[0][2]
    comment = b"\x21\xfe\x01x\x00"
    return data[:head] + comment * count + data[head:]


def _gif_no_image() -> bytes:
    data = _base("GIF")
    head = gif_blocks(data)[0][2]
    return data[:head] + b"\x3b"


def _gif_no_colour_table() -> bytes:
    data = bytearray(_gif_frames(1))
    data[10] &= 0x7F  # drop the global colour table flag, keep its bytes as junk
    return bytes(data)


# --------------------------------------------------------------------------- WebP


def riff_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    out = []
    at = 12
    while at + 8 <= len(data):
        kind = data[at : at + 4]
        (size,) = struct.unpack("<I", data[at + 4 : at + 8])
        end = at + 8 + size + (size & 1)
        out.append((kind, at, end))
        at = end
    return out


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


@functools.cache
def _vp8l(side: int) -> bytes:
    data = encode(photo("astronaut.jpg").resize((side, side)), "WEBP", lossless=True)
    for kind, start, end in riff_chunks(data):
        if kind == b"VP8L":
            return data[start:end]
    raise ValueError("no VP8L chunk")


def webp_animation(width: int, height: int, frames: int, side: int = 1) -> bytes:
    """An animated WebP: a ``width`` x ``height`` canvas, ``frames`` frames of side ``side``."""
    vp8x = _riff_chunk(b"VP8X", b"\x02\x00\x00\x00" + _u24(width - 1) + _u24(height - 1))
    anim = _riff_chunk(b"ANIM", b"\x00\x00\x00\x00\x00\x00")
    frame = _riff_chunk(
        b"ANMF",
        _u24(0) + _u24(0) + _u24(side - 1) + _u24(side - 1) + _u24(40) + b"\x00" + _vp8l(side),
    )
    return _riff(vp8x + anim + frame * frames)


def _webp_anmf_outside() -> bytes:
    vp8x = _riff_chunk(b"VP8X", b"\x02\x00\x00\x00" + _u24(15) + _u24(15))
    anim = _riff_chunk(b"ANIM", b"\x00\x00\x00\x00\x00\x00")
    frame = _riff_chunk(
        b"ANMF", _u24(5000) + _u24(5000) + _u24(15) + _u24(15) + _u24(40) + b"\x00" + _vp8l(16)
    )
    return _riff(vp8x + anim + frame)


def _webp_vp8l_declaring(width: int, height: int) -> bytes:
    # A lossless bitstream header (0x2f, 14-bit width-1, 14-bit height-1) on tiny image data.
    chunk = bytearray(_vp8l(16))
    bits = (width - 1) | ((height - 1) << 14) | (1 << 28)
    chunk[9:13] = struct.pack("<I", bits)
    return _riff(bytes(chunk))


def _webp_chunk_flips(kind: bytes, seed: int, data: bytes | None = None) -> bytes:
    data = data or _base("WEBP")
    for k, start, end in riff_chunks(data):
        if k == kind:
            return _flip_bytes(data, start + 8 + 10, end, 10, seed)
    raise ValueError(kind)


def _webp_riff_size(size: int) -> bytes:
    data = _base("WEBP")
    return data[:4] + struct.pack("<I", size) + data[8:]


# --------------------------------------------------------------------------- TIFF


def _gray_tiff(
    width: int,
    height: int,
    extra: list[Entry] | None = None,
    drop: tuple[str, ...] = (),
    **over: Entry,
) -> bytes:
    if width * height <= 65536:
        pixels = bytes((x * 7 + y * 3) & 0xFF for y in range(height) for x in range(width))
    else:
        pixels = bytes(range(256)) * 16
    entries = {
        "width": long(256, width),
        "height": long(257, height),
        "bits": short(258, 8),
        "compression": short(259, 1),
        "photometric": short(262, 1),
        "offsets": long(273, 8),
        "samples": short(277, 1),
        "rows": long(278, height),
        "counts": long(279, len(pixels)),
    }
    entries.update(over)
    for name in drop:
        del entries[name]
    return tiff_file(list(entries.values()) + (extra or []), pixels)


def _tiff_pages(pages: int, side: int = 16) -> bytes:
    pixels = bytes(range(side)) * side
    entries = [
        long(256, side),
        long(257, side),
        short(258, 8),
        short(259, 1),
        short(262, 1),
        long(273, 8),
        short(277, 1),
        long(278, side),
        long(279, len(pixels)),
    ]
    ifd_size = len(tiff_ifd(entries, 0))
    first = 8 + len(pixels)
    out = [b"II" + struct.pack("<HI", 42, first), pixels]
    for page in range(pages):
        at = first + page * ifd_size
        nxt = at + ifd_size if page < pages - 1 else 0
        out.append(tiff_ifd(entries, at, "<", nxt))
    return b"".join(out)


def _tiff_16bit_big_endian() -> bytes:
    gray = ImageOps.grayscale(photo("motorcycle.jpg", 300))
    w, h = gray.size
    px = gray.tobytes()
    pixels = b"".join(struct.pack(">H", v * 257) for v in px)
    entries = [
        long(256, w, endian=">"),
        long(257, h, endian=">"),
        short(258, 16, endian=">"),
        short(259, 1, endian=">"),
        short(262, 1, endian=">"),
        long(273, 8, endian=">"),
        short(277, 1, endian=">"),
        long(278, h, endian=">"),
        long(279, len(pixels), endian=">"),
    ]
    return tiff_file(entries, pixels, endian=">")


def _tiff_float() -> bytes:
    gray = ImageOps.grayscale(photo("motorcycle.jpg")).convert("F").point(lambda v: v / 255.0)
    return encode(gray, "TIFF")


# --------------------------------------------------------------------------- BMP


def _bmp_patch(offset: int, fmt: str, value: int, data: bytes | None = None) -> bytes:
    data = data or _base("BMP")
    size = struct.calcsize(fmt)
    return data[:offset] + struct.pack(fmt, value) + data[offset + size :]


def _bmp_top_down() -> bytes:
    # Negative height = rows stored top-down. Write the rows reversed so the picture is upright.
    image = photo("camera.png").convert("RGB")
    data = encode(ImageOps.flip(image), "BMP")
    (height,) = struct.unpack("<i", data[22:26])
    return _bmp_patch(22, "<i", -height, data)


def _bmp_rle8(garbage: bool) -> bytes:
    width, height = 32, 16
    rows = []
    for y in range(height):
        rows.append(bytes([width, y * 8]) + b"\x00\x00")  # a run, then end of line
    pixels = b"".join(rows) + b"\x00\x01"
    if garbage:
        pixels = b"\x00\x02\xff\xff" + b"\x00\x05" + pixels[:10]  # delta far away, bad escape
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 0, 0, 256, 0)
    offset = 14 + len(header) + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return file_header + header + palette + pixels


def _bmp_declaring(width: int, height: int) -> bytes:
    return _bmp_patch(22, "<i", height, _bmp_patch(18, "<i", width))


# --------------------------------------------------------------------------- others


def _zip(name: str = "evil.class", payload: bytes = b"\xca\xfe\xba\xbe" + b"\x00" * 60) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), payload)
    return buf.getvalue()


def _ico() -> bytes:
    return encode(photo("coffee.jpg", 64), "ICO")


def _psd_header() -> bytes:
    return b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 64, 64, 8, 3) + b"\x00" * 64


def _ftyp(brand: bytes) -> bytes:
    body = brand + b"\x00\x00\x00\x00" + brand + b"mif1"
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 64


def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHI", 2, 62, 1) + b"\x00" * 100


# --------------------------------------------------------------------------- the corpus


def _cut(fmt: str, cut: int | float) -> Callable[[], bytes]:
    def build() -> bytes:
        data = _base(fmt)
        at = int(len(data) * cut) if isinstance(cut, float) else cut
        if at < 0:
            at += len(data)
        return data[:at]

    return build


def _cases() -> list[Case]:
    cases: list[Case] = []
    D, R, E = Expect.DECODE, Expect.REFUSE, Expect.EITHER

    def add(
        name: str, what: str, expect: Expect, build: Callable[[], bytes], error: str | None = None
    ) -> None:
        cases.append(Case(name, what, expect, build, error))

    # Zero bytes and non-images with image names.
    add("empty.png", "zero bytes", R, lambda: b"", "EmptyImage")
    add("nul.jpg", "a single NUL byte", R, lambda: b"\x00", "NotAnImage")
    add("zeros-4k.png", "4096 NUL bytes", R, lambda: b"\x00" * 4096, "NotAnImage")
    add(
        "page.png",
        "an HTML page served as image/png",
        R,
        lambda: (
            b"<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body>"
            b"</html>" * 20
        ),
        "NotAnImage",
    )
    add(
        "api.jpg",
        "a JSON API answer served as image/jpeg",
        R,
        lambda: (
            b'{"error": "rate limited", "retry_after": 5, "image": "data:image/png;base64,'
            b'iVBORw0KGgo="}'
        ),
        "NotAnImage",
    )
    add(
        "doc.png",
        "a PDF header and body",
        R,
        lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 10,
        "NotAnImage",
    )
    add("binary.gif", "an ELF executable header", R, _elf, "NotAnImage")
    add(
        "notes.webp",
        "plain UTF-8 text",
        R,
        lambda: "just some text, ça va\n".encode() * 50,
        "NotAnImage",
    )
    add(
        "vector.png",
        "an SVG image (not a raster format seenit reads)",
        R,
        lambda: (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100000" '
            b'height="100000"><rect width="100%" height="100%" fill="red"/></svg>'
        ),
        "NotAnImage",
    )
    add("archive.png", "a ZIP archive", R, _zip, "NotAnImage")
    add(
        "print.jpg",
        "an EPS header (Pillow would call Ghostscript if EPS were allowed)",
        R,
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100000 100000\nshowpage\n",
        "NotAnImage",
    )
    add("layers.png", "a Photoshop PSD header", R, _psd_header, "NotAnImage")
    add("favicon.png", "a real ICO file (not an allowed format)", R, _ico, "NotAnImage")
    add(
        "photo.jp2",
        "a real JPEG 2000 file (not an allowed format)",
        R,
        lambda: encode(photo("rocket.jpg"), "JPEG2000"),
        "NotAnImage",
    )
    add(
        "photo-avif.jpg",
        "a real AVIF file (not an allowed format)",
        R,
        lambda: encode(photo("rocket.jpg"), "AVIF"),
        "NotAnImage",
    )
    add("photo.heic", "a HEIC ftyp box", R, lambda: _ftyp(b"heic"), "NotAnImage")
    add("clip.gif", "an MP4 ftyp box alone", R, lambda: _ftyp(b"isom"), "CorruptImage")
    add("magic-only.png", "the 8-byte PNG signature alone", R, lambda: PNG_SIGNATURE)
    add("magic-only.jpg", "SOI alone", R, lambda: b"\xff\xd8")
    add("magic-only.gif", "GIF89a alone", R, lambda: b"GIF89a")
    add("magic-only.webp", "RIFF....WEBP alone", R, lambda: b"RIFF\x04\x00\x00\x00WEBP")
    add("magic-only.tif", "a TIFF header alone", R, lambda: b"II*\x00")
    add("magic-only.bmp", "BM alone", R, lambda: b"BM")

    # Truncated files at several cut points.
    for fmt, ext in (
        ("JPEG", "jpg"),
        ("PNG", "png"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("TIFF", "tif"),
        ("BMP", "bmp"),
    ):
        for cut in (16, 64, 0.1, 0.25, 0.5, 0.75, 0.9, -1):
            label = f"{int(cut * 100)}pct" if isinstance(cut, float) else f"{cut}b"
            add(f"truncated-{label}.{ext}", f"a {fmt} cut after {label}", E, _cut(fmt, cut))
    add("truncated-no-eoi.jpg", "a JPEG missing its EOI marker", E, _cut("JPEG", -2))
    add("truncated-no-iend.png", "a PNG missing its IEND chunk", E, _cut("PNG", -12))

    # Corrupt bytes in the middle: JPEG.
    for seed in range(1, 5):
        add(
            f"jpeg-entropy-flips-{seed}.jpg",
            "12 bytes flipped in the entropy-coded data",
            E,
            functools.partial(_jpeg_entropy_flips, seed),
        )
    add(
        "jpeg-entropy-zeroed.jpg",
        "1 KB of entropy-coded data zeroed",
        E,
        lambda: _jpeg_entropy_edit(lambda d: d[:500] + b"\x00" * 1000 + d[1500:]),
    )
    add(
        "jpeg-entropy-rst-garbage.jpg",
        "stray restart markers in the entropy data",
        E,
        lambda: _jpeg_entropy_edit(lambda d: d[:800] + b"\xff\xd3\xff\xd7" * 50 + d[800:]),
    )
    add(
        "jpeg-huffman-oversubscribed.jpg",
        "a DHT with three 1-bit codes",
        E,
        lambda: _jpeg_dht_counts(b"\x03\x05"),
    )
    add(
        "jpeg-huffman-count-overflow.jpg",
        "a DHT declaring over 256 symbols",
        E,
        lambda: _jpeg_dht_counts(b"\xff" * 16),
    )
    add(
        "jpeg-no-huffman-tables.jpg",
        "a JPEG with its DHT segments removed",
        E,
        lambda: _jpeg_without((0xC4,)),
    )
    add(
        "jpeg-no-quant-tables.jpg",
        "a JPEG with its DQT segments removed",
        E,
        lambda: _jpeg_without((0xDB,)),
    )
    add("jpeg-quant-zero.jpg", "a DQT of all zeros", E, _jpeg_dqt_zero)
    add("jpeg-no-scan.jpg", "a JPEG with no SOS (tables only)", R, lambda: _jpeg_without((0xDA,)))
    add(
        "jpeg-sof-12bit.jpg",
        "SOF declaring 12-bit samples over 8-bit data",
        E,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 4, b"\x0c"),
    )
    add(
        "jpeg-sof-0-components.jpg",
        "SOF with 0 components",
        R,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 9, b"\x00"),
    )
    add(
        "jpeg-sof-2-components.jpg",
        "SOF with 2 components",
        E,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 9, b"\x02"),
    )
    add("jpeg-sof-zero-size.jpg", "SOF declaring 0x0", R, lambda: _jpeg_sof(0, 0))
    add(
        "jpeg-sof-bad-sampling.jpg",
        "sampling factors 0x0 and 7x7",
        E,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 11, b"\x00"),
    )
    add(
        "jpeg-sof3-lossless.jpg",
        "baseline data relabelled as lossless (SOF3)",
        E,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 1, b"\xc3"),
    )
    add(
        "jpeg-sof-arithmetic.jpg",
        "Huffman data relabelled as arithmetic-coded (SOF9)",
        E,
        lambda: _jpeg_patch(_base("JPEG"), SOF_MARKERS, 1, b"\xc9"),
    )
    add(
        "jpeg-duplicate-sof.jpg",
        "a 65000x65000 SOF followed by the real one",
        E,
        _jpeg_duplicate_sof,
    )
    add(
        "jpeg-dri-without-rst.jpg",
        "a restart interval of 1 and no restart markers",
        E,
        lambda: _jpeg_insert_after_soi(_base("JPEG"), b"\xff\xdd\x00\x04\x00\x01"),
    )
    add(
        "jpeg-segment-length-0.jpg",
        "an APP segment with length 0",
        E,
        lambda: _jpeg_insert_after_soi(_base("JPEG"), b"\xff\xe3\x00\x00"),
    )
    add(
        "jpeg-segment-length-past-end.jpg",
        "an APP segment longer than the file",
        E,
        lambda: _jpeg_insert_after_soi(_base("JPEG"), b"\xff\xe3\xff\xff" + b"x" * 100),
    )
    add(
        "jpeg-mpf-garbage.jpg",
        "an APP2 MPF block of garbage",
        E,
        lambda: _jpeg_insert_after_soi(
            _base("JPEG"), _app(0xE2, b"MPF\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x01" * 64)
        ),
    )

    # Corrupt bytes in the middle: PNG.
    add(
        "png-idat-zlib-flipped.png",
        "bytes flipped inside the IDAT zlib stream (CRC fixed)",
        E,
        lambda: _png_idat_edit(lambda b: _flip_bytes(b, 20, len(b) - 8, 16, 7)),
    )
    add(
        "png-idat-zlib-bad-header.png",
        "an IDAT whose zlib header is invalid (CRC fixed)",
        R,
        lambda: _png_idat_edit(lambda b: b"\x00\x00" + b[2:]),
    )
    add(
        "png-idat-bad-crc.png",
        "a wrong CRC on an intact IDAT",
        E,
        lambda: _png_idat_edit(lambda b: b, fix_crc=False),
    )
    add(
        "png-idat-truncated-zlib.png",
        "an IDAT zlib stream cut in half (CRC fixed)",
        R,
        lambda: _png_idat_edit(lambda b: b[: len(b) // 2]),
    )
    add("png-idat-empty.png", "an empty IDAT", R, lambda: _png_idat_edit(lambda b: b""))
    add(
        "png-idat-trailing-garbage.png",
        "junk after the end of the zlib stream",
        E,
        lambda: _png_idat_edit(lambda b: b + b"\x13\x37" * 500),
    )
    add(
        "png-ihdr-bad-crc.png",
        "a wrong CRC on IHDR",
        R,
        lambda: _png_replace(
            _base("PNG"), b"IHDR", png_chunk(b"IHDR", _png_body(_base("PNG"), b"IHDR"), 0)
        ),
    )
    add("png-ihdr-depth-3.png", "IHDR with bit depth 3", R, lambda: _png_with_ihdr(depth=3))
    add("png-ihdr-color-5.png", "IHDR with colour type 5", R, lambda: _png_with_ihdr(color=5))
    add("png-ihdr-zero-width.png", "IHDR declaring width 0", R, lambda: _png_with_ihdr(width=0))
    add(
        "png-ihdr-interlace-7.png",
        "IHDR with interlace method 7",
        E,
        lambda: _png_with_ihdr(interlace=7),
    )
    add("png-ihdr-filter-9.png", "IHDR with filter method 9", E, lambda: _png_with_ihdr(filt=9))
    add("png-palette-missing.png", "colour type 3 with no PLTE", E, lambda: _png_with_ihdr(color=3))
    add(
        "png-chunk-length-2gb.png",
        "a chunk claiming 2 GB",
        R,
        lambda: _png_insert_before(
            _base("PNG"), b"IDAT", struct.pack(">I", 0x7FFF_FFFF) + b"tEXtComment\x00x"
        ),
    )
    add(
        "png-chunk-type-binary.png",
        "a chunk type of non-letters",
        E,
        lambda: _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"\x00\x01\xfe\xff", b"x")),
    )
    add(
        "png-trns-too-long.png",
        "a palette PNG with a tRNS longer than its palette",
        E,
        lambda: _png_insert_before(
            encode(photo("coffee.jpg").quantize(64), "PNG"),
            b"IDAT",
            png_chunk(b"tRNS", b"\x80" * 300),
        ),
    )
    add(
        "png-apng-frames-bogus.png",
        "acTL claiming 2^31 frames, one frame present",
        E,
        lambda: _png_insert_before(
            _base("PNG"), b"IDAT", png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
        ),
    )
    add(
        "png-apng-fctl-larger.png",
        "an fcTL frame larger than the image",
        E,
        lambda: _png_insert_before(
            _png_insert_before(_base("PNG"), b"IDAT", png_chunk(b"acTL", struct.pack(">II", 1, 0))),
            b"IDAT",
            png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 60000, 60000, 0, 0, 1, 1, 0, 0)),
        ),
    )

    # Corrupt bytes in the middle: GIF, WebP, TIFF, BMP.
    for seed in range(1, 4):
        add(
            f"gif-lzw-flips-{seed}.gif",
            "10 bytes flipped in the LZW data",
            E,
            functools.partial(_gif_lzw_flips, seed),
        )
    add("gif-lzw-code-size-12.gif", "LZW minimum code size 12", E, lambda: _gif_lzw_code_size(12))
    add("gif-lzw-code-size-0.gif", "LZW minimum code size 0", E, lambda: _gif_lzw_code_size(0))
    add(
        "gif-lzw-code-size-255.gif", "LZW minimum code size 255", E, lambda: _gif_lzw_code_size(255)
    )
    add("gif-no-image.gif", "a GIF header and trailer with no frame", R, _gif_no_image)
    add("gif-no-colour-table.gif", "a GIF with no colour table at all", E, _gif_no_colour_table)
    add(
        "gif-frame-offset-far.gif",
        "a frame placed at (60000, 60000) on a 16x16 screen",
        E,
        lambda: _gif_screen(16, 16, (60000, 60000, 16, 16)),
    )
    for seed in range(1, 4):
        add(
            f"webp-vp8-flips-{seed}.webp",
            "10 bytes flipped in the VP8 bitstream",
            E,
            functools.partial(_webp_chunk_flips, b"VP8 ", seed),
        )
    add(
        "webp-vp8l-flips.webp",
        "10 bytes flipped in a VP8L (lossless) bitstream",
        E,
        lambda: _webp_chunk_flips(
            b"VP8L", 5, encode(photo("astronaut.jpg"), "WEBP", lossless=True)
        ),
    )
    add(
        "webp-alph-flips.webp",
        "10 bytes flipped in the ALPH (alpha) chunk",
        E,
        lambda: _webp_chunk_flips(
            b"ALPH", 5, encode(_with_alpha(photo("astronaut.jpg")), "WEBP", quality=80)
        ),
    )
    add("webp-riff-size-huge.webp", "a RIFF size of 4 GB", E, lambda: _webp_riff_size(0xFFFF_FFF0))
    add("webp-riff-size-tiny.webp", "a RIFF size of 4", E, lambda: _webp_riff_size(4))
    add(
        "webp-anmf-outside-canvas.webp",
        "an animation frame outside its 16x16 canvas",
        E,
        _webp_anmf_outside,
    )
    add(
        "webp-exif-garbage.webp",
        "a WebP whose EXIF chunk is garbage",
        D,
        lambda: encode(photo("astronaut.jpg"), "WEBP", exif=b"Exif\x00\x00" + b"\xaa" * 200),
    )
    add(
        "tiff-strip-offset-past-end.tif",
        "a strip offset beyond the end of the file",
        E,
        lambda: _gray_tiff(64, 64, offsets=long(273, 0x7FFF_FFF0)),
    )
    add(
        "tiff-strip-count-huge.tif",
        "a strip byte count of 4 GB",
        E,
        lambda: _gray_tiff(64, 64, counts=long(279, 0xFFFF_FFF0)),
    )
    add(
        "tiff-ifd-offset-past-end.tif",
        "a TIFF whose first IFD is beyond the end",
        R,
        lambda: b"II*\x00" + struct.pack("<I", 0x7FFF_FFF0) + b"\x00" * 64,
    )
    add(
        "tiff-ifd-loop.tif",
        "an IFD whose next IFD is itself",
        E,
        lambda: tiff_file(
            [
                long(256, 8),
                long(257, 8),
                short(258, 8),
                short(259, 1),
                short(262, 1),
                long(273, 8),
                short(277, 1),
                long(278, 8),
                long(279, 64),
            ],
            bytes(range(64)),
            next_ifd=-1,
        ),
    )
    add(
        "tiff-compression-unknown.tif",
        "compression scheme 12345",
        E,
        lambda: _gray_tiff(64, 64, compression=short(259, 12345)),
    )
    add(
        "tiff-lzw-garbage.tif",
        "LZW compression over raw pixels",
        E,
        lambda: _gray_tiff(64, 64, compression=short(259, 5)),
    )
    add(
        "tiff-ojpeg-garbage.tif",
        "old-style JPEG compression over raw pixels",
        E,
        lambda: _gray_tiff(64, 64, compression=short(259, 6)),
    )
    add(
        "tiff-bits-64-samples-100.tif",
        "64 bits per sample, 100 samples per pixel",
        E,
        lambda: _gray_tiff(64, 64, bits=short(258, 64), samples=short(277, 100)),
    )
    add(
        "tiff-tile-huge.tif",
        "2^31 x 2^31 tiles on a 64x64 image",
        E,
        lambda: _gray_tiff(
            64,
            64,
            extra=[long(322, 0x7FFF_FFF0), long(323, 0x7FFF_FFF0), long(324, 8), long(325, 4096)],
            drop=("offsets", "counts", "rows"),
        ),
    )
    add(
        "tiff-rows-per-strip-0.tif",
        "RowsPerStrip 0",
        E,
        lambda: _gray_tiff(64, 64, rows=long(278, 0)),
    )
    add(
        "tiff-orientation-9.tif",
        "a TIFF Orientation tag of 9",
        D,
        lambda: _gray_tiff(64, 64, extra=[short(ORIENTATION, 9)]),
    )
    add("bmp-bitcount-7.bmp", "a BMP with 7 bits per pixel", R, lambda: _bmp_patch(28, "<H", 7))
    add(
        "bmp-palette-huge.bmp",
        "a BMP declaring 2^32-1 palette colours",
        E,
        lambda: _bmp_patch(46, "<I", 0xFFFF_FFFF),
    )
    add(
        "bmp-header-size-odd.bmp",
        "a BMP info header size of 0xFFFF",
        R,
        lambda: _bmp_patch(14, "<I", 0xFFFF),
    )
    add(
        "bmp-offset-past-end.bmp",
        "pixel data offset beyond the end",
        E,
        lambda: _bmp_patch(10, "<I", 0x7FFF_FFF0),
    )
    add(
        "bmp-rle8-garbage.bmp",
        "RLE8 data with a far delta and bad escapes",
        E,
        lambda: _bmp_rle8(garbage=True),
    )
    add("bmp-compression-99.bmp", "BMP compression type 99", E, lambda: _bmp_patch(30, "<I", 99))

    # Decompression bombs: a huge declared size on a tiny file.
    for side in (20_000, 100_000, 2**31 - 1):
        add(
            f"bomb-png-{side}x{side}.png",
            f"a PNG declaring {side}x{side}, tiny IDAT",
            R,
            functools.partial(png_declaring, side, side),
            "ImageTooLarge",
        )
    add(
        "bomb-png-7072x7072.png",
        "a PNG declaring 7072x7072 (just over 50 MP)",
        R,
        functools.partial(png_declaring, 7072, 7072),
        "ImageTooLarge",
    )
    add(
        "bomb-gif-screen-65535.gif",
        "a GIF with a 65535x65535 logical screen",
        R,
        lambda: _gif_screen(65535, 65535),
        "ImageTooLarge",
    )
    add(
        "bomb-gif-frame-65535.gif",
        "a 16x16 GIF whose frame declares 65535x65535",
        R,
        lambda: _gif_screen(16, 16, (0, 0, 65535, 65535)),
        "ImageTooLarge",
    )
    add(
        "bomb-webp-canvas-16383.webp",
        "an animated WebP with a 16383x16383 canvas",
        R,
        lambda: webp_animation(16383, 16383, 1),
        "ImageTooLarge",
    )
    add(
        "bomb-webp-vp8l-16383.webp",
        "a lossless WebP header declaring 16383x16383",
        R,
        lambda: _webp_vp8l_declaring(16383, 16383),
    )
    add(
        "bomb-jpeg-65000.jpg",
        "a JPEG SOF declaring 65000x65000",
        R,
        lambda: _jpeg_sof(65000, 65000),
        "ImageTooLarge",
    )
    add(
        "bomb-jpeg-65535x65535.jpg",
        "a JPEG SOF declaring 65535x65535",
        R,
        lambda: _jpeg_sof(65535, 65535),
        "ImageTooLarge",
    )
    add(
        "bomb-tiff-100000.tif",
        "a TIFF declaring 100000x100000",
        R,
        lambda: _gray_tiff(100_000, 100_000),
        "ImageTooLarge",
    )
    add(
        "bomb-tiff-2g-wide.tif",
        "a TIFF declaring 2^31 x 1",
        R,
        lambda: _gray_tiff(2**31, 1),
        "ImageTooLarge",
    )
    add(
        "bomb-bmp-100000.bmp",
        "a BMP declaring 100000x100000",
        R,
        lambda: _bmp_declaring(100_000, 100_000),
        "ImageTooLarge",
    )
    add(
        "bomb-bmp-height-min-int.bmp",
        "a BMP with height -2^31",
        R,
        lambda: _bmp_patch(22, "<i", -(2**31)),
    )

    # Huge sides, tiny files: valid, but refusing them (a cap on the longest side) is fine too.
    add("thin-png-1x100000.png", "a valid 1x100000 PNG", E, functools.partial(png_flat, 1, 100_000))
    add("thin-png-100000x1.png", "a valid 100000x1 PNG", E, functools.partial(png_flat, 100_000, 1))
    add(
        "thin-gif-1x65535.gif",
        "a valid 1x65535 GIF",
        E,
        lambda: encode(Image.new("P", (1, 65535), 3), "GIF"),
    )
    add(
        "thin-jpeg-65000x1.jpg",
        "a valid 65000x1 JPEG",
        E,
        lambda: encode(Image.new("RGB", (65000, 1), (9, 99, 199)), "JPEG"),
    )
    add(
        "thin-webp-1x16383.webp",
        "a valid 1x16383 lossless WebP",
        E,
        lambda: encode(Image.new("RGB", (1, 16383), (9, 99, 199)), "WEBP", lossless=True),
    )

    # Big but valid, under the pixel cap.
    add(
        "big-png-7071x7071.png",
        "a valid 7071x7071 PNG of zeros (146 KB, 50 MP)",
        D,
        functools.partial(png_flat, 7071, 7071),
    )
    add(
        "big-tiff-7071x7071.tif",
        "a valid 7071x7071 deflate TIFF",
        D,
        lambda: encode(Image.new("L", (7071, 7071), 90), "TIFF", compression="tiff_adobe_deflate"),
    )
    add(
        "big-jpeg-progressive-7000.jpg",
        "a valid progressive 7000x7000 JPEG",
        D,
        lambda: encode(Image.new("L", (7000, 7000), 128), "JPEG", progressive=True),
    )

    # Animations with thousands of frames: the first frame only must be decoded.
    add(
        "anim-gif-5000-frames.gif",
        "a 16x16 GIF with 5000 frames",
        D,
        functools.partial(_gif_frames, 5000),
    )
    add(
        "anim-webp-5000-frames.webp",
        "a 16x16 WebP animation with 5000 frames",
        D,
        functools.partial(webp_animation, 16, 16, 5000, 16),
    )
    add(
        "anim-apng-5000-frames.png",
        "a 16x16 APNG with 5000 frames",
        D,
        functools.partial(_apng, 5000),
    )
    add(
        "tiff-5000-pages.tif",
        "a 16x16 TIFF with 5000 pages",
        D,
        functools.partial(_tiff_pages, 5000),
    )

    # EXIF: absurd orientation values and malformed blocks (never worth refusing pixels for).
    for label, entry in EXIF_ORIENTATIONS.items():
        add(
            f"exif-{label}.jpg",
            f"EXIF {label}",
            D,
            functools.partial(lambda e: _jpeg_with_exif(tiff_file([e])), entry),
        )
    add("exif-garbage.jpg", "an EXIF block of random bytes", D, functools.partial(_exif_random, 3))
    add(
        "exif-ifd-past-end.jpg",
        "an EXIF IFD offset beyond the block",
        D,
        lambda: _jpeg_with_exif(b"II*\x00" + struct.pack("<I", 0xFFFF_FFF0)),
    )
    add(
        "exif-entry-count-65535.jpg",
        "an EXIF IFD claiming 65535 entries",
        D,
        lambda: _jpeg_with_exif(b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 30),
    )
    add(
        "exif-bad-byte-order.jpg",
        "an EXIF block with byte order XX",
        D,
        lambda: _jpeg_with_exif(b"XX*\x00\x08\x00\x00\x00" + b"\x00" * 30),
    )
    add(
        "exif-ifd-loops-orientation-6.jpg",
        "orientation 6, Exif IFD = IFD0, IFD1 = itself",
        D,
        _exif_loops,
    )
    add(
        "exif-gps-garbage-orientation-6.jpg",
        "orientation 6 and a GPS IFD pointer past the end",
        D,
        _exif_gps_garbage,
    )
    add(
        "exif-big-endian-orientation-6.jpg",
        "a big-endian EXIF with orientation 6",
        D,
        _exif_big_endian_6,
    )
    add(
        "exif-two-app1.jpg",
        "two EXIF blocks: orientation 6 then 65535",
        D,
        lambda: _jpeg_with_exif(
            tiff_file([short(ORIENTATION, 6)]),
            _jpeg_with_exif(tiff_file([short(ORIENTATION, 65535)])),
        ),
    )
    add(
        "png-exif-garbage.png",
        "a PNG eXIf chunk of garbage",
        D,
        lambda: _png_exif(b"\xde\xad\xbe\xef" * 40),
    )
    add(
        "png-exif-orientation-6.png",
        "a PNG eXIf chunk with orientation 6",
        D,
        lambda: _png_exif(tiff_file([short(ORIENTATION, 6)])),
    )
    add(
        "png-xmp-orientation-6.png",
        "a PNG with an XMP orientation of 6",
        D,
        lambda: _png_xmp(XMP.format(6)),
    )
    add(
        "png-xmp-orientation-huge.png",
        "a PNG with an XMP orientation of 10^30",
        D,
        lambda: _png_xmp(XMP.format(10**30)),
    )
    add(
        "png-xmp-malformed.png",
        "a PNG with unclosed, non-UTF-8-ish XMP",
        D,
        lambda: _png_xmp('<x:xmpmeta tiff:Orientation="6><<<\u202e' + "\ufffd" * 50),
    )

    # Polyglots.
    add(
        "polyglot-png-zip.png",
        "a valid PNG with a ZIP archive appended",
        D,
        lambda: _base("PNG") + _zip(),
    )
    add(
        "polyglot-jpeg-html.jpg",
        "a valid JPEG with an HTML page appended",
        D,
        lambda: _base("JPEG") + b"<html><script>alert(1)</script></html>",
    )
    add(
        "polyglot-gifar.gif",
        "GIFAR: a valid GIF with a JAR appended",
        D,
        lambda: _base("GIF") + _zip("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
    )
    add(
        "polyglot-jpeg-pdf-comment.jpg",
        "a JPEG with a PDF in a COM segment",
        D,
        lambda: _jpeg_insert_after_soi(_base("JPEG"), _app(0xFE, b"%PDF-1.4\n1 0 obj\n")),
    )
    add(
        "polyglot-zip-then-png.png",
        "a ZIP archive with a PNG appended",
        R,
        lambda: _zip() + _base("PNG"),
        "NotAnImage",
    )
    add(
        "polyglot-html-then-jpeg.jpg",
        "an HTML page with a JPEG appended",
        R,
        lambda: b"<html><body>hi</body></html>\n" + _base("JPEG"),
        "NotAnImage",
    )

    # Text-chunk bombs.
    add("png-text-20mb.png", "a PNG with a 20 MB tEXt chunk", E, _png_text_chunk_bomb)
    add("png-ztxt-1gb.png", "a zTXt chunk inflating to 1 GB", E, _png_ztxt_bomb)
    add("png-iccp-256mb.png", "an iCCP profile inflating to 256 MB", E, _png_iccp_bomb)
    add("png-itxt-256mb.png", "a compressed iTXt (XMP) inflating to 256 MB", E, _png_itxt_bomb)
    add("png-ztxt-200x1mb.png", "200 zTXt chunks inflating to 1 MB each", E, _png_many_ztxt)
    add("png-idat-1-byte-chunks.png", "a valid PNG with one-byte IDAT chunks", D, _png_idat_split)

    # Unusual but valid pixel formats.
    add("png-16bit-rgb.png", "a 16-bit RGB PNG", D, lambda: _png_mode("RGB;16"))
    add("png-16bit-gray.png", "a 16-bit grayscale PNG", D, lambda: _png_mode("I;16"))
    add("png-palette-trns.png", "a palette PNG with transparency", D, lambda: _png_mode("P+tRNS"))
    add(
        "png-gray-trns.png",
        "a grayscale PNG with a transparent grey",
        D,
        lambda: _png_mode("L+tRNS"),
    )
    add("png-gray-alpha.png", "a grayscale+alpha PNG", D, lambda: _png_mode("LA"))
    add("png-rgba.png", "an RGBA PNG", D, lambda: _png_mode("RGBA"))
    add("png-1bit.png", "a 1-bit PNG", D, lambda: _png_mode("1"))
    add(
        "png-interlaced.png",
        "an Adam7-interlaced PNG (hand-rolled: Pillow cannot write one)",
        D,
        lambda: png_adam7(photo("coffee.jpg")),
    )
    add(
        "jpeg-cmyk.jpg",
        "a CMYK JPEG",
        D,
        lambda: encode(photo("chelsea.jpg").convert("CMYK"), "JPEG"),
    )
    add("jpeg-cmyk-adobe-inverted.jpg", "an inverted (Adobe) CMYK JPEG", D, _jpeg_cmyk_adobe)
    add(
        "jpeg-gray.jpg",
        "a grayscale JPEG",
        D,
        lambda: encode(ImageOps.grayscale(photo("chelsea.jpg")), "JPEG"),
    )
    add(
        "jpeg-progressive.jpg",
        "a progressive JPEG",
        D,
        lambda: encode(photo("chelsea.jpg"), "JPEG", progressive=True),
    )
    add(
        "jpeg-444.jpg",
        "a 4:4:4 JPEG",
        D,
        lambda: encode(photo("chelsea.jpg"), "JPEG", subsampling=0),
    )
    add("jpeg-mpo-2-frames.jpg", "an MPO (two JPEG frames)", D, _mpo)
    add("bmp-1bit.bmp", "a 1-bit BMP", D, lambda: encode(photo("camera.png").convert("1"), "BMP"))
    add(
        "bmp-8bit-palette.bmp",
        "an 8-bit palette BMP",
        D,
        lambda: encode(photo("camera.png").quantize(200), "BMP"),
    )
    add(
        "bmp-32bit-rgba.bmp",
        "a 32-bit BMP with alpha",
        D,
        lambda: encode(photo("camera.png").convert("RGBA"), "BMP"),
    )
    add("bmp-top-down.bmp", "a top-down BMP (negative height)", D, _bmp_top_down)
    add("bmp-rle8.bmp", "a valid RLE8 BMP", D, lambda: _bmp_rle8(garbage=False))
    add(
        "gif-transparent.gif",
        "a GIF with a transparent colour",
        D,
        lambda: encode(photo("rocket.jpg").quantize(64), "GIF", transparency=0),
    )
    add(
        "gif-interlaced.gif",
        "an interlaced GIF",
        D,
        lambda: encode(photo("rocket.jpg"), "GIF", interlace=True),
    )
    add(
        "webp-lossless-alpha.webp",
        "a lossless WebP with alpha",
        D,
        lambda: encode(photo("astronaut.jpg").convert("RGBA"), "WEBP", lossless=True),
    )
    add(
        "webp-lossy-alpha.webp",
        "a lossy WebP with alpha",
        D,
        lambda: encode(photo("astronaut.jpg").convert("RGBA"), "WEBP", quality=70),
    )
    add(
        "tiff-16bit-big-endian.tif",
        "a 16-bit big-endian grayscale TIFF, 300 px",
        D,
        _tiff_16bit_big_endian,
    )
    add("tiff-float32.tif", "a 32-bit float grayscale TIFF", D, _tiff_float)
    add(
        "tiff-cmyk.tif",
        "a CMYK TIFF",
        D,
        lambda: encode(photo("motorcycle.jpg").convert("CMYK"), "TIFF"),
    )
    add(
        "tiff-jpeg.tif",
        "a JPEG-compressed TIFF",
        D,
        lambda: encode(photo("motorcycle.jpg"), "TIFF", compression="jpeg"),
    )
    add(
        "tiff-lzw.tif",
        "an LZW-compressed TIFF",
        D,
        lambda: encode(photo("motorcycle.jpg"), "TIFF", compression="tiff_lzw"),
    )
    add(
        "tiff-1bit-group4.tif",
        "a 1-bit CCITT group 4 TIFF",
        D,
        lambda: encode(photo("motorcycle.jpg").convert("1"), "TIFF", compression="group4"),
    )

    # Videos: valid ones, broken ones, and ones whose header or length is absurd.
    from tests.badimages import videos

    for container in ("mp4", "mov", "webm", "mkv"):
        add(
            f"video-valid.{container}",
            f"a valid 2 s {container} clip",
            D,
            functools.partial(videos.valid, container),
        )
    add(
        "video-truncated-half.mp4",
        "an MP4 cut in half (no index: it comes last)",
        E,
        functools.partial(videos.truncated, "mp4", 0.5),
    )
    add(
        "video-truncated-index-first.mp4",
        "an MP4 with its index first, cut at 60%",
        E,
        functools.partial(videos.truncated, "mp4", 0.6, index_first=True),
    )
    add(
        "video-truncated-header.webm",
        "a WebM cut after 200 bytes",
        E,
        functools.partial(videos.truncated, "webm", 0.02),
    )
    add(
        "video-no-frames.mp4",
        "an MP4 with a video stream and no frame",
        R,
        functools.partial(videos.no_frames, "mp4"),
    )
    add(
        "video-no-frames.mkv",
        "a Matroska file with a video stream and no frame",
        R,
        functools.partial(videos.no_frames, "matroska"),
    )
    add(
        "video-10-hours.mkv",
        "two frames ten hours apart",
        R,
        functools.partial(videos.spaced, "matroska", 36_000),
        "VideoTooLong",
    )
    add(
        "video-10-hours.mp4",
        "two frames ten hours apart, in MP4",
        R,
        functools.partial(videos.spaced, "mp4", 36_000),
        "VideoTooLong",
    )
    add(
        "silent-10-hours.mp4",
        "a silent audio-only stream ten hours long",
        R,
        functools.partial(videos.spaced, "mp4", 36_000, audio=True),
        "NotAVideo",
    )
    add(
        "video-11-minutes.mkv",
        "660 real frames, one a second (over the duration cap)",
        R,
        functools.partial(videos.long_real, 660),
        "VideoTooLong",
    )
    add(
        "video-10000x8.mkv",
        "real 10000x8 frames",
        R,
        functools.partial(videos.wide, 10_000, 8),
        "VideoTooLarge",
    )
    add(
        "video-huge-header.mov",
        "a MOV whose header claims 65535x65535 frames",
        E,
        videos.huge_header,
    )
    add(
        "video-ftyp-then-noise.mp4", "an MP4 file type box followed by noise", R, videos.mp4_garbage
    )
    add("video-ebml-then-noise.mkv", "a Matroska header followed by noise", R, videos.ebml_garbage)
    add("photo-named.mp4", "a JPEG photo with a video name", D, videos.jpeg_named_video)
    add(
        "text-named.webm",
        "plain text with a video name",
        R,
        lambda: b"this is not a video, just words " * 40,
        "NotAnImage",
    )

    # Known issues (see KNOWN_ISSUES): still over a bound with the current bot/hashing.py.
    # Valid files, but refusing them quickly is as good as fingerprinting them quickly.
    add(
        "issue-png-1x10000000.png",
        "a valid 1x10,000,000 PNG (39 KB)",
        E,
        functools.partial(png_flat, 1, 10_000_000),
    )
    add(
        "issue-png-100x500000.png",
        "a valid 100x500,000 PNG (146 KB, 50 MP)",
        E,
        functools.partial(png_flat, 100, 500_000),
    )
    add(
        "issue-png-50000000x1.png",
        "a valid 50,000,000x1 PNG (146 KB)",
        E,
        functools.partial(png_flat, 50_000_000, 1),
    )
    add(
        "issue-png-255x65535.png",
        "a valid 255x65535 PNG (49 KB, 16.7 MP)",
        E,
        functools.partial(png_flat, 255, 65535),
    )
    add(
        "issue-webp-canvas-7071.webp",
        "an animated WebP, 7071x7071 canvas, 1x1 frame (94 B)",
        E,
        lambda: webp_animation(7071, 7071, 1),
    )
    add(
        "issue-gif-screen-7071.gif",
        "a GIF, 7071x7071 screen, 16x16 frame (1 KB)",
        E,
        lambda: _gif_screen(7071, 7071),
    )
    add(
        "issue-jpeg-1000-scans.jpg",
        "a progressive 7000x7000 JPEG with 1000 scans (270 KB)",
        E,
        lambda: _jpeg_scan_bomb(1000),
    )
    add(
        "issue-png-2m-chunks.png",
        "2,000,000 empty unknown chunks before IDAT (24 MB)",
        E,
        lambda: _png_many_chunks(2_000_000),
    )
    add(
        "issue-jpeg-6m-app-markers.jpg",
        "6,000,000 empty APP5 segments (24 MB)",
        E,
        lambda: _jpeg_many_markers(0xE5, 6_000_000),
    )
    add(
        "issue-jpeg-6m-com-markers.jpg",
        "6,000,000 empty COM segments (24 MB)",
        E,
        lambda: _jpeg_many_markers(0xFE, 6_000_000),
    )
    add(
        "issue-gif-4m-comments.gif",
        "4,000,000 one-byte comment extensions (20 MB)",
        E,
        lambda: _gif_many_extensions(4_000_000),
    )
    return cases


#: The heaviest cases, and what made them expensive before bot/hashing.py guarded against
#: it (side and per-format pixel caps, segment and scan counts, long-side reduction).
KNOWN_ISSUES: dict[str, str] = {
    "issue-png-1x10000000.png": "thin: Pillow keeps a pointer per row, and the LANCZOS resize "
    "to 32 px of an unreduced image builds a 32 x height intermediate (seconds, ~700 MB)",
    "issue-png-100x500000.png": "thin: as above, ~10 s and ~1 GB from a 146 KB file",
    "issue-png-50000000x1.png": "wide: Pillow's resample raises MemoryError (its coefficient "
    "buffer overflows), which escapes fingerprint() untyped",
    "issue-png-255x65535.png": "tall and narrow: a short side under 256 px is never reduced, "
    "so all 16.7 MP go through the views and the resize (seconds, ~400 MB)",
    "issue-webp-canvas-7071.webp": "libwebp's animation decoder holds two RGBA canvases and "
    "Pillow copies one: ~16 bytes per pixel, ~800 MB from 94 bytes",
    "issue-gif-screen-7071.gif": "a 50 MP GIF is converted P -> RGBA (200 MB) before reduce",
    "issue-jpeg-1000-scans.jpg": "libjpeg entropy-decodes every scan over the whole image "
    "(~3-8 ms per 75-byte scan), with no limit on scans",
    "issue-png-2m-chunks.png": "Pillow walks chunks before IDAT in Python (seconds for 24 MB)",
    "issue-jpeg-6m-app-markers.jpg": "Pillow walks segments in Python and keeps every APP "
    "segment (seconds, ~860 MB for 24 MB)",
    "issue-jpeg-6m-com-markers.jpg": "Pillow walks segments in Python (seconds, ~500 MB)",
    "issue-gif-4m-comments.gif": "Pillow walks extension blocks in Python (seconds, ~750 MB)",
}

CASES: tuple[Case, ...] = tuple(_cases())
BY_NAME: dict[str, Case] = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "duplicate case names"
assert set(KNOWN_ISSUES) <= set(BY_NAME)


@functools.cache
def build(name: str) -> bytes:
    """The bytes of one case (built once per process)."""
    return BY_NAME[name].build()


def hostile_files(*, known_issues: bool = True) -> list[tuple[str, bytes, str]]:
    """(name, bytes, what it is) for every case; ``known_issues=False`` leaves those out."""
    return [
        (case.name, build(case.name), case.what)
        for case in CASES
        if known_issues or case.name not in KNOWN_ISSUES
    ]


def valid_reference() -> bytes:
    """A valid image that must fingerprint the same before and after any hostile file."""
    return encode(photo("coffee.jpg", 240), "JPEG", quality=90)
