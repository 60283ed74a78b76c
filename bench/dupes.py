"""``seenit dupes`` on a folder of 1,000 images vs the article's approach, same run.

Run ``python -m bench.dupes`` (a few minutes) or ``python -m bench.dupes --quick``.

The folder is built in a temp dir from real packaged pictures (see bench/common.py):
~250 *originals* (large pictures contribute their two halves, very large ones their four
quadrants, as separate originals, so that there are enough distinct pictures;
near-identical ones, in any of the 8 orientations, and near-blank ones are dropped), each
downscaled to <= 1024 px and saved as JPEG q90 (one in five as PNG), plus three
*variants* of each, three of: ``resized`` (50% or 75%, JPEG q85), ``recompressed`` (JPEG
q35 or WebP q50), ``mirrored`` (left-right, JPEG q85), ``watermarked`` (semi-transparent
handle and logo in a corner, JPEG q85). An original and its variants form one duplicate
group: every pair inside a group is a true pair, every other pair is a false one.

Methods, each run as a fresh ``python`` subprocess and timed wall-clock (interpreter
start-up and imports included), interleaved over rounds:

* ``seenit``: ``python -m bot.cli dupes --json DIR`` (the ``normal`` preset), with its default
  workers (all cores) and with ``--workers 1``;
* ``article``: every file hashed with ``imagehash.average_hash`` + ``imagehash.colorhash`` on
  the full decode, then all pairs compared with ``bin(a ^ b).count("1")`` (summed over the
  two hashes), pairs at <= 10 bits kept; run single-process and with a process pool of as
  many workers as seenit's default (the pair loop is single-process either way).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

import bot.cli  # noqa: F401  (loaded so that the code digest covers what the subprocess runs)
from bench.common import (
    PROJECT_ROOT,
    Picture,
    cached_rgb,
    fmt_ratio,
    machine_line,
    md_table,
    median,
    real_pictures,
    spread,
    write_results,
)
from bot.hashing import fingerprint
from bot.matching import PRESETS

MAX_SIDE = 1024
#: Pictures at least this large on their shorter side give two originals (their halves)...
SPLIT_MIN_SIDE = 1400
#: ...and at least this large, four (their quadrants).
QUARTER_MIN_SIDE = 2400
VARIANTS = ("resized", "recompressed", "mirrored", "watermarked")
ARTICLE_THRESHOLD = 10
#: Originals are near-identical (the later is dropped) under these 32x32 thumbnail tests.
NEAR_DUP_MAD = 6.0
NEAR_DUP_CORR = 0.9
#: Near-blank originals (64x64 grayscale std below this) are dropped.
MIN_STD = 6.0


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    picture: Picture
    box: tuple[int, int, int, int] | None


# --------------------------------------------------------------------------- corpus


def sources(pictures: Sequence[Picture]) -> list[Source]:
    """Whole pictures; large ones as their 2 halves, very large ones as 4 quadrants."""
    out = []
    for pic in pictures:
        w, h = pic.width, pic.height
        if min(w, h) >= QUARTER_MIN_SIDE:
            boxes = [
                (x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2)
                for y in (0, 1)
                for x in (0, 1)
            ]
        elif min(w, h) >= SPLIT_MIN_SIDE:
            if w >= h:
                boxes = [(0, 0, w // 2, h), (w // 2, 0, w, h)]
            else:
                boxes = [(0, 0, w, h // 2), (0, h // 2, w, h)]
        else:
            out.append(Source(pic.name, pic, None))
            continue
        out.extend(Source(f"{pic.name}#{k}", pic, box) for k, box in enumerate(boxes))
    return out


def _thumb(img: Image.Image, side: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(img.convert("L").resize((side, side), Image.Resampling.BOX), dtype=np.float64)


def _near(
    a: np.ndarray[Any, np.dtype[np.float64]], b: np.ndarray[Any, np.dtype[np.float64]]
) -> bool:
    return bool(np.abs(a - b).mean() < NEAR_DUP_MAD and np.corrcoef(a, b)[0, 1] >= NEAR_DUP_CORR)


def originals(count: int) -> list[tuple[str, Image.Image]]:
    """Up to ``count`` distinct originals, downscaled, near-duplicates and blanks dropped."""
    everything = sources(real_pictures())
    # a margin for the near-blank and near-identical ones dropped below
    candidates = spread(everything, min(len(everything), count + count // 8 + 8))
    kept: list[tuple[str, Image.Image]] = []
    thumbs: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    dropped = Counter[str]()
    for k, src in enumerate(candidates, 1):
        print(f"\roriginals: {k}/{len(candidates)}", end="", file=sys.stderr, flush=True)
        img = cached_rgb(src.picture.path, MAX_SIDE, src.box)
        if _thumb(img, 64).std() < MIN_STD:
            dropped["near-blank"] += 1
            continue
        t = _thumb(img, 32)
        # compared in all 8 orientations: halves of a symmetric wallpaper are mirror images
        oriented = [np.rot90(o, turns).ravel() for o in (t, t[:, ::-1]) for turns in range(4)]
        if any(_near(o, other) for o in oriented for other in thumbs):
            dropped["near-identical"] += 1
            continue
        thumbs.append(t.ravel())
        kept.append((src.name, img))
    print(file=sys.stderr)
    if dropped:
        print(f"originals dropped: {dict(dropped)}", file=sys.stderr)
    return spread(kept, count)


def _watermark(img: Image.Image, rng: random.Random) -> Image.Image:
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, base.height // 16)
    font = ImageFont.load_default(size=size)
    text = rng.choice(("@memelord", "@repostbot", "u/sharer", "#funny"))
    box = draw.textbbox((0, 0), text, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x, y = base.width - tw - size, base.height - th - size
    draw.ellipse(
        (x - size * 1.6, y - size * 0.1, x - size * 0.4, y + size * 1.1), fill=(255, 255, 255, 150)
    )
    draw.text(
        (x, y),
        text,
        font=font,
        fill=(255, 255, 255, 170),
        stroke_width=2,
        stroke_fill=(0, 0, 0, 120),
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def _save(img: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def variant(img: Image.Image, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """Encoded bytes and extension of one variant."""
    if kind == "resized":
        scale = rng.choice((0.5, 0.75))
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        return _save(img.resize(size, Image.Resampling.LANCZOS), "JPEG", quality=85), ".jpg"
    if kind == "recompressed":
        if rng.random() < 0.5:
            return _save(img, "JPEG", quality=35), ".jpg"
        return _save(img, "WEBP", quality=50), ".webp"
    if kind == "mirrored":
        return _save(ImageOps.mirror(img), "JPEG", quality=85), ".jpg"
    if kind == "watermarked":
        return _save(_watermark(img, rng), "JPEG", quality=85), ".jpg"
    raise ValueError(kind)


def build_folder(root: Path, n_originals: int, seed: int) -> dict[str, dict[str, Any]]:
    """Write the folder; returns file name -> {group, kind, source}."""
    origs = originals(n_originals)
    files: list[tuple[bytes, str, dict[str, Any]]] = []
    for i, (name, img) in enumerate(origs):
        rng = random.Random(zlib.crc32(f"{seed}:{name}".encode()))
        if i % 5 == 0:
            files.append(
                (_save(img, "PNG"), ".png", {"group": i, "kind": "original", "source": name})
            )
        else:
            data = _save(img, "JPEG", quality=90)
            files.append((data, ".jpg", {"group": i, "kind": "original", "source": name}))
        skip = VARIANTS[i % len(VARIANTS)]
        for kind in VARIANTS:
            if kind == skip:
                continue
            data, ext = variant(img, kind, rng)
            files.append((data, ext, {"group": i, "kind": kind, "source": name}))
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    truth: dict[str, dict[str, Any]] = {}
    root.mkdir(parents=True, exist_ok=True)
    for slot, k in enumerate(order):
        data, ext, info = files[k]
        fname = f"img_{slot:04d}{ext}"
        (root / fname).write_bytes(data)
        # seenit's quality score: pairs with a member below the preset's gate never match
        truth[fname] = {**info, "quality": fingerprint(data).quality}
    return truth


# --------------------------------------------------------------------------- article


def article_hash(path: str) -> tuple[int, int]:
    import imagehash

    img = Image.open(path)
    a = imagehash.average_hash(img)
    c = imagehash.colorhash(img)
    return int(str(a), 16), int(str(c), 16)


def article_main(folder: str, workers: int) -> None:
    """The article's approach, run as a subprocess; prints JSON pairs and timings."""
    start = time.perf_counter()
    paths = sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".gif"))
    )
    if workers <= 1:
        hashes = [article_hash(p) for p in paths]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            hashes = list(pool.map(article_hash, paths, chunksize=8))
    hashed = time.perf_counter()
    pairs = []
    for i in range(len(paths)):
        ai, ci = hashes[i]
        for j in range(i + 1, len(paths)):
            aj, cj = hashes[j]
            d = bin(ai ^ aj).count("1") + bin(ci ^ cj).count("1")
            if d <= ARTICLE_THRESHOLD:
                pairs.append({"a": paths[i], "b": paths[j], "distance": d})
    done = time.perf_counter()
    print(
        json.dumps(
            {"pairs": pairs, "hash_seconds": hashed - start, "compare_seconds": done - hashed}
        )
    )


