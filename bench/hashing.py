"""Hashing speed per core, and the accuracy of seenit's fast decode path.

Run ``python -m bench.hashing`` (a few minutes) or ``python -m bench.hashing --quick``.

Speed: one process, one thread (OpenCV too, as in seenit's hashing workers), images per
second for five realistic uploads, each built in memory from a real packaged picture:

* ``jpeg 1280x720``: a photo downscaled (Lanczos), JPEG quality 85;
* ``jpeg 4032x3024 phone``: a 4:3 photo resized (Lanczos) to phone-camera size, quality 90;
* ``png 1920x1080 UI``: a chat-app screenshot rendered with Pillow (text, bars, buttons);
* ``png 1920x1080 photo``: a wallpaper downscaled to 1920x1080, saved as PNG;
* ``webp 1920x1080``: a photo at 1920x1080, lossy WebP quality 80;
* ``gif 480x270 x20``: a 20-frame animated GIF panning over a photo.

Methods, interleaved in a shuffled order every round so that noise hits them alike:

* ``article``: ``Image.open(BytesIO)`` then ``imagehash.average_hash(img)`` +
  ``imagehash.colorhash(img)`` on the full image (the approach seenit is measured against);
* ``phash``: ``imagehash.phash(Image.open(...))`` on a full decode;
* ``floor``: JPEG: ``Image.open`` + ``draft('RGB', (w // 8, h // 8))`` + ``load()`` only
  (the decode floor); other formats: ``Image.open`` + ``load()`` (a full decode: they have
  no reduced decode);
* ``seenit``: ``bot.hashing.fingerprint(data)`` (phash64 + phash256 in all 8 orientations
  + quality + local features), ``seenit global`` (the same without the local features) and
  ``seenit decode``: ``bot.hashing.decode(data)`` alone, to split its cost.

Local features: what they add, timed on each input's decoded image (the decode is the same
with or without them, and its noise would swamp the difference on a busy machine):
``fingerprint_image(img, local=False)``, ``fingerprint_image(img)``, and the latter with
ORB at its default FAST threshold only (as before the higher-threshold shortcut of
``bot.local.features``), interleaved in a shuffled order, CPU time. The pictures of the
accuracy part compare the local features with those of ORB at its default threshold alone:
the shortcut keeps them exactly but on the middle pyramid levels, which it runs at a higher
threshold (``MIDDLE_THRESHOLD``) that keeps most of them.

Accuracy: for ~50 real pictures, the distance in bits between seenit's fingerprint (fast
path: libjpeg draft scaling / ``Image.reduce``) and ``imagehash.phash`` (hash_size 8 and
16) on the full decode, once on the files as packaged (mostly 2-6k pixels wide) and once
on the same pictures re-encoded as 1280-pixel JPEGs, the typical chat upload.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from bench.common import (
    Picture,
    encode,
    flatten,
    fmt_ms,
    fmt_ratio,
    machine_line,
    md_table,
    median,
    open_rgb,
    percentile,
    real_pictures,
    spread,
    time_call,
    write_results,
)
from bot import hashing
from bot.hashing import ImageError, fingerprint, fingerprint_image
from bot.local import extract_local, features

#: Words of the rendered screenshot's text.
TEXT = (
    "the quick brown fox jumps over lazy dog repost meme image seen before channel server bot"
    " hash perceptual distance index query python discord upload photo"
)
WORDS = tuple(TEXT.split())
METHODS = (
    "article",
    "phash",
    "floor",
    "floor@seenit",
    "seenit decode",
    "seenit global",
    "seenit",
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    fmt: str
    data: bytes
    width: int
    height: int
    source: str


# --------------------------------------------------------------------------- inputs


def _pick(pictures: list[Picture], preferred: str, aspect: float) -> Picture:
    """The preferred picture if present, else the largest one closest to ``aspect``."""
    for p in pictures:
        if p.name == preferred:
            return p
    return min(
        pictures, key=lambda p: (round(abs(p.width / p.height - aspect), 1), -p.width * p.height)
    )


def _fit(picture: Picture, size: tuple[int, int]) -> Image.Image:
    """The picture cropped to the aspect of ``size`` and resized to it (Lanczos)."""
    source = open_rgb(picture.path, max_side=max(size) * 2 if max(size) < 2000 else None)
    return ImageOps.fit(source, size, Image.Resampling.LANCZOS)


def render_ui(size: tuple[int, int] = (1920, 1080), seed: int = 7) -> Image.Image:
    """A chat-app screenshot: sidebar, messages of text, an embed with a bar chart."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (49, 51, 56))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=18)
    small = ImageFont.load_default(size=14)
    bold = ImageFont.load_default(size=20)
    words = WORDS

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    # server rail, channel sidebar, member list, title bar
    draw.rectangle((0, 0, 72, h), fill=(30, 31, 34))
    for i in range(12):
        y = 12 + i * 60
        draw.ellipse((12, y, 60, y + 48), fill=tuple(rng.randrange(60, 230) for _ in range(3)))
    draw.rectangle((72, 0, 312, h), fill=(43, 45, 49))
    for i in range(30):
        draw.text((92, 60 + i * 32), "# " + sentence(2), font=font, fill=(148, 155, 164))
    draw.rectangle((w - 260, 48, w, h), fill=(43, 45, 49))
    for i in range(24):
        y = 70 + i * 40
        draw.ellipse((w - 244, y, w - 212, y + 32), fill=(rng.randrange(80, 200), 100, 180))
        draw.text((w - 200, y + 6), sentence(2), font=small, fill=(181, 186, 193))
    draw.rectangle((312, 0, w, 48), fill=(49, 51, 56))
    draw.line((312, 48, w, 48), fill=(32, 34, 37), width=2)
    draw.text((332, 13), "# general", font=bold, fill=(242, 243, 245))
    # messages
    y = 70
    while y < h - 330:
        draw.ellipse((332, y, 372, y + 40), fill=tuple(rng.randrange(60, 230) for _ in range(3)))
        draw.text((388, y), sentence(2), font=bold, fill=(242, 243, 245))
        draw.text((560, y + 4), "Today at 12:34", font=small, fill=(148, 155, 164))
        lines = rng.randrange(1, 4)
        for line in range(lines):
            text = sentence(rng.randrange(5, 16))
            draw.text((388, y + 28 + line * 24), text, font=font, fill=(219, 222, 225))
        y += 56 + 24 * lines
    # an embed with a bar chart and buttons
    ex, ey = 388, h - 310
    draw.rectangle((ex, ey, ex + 620, ey + 230), fill=(43, 45, 49))
    draw.rectangle((ex, ey, ex + 4, ey + 230), fill=(88, 101, 242))
    draw.text((ex + 20, ey + 12), "Weekly reposts", font=bold, fill=(242, 243, 245))
    for i in range(12):
        bar = rng.randrange(20, 150)
        draw.rectangle(
            (ex + 30 + i * 48, ey + 200 - bar, ex + 62 + i * 48, ey + 200), fill=(88, 101, 242)
        )
    for i, label in enumerate(("Allow", "Dismiss", "Jump to original")):
        bx = ex + 660 + i * 170
        draw.rounded_rectangle((bx, ey + 180, bx + 150, ey + 216), 6, fill=(78, 80, 88))
        draw.text((bx + 16, ey + 188), label, font=font, fill=(255, 255, 255))
    # the message box
    draw.rounded_rectangle((332, h - 64, w - 280, h - 16), 8, fill=(56, 58, 64))
    draw.text((352, h - 50), "Message #general", font=font, fill=(109, 111, 120))
    return img


