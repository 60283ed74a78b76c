"""Video and animation bytes -> clip fingerprint: frames sampled on time, hashed like images.

Videos (MP4, MOV, WebM, MKV) and animated GIF and APNG are decoded with PyAV (FFmpeg), animated
WebP with Pillow (FFmpeg cannot decode it). Only the frames that are sampled are decoded:
eight a second, at most 64 (spread evenly on clips over 8 s), and always the first frame
that is not blank, the middle one and the last one. A sample that falls within half an
interval of a keyframe takes the keyframe, which decodes on its own; otherwise the decoder
starts at the keyframe before the sample and runs forward to it. A clip whose plan would
decode more than a budget of pixels (about 60 frames of 1080p) moves its samples to
keyframes up to a second away, so a long phone clip costs about one decode per keyframe.

Hostile or oversized media is refused with the image path's typed errors before anything
large is decoded: a byte cap, a cap on the declared and the real duration, a cap on the
frame size and a time limit per file. The container is chosen from the file's first bytes,
never from its name, and FFmpeg is only ever offered the demuxer of that container.

Pure and synchronous, like :mod:`bot.hashing`; callers run it in worker processes.
"""

from __future__ import annotations

import bisect
import io
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

import av
import av.container
import av.video.frame
from PIL import Image, ImageOps

from bot.clips import ClipFingerprint, Frame, Kind
from bot.hashing import (
    BACKGROUND,
    CorruptImage,
    EmptyImage,
    Fingerprint,
    ImageError,
    ImageTooLarge,
    Limits,
    NotAnImage,
    fingerprint,
    fingerprint_image,
)

#: Longest clip accepted, by its header and by its frames.
DEFAULT_MAX_SECONDS = 600.0
#: Largest frame accepted (8K UHD); a side over MAX_SIDE is refused too.
DEFAULT_MAX_FRAME_PIXELS = 7680 * 4320
MAX_SIDE = 8192
#: Wall-clock time one file may take to fingerprint.
DEFAULT_SECONDS_PER_FILE = 20.0
#: Packets of the video stream read at most (a 10-minute 60 fps clip has 36,000).
MAX_PACKETS = 100_000
#: Frames sampled at most; long clips are sampled more sparsely.
MAX_SAMPLES = 64
#: Shortest sampling interval, seconds: a still frame taken anywhere in a short clip, or a
#: copy trimmed anywhere, is within 1/16 s of one of the clip's samples.
MIN_INTERVAL = 0.125
#: A frame scoring below this is blank (fades, black intros): the sampler looks further.
BLANK_QUALITY = 8
#: How far past the start to look for the first frame that is not blank, seconds.
BLANK_SEARCH_SECONDS = 5.0
#: Pixels the sampler may decode per clip (about 60 frames of 1080p, 270 of 720p); past it,
#: samples move to keyframes up to MAX_SNAP_SECONDS away, which decode on their own.
DECODE_BUDGET_PIXELS = 60 * 1920 * 1080
MIN_DECODES = 64
MAX_SNAP_SECONDS = 1.0
#: Frames are scaled (by swscale) so their short side is this before hashing.
FRAME_SIDE = 160


class CorruptVideo(CorruptImage):
    reason = "the video is corrupt or truncated"


class NotAVideo(NotAnImage):
    reason = "the file has no picture seenit can read"


class VideoTooLarge(ImageTooLarge):
    reason = "the video is too large"


class VideoTooLong(ImageTooLarge):
    reason = "the video is too long"


class VideoTookTooLong(ImageTooLarge):
    reason = "the video took too long to read"


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Caps on clips, on top of :class:`bot.hashing.Limits` (whose byte cap applies too)."""

    max_seconds: float = DEFAULT_MAX_SECONDS
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    seconds_per_file: float = DEFAULT_SECONDS_PER_FILE


IMAGE_LIMITS = Limits()
MEDIA_LIMITS = MediaLimits()


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a file's first bytes say it is."""

    kind: Kind
    #: "mp4", "mov", "webm", "mkv" for videos; "gif", "apng", "webp" for animations.
    container: str
    #: The FFmpeg demuxer to open it with ("" for Pillow).
    demuxer: str


