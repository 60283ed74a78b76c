"""Clips: what the first bytes say, sampling, frame fingerprints and the repost decision.

Every clip is made in code (tests/clipmaker.py: pans over the committed photos, encoded by
PyAV or Pillow) and decoded by the real decoders.
"""

from __future__ import annotations

import functools
import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clips import (
    EDIT_WORDS,
    ClipFingerprint,
    Frame,
    judge_media,
    pack_frames,
    stored_clip_of,
    unpack_frames,
)
from bot.hashing import Fingerprint, ImageError, fingerprint, hamming64
from bot.matching import PRESETS
from bot.records import ImageRecord
from bot.video import MIN_INTERVAL, fingerprint_media, sample_times, sniff
from tests.clipmaker import clip, encode_animation, encode_video, jpeg, pan, photo, still_of

RULE = PRESETS["normal"]


@functools.cache
def fp_of(**kwargs: object) -> Fingerprint:
    return fingerprint_media(clip(**kwargs))  # type: ignore[arg-type]


def variant(**kwargs: object) -> Fingerprint:
    return fp_of(**kwargs)


def record(fp: Fingerprint, image_id: int = 1) -> ImageRecord:
    return ImageRecord(
        image_id, 1, 10, 100 + image_id, 7, 0, 0, fp.phash64, fp.phash256, fp.quality
    )


def judge(query: Fingerprint, stored: Fingerprint) -> tuple[bool, str]:
    clip_row = stored_clip_of(stored, 1) if isinstance(stored, ClipFingerprint) else None
    verdict = judge_media(query, record(stored), clip_row, RULE)
    return verdict.repost, EDIT_WORDS.get(verdict.edit, verdict.edit)


@pytest.mark.parametrize(
    ("container", "kind", "name"),
    [
        ("mp4", "video", "mp4"),
        ("mov", "video", "mov"),
        ("webm", "video", "webm"),
        ("mkv", "video", "mkv"),
        ("gif", "gif", "gif"),
        ("webp", "webp", "webp"),
        ("apng", "apng", "apng"),
    ],
)
def test_each_container_is_sniffed_and_sampled_on_time(
    container: str, kind: str, name: str
) -> None:
    data = clip(container=container)
    found = sniff(data)
    assert found is not None and (found.kind, found.container) == (kind, name)
    fp = fingerprint_media(data)
    assert isinstance(fp, ClipFingerprint)
    assert (fp.kind, fp.container, fp.width, fp.height) == (kind, name, 160, 120)
    assert 3_800 <= fp.duration_ms <= 4_100
    times = [f.t_ms for f in fp.frames]
    assert times == sorted(times) and times[0] == 0 and times[-1] >= 3_700
    # Eight a second: a sample within 1/16 s of any moment, give or take a frame (1/10 s).
    assert max(b - a for a, b in itertools.pairwise(times)) <= 225
    assert all(f.quality > 20 for f in fp.frames)


@pytest.mark.parametrize(
    "data",
    [
        jpeg(photo("chelsea.jpg")),
        encode_animation(pan(photo("chelsea.jpg"), seconds=0.1), "gif"),
        encode_animation(pan(photo("chelsea.jpg"), seconds=0.1), "apng"),
        encode_animation(pan(photo("chelsea.jpg"), seconds=0.1), "webp"),
    ],
    ids=["jpeg", "one-frame gif", "one-frame png", "one-frame webp"],
)
def test_images_and_single_frame_animations_stay_images(data: bytes) -> None:
    assert sniff(data) is None
    fp = fingerprint_media(data)
    assert not isinstance(fp, ClipFingerprint)
    assert fp == fingerprint(data)


@pytest.mark.parametrize(
    ("duration", "count", "last"),
    [(0.0, 1, 0.0), (2.0, 17, 2.0), (4.0, 33, 4.0), (30.0, 63, 30.0), (600.0, 63, 600.0)],
)
def test_sample_times(duration: float, count: int, last: float) -> None:
    times = sample_times(duration)
    assert len(times) == count and times[0] == 0.0 and times[-1] == last
    assert duration / 2 in times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g <= max(MIN_INTERVAL, duration / 62) + 1e-3 for g in gaps)


def test_frames_pack_to_45_bytes_and_back() -> None:
    frames = (Frame(0, 2**64 - 1, bytes(range(32)), 100), Frame(250, 5, bytes(32), 0))
    blob = pack_frames(frames)
    assert len(blob) == 90
    assert unpack_frames(blob) == frames


def test_a_blank_intro_is_skipped_for_the_representative_frame() -> None:
    from PIL import Image

    from tests.clipmaker import encode_video

    frames = [Image.new("RGB", (160, 120))] * 15 + pan(photo("coffee.jpg"), seconds=3)
    fp = fingerprint_media(encode_video(frames))
    assert isinstance(fp, ClipFingerprint)
    assert fp.frames[0].quality < 8
    assert fp.quality > 20  # the representative is the first frame with detail
    assert fp == fingerprint_media(encode_video(frames))  # deterministic


