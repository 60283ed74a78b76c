"""What fingerprinting a clip costs, against decoding every frame of it with PyAV.

Run ``python -m bench.video_hashing`` (several minutes: encoding the clips is the long part)
or ``python -m bench.video_hashing --quick``.

Clips, built in memory from real packaged pictures (a slow pan with a zoom, so that every
frame differs), H.264 in MP4 through PyAV's libx264:

* ``720p H.264``: 1280x720, 30 fps, a keyframe every 2 s (x264's ``superfast`` preset:
  CABAC, B-frames), CRF 23, 10 s and 30 s;
* ``phone 1080p``: 1920x1080, 30 fps, a keyframe every second as phone cameras record,
  CRF 20; 10 s and 30 s.

Methods, in one process with one decoding thread, interleaved round by round:

* ``decode all``: PyAV decodes every frame (``thread_count = 1``), nothing else: the cost
  of the obvious way before any hashing;
* ``seenit``: ``bot.video.fingerprint_media(data)``: the samples (4 a second up to about
  15 s, then 64 spread evenly), keyframe seeking, and a full image fingerprint per sample.

Reported: median and p95 ms per clip, ms per second of video, and decode-all / seenit.
Target: a 30 s 1080p clip fingerprinted in under 1 s on one core.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from PIL import Image

from bench.common import (
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
from bot.video import fingerprint_media


@dataclass(frozen=True)
class Spec:
    name: str
    width: int
    height: int
    seconds: int
    keyframe_seconds: float
    crf: int
    noise: bool


SPECS = (
    Spec("720p H.264, 10 s", 1280, 720, 10, 2.0, 23, False),
    Spec("720p H.264, 30 s", 1280, 720, 30, 2.0, 23, False),
    Spec("phone 1080p, 10 s", 1920, 1080, 10, 1.0, 20, False),
    Spec("phone 1080p, 30 s", 1920, 1080, 30, 1.0, 20, False),
)
FPS = 30
#: The bot's byte cap is a policy, not a cost: the bench measures clips of any size.
NO_BYTE_CAP = Limits(max_bytes=1 << 31)


def make_clip(source: Image.Image, spec: Spec, seed: int) -> bytes:
    """A pan with a slow zoom over ``source``, encoded as ``spec`` says."""
    rng = np.random.default_rng(seed)
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
        gop = round(FPS * spec.keyframe_seconds)
        stream.options = {"crf": str(spec.crf), "preset": "superfast", "g": str(gop)}
        for k in range(frames):
            share = k / max(1, frames - 1)
            zoom = 1.0 + 0.15 * share
            w, h = int(spec.width / zoom), int(spec.height / zoom)
            x = int((base.width - w) * share)
            y = int((base.height - h) * (0.5 + 0.3 * np.sin(share * 3)) / 1.0) // 2
            picture = base.crop((x, y, x + w, y + h)).resize((spec.width, spec.height))
            if spec.noise:
                pixels = np.asarray(picture, dtype=np.int16)
                pixels = pixels + rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)
                picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = k
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def decode_all(data: bytes) -> int:
    """Decode every frame with PyAV, one thread: the baseline."""
    count = 0
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            count += 1
    return count


def run(quick: bool) -> None:
    header = machine_line()
    rounds = 3
    sources = [open_rgb(p.path, 3000) for p in spread(real_pictures(), 1 if quick else 3)]
    specs = SPECS[1::2] if quick else SPECS
    clips: dict[str, list[bytes]] = {}
    for spec in specs:
        started = time.perf_counter()
        clips[spec.name] = [make_clip(s, spec, n) for n, s in enumerate(sources)]
        print(f"encoded {len(sources)} x {spec.name} in {time.perf_counter() - started:.0f} s")
    times: dict[tuple[str, str], list[float]] = {}
    samples: dict[str, int] = {}
    rng = random.Random(7)
    for _ in range(rounds):
        jobs = [
            (spec, i, method)
            for spec in specs
            for i in range(len(sources))
            for method in ("decode all", "seenit")
        ]
        rng.shuffle(jobs)
        for spec, i, method in jobs:
            data = clips[spec.name][i]
            started = time.perf_counter()
            if method == "seenit":
                fp = fingerprint_media(data, NO_BYTE_CAP)
                samples[spec.name] = len(getattr(fp, "frames", ()))
            else:
                decode_all(data)
            times.setdefault((spec.name, method), []).append(time.perf_counter() - started)
    rows = []
    data_out: dict[str, Any] = {"machine": header, "rounds": rounds, "clips": len(sources)}
    for spec in specs:
        base = times[(spec.name, "decode all")]
        ours = times[(spec.name, "seenit")]
        size = sum(len(c) for c in clips[spec.name]) / len(clips[spec.name])
        rows.append(
            [
                spec.name,
                f"{size / 1e6:.1f} MB",
                samples[spec.name],
                f"{fmt_ms(median(base))} / {fmt_ms(percentile(base, 95))}",
                f"{fmt_ms(median(ours))} / {fmt_ms(percentile(ours, 95))}",
                fmt_ms(median(ours) / spec.seconds),
                fmt_ratio(median(base) / median(ours)),
            ]
        )
        data_out[spec.name] = {
            "decode_all_s": base,
            "seenit_s": ours,
            "samples": samples[spec.name],
            "bytes": size,
        }
    table = md_table(
        [
            "clip",
            "size",
            "samples",
            "decode all, median / p95 ms",
            "seenit, median / p95 ms",
            "seenit ms per s of video",
            "decode all / seenit",
        ],
        rows,
    )
    markdown = (
        "# Clip fingerprinting cost\n\n"
        f"{header}\n\n"
        f"{len(sources)} clips of each kind (pans with a slow zoom over real pictures), "
        f"{rounds} rounds, one process, one decoding thread, methods interleaved.\n\n"
        f"{table}\n"
    )
    write_results("video_hashing-quick" if quick else "video_hashing", markdown, data_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one clip of each 30 s kind instead of three of each"
    )
    args = parser.parse_args()
    run(args.quick)


if __name__ == "__main__":
    main()