#: ISO base media brands that mean QuickTime rather than MP4.
QUICKTIME_BRANDS = (b"qt  ",)
#: Major brands of still images in the ISO base media container (AVIF, HEIF).
STILL_BRANDS = (
    b"avif",
    b"avis",
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"mif1",
    b"msf1",
)
MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff(data: bytes) -> Sniffed | None:
    """The clip container of these bytes, or None for anything else (images included).

    GIF, PNG and WebP files count only when they hold more than one frame.
    """
    if len(data) >= 12 and data[4:8] in MP4_BOXES:
        if data[4:8] == b"ftyp" and data[8:12] in STILL_BRANDS:
            return None  # AVIF and HEIF stills share MP4's container
        quicktime = data[4:8] == b"ftyp" and data[8:12] in QUICKTIME_BRANDS
        return Sniffed("video", "mov" if quicktime else "mp4", "mov")
    if data[:4] == b"\x1a\x45\xdf\xa3":
        webm = b"webm" in data[:64]
        return Sniffed("video", "webm" if webm else "mkv", "matroska")
    if data[:6] in (b"GIF87a", b"GIF89a") and _gif_is_animated(data):
        return Sniffed("gif", "gif", "gif")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and _png_is_animated(data):
        return Sniffed("apng", "apng", "apng")
    if data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X" and len(data) > 20 and data[20] & 0x02:
        return Sniffed("webp", "webp", "")
    return None


