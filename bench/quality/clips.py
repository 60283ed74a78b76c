"""Detection quality on clips: recall per edit and false matches, on generated videos.

Run ``python -m bench.quality.clips`` (a few minutes) or ``--quick``.

Corpus: for each of N real packaged pictures (scikit-image photos, Debian wallpapers; see
``bench.common.real_pictures``), an original clip: 6 s at 15 fps, 320x180 H.264 in MP4, a
camera panning across the picture (direction, zoom and vertical drift drawn per picture from
a fixed seed). Each original gets these copies, as people repost clips:

* re-encoded at CRF 35; scaled to 192x108; sped down to 10 fps; mirrored;
* trimmed: the first 30% cut; 20% cut at the start and 25% at the end;
* converted: WebM (VP9), MKV (MPEG-4 part 2), an animated GIF (whole clip, 10 fps, 160 px),
  a GIF of 2 s from the middle, an animated WebP;
* a still frame at a random time (JPEG, quality 85).

Measured through seenit's own pipeline, under the ``normal`` preset: a copy is found when
the index, holding the original's representative and frame hashes, returns the original for
the copy's query hashes and ``bot.clips.judge_media`` calls it a repost (the copy posted
after the original). False matches: every pair of files made from different pictures that
``seenit dupes`` would pair (index lookup, then the decision both ways). The baseline,
"first frame only", judges each copy's first frame against the original's first frame with
the image rule, as a tool that reads a clip as its first frame would.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from PIL import Image, ImageOps

from bench.common import machine_line, md_table, open_rgb, real_pictures, spread, write_results
from bot.cli import Hashed, find_pairs
from bot.clips import (
    EDIT_WORDS,
    ClipFingerprint,
    clip_query_hashes,
    index_hashes,
    judge_fingerprints,
)
from bot.hashing import Fingerprint, fingerprint_image
from bot.index import HammingIndex
from bot.matching import PRESETS, judge, query_hashes
from bot.video import fingerprint_media

RULE = PRESETS["normal"]
SIZE = (320, 180)
FPS = 15
SECONDS = 6


def pan(source: Image.Image, seed: int, fps: int = FPS) -> list[Image.Image]:
    """A camera moving across ``source``: direction, zoom and drift from ``seed``."""
    rng = random.Random(seed)
    direction = rng.choice((1, -1))
    zoom = rng.uniform(1.0, 1.5)
    drift = rng.uniform(-0.2, 0.2)
    count = SECONDS * fps
    width, height = source.size
    aspect = SIZE[0] / SIZE[1]
    frames = []
    for k in range(count):
        share = k / (count - 1)
        scale = 1.0 + (zoom - 1.0) * share
        box_h = min(height, width / aspect) * 0.7 / scale
        box_w = box_h * aspect
        x = (width - box_w) * (share if direction > 0 else 1 - share)
        y = (height - box_h) * (0.5 + drift * share)
        frames.append(
            source.crop((int(x), int(y), int(x + box_w), int(y + box_h))).resize(
                SIZE, Image.Resampling.BILINEAR
            )
        )
    return frames


def video(
    frames: list[Image.Image],
    fmt: str = "mp4",
    codec: str = "libx264",
    fps: int = FPS,
    crf: int = 23,
    size: tuple[int, int] = SIZE,
) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast", "g": str(2 * fps)}
        elif codec == "libvpx-vp9":
            stream.options = {"crf": "35", "b:v": "0", "deadline": "realtime", "cpu-used": "8"}
        else:
            stream.options = {"qscale": "5", "g": str(2 * fps)}
        for k, picture in enumerate(frames):
            frame = av.VideoFrame.from_image(
                picture if picture.size == size else picture.resize(size)
            )
            frame.pts = k
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def animation(frames: list[Image.Image], fmt: str, fps: int, side: int = 160) -> bytes:
    small = [f.resize((side, round(side * f.height / f.width))) for f in frames]
    buffer = io.BytesIO()
    small[0].save(
        buffer,
        fmt,
        save_all=True,
        append_images=small[1:],
        duration=round(1000 / fps),
        loop=0,
        **({"quality": 75} if fmt == "WEBP" else {}),
    )
    return buffer.getvalue()


def every(frames: list[Image.Image], fps: int) -> list[Image.Image]:
    """The frames a ``fps`` recording of the same motion would hold."""
    step = FPS / fps
    return [frames[int(k * step)] for k in range(int(len(frames) / step))]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


Edit = Callable[[list[Image.Image], random.Random], bytes]
EDITS: dict[str, tuple[Edit, str]] = {
    "re-encoded (CRF 35)": (lambda f, r: video(f, crf=35), "a re-encoded copy of"),
    "scaled to 192x108": (lambda f, r: video(f, size=(192, 108)), "a resized copy of"),
    "10 fps": (lambda f, r: video(every(f, 10), fps=10), "a re-encoded copy of"),
    "mirrored": (lambda f, r: video([ImageOps.mirror(x) for x in f]), "a re-encoded copy of"),
    "first 30% cut": (lambda f, r: video(f[int(0.3 * len(f)) :]), "a trimmed copy of"),
    "trimmed both ends": (
        lambda f, r: video(f[int(0.2 * len(f)) : int(0.75 * len(f))]),
        "a trimmed copy of",
    ),
    "WebM (VP9)": (lambda f, r: video(f, "webm", "libvpx-vp9"), "a WebM copy of"),
    "MKV (MPEG-4)": (lambda f, r: video(f, "matroska", "mpeg4"), "an MKV copy of"),
    "GIF, whole clip": (lambda f, r: animation(every(f, 10), "GIF", 10), "a GIF made from"),
    "GIF, 2 s from the middle": (
        lambda f, r: animation(every(f[len(f) // 3 : len(f) // 3 + 2 * FPS], 10), "GIF", 10),
        "a GIF made from",
    ),
    "animated WebP": (
        lambda f, r: animation(every(f, 10), "WEBP", 10),
        "an animation made from",
    ),
    "still frame (JPEG)": (lambda f, r: jpeg(f[r.randrange(len(f))]), "a frame of"),
}


def first_frame(data: bytes) -> Fingerprint | None:
    """The image fingerprint of a file's first frame (the baseline)."""
    try:
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                return fingerprint_image(frame.to_image())  # type: ignore[no-untyped-call]
    except (av.FFmpegError, IndexError):
        pass
    try:
        with Image.open(io.BytesIO(data)) as image:
            return fingerprint_image(image.convert("RGB"))
    except OSError:
        return None