# The decision: (the new post, the earlier post) -> (repost?, the words of the alert).
SAME = {"name": "chelsea.jpg"}
CASES = [
    ("re-encoded as WebM", {"container": "webm"}, {}, True, "a WebM copy of"),
    ("re-encoded as MKV", {"container": "mkv"}, {}, True, "an MKV copy of"),
    ("as MOV", {"container": "mov"}, {}, True, "a MOV copy of"),
    ("scaled up", {"out_size": (320, 240)}, {}, True, "a resized copy of"),
    ("trimmed at the start", {"trim": (0.3, 1.0)}, {}, True, "a trimmed copy of"),
    ("trimmed at both ends", {"trim": (0.2, 0.7)}, {}, True, "a trimmed copy of"),
    ("the original after its trimmed copy", {}, {"trim": (0.2, 0.7)}, True, "a longer version of"),
    ("a GIF of it", {"container": "gif"}, {}, True, "a GIF made from"),
    ("a GIF of a part", {"container": "gif", "trim": (0.4, 0.7)}, {}, True, "a GIF made from"),
    ("an animated WebP", {"container": "webp"}, {}, True, "an animation made from"),
    ("an APNG", {"container": "apng"}, {}, True, "an animation made from"),
    ("the video after its GIF", {}, {"container": "gif"}, True, "a video made from"),
    ("played backwards", {"direction": -1}, {}, False, ""),
    ("another photo", {"name": "coffee.jpg"}, {}, False, ""),
    ("another photo, as GIF", {"name": "astronaut.jpg", "container": "gif"}, {}, False, ""),
    ("a zoom instead of a pan", {"zoom": 1.6}, {}, False, ""),
]


@pytest.mark.parametrize(
    ("new", "old", "repost", "edit"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_clip_decision(
    new: dict[str, object], old: dict[str, object], repost: bool, edit: str
) -> None:
    assert judge(variant(**new), variant(**old)) == (repost, edit)


def test_a_still_frame_matches_its_clip_both_ways() -> None:
    original = variant()
    frame = fingerprint_media(jpeg(still_of(at=0.6)))
    assert judge(frame, original) == (True, "a frame of")
    assert judge(original, frame) == (True, "a video made from")
    other = fingerprint_media(jpeg(still_of("rocket.jpg", at=0.6)))
    assert judge(other, original) == (False, "")
    assert judge(original, other) == (False, "")


def test_images_are_judged_as_before() -> None:
    a = fingerprint(jpeg(photo("chelsea.jpg")))
    b = fingerprint(jpeg(photo("chelsea.jpg"), quality=40))
    verdict = judge_media(a, record(b), None, RULE)
    assert verdict.repost and verdict.edit == ""


@functools.cache
def _valid_clips() -> tuple[bytes, ...]:
    return (
        clip(container="mp4", seconds=1.0),
        clip(container="webm", seconds=1.0),
        clip(container="mkv", seconds=1.0),
        clip(container="gif", seconds=1.0, size=(48, 36)),
    )


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_damaged_clips_give_a_fingerprint_or_a_typed_error_quickly(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from(_valid_clips()), label="clip"))
    for _ in range(data.draw(st.integers(1, 12), label="damage")):
        at = data.draw(st.integers(0, len(base) - 1))
        if data.draw(st.booleans()):
            base[at] = data.draw(st.integers(0, 255))
        else:
            del base[at : at + data.draw(st.integers(1, 64))]
    if data.draw(st.booleans(), label="truncate"):
        base = base[: data.draw(st.integers(1, len(base)))]
    started = time.perf_counter()
    try:
        fp = fingerprint_media(bytes(base))
    except ImageError:
        fp = None
    assert time.perf_counter() - started < 10
    if isinstance(fp, ClipFingerprint):
        assert fp.frames and fp.width >= 1 and fp.height >= 1


def test_a_clip_over_the_decode_budget_is_sampled_at_its_keyframes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.video

    data = clip(seconds=6.0)  # a keyframe every second
    full = fingerprint_media(data)
    monkeypatch.setattr(bot.video, "DECODE_BUDGET_PIXELS", 1)
    monkeypatch.setattr(bot.video, "MIN_DECODES", 8)
    cheap = fingerprint_media(data)
    assert isinstance(full, ClipFingerprint) and isinstance(cheap, ClipFingerprint)
    times = [f.t_ms for f in cheap.frames]
    # One frame per keyframe, then the last second, which is decoded to reach the last frame
    # anyway (a sample there costs no more decoding).
    assert times[:6] == [0, 1000, 2000, 3000, 4000, 5000] and times[-1] >= 5_800
    assert all(t > 5000 for t in times[6:]) and len(times) <= 6 + 8
    assert len(full.frames) > 40
    # Sparser, and still the same clip as the fully sampled one, both ways.
    assert judge(cheap, full)[0] and judge(full, cheap)[0]


def test_a_clip_with_one_keyframe_over_the_budget_is_decoded_forward_cheaply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.video

    frames = pan(photo("chelsea.jpg"), seconds=6.0, fps=30.0, size=(160, 120))
    data = encode_video(frames, fps=30.0, keyframe_seconds=10.0)  # B-frames, one keyframe
    full = fingerprint_media(data)
    monkeypatch.setattr(bot.video, "DECODE_BUDGET_PIXELS", 1)
    monkeypatch.setattr(bot.video, "MIN_DECODES", 8)
    cheap = fingerprint_media(data)
    assert isinstance(full, ClipFingerprint) and isinstance(cheap, ClipFingerprint)
    full_times = [f.t_ms for f in full.frames]
    cheap_times = [f.t_ms for f in cheap.frames]
    # Non-reference frames were not decoded: some samples moved to a neighbouring frame...
    assert cheap_times != full_times
    # ...by a frame or two, and still eight a second over the whole clip.
    assert len(cheap_times) >= 40 and cheap_times[0] == 0 and cheap_times[-1] >= 5_800
    by_time = {f.t_ms: f for f in full.frames}
    for frame in cheap.frames:
        near = min(full_times, key=lambda t: abs(t - frame.t_ms))
        assert abs(near - frame.t_ms) <= 100
        if near == frame.t_ms:  # the same frame, without the deblocking filter
            assert hamming64(frame.phash64, by_time[near].phash64) <= 4
    assert judge(cheap, full)[0] and judge(full, cheap)[0]
