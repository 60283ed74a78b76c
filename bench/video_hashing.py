"""What fingerprinting a clip costs, against decoding every frame of it with PyAV.

Run ``python -m bench.video_hashing`` (encoding the clips is the long part: they are cached
under the system's temporary directory between runs) or ``--quick`` (one clip of each kind).

Clips, built from real packaged pictures (a slow pan with a zoom, so that every frame
differs), 30 s at 30 fps, H.264 in MP4 through PyAV's libx264 (``superfast`` preset: CABAC,
B-frames), each at two keyframe spacings:

* ``720p``: 1280x720, CRF 23;
* ``phone-like 1080p``: 1920x1080, CRF 20;
* keyframe every 30 frames (one a second, as phone cameras record) and every 250 frames
  (x264's default: few keyframes, as editors and screen recorders write).

Methods, in one process, interleaved round by round; each is timed on the wall clock and in
CPU time of the whole process (``time.process_time``, all threads), so "on one core" reads
off the CPU column:

* ``decode all``: PyAV decodes every frame (``thread_count = 1``), nothing else: the cost
  of the obvious way before any hashing;
* ``seenit``: ``bot.video.fingerprint_media(data)``: sampling, decoding and a fingerprint
  per sample, one decoding thread;
* ``seenit, threads``: the same with FFmpeg's own threads (``thread_type = "AUTO"``);
* ``before``: with ``--before REV``, ``bot/video.py`` as it was at git revision ``REV``,
  loaded beside the current one, for a before/after in the same run.

Reported: median and p95 ms per clip (wall and CPU), ms per second of video, and
decode-all / seenit. Target: a 30 s 1080p clip fingerprinted in under 1 s of CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

import bot.video
from bench.common import (
    CACHE_DIR,
    PROJECT_ROOT,
    Picture,
    fmt_ms,
    fmt_ratio,
    machine_line,
    md_table,
    median,
    open_rgb,
    percentile,
    real_pictures,
    spread,
    write_results,
)
from bot.hashing import Limits
from bot.video import MediaLimits


@dataclass(frozen=True)
class Spec:
    name: str
    width: int
    height: int
    seconds: int
    keyframe_frames: int
    crf: int


SPECS = (
    Spec("720p, keyframe every 30 frames", 1280, 720, 30, 30, 23),
    Spec("720p, keyframe every 250 frames", 1280, 720, 30, 250, 23),
    Spec("phone-like 1080p, keyframe every 30 frames", 1920, 1080, 30, 30, 20),
    Spec("1080p, keyframe every 250 frames", 1920, 1080, 30, 250, 20),
)
FPS = 30
#: The bot's byte cap is a policy, not a cost: the bench measures clips of any size.
NO_BYTE_CAP = Limits(max_bytes=1 << 31)
#: Nor is the time limit per file, which a loaded machine can reach on the slower methods.
NO_TIME_CAP = MediaLimits(seconds_per_file=3600.0)


def make_clip(source: Image.Image, spec: Spec) -> bytes:
    """A pan with a slow zoom over ``source``, encoded as ``spec`` says."""
    frames = spec.seconds * FPS
    base = source.resize(
        (int(spec.width * 1.6), int(spec.width * 1.6 * source.height / source.width))
    )
    if base.height < spec.height * 1.2:
        base = base.resize(
            (int(base.width * spec.height * 1.2 / base.height), int(spec.height * 1.2))
        )
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {
            "crf": str(spec.crf),
            "preset": "superfast",
            "g": str(spec.keyframe_frames),
            "keyint_min": str(min(25, spec.keyframe_frames)),
        }
        for k in range(frames):
            share = k / max(1, frames - 1)
            zoom = 1.0 + 0.15 * share
            w, h = int(spec.width / zoom), int(spec.height / zoom)
            x = int((base.width - w) * share)
            y = int((base.height - h) * (0.5 + 0.3 * np.sin(share * 3))) // 2
            picture = base.crop((x, y, x + w, y + h)).resize((spec.width, spec.height))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = k
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def cached_clip(picture: Picture, spec: Spec) -> bytes:
    """:func:`make_clip`, cached on disk (encoding a 30 s 1080p clip takes about a minute)."""
    stat = picture.path.stat()
    key = hashlib.sha256(
        f"{picture.path}|{stat.st_size}|{stat.st_mtime_ns}|{spec}|{av.__version__}|v2".encode()
    ).hexdigest()[:24]
    cache = CACHE_DIR / f"clip-{key}.mp4"
    if cache.is_file():
        return cache.read_bytes()
    data = make_clip(open_rgb(picture.path, 3000), spec)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(cache)
    return data


def decode_all(data: bytes) -> int:
    """Decode every frame with PyAV, one thread: the baseline."""
    count = 0
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            count += 1
    return count


def load_before(revision: str) -> Any:
    """``bot/video.py`` as it was at git ``revision``, as a module beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{revision}:bot/video.py"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "seenit_video_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("seenit_video_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def with_threads(data: bytes) -> Any:
    """``fingerprint_media`` with FFmpeg's own decoding threads."""
    saved = bot.video.DECODE_THREADS
    bot.video.DECODE_THREADS = 0
    try:
        return bot.video.fingerprint_media(data, NO_BYTE_CAP, NO_TIME_CAP)
    finally:
        bot.video.DECODE_THREADS = saved


def run(count: int, rounds: int, before: str | None) -> None:
    header = machine_line()
    pictures = spread(real_pictures(), count)
    clips: dict[str, list[bytes]] = {}
    for spec in SPECS:
        started = time.perf_counter()
        clips[spec.name] = [cached_clip(p, spec) for p in pictures]
        print(f"{len(pictures)} x {spec.name} ready in {time.perf_counter() - started:.0f} s")
    methods: dict[str, Callable[[bytes], Any]] = {
        "decode all": decode_all,
        "seenit": lambda data: bot.video.fingerprint_media(data, NO_BYTE_CAP, NO_TIME_CAP),
        "seenit, threads": with_threads,
    }
    if before:
        old = load_before(before)
        methods["before"] = lambda data: old.fingerprint_media(
            data, NO_BYTE_CAP, old.MediaLimits(seconds_per_file=3600.0)
        )
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    samples: dict[tuple[str, str], int] = {}
    rng = random.Random(7)
    for _ in range(rounds):
        jobs = [
            (spec, i, method) for spec in SPECS for i in range(len(pictures)) for method in methods
        ]
        rng.shuffle(jobs)
        for spec, i, method in jobs:
            data = clips[spec.name][i]
            started, started_cpu = time.perf_counter(), time.process_time()
            result = methods[method](data)
            wall.setdefault((spec.name, method), []).append(time.perf_counter() - started)
            cpu.setdefault((spec.name, method), []).append(time.process_time() - started_cpu)
            if method != "decode all":
                samples[(spec.name, method)] = len(getattr(result, "frames", ()))
    rows = []
    data_out: dict[str, Any] = {
        "machine": header,
        "rounds": rounds,
        "clips": len(pictures),
        "before": before,
    }
    for spec in SPECS:
        size = sum(len(c) for c in clips[spec.name]) / len(clips[spec.name])
        base_cpu = median(cpu[(spec.name, "decode all")])
        for method in methods:
            w, c = wall[(spec.name, method)], cpu[(spec.name, method)]
            rows.append(
                [
                    spec.name,
                    f"{size / 1e6:.1f} MB",
                    method,
                    samples.get((spec.name, method), "-"),
                    f"{fmt_ms(median(w))} / {fmt_ms(percentile(w, 95))}",
                    f"{fmt_ms(median(c))} / {fmt_ms(percentile(c, 95))}",
                    fmt_ms(median(c) / spec.seconds),
                    fmt_ratio(base_cpu / median(c)),
                ]
            )
            data_out.setdefault(spec.name, {"bytes": size})[method] = {
                "wall_s": w,
                "cpu_s": c,
                "samples": samples.get((spec.name, method)),
            }
    table = md_table(
        [
            "clip (30 s, 30 fps)",
            "size",
            "method",
            "samples",
            "wall, median / p95 ms",
            "CPU, median / p95 ms",
            "CPU ms per s of video",
            "decode all / method (CPU)",
        ],
        rows,
    )
    markdown = (
        "# Clip fingerprinting cost\n\n"
        f"{header}\n\n"
        f"{len(pictures)} clips of each kind (pans with a slow zoom over real pictures), "
        f"{rounds} rounds, one process, methods interleaved"
        + (f"; `before` is `bot/video.py` at {before}" if before else "")
        + ".\n\n"
        f"{table}\n"
    )
    write_results("video_hashing" if count > 1 else "video_hashing-quick", markdown, data_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one clip of each kind instead of three"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every method and clip")
    parser.add_argument(
        "--before", metavar="REV", help="also time bot/video.py as it was at this git revision"
    )
    args = parser.parse_args()
    run(1 if args.quick else 3, args.rounds, args.before)


if __name__ == "__main__":
    main()
