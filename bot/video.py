"""Video and animation bytes -> clip fingerprint: frames sampled on time, hashed like images.

Videos (MP4, MOV, WebM, MKV) and animated GIF and APNG are decoded with PyAV (FFmpeg), animated
WebP with Pillow (FFmpeg cannot decode it). The samples: eight a second, at most 64 (spread
evenly on clips over 8 s), and always the first frame that is not blank, the middle one and
the last one.

The decoder runs forward once, never seeking back. A sample within half an interval of a
keyframe takes the keyframe, which decodes on its own; any other sample takes the first
frame at or after its time, decoded from the keyframe before it, and samples sharing a run
of frames share its decoding. When that plan would decode more than a budget of pixels
(about 60 frames of 1080p; a keyframe counts as 4 frames), samples move to keyframes up to
a second away. A clip still over the budget (keyframes far apart, or many of them) is
decoded on the decoder's cheapest paths: frames that nothing is predicted from are not
decoded at all, and the deblocking filter is skipped.

Hostile or oversized media is refused with the image path's typed errors before anything
large is decoded: a byte cap, a cap on the declared and the real duration, a cap on the
frame size and a time limit per file. The container is chosen from the file's first bytes,
never from its name, and FFmpeg is only ever offered the demuxer of that container.

Pure and synchronous, like :mod:`bot.hashing`; callers run it in worker processes.
"""

from __future__ import annotations

import bisect
import io
import itertools
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

import av
import av.container
import av.video.frame
from av.video.reformatter import VideoReformatter
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
#: FFmpeg decoding threads per clip: one, because the hashing workers already keep every core
#: busy (0 lets FFmpeg choose; see bench/video_hashing.py).
DECODE_THREADS = 1
#: What a keyframe costs to decode, in other frames: intra frames carry several times the bits
#: (about 4.5 on x264 clips at 720p and 1080p).
KEY_WEIGHT = 4
#: Decoders that honour ``skip_frame = "NONREF"`` (frames nothing else is predicted from are
#: not decoded at all) and ``skip_loop_filter``.
SKIPPING_CODECS = frozenset({"h264", "hevc", "mpeg2video", "mpeg4", "vp8", "vp9"})


class _Shrinker:
    """Decoded frames -> small RGB Pillow images, through one scaler kept for the whole clip
    (setting up swscale for a 1080p frame costs more than the scaling itself)."""

    def __init__(self) -> None:
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.video.frame.VideoFrame) -> Image.Image:
        width, height = _small_size(frame.width, frame.height)
        alpha = frame.format.name in ALPHA_FORMATS
        small = self.reformatter.reformat(
            frame,
            width=width,
            height=height,
            format="rgba" if alpha else "rgb24",
            interpolation="BILINEAR",
        )
        image = _pillow_of(small)
        if alpha:
            background = Image.new("RGBA", image.size, (*BACKGROUND, 255))
            image = Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
        rotation = getattr(frame, "rotation", 0) or 0
        if rotation % 360:
            # The display matrix turns the picture counter-clockwise by this many degrees.
            image = image.rotate(rotation, expand=True)
        return image


def _pillow_of(frame: av.video.frame.VideoFrame) -> Image.Image:
    """The frame as a Pillow image, as it is (PyAV's ``to_image`` carries no types)."""
    to_image: Callable[[], Image.Image] = frame.to_image
    return to_image()


def _to_image(frame: av.video.frame.VideoFrame) -> Image.Image:
    """A decoded frame -> a small RGB Pillow image (transparency on the usual background)."""
    return _Shrinker()(frame)


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


def _video_codec(
    container: av.container.InputContainer, media: MediaLimits
) -> tuple[av.video.stream.VideoStream, av.video.codeccontext.VideoCodecContext]:
    """The first video stream and its decoder, checked against the size and length caps."""
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
    codec.thread_count = DECODE_THREADS
    if DECODE_THREADS != 1:
        codec.thread_type = "AUTO"
    return stream, codec


def _demux(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, deadline: float
) -> list[av.Packet[Any]]:
    """Every timed, non-empty packet of the stream (a cap on their number)."""
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
    return packets


