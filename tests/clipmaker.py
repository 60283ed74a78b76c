"""Test clips made in code: pans and zooms over the committed photos, in any container.

Videos are encoded with PyAV (H.264 in MP4 and MOV, VP9 in WebM, MPEG-4 part 2 in MKV),
animations with Pillow (GIF, animated WebP, APNG). Small and short by default so that tests
stay fast; ``bench/`` asks for 720p and 1080p. Deterministic: no randomness. Nothing here
imports seenit.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = ("chelsea.jpg", "coffee.jpg", "astronaut.jpg", "rocket.jpg", "motorcycle.jpg")

#: container -> (PyAV format, codec)
VIDEO_FORMATS = {
    "mp4": ("mp4", "libx264"),
    "mov": ("mov", "libx264"),
    "webm": ("webm", "libvpx-vp9"),
    "mkv": ("matroska", "mpeg4"),
}
ANIMATION_FORMATS = {"gif": "GIF", "webp": "WEBP", "apng": "PNG"}
#: Muxer options that leave out dates and random ids: the same frames give the same bytes.
BITEXACT = {"fflags": "+bitexact"}


@functools.cache
def photo(name: str) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


def pan(
    source: Image.Image,
    *,
    seconds: float = 4.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    zoom: float = 1.0,
    direction: int = 1,
) -> list[Image.Image]:
    """Frames of a camera moving across ``source`` (and zooming in by ``zoom`` at the end)."""
    count = max(1, round(seconds * fps))
    width, height = source.size
    aspect = size[0] / size[1]
    frames = []
    for k in range(count):
        share = k / max(1, count - 1)
        scale = 1.0 + (zoom - 1.0) * share
        box_h = min(height, width / aspect) * 0.75 / scale
        box_w = box_h * aspect
        travel = width - box_w
        x = travel * (share if direction > 0 else 1 - share)
        y = (height - box_h) / 2
        crop = source.crop((round(x), round(y), round(x + box_w), round(y + box_h)))
        frames.append(crop.resize(size, Image.Resampling.BILINEAR))
    return frames


def encode_video(
    frames: Sequence[Image.Image],
    container: str = "mp4",
    *,
    fps: float = 10.0,
    size: tuple[int, int] | None = None,
    crf: int = 23,
    keyframe_seconds: float = 1.0,
    start: int = 0,
) -> bytes:
    """Encode frames as a video file in ``container`` (mp4, mov, webm, mkv)."""
    fmt, codec = VIDEO_FORMATS[container]
    width, height = size or frames[0].size
    width, height = width - width % 2, height - height % 2
    rate = Fraction(fps).limit_denominator(1000)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt, options=BITEXACT) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        gop = max(1, round(fps * keyframe_seconds))
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast", "g": str(gop)}
        elif codec == "libvpx-vp9":
            stream.options = {
                "crf": str(crf + 10),
                "b:v": "0",
                "deadline": "realtime",
                "g": str(gop),
            }
        else:
            stream.options = {"qscale": "4", "g": str(gop)}
        for k, image in enumerate(frames[start:]):
            picture = image if image.size == (width, height) else image.resize((width, height))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = k
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def encode_animation(
    frames: Sequence[Image.Image],
    fmt: str = "gif",
    *,
    fps: float = 10.0,
    size: tuple[int, int] | None = None,
) -> bytes:
    """Encode frames as an animated GIF, WebP or APNG."""
    pictures = [f.resize(size) if size and f.size != size else f for f in frames]
    buffer = io.BytesIO()
    extra = {"lossless": False, "quality": 80} if fmt == "webp" else {}
    pictures[0].save(
        buffer,
        ANIMATION_FORMATS[fmt],
        save_all=True,
        append_images=list(pictures[1:]),
        duration=round(1000 / fps),
        loop=0,
        **extra,
    )
    return buffer.getvalue()


def clip(
    name: str = "chelsea.jpg",
    container: str = "mp4",
    *,
    seconds: float = 4.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    zoom: float = 1.0,
    direction: int = 1,
    trim: tuple[float, float] = (0.0, 1.0),
    out_size: tuple[int, int] | None = None,
) -> bytes:
    """A pan over one photo as a file; ``trim`` keeps that share of the frames."""
    frames = pan(photo(name), seconds=seconds, fps=fps, size=size, zoom=zoom, direction=direction)
    first, last = round(trim[0] * len(frames)), round(trim[1] * len(frames))
    frames = frames[first:last]
    if container in ANIMATION_FORMATS:
        return encode_animation(frames, container, fps=fps, size=out_size)
    return encode_video(frames, container, fps=fps, size=out_size)


def still_of(name: str = "chelsea.jpg", *, at: float = 0.5, **kwargs: object) -> Image.Image:
    """The frame of ``clip(name, ...)`` at share ``at`` of its length, as a picture."""
    frames = pan(photo(name), **kwargs)  # type: ignore[arg-type]
    return frames[min(len(frames) - 1, round(at * (len(frames) - 1)))]


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