# --------------------------------------------------------------------------- runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_method(method: str, folder: Path, workers: int) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, CPU seconds of all its processes, and the parsed JSON output."""
    if method == "seenit":
        cmd = [sys.executable, "-m", "bot.cli", "dupes", "--json"]
        cmd += ["--workers", str(workers), str(folder)]
    else:
        cmd = [sys.executable, "-m", "bench.dupes", "--article", str(folder)]
        cmd += ["--workers", str(workers)]
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=PROJECT_ROOT)
    wall = time.perf_counter() - start
    result: dict[str, Any] = json.loads(out.stdout)
    return wall, _children_cpu() - cpu, result


def score(pairs: Sequence[dict[str, Any]], truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    groups: dict[int, list[str]] = {}
    for name, info in truth.items():
        groups.setdefault(info["group"], []).append(name)
    all_true = {frozenset(p) for g in groups.values() for p in itertools.combinations(g, 2)}
    found_true: set[frozenset[str]] = set()
    false_pairs: list[tuple[str, str, int]] = []
    for p in pairs:
        a, b = os.path.basename(p["a"]), os.path.basename(p["b"])
        key = frozenset((a, b))
        if key in all_true:
            found_true.add(key)
        else:
            false_pairs.append((a, b, int(p["distance"])))
    gate = PRESETS["normal"].min_quality
    gated = {key for key in all_true if min(truth[name]["quality"] for name in key) < gate}
    by_type: dict[str, list[int]] = {}
    for key in all_true:
        a, b = sorted(key)
        kinds = sorted((truth[a]["kind"], truth[b]["kind"]), key=lambda k: (k != "original", k))
        pair_type = f"{kinds[0]} - {kinds[1]}"
        entry = by_type.setdefault(pair_type, [0, 0])
        entry[1] += 1
        entry[0] += key in found_true
    # connected components of the found pairs vs the true groups
    parent = {name: name for name in truth}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find(os.path.basename(p["a"]))] = find(os.path.basename(p["b"]))
    components: dict[str, set[str]] = {}
    for name in truth:
        components.setdefault(find(name), set()).add(name)
    exact = sum(1 for g in groups.values() if components[find(g[0])] == set(g))

    def label(name: str) -> str:
        return f"{truth[name]['source']} ({truth[name]['kind']})"

    false_examples = [
        f"{label(a)} ~ {label(b)}: {d}" for a, b, d in sorted(false_pairs, key=lambda t: t[2])[:8]
    ]
    return {
        "true_total": len(all_true),
        "true_found": len(found_true),
        "true_above_gate": len(all_true - gated),
        "found_above_gate": len(found_true - gated),
        "false_found": len(false_pairs),
        "by_type": by_type,
        "groups": len(groups),
        "groups_exact": exact,
        "false_examples": false_examples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~240 files, one round")
    parser.add_argument("--originals", type=int, help="originals (default 250, quick 60)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 2, quick 1)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", metavar="DIR", help="build the folder here and keep it")
    parser.add_argument("--article", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.article:
        article_main(args.article, args.workers)
        return 0
    n_originals = args.originals or (60 if args.quick else 250)
    rounds = args.rounds or (1 if args.quick else 2)
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    machine = machine_line()
    with tempfile.TemporaryDirectory(prefix="seenit-dupes-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "images"
        truth = build_folder(folder, n_originals, args.seed)
        n_files = len(truth)
        print(f"{n_files} files in {folder}", file=sys.stderr)
        methods = [("seenit", cores), ("seenit", 1), ("article", 1), ("article", cores)]
        walls: dict[tuple[str, int], list[float]] = {m: [] for m in methods}
        cpus: dict[tuple[str, int], list[float]] = {m: [] for m in methods}
        results: dict[tuple[str, int], dict[str, Any]] = {}
        extra: dict[tuple[str, int], list[tuple[float, float]]] = {m: [] for m in methods}
        for r in range(rounds):
            order = methods[:] if r % 2 == 0 else methods[::-1]
            for m in order:
                print(f"round {r + 1}/{rounds}: {m[0]} x{m[1]}...", file=sys.stderr, flush=True)
                wall, cpu, result = run_method(m[0], folder, m[1])
                walls[m].append(wall)
                cpus[m].append(cpu)
                results[m] = result
                if m[0] == "article":
                    extra[m].append((result["hash_seconds"], result["compare_seconds"]))
    elapsed = time.perf_counter() - started

    scores = {m: score(results[m]["pairs"], truth) for m in methods}
    base = median(walls[("seenit", cores)])
    time_rows = []
    for m in methods:
        name = "seenit dupes" if m[0] == "seenit" else "article (ahash+colorhash, all pairs)"
        note = ""
        if extra[m]:
            h = median([e[0] for e in extra[m]])
            c = median([e[1] for e in extra[m]])
            note = f"hashing {h:.1f} s + pair loop {c:.1f} s"
        time_rows.append(
            [
                name,
                str(m[1]),
                f"{median(walls[m]):.1f}",
                f"{min(walls[m]):.1f}",
                fmt_ratio(median(walls[m]) / base),
                f"{median(cpus[m]):.1f}",
                note,
            ]
        )
    time_table = md_table(
        [
            "method",
            "processes",
            "wall s (median)",
            "wall s (min)",
            "vs seenit all cores",
            "CPU s (all processes)",
            "inside (wall)",
        ],
        time_rows,
    )
    # detection is deterministic: one row per method, the process count does not matter
    det_rows = []
    for m in (("seenit", cores), ("article", 1)):
        s = scores[m]
        det_rows.append(
            [
                "seenit dupes (normal preset)"
                if m[0] == "seenit"
                else f"article (<= {ARTICLE_THRESHOLD} bits)",
                f"{s['true_found']} / {s['true_total']}",
                f"{100 * s['true_found'] / s['true_total']:.1f}%",
                f"{s['found_above_gate']} / {s['true_above_gate']}"
                f" ({100 * s['found_above_gate'] / max(1, s['true_above_gate']):.1f}%)",
                str(s["false_found"]),
                f"{s['groups_exact']} / {s['groups']}",
            ]
        )
    det_table = md_table(
        [
            "method",
            "true pairs found",
            "recall",
            "found where both >= quality gate",
            "false pairs",
            "groups recovered exactly",
        ],
        det_rows,
    )
    types = sorted(scores[("seenit", cores)]["by_type"])
    type_rows = []
    for t in types:
        s_found, total = scores[("seenit", cores)]["by_type"][t]
        a_found, _ = scores[("article", 1)]["by_type"][t]
        type_rows.append(
            [t, str(total), f"{100 * s_found / total:.0f}%", f"{100 * a_found / total:.0f}%"]
        )
    type_table = md_table(["pair", "true pairs", "seenit recall", "article recall"], type_rows)
    consistent = all(
        (scores[(m, 1)]["true_found"], scores[(m, 1)]["false_found"])
        == (scores[(m, cores)]["true_found"], scores[(m, cores)]["false_found"])
        for m in ("seenit", "article")
    )
    kinds = Counter(info["kind"] for info in truth.values())
    formats = Counter(Path(name).suffix for name in truth)
    s0 = scores[("seenit", cores)]
    low = sorted(
        {i["source"] for i in truth.values() if i["quality"] < PRESETS["normal"].min_quality}
    )
    gated_text = (
        f"{s0['true_total'] - s0['true_above_gate']} of the {s0['true_total']} true pairs have a"
        f" member below it ({len(low)} sources with at least one such file)."
    )
    false_s = "; ".join(scores[("seenit", cores)]["false_examples"]) or "none"
    false_a = "; ".join(scores[("article", 1)]["false_examples"]) or "none"
    command = "python -m bench.dupes" + (" --quick" if args.quick else "")
    md = f"""# Near-duplicates in a folder (`{command}`)

{machine}. Run took {elapsed:.0f} s.

Folder: {n_files} files = {kinds["original"]} originals (real pictures, <= {MAX_SIDE} px) +
variants ({", ".join(f"{k} {v}" for k, v in sorted(kinds.items()) if k != "original")}); formats
{", ".join(f"{k} {v}" for k, v in sorted(formats.items()))}. {rounds} rounds, methods interleaved;
each run is a fresh `python` process (start-up and imports included).

## Wall time

{time_table}

## What each found (identical across process counts: {"yes" if consistent else "NO"})

{det_table}

"Quality gate": seenit never matches an image whose quality score is below the preset's
`min_quality` ({PRESETS["normal"].min_quality} for `normal`): near-blank pictures all look
alike. {gated_text}

Recall by kind of pair:

{type_table}

Closest false pairs, seenit: {false_s}.

Closest false pairs, article: {false_a}.
"""
    data = {
        "machine": machine,
        "files": n_files,
        "rounds": rounds,
        "walls": {f"{m[0]} x{m[1]}": v for m, v in walls.items()},
        "cpus": {f"{m[0]} x{m[1]}": v for m, v in cpus.items()},
        "article_split": {f"{m[0]} x{m[1]}": v for m, v in extra.items() if v},
        "scores": {f"{m[0]} x{m[1]}": s for m, s in scores.items()},
        "elapsed_seconds": elapsed,
    }
    write_results("dupes-quick" if args.quick else "dupes", md, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