def _gif(picture: Picture, size: tuple[int, int] = (480, 270), frames: int = 20) -> bytes:
    base = _fit(picture, (size[0] * 3 // 2, size[1] * 3 // 2))
    shots = []
    for i in range(frames):
        x = (base.width - size[0]) * i // (frames - 1)
        y = (base.height - size[1]) * i // (frames - 1)
        shots.append(base.crop((x, y, x + size[0], y + size[1])))
    out = io.BytesIO()
    shots[0].save(out, "GIF", save_all=True, append_images=shots[1:], duration=80, loop=0)
    return out.getvalue()


def build_cases(pictures: list[Picture]) -> list[Case]:
    p720 = _pick(pictures, "backgrounds_Bridge_by_Sander_Klootwijk", 16 / 9)
    phone = _pick(pictures, "backgrounds_Dragonfly_by_Bolly", 4 / 3)
    webp = _pick(pictures, "backgrounds_sunset_by_Aitzol_Berasategi", 16 / 9)
    png = _pick(pictures, "wallpapers_Canopee", 16 / 9)
    gif = _pick(pictures, "skimage_coffee", 16 / 9)
    cases = [
        Case(
            "jpeg 1280x720",
            "JPEG",
            encode(_fit(p720, (1280, 720)), "JPEG", quality=85),
            1280,
            720,
            p720.name,
        ),
        Case(
            "jpeg 4032x3024 phone",
            "JPEG",
            encode(_fit(phone, (4032, 3024)), "JPEG", quality=90),
            4032,
            3024,
            f"{phone.name} ({phone.width}x{phone.height}) resized",
        ),
        Case(
            "png 1920x1080 UI",
            "PNG",
            encode(render_ui(), "PNG"),
            1920,
            1080,
            "rendered chat-app screenshot",
        ),
        Case(
            "png 1920x1080 photo",
            "PNG",
            encode(_fit(png, (1920, 1080)), "PNG"),
            1920,
            1080,
            png.name,
        ),
        Case(
            "webp 1920x1080",
            "WEBP",
            encode(_fit(webp, (1920, 1080)), "WEBP", quality=80),
            1920,
            1080,
            webp.name,
        ),
        Case("gif 480x270 x20", "GIF", _gif(gif), 480, 270, f"{gif.name}, 20 frames panning"),
    ]
    return cases


# --------------------------------------------------------------------------- methods


def m_article(data: bytes) -> object:
    img = Image.open(io.BytesIO(data))
    return imagehash.average_hash(img), imagehash.colorhash(img)


def m_phash(data: bytes) -> object:
    return imagehash.phash(Image.open(io.BytesIO(data)))


def m_floor(data: bytes) -> object:
    img = Image.open(io.BytesIO(data))
    if img.format == "JPEG":
        w, h = img.size
        img.draft("RGB", (w // 8, h // 8))
    img.load()
    return img


def _seenit_draft(width: int, height: int) -> tuple[int, int]:
    # Same rule as bot.hashing._draft_request: shorter side kept >= DECODE_MIN_SIDE.
    short = min(width, height)
    if short <= hashing.DECODE_MIN_SIDE:
        return width, height
    scale = hashing.DECODE_MIN_SIDE / short
    return max(1, int(width * scale)), max(1, int(height * scale))


def m_floor_seenit_scale(data: bytes) -> object:
    img = Image.open(io.BytesIO(data))
    if img.format == "JPEG":
        img.draft("RGB", _seenit_draft(*img.size))
    img.load()
    return img


def m_seenit_decode(data: bytes) -> object:
    return hashing.decode(data)


def m_seenit_global(data: bytes) -> object:
    image = hashing.decode(data)
    return hashing.fingerprint_image(image, local=False)


def m_seenit(data: bytes) -> object:
    return fingerprint(data)


@contextlib.contextmanager
def orb_runs(shortcut: bool = True) -> Iterator[list[int]]:
    """The FAST thresholds ORB runs at in the block (whole pyramid or level by level);
    ``shortcut=False``: the default one only, ORB on its whole pyramid as OpenCV runs it."""
    saved_thresholds = features.SHORTCUT_THRESHOLDS
    saved_orb, saved_level = features._orb, features._orb_level
    used: list[int] = []

    def orb(work: Any, keypoints: int, threshold: int) -> Any:
        used.append(threshold)
        return saved_orb(work, keypoints, threshold)

    def orb_level(level: Any, index: int, quota: int, threshold: int) -> Any:
        used.append(threshold)
        return saved_level(level, index, quota, threshold)

    if not shortcut:
        features.SHORTCUT_THRESHOLDS = ()
    features._orb, features._orb_level = orb, orb_level
    try:
        yield used
    finally:
        features.SHORTCUT_THRESHOLDS = saved_thresholds
        features._orb, features._orb_level = saved_orb, saved_level


FUNCS: dict[str, Callable[[bytes], object]] = {
    "article": m_article,
    "phash": m_phash,
    "floor": m_floor,
    "floor@seenit": m_floor_seenit_scale,
    "seenit decode": m_seenit_decode,
    "seenit global": m_seenit_global,
    "seenit": m_seenit,
}


Samples = dict[str, dict[str, list[float]]]


def measure_speed(
    cases: list[Case], rounds: int, sample_seconds: float, seed: int
) -> tuple[Samples, Samples]:
    """Wall and CPU seconds per image, one sample per round, for every case and method."""
    rng = random.Random(seed)
    inner: dict[tuple[str, str], int] = {}
    for case in cases:
        for method in METHODS:
            fn = FUNCS[method]
            data = case.data
            fn(data)  # warm-up (imports, caches)
            once = time_call(functools.partial(fn, data))[0]
            inner[case.name, method] = max(1, int(sample_seconds / max(once, 1e-9)))
    wall: Samples = {c.name: {m: [] for m in METHODS} for c in cases}
    cpu: Samples = {c.name: {m: [] for m in METHODS} for c in cases}
    for r in range(rounds):
        order = [(c, m) for c in cases for m in METHODS]
        rng.shuffle(order)
        for case, method in order:
            fn = FUNCS[method]
            data = case.data
            n = inner[case.name, method]
            w, c = time_call(functools.partial(fn, data), n)
            wall[case.name][method].append(w)
            cpu[case.name][method].append(c)
        print(f"\rspeed: round {r + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return wall, cpu


LOCAL_METHODS = ("global", "whole", "one threshold")


def _fingerprint_decoded(method: str, image: Image.Image) -> object:
    if method == "global":
        return fingerprint_image(image, local=False)
    if method == "one threshold":
        with orb_runs(shortcut=False):
            return fingerprint_image(image)
    return fingerprint_image(image)


def measure_local(cases: list[Case], rounds: int, inner: int, seed: int) -> Samples:
    """CPU seconds per fingerprint of each decoded input, without and with local features."""
    rng = random.Random(seed)
    images = {c.name: hashing.decode(c.data) for c in cases}
    cpu: Samples = {c.name: {m: [] for m in LOCAL_METHODS} for c in cases}
    for image in images.values():
        for method in LOCAL_METHODS:
            _fingerprint_decoded(method, image)  # warm-up
    for r in range(rounds):
        order = [(name, m) for name in images for m in LOCAL_METHODS]
        rng.shuffle(order)
        for name, method in order:
            call = functools.partial(_fingerprint_decoded, method, images[name])
            cpu[name][method].append(time_call(call, inner)[1])
        print(f"\rlocal features: round {r + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return cpu


# --------------------------------------------------------------------------- accuracy


def _bits(h: imagehash.ImageHash) -> bytes:
    return np.packbits(np.asarray(h.hash, dtype=bool).ravel()).tobytes()


def _dist(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def measure_accuracy(pictures: list[Picture]) -> dict[str, Any]:
    """seenit (fast path) vs imagehash.phash on the full decode, on each picture."""
    rows: list[dict[str, Any]] = []
    refused: list[str] = []
    local_same = local_shortcut = 0
    local_differ: list[str] = []
    for n, pic in enumerate(pictures, 1):
        print(f"\raccuracy: {n}/{len(pictures)}", end="", file=sys.stderr, flush=True)
        raw = pic.path.read_bytes()
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            full = flatten(ImageOps.exif_transpose(im) or im)
        small = full.copy()
        small.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
        chat = encode(small, "JPEG", quality=85)
        with Image.open(io.BytesIO(chat)) as im:
            chat_full = im.convert("RGB")
        for variant, data, ref in (("as packaged", raw, full), ("1280px JPEG", chat, chat_full)):
            try:
                fast = fingerprint(data)
            except ImageError as exc:
                refused.append(f"{pic.name} ({variant}, {ref.width}x{ref.height}): {exc}")
                continue
            exact = fingerprint_image(ref)
            decoded = hashing.decode(data)
            with orb_runs() as thresholds:
                fast_local = extract_local(decoded)
            with orb_runs(shortcut=False):
                default_local = extract_local(decoded)
            local_shortcut += any(t != features.FAST_THRESHOLD for t in thresholds)
            if fast_local == default_local:
                local_same += 1
            else:
                local_differ.append(f"{pic.name} ({variant})")
            r64 = _bits(imagehash.phash(ref))
            r256 = _bits(imagehash.phash(ref, hash_size=16))
            rows.append(
                {
                    "picture": pic.name,
                    "variant": variant,
                    "size": f"{ref.width}x{ref.height}",
                    "alpha": has_alpha,
                    "quality": fast.quality,
                    "d64": _dist(fast.phash64.to_bytes(8, "big"), r64),
                    "d256": _dist(fast.phash256, r256),
                    # seenit's hashing on the same full pixels must equal imagehash exactly.
                    "exact64": _dist(exact.phash64.to_bytes(8, "big"), r64),
                    "exact256": _dist(exact.phash256, r256),
                }
            )
    print(file=sys.stderr)
    local = {
        "images": local_same + len(local_differ),
        "same": local_same,
        "shortcut": local_shortcut,
        "differ": local_differ,
    }
    return {"rows": rows, "refused": refused, "local": local}


def _distribution(values: list[int]) -> list[str]:
    return [
        f"{median(values):g}",
        f"{percentile(values, 95):.1f}",
        str(max(values)),
        f"{100.0 * sum(v == 0 for v in values) / len(values):.0f}%",
        f"{100.0 * sum(v <= 4 for v in values) / len(values):.0f}%",
    ]


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sub-minute run, fewer samples")
    parser.add_argument("--rounds", type=int, help="timed rounds per method (default 25, quick 5)")
    parser.add_argument("--photos", type=int, help="pictures for accuracy (default 50, quick 12)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 25)
    n_photos = args.photos or (12 if args.quick else 50)
    sample_seconds = 0.02 if args.quick else 0.05
    features.single_threaded()  # as seenit's hashing workers run

    started = time.perf_counter()
    machine = machine_line()
    pictures = real_pictures()
    cases = build_cases(pictures)
    samples, cpu_samples = measure_speed(cases, rounds, sample_seconds, args.seed)
    local_rounds = 3 * rounds
    local_samples = measure_local(cases, local_rounds, 3, args.seed)
    accuracy = measure_accuracy(spread(pictures, n_photos))
    elapsed = time.perf_counter() - started

    med = {c.name: {m: median(samples[c.name][m]) for m in METHODS} for c in cases}
    cpu_med = {c.name: {m: median(cpu_samples[c.name][m]) for m in METHODS} for c in cases}
    speed_rows = []
    for c in cases:
        m = med[c.name]
        is_jpeg = c.fmt == "JPEG"
        speed_rows.append(
            [
                c.name,
                f"{len(c.data) / 1024:.0f} KiB",
                fmt_ms(m["article"]),
                fmt_ms(m["phash"]),
                fmt_ms(m["floor"]) + ("" if is_jpeg else " (full)"),
                fmt_ms(m["floor@seenit"]) if is_jpeg else "-",
                fmt_ms(m["seenit decode"]),
                fmt_ms(m["seenit"]),
                f"{1 / m['seenit']:.0f}",
                fmt_ratio(m["article"] / m["seenit"]),
                fmt_ratio(m["phash"] / m["seenit"]),
                fmt_ratio(m["seenit"] / m["floor"]),
            ]
        )
    speed_table = md_table(
        [
            "input",
            "bytes",
            "article ms",
            "phash ms",
            "floor ms",
            "floor@seenit-scale ms",
            "seenit decode ms",
            "seenit ms",
            "seenit img/s/core",
            "article/seenit",
            "phash/seenit",
            "seenit/floor",
        ],
        speed_rows,
    )
    spread_rows = []
    local_rows = []
    local_cost: dict[str, dict[str, float]] = {}
    for c in cases:
        s = samples[c.name]["seenit"]
        a = samples[c.name]["article"]
        cpu = cpu_med[c.name]
        spread_rows.append(
            [
                c.name,
                f"{fmt_ms(min(s))} / {fmt_ms(percentile(s, 90))}",
                fmt_ms(cpu["seenit"]),
                f"{fmt_ms(min(a))} / {fmt_ms(percentile(a, 90))}",
                fmt_ms(cpu["article"]),
                fmt_ms(cpu["floor"]),
            ]
        )
        lm = {m: median(local_samples[c.name][m]) for m in LOCAL_METHODS}
        now = lm["whole"] - lm["global"]
        before = lm["one threshold"] - lm["global"]
        local_cost[c.name] = {**lm, "local": now, "local one threshold": before}
        local_rows.append(
            [
                c.name,
                fmt_ms(lm["global"]),
                fmt_ms(lm["whole"]),
                f"+{fmt_ms(now)}",
                fmt_ratio(lm["whole"] / lm["global"]),
                f"+{fmt_ms(before)}",
                fmt_ratio(now / before) if before > 0 else "-",
            ]
        )
    spread_table = md_table(
        [
            "input",
            "seenit wall min / p90 ms",
            "seenit CPU ms",
            "article wall min / p90 ms",
            "article CPU ms",
            "floor CPU ms",
        ],
        spread_rows,
    )
    local_table = md_table(
        [
            "input",
            "global hashes only",
            "whole fingerprint",
            "local features",
            "whole / global",
            "local, ORB at one threshold",
            "local: now / one threshold",
        ],
        local_rows,
    )
    checked = accuracy["local"]
    differ_text = "; ".join(checked["differ"]) or "none"

    def ratio(case: str, num: str, den: str, table: dict[str, dict[str, float]]) -> float:
        return table[case][num] / table[case][den]

    jpeg720, phone = "jpeg 1280x720", "jpeg 4032x3024 phone"
    targets = [
        # (label, case, numerator, denominator, bound, ratio must be at least the bound)
        (
            f"seenit within 1.5x of the decode floor, {jpeg720}",
            jpeg720,
            "seenit",
            "floor",
            1.5,
            False,
        ),
        (f"seenit within 1.5x of the decode floor, {phone}", phone, "seenit", "floor", 1.5, False),
        (f">= 12x faster than the article's way, {phone}", phone, "article", "seenit", 12, True),
    ]
    for case in ("png 1920x1080 UI", "png 1920x1080 photo", "webp 1920x1080"):
        targets.append(
            (f">= 2x faster than the article's way, {case}", case, "article", "seenit", 2, True)
        )
    target_rows = []
    target_data = []
    for label, case, num, den, bound, at_least in targets:
        value = ratio(case, num, den, med)
        value_cpu = ratio(case, num, den, cpu_med)
        met = value >= bound if at_least else value <= bound
        if met:
            verdict = "met"
        else:
            short = bound / value if at_least else value / bound
            verdict = f"**missed** by {fmt_ratio(short)}"
        target_rows.append([label, fmt_ratio(value), fmt_ratio(value_cpu), verdict])
        target_data.append(
            {"target": label, "value": value, "value_cpu": value_cpu, "bound": bound, "met": met}
        )
    target_table = md_table(["target", "measured (wall)", "(CPU time)", ""], target_rows)

    acc_rows = []
    acc_data: dict[str, Any] = {}
    rows = accuracy["rows"]
    for variant in ("as packaged", "1280px JPEG"):
        sel = [r for r in rows if r["variant"] == variant]
        for bits, key in (("64", "d64"), ("256", "d256")):
            values = [r[key] for r in sel]
            acc_rows.append([variant, f"{len(sel)}", bits, *_distribution(values)])
            acc_data[f"{variant} {bits}"] = values
    acc_table = md_table(
        ["files", "pictures", "bits", "median", "p95", "max", "identical", "<= 4 bits"], acc_rows
    )
    exact_max = max(max(r["exact64"], r["exact256"]) for r in rows)
    worst = sorted(rows, key=lambda r: -r["d256"])[:5]
    worst_text = ", ".join(
        f"{r['picture']} ({r['variant']}, {r['size']}, quality {r['quality']}):"
        f" {r['d64']}/{r['d256']}"
        for r in worst
    )
    refused_text = "; ".join(accuracy["refused"]) or "none"
    n_alpha = sum(1 for r in rows if r["alpha"] and r["variant"] == "as packaged")

    sources = "; ".join(f"{c.name}: {c.source}" for c in cases)
    command = "python -m bench.hashing" + "".join(
        f" {flag}"
        for flag, given in (
            ("--quick", args.quick),
            (f"--rounds {args.rounds}", args.rounds),
            (f"--photos {args.photos}", args.photos),
        )
        if given
    )
    md = f"""# Hashing speed and fast-path accuracy (`{command}`)

{machine}. One process, one thread; {rounds} rounds, methods interleaved in a shuffled
order each round; each sample averages back-to-back calls over >= {sample_seconds * 1000:.0f} ms.
Median ms per image. Run took {elapsed:.0f} s.

Inputs: {sources}.

* article = `Image.open` + `imagehash.average_hash` + `imagehash.colorhash` on the full image
* phash = `imagehash.phash(Image.open(...))`, full decode
* floor = JPEG: `Image.open` + `draft('RGB', (w//8, h//8))` + `load()`; others:
  `Image.open` + `load()` (full decode)
* floor@seenit-scale = JPEG draft at the scale seenit asks for (shorter side >=
  {hashing.DECODE_MIN_SIDE}: 1/4 for 720p, 1/8 for 12 MP)
* seenit decode = `bot.hashing.decode(data)`; seenit = `bot.hashing.fingerprint(data)`
  (phash64 + phash256, 8 orientations, quality, views, local features); seenit global =
  the same without the local features (`fingerprint_image(decode(data), local=False)`);
  what the local features cost is measured apart, below

{speed_table}

Spread, and CPU time (`time.process_time`, medians; excludes time spent waiting for a core):

{spread_table}

## What the local features cost

CPU ms per fingerprint of each input's decoded image (`fingerprint_image`; the decode, the
same with or without local features, is left out: on a busy machine its noise swamps the
difference), medians of {local_rounds} interleaved rounds of 3 calls: without local
features, the whole fingerprint, their difference, and that difference when ORB runs at its
default FAST threshold only (local features as computed before `bot.local.features` tried
higher thresholds on textured pictures).

{local_table}

Against the default threshold alone: on the {checked["images"]} pictures of the accuracy part
below, the local features equal those of ORB at its default threshold (keypoints,
descriptors, words, thumbnail) for {checked["same"]}; {checked["shortcut"]} of them took
the shortcut, whose middle pyramid levels run at FAST threshold
{features.MIDDLE_THRESHOLD} and keep most but not all of the default's keypoints.
Differing: {differ_text}.

## Targets

{target_table}

## Fast-path accuracy

Bits between seenit's fingerprint (fast decode: libjpeg draft scaling, `Image.reduce`) and
`imagehash.phash(img)` / `imagehash.phash(img, hash_size=16)` on the full decode
(`convert('RGB')`; alpha composited on white as seenit does, {n_alpha} pictures have an
alpha channel). "as packaged": the files as shipped (2-6k px wide wallpapers, skimage
photos); "1280px JPEG": the same pictures downscaled to 1280 px and saved as JPEG q85.

{acc_table}

Worst five (64/256 bits): {worst_text}.

Control: seenit's hashing on the same full-decode pixels vs imagehash: max {exact_max} bits
over all {len(rows)} (must be 0).

Refused by `fingerprint` (default `Limits`), left out above: {refused_text}.
"""
    data = {
        "machine": machine,
        "rounds": rounds,
        "quick": args.quick,
        "cases": [
            {"name": c.name, "format": c.fmt, "bytes": len(c.data), "source": c.source}
            for c in cases
        ],
        "samples_seconds": samples,
        "cpu_samples_seconds": cpu_samples,
        "median_seconds": med,
        "cpu_median_seconds": cpu_med,
        "targets": target_data,
        "local_cpu_ms": {k: {m: v * 1000 for m, v in d.items()} for k, d in local_cost.items()},
        "local_cpu_samples_seconds": local_samples,
        "accuracy": accuracy,
        "accuracy_distributions": acc_data,
        "elapsed_seconds": elapsed,
    }
    write_results("hashing-quick" if args.quick else "hashing", md, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
