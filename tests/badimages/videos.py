"""Hostile and broken videos for the corpus: made with PyAV from the committed photos.

Each builder returns bytes; ``tests/badimages/corpus.py`` registers them as cases. Small
(16-160 px, a few frames) so that the corpus stays fast to build and to run.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
from PIL import Image

from tests.clipmaker import BITEXACT, clip, jpeg, photo


def valid(container: str) -> bytes:
    return clip(container=container, seconds=2.0, fps=10.0)


def truncated(container: str, share: float, *, index_first: bool = False) -> bytes:
    data = _index_first_mp4() if index_first else valid(container)
    return data[: int(len(data) * share)]


def _index_first_mp4() -> bytes:
    buffer = io.BytesIO()
    # A fragmented MP4: its index comes first, so a cut file still has frames to decode.
    with av.open(
        buffer, "w", format="mp4", options={**BITEXACT, "movflags": "frag_keyframe+empty_moov"}
    ) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for k in range(20):
            image = photo("chelsea.jpg").crop((k * 5, 0, k * 5 + 160, 120))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def no_frames(fmt: str) -> bytes:
    """A container with a video stream and not a single frame in it."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt, options=BITEXACT) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()
    return buffer.getvalue()


def spaced(fmt: str, seconds: int, *, audio: bool = False) -> bytes:
    """Two tiny frames ``seconds`` apart: hours of stream in a few hundred bytes."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt, options=BITEXACT) as out:
        if audio:
            stream = out.add_stream("aac", rate=8000)
            stream.layout = "mono"
            frame_count = 2
            for k in range(frame_count):
                frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
                for plane in frame.planes:
                    plane.update(bytes(plane.buffer_size))
                frame.sample_rate = 8000
                frame.pts = k * seconds * 8000
                frame.time_base = Fraction(1, 8000)
                for packet in stream.encode(frame):
                    out.mux(packet)
        else:
            stream = out.add_stream("mpeg4", rate=1)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            stream.codec_context.time_base = Fraction(1, 1)
            for k in range(2):
                frame = av.VideoFrame.from_image(Image.new("RGB", (16, 16), (k * 200, 80, 40)))
                frame.pts = k * seconds
                frame.time_base = Fraction(1, 1)
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def long_real(seconds: int) -> bytes:
    """A real stream of 16x16 frames, one a second, for ``seconds`` seconds."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska", options=BITEXACT) as out:
        stream = out.add_stream("mpeg4", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        stream.codec_context.gop_size = 600
        still = av.VideoFrame.from_image(Image.new("RGB", (16, 16), (30, 60, 90)))
        for k in range(seconds):
            still.pts = k
            for packet in stream.encode(still):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def wide(width: int, height: int) -> bytes:
    """Real frames of an absurd shape (lossless FFV1 in Matroska: a few bytes each)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska", options=BITEXACT) as out:
        stream = out.add_stream("ffv1", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "gray"
        frame = av.VideoFrame(width, height, "gray")
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        for k in range(2):
            frame.pts = k
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def huge_header() -> bytes:
    """A small MOV whose sample description claims 65535x65535 frames."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mov", options=BITEXACT) as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        frame = av.VideoFrame.from_image(Image.new("RGB", (16, 16), (200, 20, 20)))
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(buffer.getvalue())
    at = data.find(b"png ")
    # Visual sample entry: type, 6 reserved, data reference, 16 predefined, width, height.
    data[at + 28 : at + 32] = (65535).to_bytes(2, "big") * 2
    tkhd = data.find(b"tkhd")
    if tkhd > 0:
        data[tkhd + 80 : tkhd + 88] = (65535 << 16).to_bytes(4, "big") * 2
    return bytes(data)


def mp4_garbage() -> bytes:
    """An MP4 file type box and then noise."""
    noise = bytes((k * 73 + 11) % 251 for k in range(4096))
    return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + noise


def ebml_garbage() -> bytes:
    noise = bytes((k * 37 + 5) % 253 for k in range(4096))
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01" + noise


def jpeg_named_video() -> bytes:
    return jpeg(photo("coffee.jpg").resize((160, 120)))