def run(quick: bool) -> None:
    header = machine_line()
    pictures = spread(real_pictures(), 8 if quick else 24)
    started = time.perf_counter()
    files: list[tuple[int, str, bytes]] = []  # (picture, edit or "original", bytes)
    for n, picture in enumerate(pictures):
        source = open_rgb(picture.path, 1600)
        frames = pan(source, seed=n)
        rng = random.Random(1000 + n)
        files.append((n, "original", video(frames)))
        for name, (edit, _) in EDITS.items():
            files.append((n, name, edit(frames, rng)))
    built = time.perf_counter() - started
    started = time.perf_counter()
    hashed = [Hashed(f"{n}:{name}", fingerprint_media(data), None) for n, name, data in files]
    hashing = time.perf_counter() - started
    originals = {n: i for i, (n, name, _) in enumerate(files) if name == "original"}
    found: dict[str, list[bool]] = {name: [] for name in EDITS}
    named: dict[str, list[bool]] = {name: [] for name in EDITS}
    baseline: dict[str, list[bool]] = {name: [] for name in EDITS}
    firsts = [first_frame(data) for _, _, data in files]
    # Pans over smooth parts of a wallpaper are near-blank in every frame: like near-blank
    # images they never match anything, and are counted apart.
    blank = {
        n
        for n, o in originals.items()
        if all(f.quality < RULE.min_quality for f in getattr(hashed[o].fingerprint, "frames", ()))
    }
    for i, (n, name, _) in enumerate(files):
        if name == "original" or n in blank:
            continue
        o = originals[n]
        query, stored = hashed[i].fingerprint, hashed[o].fingerprint
        assert query is not None and stored is not None
        index = HammingIndex([0] * len(index_hashes(stored)), index_hashes(stored))
        hit = bool(index.search(query_hashes(query) + clip_query_hashes(query), RULE.radius64))
        verdict = judge_fingerprints(query, stored, RULE)
        found[name].append(hit and verdict.repost)
        named[name].append(
            hit and verdict.repost and EDIT_WORDS.get(verdict.edit) == EDITS[name][1]
        )
        a, b = firsts[i], firsts[o]
        baseline[name].append(a is not None and b is not None and judge(a, b, RULE).repost)
    started = time.perf_counter()
    pairs = find_pairs(hashed, RULE)
    pairing = time.perf_counter() - started
    false_pairs = [(p.a, p.b) for p in pairs if files[p.a][0] != files[p.b][0]]
    true_pairs = [(p.a, p.b) for p in pairs if files[p.a][0] == files[p.b][0]]
    distinct = sum(
        1 for i in range(len(files)) for j in range(i + 1, len(files)) if files[i][0] != files[j][0]
    )
    rows = []
    for name in EDITS:
        rows.append(
            [
                name,
                f"{100 * sum(found[name]) / len(found[name]):.0f}%",
                f"{100 * sum(named[name]) / max(1, sum(found[name])):.0f}%",
                f"{100 * sum(baseline[name]) / len(baseline[name]):.0f}%",
            ]
        )
    total = [x for v in found.values() for x in v]
    total_base = [x for v in baseline.values() for x in v]
    rows.append(
        [
            "**all copies**",
            f"**{100 * sum(total) / len(total):.1f}%**",
            "",
            f"{100 * sum(total_base) / len(total_base):.1f}%",
        ]
    )
    table = md_table(
        ["copy", "found (normal)", "edit named right", "first frame only"],
        rows,
    )
    clips = sum(isinstance(h.fingerprint, ClipFingerprint) for h in hashed)
    markdown = (
        "# Detection quality on clips\n\n"
        f"{header}\n\n"
        f"{len(pictures)} originals (6 s, 15 fps, 320x180 H.264 pans over real pictures), "
        f"{len(EDITS)} copies each: {len(files)} files ({clips} read as clips), built in "
        f"{built:.0f} s, fingerprinted in {hashing:.0f} s ({1000 * hashing / len(files):.0f} ms "
        f"a file), all pairs found through the index in {pairing:.1f} s.\n\n"
        f"{table}\n\n"
        f"{len(blank)} of the {len(pictures)} originals are near-blank in every sampled frame "
        "(pans over smooth parts of a wallpaper): like near-blank images they never match, "
        "and recall is over the other originals.\n\n"
        f"False matches: **{len(false_pairs)}** among {distinct:,} pairs of files made from "
        f"different pictures (`seenit dupes` pairs, both ways); pairs of files from the same "
        f"picture found: {len(true_pairs)}.\n"
    )
    data: dict[str, Any] = {
        "machine": header,
        "pictures": [p.name for p in pictures],
        "found": found,
        "named": named,
        "first_frame": baseline,
        "false_pairs": [(files[i][:2], files[j][:2]) for i, j in false_pairs],
        "distinct_pairs": distinct,
        "blank": sorted(pictures[n].name for n in blank),
    }
    write_results("clips-quick" if quick else "clips", markdown, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 pictures instead of 24")
    args = parser.parse_args()
    run(args.quick)


if __name__ == "__main__":
    main()
