"""Clips (videos and animations): their fingerprints and the "is this a repost?" decision.

A clip is fingerprinted as a short sequence of frame fingerprints sampled on time, each the
same 64- and 256-bit hashes and quality score an image gets, so a clip, a GIF made from it
and a still frame of it can all match each other. The fingerprint of a clip is also an image
fingerprint (:class:`ClipFingerprint` extends :class:`Fingerprint`): its own hashes are those
of a representative frame (the first that is not blank), which is what every image-only path
(allowlist, "Not a repost", comparison pictures) uses.

Everything here is pure: no I/O, no decoding (``bot/video.py`` decodes).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from bot.hashing import Fingerprint, hamming64, hamming_bytes, min_oriented_distance
from bot.matching import Hashes, Match, Thresholds, Verdict, judge
from bot.records import ImageRecord

#: What a clip was: a video container, or an animated image format.
Kind = Literal["video", "gif", "webp", "apng"]
ANIMATIONS = ("gif", "webp", "apng")


@dataclass(frozen=True, slots=True)
class Frame:
    """The fingerprint of one sampled frame, at ``t_ms`` from the start of the clip."""

    t_ms: int
    phash64: int
    phash256: bytes
    quality: int
    #: Hashes of the frame mirrored left to right (queries only; never stored).
    mirror64: int = 0
    mirror256: bytes = b""


@dataclass(frozen=True, slots=True)
class ClipFingerprint(Fingerprint):
    """An image fingerprint (of the clip's representative frame) plus the sampled frames."""

    kind: Kind = "video"
    #: The container the clip came in ("mp4", "webm", "mov", "mkv"), or the image format.
    container: str = ""
    duration_ms: int = 0
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredClip:
    """What the store keeps of a clip, beside its image row."""

    image_id: int
    kind: str
    container: str
    duration_ms: int
    width: int
    height: int
    frames: tuple[Frame, ...]


#: One stored frame: milliseconds, 64-bit hash, 256-bit hash, quality (45 bytes).
FRAME_STRUCT = struct.Struct(">IQ32sB")


def pack_frames(frames: Iterable[Frame]) -> bytes:
    """Frames -> the compact blob the store keeps (45 bytes a frame)."""
    return b"".join(
        FRAME_STRUCT.pack(max(0, f.t_ms), f.phash64, f.phash256, max(0, min(255, f.quality)))
        for f in frames
    )


def unpack_frames(blob: bytes) -> tuple[Frame, ...]:
    """The blob of :func:`pack_frames` -> frames (a truncated tail is ignored)."""
    size = FRAME_STRUCT.size
    return tuple(
        Frame(*FRAME_STRUCT.unpack_from(blob, at)) for at in range(0, len(blob) - size + 1, size)
    )


def frame_hashes64(blob: bytes) -> list[int]:
    """The 64-bit hashes of a packed frame blob, for the index."""
    size = FRAME_STRUCT.size
    return [int.from_bytes(blob[at + 4 : at + 12], "big") for at in range(0, len(blob), size)]


def clip_query_hashes(query: Fingerprint) -> tuple[int, ...]:
    """Extra 64-bit hashes to look up for a clip query: each frame, as is and mirrored."""
    if not isinstance(query, ClipFingerprint):
        return ()
    found: list[int] = []
    for f in query.frames:
        found.append(f.phash64)
        if f.mirror256:
            found.append(f.mirror64)
    return tuple(dict.fromkeys(found))


def stored_clip_of(fp: ClipFingerprint, image_id: int = 0) -> StoredClip:
    """The stored form of a clip fingerprint (frames without their mirrored hashes)."""
    return StoredClip(
        image_id=image_id,
        kind=fp.kind,
        container=fp.container,
        duration_ms=fp.duration_ms,
        width=fp.width,
        height=fp.height,
        frames=tuple(replace(f, mirror64=0, mirror256=b"") for f in fp.frames),
    )


# the decision

#: Share of the shorter clip's usable frames that must match, in order.
MIN_SHARE = 0.5
#: Frames matched in order, at least (or every usable frame of a clip shorter than that).
MIN_FRAMES = 3
#: A copy shorter (longer) than this share of the original's duration is trimmed (extended).
TRIM_SHARE = 0.9
#: Sizes within this share of each other count as the same size.
SIZE_TOLERANCE = 0.02

CONTAINERS = ("mp4", "webm", "mov", "mkv")


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of a comparison: a clip's frames, or a still as a single frame."""

    kind: str  # "image" for a still
    container: str
    duration_ms: int
    width: int
    height: int
    frames: tuple[Frame, ...]


def _query_side(query: Fingerprint) -> _Side:
    if isinstance(query, ClipFingerprint) and query.frames:
        return _Side(
            query.kind,
            query.container,
            query.duration_ms,
            query.width,
            query.height,
            query.frames,
        )
    return _Side("image", "", 0, query.width, query.height, ())


def _frame_distance(q: Frame, mirrored: bool, s_hash64: int, s_hash256: bytes) -> tuple[int, int]:
    if mirrored:
        return hamming_bytes(q.mirror256, s_hash256), hamming64(q.mirror64, s_hash64)
    return hamming_bytes(q.phash256, s_hash256), hamming64(q.phash64, s_hash64)


def _ordered_matches(pairs: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Longest run of (query frame, stored frame, distance) pairs in order on both sides.

    Pairs come sorted by query frame; a stored frame may serve two query frames in a row (a
    slowed-down or low-frame-rate copy), so stored positions must not decrease.
    """
    if not pairs:
        return []
    # Longest non-decreasing subsequence on the stored position, O(n log n).
    tails: list[int] = []  # index into pairs of the smallest tail of each length
    previous = [-1] * len(pairs)
    for k, (_, j, _) in enumerate(pairs):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if pairs[tails[mid]][1] <= j:
                lo = mid + 1
            else:
                hi = mid
        previous[k] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(k)
        else:
            tails[lo] = k
    chain = []
    k = tails[-1]
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    return chain[::-1]


def _usable(frames: Sequence[Frame], rule: Thresholds) -> list[Frame]:
    return [f for f in frames if f.quality >= rule.min_quality]


def _clip_vs_clip(q: _Side, s: _Side, rule: Thresholds) -> tuple[Verdict, list[tuple[int, int]]]:
    """Sequence match of two clips: verdict and the matched (query, stored) frame positions."""
    qf, sf = _usable(q.frames, rule), _usable(s.frames, rule)
    best: tuple[int, int, list[tuple[int, int, int]]] | None = None
    if qf and sf:
        for orientation in (0, 1):
            if orientation and not qf[0].mirror256:
                continue
            pairs = []
            for i, frame in enumerate(qf):
                found = None
                for j, other in enumerate(sf):
                    d, d64 = _frame_distance(frame, orientation == 1, other.phash64, other.phash256)
                    close = d <= rule.max256 and d64 <= rule.radius64
                    if close and (found is None or d < found[1]):
                        found = (j, d)
                if found is not None:
                    pairs.append((i, found[0], found[1]))
            chain = _ordered_matches(pairs)
            if best is None or len(chain) > len(best[2]):
                best = (orientation, len(chain), chain)
    if best is None or not best[2]:
        return Verdict(
            distance=HASH256_BITS // 2,
            distance64=32,
            orientation=0,
            repost=False,
            reason="distance",
        ), []
    orientation, matched, chain = best
    shorter = min(len(qf), len(sf))
    need = max(min(MIN_FRAMES, shorter), math.ceil(MIN_SHARE * shorter))
    distances = sorted(d for _, _, d in chain)
    median = distances[len(distances) // 2]
    repost = matched >= need
    verdict = Verdict(
        distance=median,
        distance64=0,
        orientation=orientation,
        repost=repost,
        reason="" if repost else "distance",
    )
    positions = [(qf[i].t_ms, sf[j].t_ms) for i, j, _ in chain]
    return verdict, positions


HASH256_BITS = 256


def _still_vs_frames(
    hashes64: Sequence[int], hashes256: Sequence[bytes], frames: Sequence[Frame], rule: Thresholds
) -> Verdict:
    """A still (in its orientations) against a clip's frames: the best frame decides."""
    best: Verdict | None = None
    for frame in frames:
        if frame.quality < rule.min_quality:
            continue
        d, orientation = min_oriented_distance(hashes256, frame.phash256)
        d64 = min(hamming64(h, frame.phash64) for h in hashes64)
        repost = d <= rule.max256 and d64 <= rule.radius64
        verdict = Verdict(d, d64, orientation, repost, "" if repost else "distance")
        if best is None or (verdict.repost, -verdict.distance) > (best.repost, -best.distance):
            best = verdict
    return best or Verdict(HASH256_BITS // 2, 32, 0, False, "distance")


#: The edits a verdict names, in English: how the new post was made from the earlier one.
#: Alerts take the words from the catalogues (``clip.edit.<code>`` in ``bot/locales``).
EDIT_WORDS = {
    "copy": "a copy of",
    "reencoded": "a re-encoded copy of",
    "resized": "a resized copy of",
    "trimmed": "a trimmed copy of",
    "longer": "a longer version of",
    "gif": "a GIF made from",
    "animation": "an animation made from",
    "video": "a video made from",
    "frame": "a frame of",
    "mp4": "an MP4 copy of",
    "webm": "a WebM copy of",
    "mov": "a MOV copy of",
    "mkv": "an MKV copy of",
}


def edit_name(q: _Side, s: _Side, positions: Sequence[tuple[int, int]], distance: int) -> str:
    """How the new post (``q``) was made from the earlier one (``s``): a key of EDIT_WORDS."""
    if q.kind == "image":
        return "frame"
    if q.kind in ANIMATIONS and s.kind != q.kind:
        return "gif" if q.kind == "gif" else "animation"
    if q.kind == "video" and s.kind != "video":
        return "video"
    if q.duration_ms and s.duration_ms:
        if q.duration_ms < TRIM_SHARE * s.duration_ms:
            return "trimmed"
        if s.duration_ms < TRIM_SHARE * q.duration_ms:
            return "longer"
    if s.width and abs(q.width / s.width - 1) > SIZE_TOLERANCE:
        return "resized"
    if q.container != s.container and q.kind == "video" and q.container in CONTAINERS:
        return q.container
    if distance > 0:
        return "reencoded"
    return "copy"


def judge_media(
    query: Fingerprint, stored: Hashes, clip: StoredClip | None, rule: Thresholds
) -> Verdict:
    """Compare a query (image or clip) with one stored image or clip under a rule.

    Two images: the image rule (:func:`bot.matching.judge`). A still and a clip: the still
    matches when it matches any usable frame. Two clips: enough of the shorter one's frames
    must match frames of the other in order. The verdict names the edit (a key of
    :data:`EDIT_WORDS`: "trimmed" for "a trimmed copy of").
    """
    q = _query_side(query)
    if clip is None and q.kind == "image":
        return judge(query, stored, rule)
    if clip is None:
        # A clip against a still: its representative frame (in every orientation, with its
        # views) or any of its sampled frames showing the still is enough.
        verdict = judge(query, stored, rule)
        if not verdict.repost and stored.quality >= rule.min_quality:
            for frame in _usable(q.frames, rule):
                for mirrored in (False, True) if frame.mirror256 else (False,):
                    d, d64 = _frame_distance(frame, mirrored, stored.phash64, stored.phash256)
                    close = d <= rule.max256 and d64 <= rule.radius64
                    if close and (not verdict.repost or d < verdict.distance):
                        verdict = Verdict(d, d64, int(mirrored), True, "")
        if not verdict.repost:
            return verdict
        still = _Side("image", "", 0, 0, 0, ())
        return replace(verdict, edit=edit_name(q, still, (), verdict.distance))
    s = _Side(clip.kind, clip.container, clip.duration_ms, clip.width, clip.height, clip.frames)
    if q.kind == "image":
        verdict = _still_vs_frames(
            query.phash64_orientations, query.phash256_orientations, s.frames, rule
        )
        if not verdict.repost or query.quality < rule.min_quality:
            return replace(verdict, repost=False, reason=verdict.reason or "low quality")
        return replace(verdict, edit=edit_name(q, s, (), verdict.distance))
    verdict, positions = _clip_vs_clip(q, s, rule)
    if not verdict.repost:
        return verdict
    return replace(verdict, edit=edit_name(q, s, positions, verdict.distance))


def judge_fingerprints(query: Fingerprint, stored: Fingerprint, rule: Thresholds) -> Verdict:
    """:func:`judge_media` between two fingerprints (the command-line tool's files)."""
    clip = stored_clip_of(stored) if isinstance(stored, ClipFingerprint) else None
    return judge_media(query, stored, clip, rule)


def index_hashes(fp: Fingerprint) -> tuple[int, ...]:
    """The 64-bit hashes an index holds for one image or clip: its own, then its frames'."""
    if isinstance(fp, ClipFingerprint):
        return (fp.phash64, *(f.phash64 for f in fp.frames))
    return (fp.phash64,)


def verify_media(
    query: Fingerprint,
    candidates: Iterable[ImageRecord],
    clips: Mapping[int, StoredClip],
    rule: Thresholds,
) -> list[Match]:
    """Like :func:`bot.matching.verify`, for queries and candidates that may be clips."""
    matches = []
    for image in candidates:
        verdict = judge_media(query, image, clips.get(image.id), rule)
        if verdict.repost:
            matches.append(Match(image, verdict))
    matches.sort(key=lambda m: (m.distance, m.image.posted_at, m.image.id))
    return matches