def _sample_container(
    container: av.container.InputContainer, media: MediaLimits, deadline: float
) -> Sampled:
    stream, codec = _video_codec(container, media)
    base = stream.time_base or Fraction(1, 1000)
    packets = _demux(container, stream, deadline)
    pts = [_time_of(p) for p in packets]
    start = min(pts)
    ends = [(q - start + (p.duration or 0)) for p, q in zip(packets, pts, strict=True)]
    duration = float(max(ends) * base)
    if duration > media.max_seconds:
        raise VideoTooLong(f"{duration:.0f} s is over the {media.max_seconds:.0f} s cap")
    stream_of = _Packets(packets, pts)
    times = sample_times(float((max(pts) - start) * base))
    interval = times[1] - times[0] if len(times) > 1 else 1.0
    targets = [start + round(t / base) for t in times]
    budget = max(MIN_DECODES, DECODE_BUDGET_PIXELS // max(1, codec.width * codec.height))
    plan = stream_of.plan(
        targets, round(interval / 2 / base), round(MAX_SNAP_SECONDS / base), budget
    )
    if plan.cost > budget and codec.name in SKIPPING_CODECS:
        # Still over the budget (keyframes far apart, or many of them): decode only the
        # frames others are predicted from, without the deblocking filter. A sample then
        # lands on a reference frame a frame or two away; the missing filter moves a
        # frame's hashes by a bit or two.
        codec.skip_frame = "NONREF"
        codec.options = {**codec.options, "skip_loop_filter": "all"}
    decoder = _Decoder(codec, stream_of, deadline)
    found = decoder.run(plan, targets)
    picked: dict[int, Image.Image] = {}
    for n, hit in enumerate(found):
        if hit is None:
            continue
        frame_pts, image = hit
        if n == 0:
            until = start + round(BLANK_SEARCH_SECONDS / base)
            frame_pts, image = decoder.first_non_blank(image, frame_pts, until)
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which frames to decode for a clip's samples, decoding forward once."""

    #: Per sample: the keyframe (packet index) it takes, or None for the first frame at or
    #: after its time.
    keyframes: list[int | None]
    #: Per sample: the run of packets that shows its frame (index into ``runs``).
    run_of: list[int]
    #: Runs of packets decoded one after the other, (first, last) in decoding order,
    #: ascending and apart; each starts at a keyframe.
    runs: list[tuple[int, int]]
    #: Estimated decoding cost, in frames (a keyframe counts KEY_WEIGHT).
    cost: int


class _Packets:
    """A clip's video packets in decoding order, and where its keyframes are."""

    def __init__(self, packets: list[av.Packet[Any]], pts: list[int]) -> None:
        self.packets = packets
        self.pts = pts
        self.keyframes = [i for i, p in enumerate(packets) if p.is_keyframe] or [0]
        #: (presentation time, packet index) of the keyframes, by time.
        self.keys_by_time = sorted((pts[k], k) for k in self.keyframes)
        #: (presentation time, packet index) of every packet, by time.
        self.order = sorted((p, i) for i, p in enumerate(pts))
        weights = [1] * len(packets)
        for k in self.keyframes:
            weights[k] = KEY_WEIGHT
        self.prefix = list(itertools.accumulate(weights, initial=0))

    def plan(self, targets: list[int], snap: int, widest: int, budget: int) -> _Plan:
        """The plan for these sample times: samples within ``snap`` of a keyframe take it,
        and ``snap`` widens (up to ``widest``) until the plan fits the budget; past it, the
        cheapest plan."""
        cheapest: _Plan | None = None
        while True:
            plan = self._plan(targets, snap)
            if cheapest is None or plan.cost < cheapest.cost:
                cheapest = plan
            if plan.cost <= budget or snap >= widest:
                break
            snap = min(widest, round(snap * 1.5) + 1)
        return plan if plan.cost <= budget else cheapest

    def _plan(self, targets: list[int], snap: int) -> _Plan:
        keyframes: list[int | None] = []
        spans: list[tuple[int, int]] = []
        for n, target in enumerate(targets):
            # The last frame is always decoded itself (at most a keyframe interval of frames).
            near = self._keyframe_near(target, snap) if n < len(targets) - 1 else None
            keyframes.append(near)
            if near is not None:
                spans.append((near, near))
            else:
                k = self._keyframe_before(target)
                spans.append((k, max(k, self._decode_index(target))))
        runs: list[tuple[int, int]] = []
        for first, last in sorted(spans):
            if runs and first <= runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], max(runs[-1][1], last))
            else:
                runs.append((first, last))
        starts = [first for first, _ in runs]
        run_of = [bisect.bisect_right(starts, first) - 1 for first, _ in spans]
        cost = sum(self.prefix[last + 1] - self.prefix[first] for first, last in runs)
        return _Plan(keyframes, run_of, runs, cost)

    def _decode_index(self, target: int) -> int:
        """Decoding-order index of the packet showing the first frame at or after ``target``."""
        found = bisect.bisect_left(self.order, (target, -1))
        if found >= len(self.order):
            return len(self.packets) - 1
        return self.order[found][1]

    def _keyframe_before(self, target: int) -> int:
        """The last keyframe at or before ``target`` (the first one if none is)."""
        at = bisect.bisect_right(self.keys_by_time, (target, len(self.packets))) - 1
        return self.keys_by_time[max(0, at)][1]

    def _keyframe_near(self, target: int, snap: int) -> int | None:
        """The keyframe nearest to ``target``, if it is within ``snap`` of it."""
        at = bisect.bisect_left(self.keys_by_time, (target, -1))
        near = [self.keys_by_time[i] for i in (at - 1, at) if 0 <= i < len(self.keys_by_time)]
        best = min(near, key=lambda key: abs(key[0] - target), default=None)
        if best is None or abs(best[0] - target) > snap:
            return None
        return best[1]