def _gif_is_animated(data: bytes) -> bool:
    """Whether a GIF has a second image descriptor (walks blocks; stops at the second)."""
    if len(data) < 13:
        return False
    flags = data[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    blocks = 0
    while at < len(data) and blocks < 100_000:
        blocks += 1
        marker = data[at]
        if marker == 0x21:  # extension: label, then sub-blocks
            at += 2
        elif marker == 0x2C:  # image descriptor, optional local colour table, LZW size
            images += 1
            if images > 1:
                return True
            if at + 10 > len(data):
                return False
            local = data[at + 9]
            at += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
        else:
            return False
        while at < len(data) and data[at]:
            at += data[at] + 1
        at += 1
    return False


def _png_is_animated(data: bytes) -> bool:
    """Whether a PNG declares an animation (an acTL chunk before its image data)."""
    at = 8
    for _ in range(1_000):
        if at + 8 > len(data):
            return False
        kind = data[at + 4 : at + 8]
        if kind == b"acTL":
            return len(data) >= at + 12 and int.from_bytes(data[at + 8 : at + 12], "big") > 1
        if kind == b"IDAT":
            return False
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    return False


def is_clip(data: bytes) -> bool:
    """Whether seenit fingerprints these bytes as a clip rather than an image."""
    return sniff(data) is not None


def fingerprint_media(
    data: bytes, limits: Limits = IMAGE_LIMITS, media: MediaLimits = MEDIA_LIMITS
) -> Fingerprint:
    """Fingerprint an image or a clip; raise an :class:`ImageError` subclass if unusable.

    Images get :func:`bot.hashing.fingerprint`; clips a :class:`ClipFingerprint`.
    """
    if not data:
        raise EmptyImage()
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes is over the {limits.max_bytes} byte cap")
    found = sniff(data)
    if found is None:
        return fingerprint(data, limits)
    try:
        return fingerprint_clip(data, found, limits, media)
    except MemoryError as exc:
        raise VideoTooLarge("not enough memory to decode the video") from exc


def fingerprint_clip(
    data: bytes, found: Sniffed, limits: Limits = IMAGE_LIMITS, media: MediaLimits = MEDIA_LIMITS
) -> Fingerprint:
    """Sample and hash a clip's frames (see the module's docstring)."""
    deadline = time.monotonic() + media.seconds_per_file
    if found.demuxer:
        sampled = _sample_av(data, found.demuxer, media, deadline)
    else:
        sampled = _sample_pillow(data, limits, media, deadline)
    if found.kind != "video" and found.container in ("gif", "apng", "webp"):
        # An animation's first frame is what image viewers show, and what seenit stored
        # for animations before it read them whole: keep it as the representative.
        try:
            first: Fingerprint | None = fingerprint(data, limits)
        except ImageError:
            first = None
    else:
        first = None
    frames: list[Frame] = []
    representative = first
    for t_ms, image in sampled.images:
        check_deadline(deadline)
        fp = fingerprint_image(image, sampled.size, local=False)
        frames.append(
            Frame(
                t_ms=t_ms,
                phash64=fp.phash64,
                phash256=fp.phash256,
                quality=fp.quality,
                mirror64=fp.phash64_orientations[1],
                mirror256=fp.phash256_orientations[1],
            )
        )
        if representative is None and fp.quality >= BLANK_QUALITY:
            representative = fp
    if not frames:
        raise CorruptVideo("no frame could be decoded")
    if representative is None:
        representative = fingerprint_image(sampled.images[0][1], sampled.size)
    base = {f.name: getattr(representative, f.name) for f in fields(Fingerprint)}
    base["width"], base["height"] = sampled.size
    return ClipFingerprint(
        **base,
        kind=found.kind,
        container=found.container,
        duration_ms=sampled.duration_ms,
        frames=tuple(frames),
    )


def check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise VideoTookTooLong()


@dataclass(frozen=True, slots=True)
class Sampled:
    """Frames picked from a clip: (milliseconds from its start, small RGB image)."""

    images: list[tuple[int, Image.Image]]
    duration_ms: int
    size: tuple[int, int]


def sample_times(duration: float) -> list[float]:
    """Seconds from the start at which to sample a clip of ``duration`` seconds.

    Eight a second, the middle and the very end; at most :data:`MAX_SAMPLES`, spread evenly
    on clips over about 8 seconds (one a second at a minute).
    """
    if duration <= 0:
        return [0.0]
    interval = max(MIN_INTERVAL, duration / (MAX_SAMPLES - 2))
    times = [k * interval for k in range(int(duration / interval) + 1)]
    times.append(duration / 2)
    times.append(duration)
    return sorted(set(round(t, 3) for t in times))


def _check_size(width: int, height: int, media: MediaLimits) -> None:
    if width < 1 or height < 1:
        raise CorruptVideo("the video has no picture size")
    if max(width, height) > MAX_SIDE:
        raise VideoTooLarge(f"{width}x{height}: a side is over {MAX_SIDE} pixels")
    if width * height > media.max_frame_pixels:
        raise VideoTooLarge(f"{width}x{height} is over the {media.max_frame_pixels:,} pixel cap")


def _small_size(width: int, height: int) -> tuple[int, int]:
    short = min(width, height)
    if short <= FRAME_SIDE:
        return width, height
    scale = FRAME_SIDE / short
    return max(1, round(width * scale)), max(1, round(height * scale))


#: Pixel formats with transparency (GIF and APNG frames): composited on the background.
ALPHA_FORMATS = ("bgra", "rgba", "argb", "abgr", "pal8", "yuva420p")


def _to_image(frame: av.video.frame.VideoFrame) -> Image.Image:
    """A decoded frame -> a small RGB Pillow image (transparency on the usual background)."""
    width, height = _small_size(frame.width, frame.height)
    alpha = frame.format.name in ALPHA_FORMATS
    small = frame.reformat(
        width=width, height=height, format="rgba" if alpha else "rgb24", interpolation="BILINEAR"
    )
    image: Image.Image = small.to_image()  # type: ignore[no-untyped-call]
    if alpha:
        background = Image.new("RGBA", image.size, (*BACKGROUND, 255))
        image = Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    rotation = getattr(frame, "rotation", 0) or 0
    if rotation % 360:
        # The display matrix turns the picture counter-clockwise by this many degrees.
        image = image.rotate(rotation, expand=True)
    return image


def _sample_av(data: bytes, demuxer: str, media: MediaLimits, deadline: float) -> Sampled:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            container = av.open(io.BytesIO(data), mode="r", format=demuxer)
    except av.FFmpegError as exc:
        raise CorruptVideo(str(exc)) from exc
    try:
        with container:
            return _sample_container(container, media, deadline)
    except ImageError:
        raise
    except (av.FFmpegError, ValueError, OverflowError, ZeroDivisionError, IndexError) as exc:
        raise CorruptVideo(str(exc) or type(exc).__name__) from exc


def _sample_container(
    container: av.container.InputContainer, media: MediaLimits, deadline: float
) -> Sampled:
    if not container.streams.video:
        raise NotAVideo("the file has no video stream")
    stream = container.streams.video[0]
    codec = stream.codec_context
    if codec is None:
        raise NotAVideo("seenit cannot decode this video format")
    _check_size(codec.width, codec.height, media)
    declared = container.duration / 1_000_000 if container.duration else 0.0
    if declared > media.max_seconds:
        raise VideoTooLong(f"{declared:.0f} s is over the {media.max_seconds:.0f} s cap")
    codec.thread_count = 1
    base = stream.time_base or Fraction(1, 1000)
    packets = []
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if packet.pts is None and packet.dts is None:
            continue
        packets.append(packet)
        if len(packets) > MAX_PACKETS:
            raise VideoTooLong(f"over {MAX_PACKETS:,} frames")
        if len(packets) % 256 == 0:
            check_deadline(deadline)
    if not packets:
        raise CorruptVideo("the video has no frames")
    pts = [_time_of(p) for p in packets]
    start = min(pts)
    ends = [(q - start + (p.duration or 0)) for p, q in zip(packets, pts, strict=True)]
    duration = float(max(ends) * base)
    if duration > media.max_seconds:
        raise VideoTooLong(f"{duration:.0f} s is over the {media.max_seconds:.0f} s cap")
    last_pts = max(pts)
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    if not keyframes:
        keyframes = [0]
    decoder = _Decoder(codec, packets, pts, keyframes, deadline)
    times = sample_times(float((last_pts - start) * base))
    interval = times[1] - times[0] if len(times) > 1 else 1.0
    targets = [start + round(t / base) for t in times]
    # Decode at most a budget of frames (by pixels): snap samples to keyframes from further
    # away until the plan fits, so a long 1080p clip costs about one decode per keyframe.
    budget = max(MIN_DECODES, DECODE_BUDGET_PIXELS // max(1, codec.width * codec.height))
    snap = round(interval / 2 / base)
    widest = round(MAX_SNAP_SECONDS / base)
    while decoder.plan_cost(targets, snap) > budget and snap < widest:
        snap = min(widest, round(snap * 1.5) + 1)
    picked: dict[int, Image.Image] = {}
    for t, target in zip(times, targets, strict=True):
        # The last frame is always decoded itself (at most a keyframe interval of frames).
        found = decoder.frame_at(target, snap=0 if target == targets[-1] else snap)
        if found is None:
            continue
        frame_pts, image = found
        t_ms = int((frame_pts - start) * base * 1000)
        if t == 0:
            until = start + round(BLANK_SEARCH_SECONDS / base)
            found = decoder.first_non_blank(image, frame_pts, until)
            frame_pts, image = found
            t_ms = int((frame_pts - start) * base * 1000)
        picked.setdefault(max(0, t_ms), image)
    if not picked:
        raise CorruptVideo("no frame could be decoded")
    return Sampled(
        images=sorted(picked.items(), key=lambda kv: kv[0]),
        duration_ms=int(duration * 1000),
        size=(codec.width, codec.height),
    )


def _time_of(packet: av.Packet[Any]) -> int:
    """Presentation time of a packet (its decoding time when it has none)."""
    value = packet.pts if packet.pts is not None else packet.dts
    return int(value or 0)


class _Decoder:
    """Decodes the frames nearest to sample times, decoding as few packets as it can."""

    def __init__(
        self,
        codec: av.video.codeccontext.VideoCodecContext,
        packets: list[av.Packet[Any]],
        pts: list[int],
        keyframes: list[int],
        deadline: float,
    ) -> None:
        self.codec = codec
        self.packets = packets
        self.pts = pts
        self.keyframes = keyframes
        self.deadline = deadline
        #: Index of the next packet to send, when the decoder is mid-stream.
        self.next: int | None = None
        #: The last frame received, and whether the stream was drained.
        self.last: av.video.frame.VideoFrame | None = None
        self.pending: list[av.video.frame.VideoFrame] = []
        self.keyframe_images: dict[int, tuple[int, Image.Image] | None] = {}
        #: (presentation time, decode-order index) of every packet, by time.
        self.order = sorted((p, i) for i, p in enumerate(pts))

    def _restart(self, at: int) -> None:
        self.codec.flush_buffers()
        self.next = at
        self.pending = []
        self.last = None

    def _frames(self) -> Iterator[av.video.frame.VideoFrame]:
        """Frames from the current position on, in presentation order, then the drained rest."""
        while True:
            while self.pending:
                frame = self.pending.pop(0)
                self.last = frame
                yield frame
            check_deadline(self.deadline)
            if self.next is None:
                return
            if self.next >= len(self.packets):
                self.next = None
                try:
                    self.pending = list(self.codec.decode(None))
                except av.FFmpegError:
                    self.pending = []
                continue
            packet = self.packets[self.next]
            self.next += 1
            try:
                self.pending = list(self.codec.decode(packet))
            except av.error.InvalidDataError:
                self.pending = []  # a damaged packet: skip it, as players do

    def frame_at(self, target: int, snap: int) -> tuple[int, Image.Image] | None:
        """The frame for a sample at ``target`` (pts): a keyframe within ``snap`` of it, else
        the first frame at or after it (or the clip's last frame)."""
        near = self._keyframe_near(target, snap)
        if near is not None:
            return self._keyframe_frame(near)
        k = self._keyframe_before(target)
        if self.next is None or self.next <= k or self._position() >= target:
            self._restart(k)
        fallback: av.video.frame.VideoFrame | None = None
        for frame in self._frames():
            if frame.pts is None:
                continue
            fallback = frame
            if frame.pts >= target:
                return frame.pts, _to_image(frame)
        if fallback is not None and fallback.pts is not None:
            return fallback.pts, _to_image(fallback)
        return None

    def _keyframe_frame(self, k: int) -> tuple[int, Image.Image] | None:
        """Decode one keyframe on its own (draining the decoder so it comes out at once)."""
        if k in self.keyframe_images:  # two samples snapped to the same keyframe
            return self.keyframe_images[k]
        found = self._decode_keyframe(k)
        self.keyframe_images[k] = found
        return found

    def _decode_keyframe(self, k: int) -> tuple[int, Image.Image] | None:
        self._restart(k)
        self.next = None
        check_deadline(self.deadline)
        try:
            frames = list(self.codec.decode(self.packets[k])) + list(self.codec.decode(None))
        except av.FFmpegError:
            frames = []
        for frame in frames:
            if frame.pts is not None:
                return frame.pts, _to_image(frame)
        return None

    def first_non_blank(
        self, image: Image.Image, frame_pts: int, until: int
    ) -> tuple[int, Image.Image]:
        """After a blank first frame, decode on until a frame carries detail (or give up)."""
        if _quality(image) >= BLANK_QUALITY:
            return frame_pts, image
        self._restart(self._keyframe_before(frame_pts))
        seen = 0
        for frame in self._frames():
            if frame.pts is None or frame.pts <= frame_pts:
                continue
            if frame.pts > until:
                break
            seen += 1
            if seen % 3:
                continue
            candidate = _to_image(frame)
            if _quality(candidate) >= BLANK_QUALITY:
                return frame.pts, candidate
        return frame_pts, image

    def plan_cost(self, targets: list[int], snap: int) -> int:
        """Packets :meth:`frame_at` would decode for these targets (an estimate)."""
        cost = 0
        at: int | None = None  # decode position carried from the previous target
        for target in targets:
            if target != targets[-1] and self._keyframe_near(target, snap) is not None:
                cost += 1
                at = None
                continue
            k = self._keyframe_before(target)
            end = self._decode_index(target)
            begin = at if at is not None and k <= at <= end else k
            cost += end - begin + 1
            at = end
        return cost

    def _decode_index(self, target: int) -> int:
        """Decode-order index of the packet showing the first frame at or after ``target``."""
        found = bisect.bisect_left(self.order, (target, -1))
        if found >= len(self.order):
            return len(self.packets) - 1
        return self.order[found][1]

    def _position(self) -> int:
        """Presentation time of the last frame out of the decoder (or far back)."""
        return self.last.pts if self.last is not None and self.last.pts is not None else -(2**62)

    def _keyframe_before(self, target: int) -> int:
        best = self.keyframes[0]
        for k in self.keyframes:
            if self.pts[k] <= target:
                best = k
            else:
                break
        return best

    def _keyframe_near(self, target: int, snap: int) -> int | None:
        best = None
        for k in self.keyframes:
            gap = abs(self.pts[k] - target)
            if gap <= snap and (best is None or gap < abs(self.pts[best] - target)):
                best = k
        return best


def _quality(image: Image.Image) -> int:
    return fingerprint_image(image, local=False).quality


def _sample_pillow(data: bytes, limits: Limits, media: MediaLimits, deadline: float) -> Sampled:
    """Animated WebP through Pillow: durations first (cheap), then the sampled frames."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=("WEBP",))
            width, height = image.size
            _check_size(width, height, media)
            # libwebp's animation decoder holds two RGBA canvases and Pillow copies one.
            if width * height * 4 > limits.max_pixels:
                raise VideoTooLarge(f"{width}x{height} is over the {limits.max_pixels:,} pixel cap")
            count = int(getattr(image, "n_frames", 1))
            if count > MAX_PACKETS:
                raise VideoTooLong(f"over {MAX_PACKETS:,} frames")
            starts = []
            total = 0
            for i in range(count):
                image.seek(i)
                starts.append(total)
                total += max(0, int(image.info.get("duration", 0) or 0))
                if i % 256 == 0:
                    check_deadline(deadline)
            if total / 1000 > media.max_seconds:
                raise VideoTooLong(f"{total // 1000} s is over the {media.max_seconds:.0f} s cap")
            if total == 0:
                starts = [i * 100 for i in range(count)]
                total = 100 * count
            wanted: list[int] = []
            for t in sample_times(starts[-1] / 1000):
                ms = t * 1000
                i = max(0, _index_at(starts, ms))
                if not wanted or wanted[-1] != i:
                    wanted.append(i)
            images = []
            for i in sorted(set(wanted)):
                check_deadline(deadline)
                image.seek(i)
                image.load()
                rgba = image.convert("RGBA")
                small = ImageOps.contain(rgba, _small_size(width, height), Image.Resampling.BOX)
                background = Image.new("RGBA", small.size, (*BACKGROUND, 255))
                flat = Image.alpha_composite(background, small).convert("RGB")
                images.append((starts[i], flat))
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise CorruptVideo(str(exc) or type(exc).__name__) from exc
    return Sampled(images=images, duration_ms=total, size=(width, height))


def _index_at(starts: list[int], ms: float) -> int:
    """Index of the frame showing at ``ms``."""
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= ms:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def still(data: bytes, limits: Limits = IMAGE_LIMITS, side: int = 360) -> Image.Image:
    """The clip's first frame that is not blank, as an RGB image (comparison pictures).

    Decodes from the start only as far as that frame (a few seconds at most), at about
    ``side`` pixels on the short side.
    """
    found = sniff(data)
    if found is None:
        raise NotAVideo()
    if not found.demuxer:
        sampled = _sample_pillow(data, limits, MEDIA_LIMITS, time.monotonic() + 5.0)
        return sampled.images[0][1]
    deadline = time.monotonic() + 5.0
    try:
        with av.open(io.BytesIO(data), mode="r", format=found.demuxer) as container:
            if not container.streams.video:
                raise NotAVideo("the file has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context is None:
                raise NotAVideo("seenit cannot decode this video format")
            _check_size(stream.codec_context.width, stream.codec_context.height, MEDIA_LIMITS)
            stream.codec_context.thread_count = 1
            first: Image.Image | None = None
            for count, frame in enumerate(container.decode(stream)):
                check_deadline(deadline)
                image = _to_image(frame)
                first = first or image
                if _quality(image) >= BLANK_QUALITY or count >= 150:
                    turned = (getattr(frame, "rotation", 0) or 0) % 360
                    if turned or frame.format.name in ALPHA_FORMATS:
                        return image  # already turned and composited, if small
                    scale = min(1.0, side / max(1, min(frame.width, frame.height)))
                    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
                    big: Image.Image = frame.reformat(
                        width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR"
                    ).to_image()  # type: ignore[no-untyped-call]
                    return big
    except ImageError:
        raise
    except (av.FFmpegError, ValueError, OverflowError, IndexError, AttributeError) as exc:
        raise CorruptVideo(str(exc) or type(exc).__name__) from exc
    if first is None:
        raise CorruptVideo("no frame could be decoded")
    return first


__all__ = [
    "CorruptVideo",
    "MediaLimits",
    "NotAVideo",
    "VideoTooLarge",
    "VideoTooLong",
    "VideoTookTooLong",
    "fingerprint_media",
    "is_clip",
    "sniff",
    "still",
]