class _Decoder:
    """Decodes a plan's runs of packets, forward, and keeps only the sampled frames."""

    def __init__(
        self,
        codec: av.video.codeccontext.VideoCodecContext,
        packets: _Packets,
        deadline: float,
    ) -> None:
        self.codec = codec
        self.packets = packets
        self.deadline = deadline
        self.shrink = _Shrinker()

    def _decoded(self, first: int, last: int) -> Iterator[av.video.frame.VideoFrame]:
        """Frames of packets ``first``..``last`` (a fresh start), then the decoder's rest."""
        self.codec.flush_buffers()
        for packet in self.packets.packets[first : last + 1]:
            check_deadline(self.deadline)
            try:
                frames = self.codec.decode(packet)
            except av.error.InvalidDataError:
                frames = []  # a damaged packet: skip it, as players do
            yield from frames
        try:
            frames = self.codec.decode(None)
        except av.FFmpegError:
            frames = []
        yield from frames

    def run(self, plan: _Plan, targets: list[int]) -> list[tuple[int, Image.Image] | None]:
        """Per sample: (presentation time, small image) of its frame, or None."""
        found: list[tuple[int, Image.Image] | None] = [None] * len(targets)
        for r, (first, last) in enumerate(plan.runs):
            keyed: dict[int, list[int]] = {}
            forward: list[tuple[int, int]] = []
            for n, target in enumerate(targets):
                if plan.run_of[n] != r:
                    continue
                k = plan.keyframes[n]
                if k is None:
                    forward.append((target, n))
                else:
                    keyed.setdefault(self.packets.pts[k], []).append(n)
            forward.sort()
            images: dict[int, Image.Image] = {}
            done = 0
            previous: av.video.frame.VideoFrame | None = None
            for frame in self._decoded(first, last):
                if frame.pts is None:
                    continue
                if frame.pts in keyed:
                    self._take(frame, keyed.pop(frame.pts), images, found)
                # Frames come out in presentation order: the first at or after a sample's
                # time is its frame.
                now = done
                while done < len(forward) and forward[done][0] <= frame.pts:
                    done += 1
                if done > now:
                    self._take(frame, [n for _, n in forward[now:done]], images, found)
                previous = frame
            if previous is not None and done < len(forward):
                # Past the last frame, or its own frame was skipped: the nearest before it.
                self._take(previous, [n for _, n in forward[done:]], images, found)
        return found

    def _take(
        self,
        frame: av.video.frame.VideoFrame,
        samples: list[int],
        images: dict[int, Image.Image],
        found: list[tuple[int, Image.Image] | None],
    ) -> None:
        """Give ``frame`` to these samples (shrunk once, however many take it)."""
        assert frame.pts is not None
        if frame.pts not in images:
            images[frame.pts] = self.shrink(frame)
        for n in samples:
            found[n] = (frame.pts, images[frame.pts])

    def first_non_blank(
        self, image: Image.Image, frame_pts: int, until: int
    ) -> tuple[int, Image.Image]:
        """After a blank first frame, decode on until a frame carries detail (or give up)."""
        if _quality(image) >= BLANK_QUALITY:
            return frame_pts, image
        first = self.packets._keyframe_before(frame_pts)
        seen = 0
        for frame in self._decoded(first, len(self.packets.packets) - 1):
            if frame.pts is None or frame.pts <= frame_pts:
                continue
            if frame.pts > until:
                break
            seen += 1
            if seen % 3:
                continue
            candidate = self.shrink(frame)
            if _quality(candidate) >= BLANK_QUALITY:
                return frame.pts, candidate
        return frame_pts, image


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
                    return _pillow_of(
                        frame.reformat(
                            width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR"
                        )
                    )
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
