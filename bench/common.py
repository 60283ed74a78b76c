"""Shared helpers of the performance benchmarks: real pictures, timing, result tables.

Pictures come only from what packages ship on this machine: scikit-image's in-wheel
``skimage/data`` photographs (when scikit-image is installed; nothing is fetched) and the
Debian wallpapers under ``/usr/share/backgrounds`` and ``/usr/share/wallpapers``. The same
wallpaper shipped at several resolutions, or as light/dark or colour variants, is
collapsed to one picture (its largest rendition) so that "distinct" pictures really are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import PIL
from PIL import Image, ImageOps

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
WALLPAPER_ROOTS = (Path("/usr/share/backgrounds"), Path("/usr/share/wallpapers"))
PICTURE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
#: scikit-image files that are photographs (its other files are charts, masks, icons, or
#: the right half of a stereo pair whose left half is already here).
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
)
#: Pictures smaller than this on their shorter side are icons or thumbnails: skipped.
MIN_SIDE = 256
#: Where decoded, downscaled pictures are cached between runs (outside the repository).
CACHE_DIR = Path(tempfile.gettempdir()) / "seenit-bench-cache"


# --------------------------------------------------------------------------- pictures


@dataclass(frozen=True, slots=True)
class Picture:
    """One distinct real picture shipped by a package."""

    name: str
    path: Path
    width: int
    height: int


def _skimage_data_dir() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if data.is_dir() else None


def _wallpaper_key(path: Path) -> str:
    """Pictures with the same key are renditions of one wallpaper."""
    parts = path.parts
    if "wallpapers" in parts:
        # /usr/share/wallpapers/<Theme>/contents/images[_dark]/WxH.ext: one per theme.
        return "wallpapers/" + parts[parts.index("wallpapers") + 1]
    stem = path.stem
    stem = re.sub(r"_\d+x\d+(_Portrait)?$", "", stem)  # Sway_Wallpaper_Blue_1920x1080
    stem = re.sub(r"-[dl]$", "", stem)  # gnome adwaita-d / adwaita-l
    stem = re.sub(r"^Ubuntu-Mate-\w+-no-logo$", "Ubuntu-Mate-no-logo", stem)  # colourways
    stem = re.sub(r"^MATE-Stripes-(Dark|Light)$", "MATE-Stripes", stem)
    return f"{path.parent.name}/{stem}"


def _size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError):
        return None


def wallpapers() -> list[Picture]:
    """One picture per Debian wallpaper (largest rendition), sorted by name."""
    best: dict[str, Picture] = {}
    for root in WALLPAPER_ROOTS:
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.suffix.lower() not in PICTURE_SUFFIXES or path.stem == "screenshot":
                    continue
                if "images_dark" in path.parts:
                    continue  # dark renditions of a theme already represented
                size = _size(path)
                if size is None or min(size) < MIN_SIDE:
                    continue
                key = _wallpaper_key(path)
                pic = Picture(key.replace("/", "_"), path, *size)
                old = best.get(key)
                if old is None or size[0] * size[1] > old.width * old.height:
                    best[key] = pic
    return sorted(best.values(), key=lambda p: p.name)


def skimage_photos() -> list[Picture]:
    """scikit-image's in-wheel photographs (empty if scikit-image is not installed)."""
    data = _skimage_data_dir()
    if data is None:
        return []
    found = []
    for name in SKIMAGE_PHOTOS:
        path = data / name
        size = _size(path) if path.is_file() else None
        if size is not None and min(size) >= MIN_SIDE:
            found.append(Picture("skimage_" + path.stem, path, *size))
    return found


def real_pictures() -> list[Picture]:
    """Every distinct real picture available: scikit-image photos first, then wallpapers."""
    pictures = skimage_photos() + wallpapers()
    if not pictures:
        raise SystemExit(
            "no real pictures found: install scikit-image into the venv"
            " or the Debian wallpaper packages"
        )
    return pictures


def spread(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` items taken at evenly spaced positions (all of them if fewer)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def open_rgb(path: Path, max_side: int | None = None) -> Image.Image:
    """Fully decoded RGB picture (EXIF orientation applied, alpha on white).

    With ``max_side``, downscaled with Lanczos so the longer side is at most that (JPEGs
    first decoded at the smallest libjpeg scale still >= 2x the target, as a photo
    editor would not, but the result is indistinguishable after Lanczos).
    """
    with Image.open(path) as im:
        if max_side is not None and im.format == "JPEG":
            scale = max(im.size) / (2 * max_side)
            if scale > 1:
                im.draft("RGB", (int(im.size[0] / scale), int(im.size[1] / scale)))
        im.load()
        image = ImageOps.exif_transpose(im) or im
        rgb = flatten(image)
    if max_side is not None and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (as seenit does)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "F"):
        return image.convert("L").convert("RGB")
    return image.convert("RGB")


def cached_rgb(
    path: Path, max_side: int, box: tuple[int, int, int, int] | None = None
) -> Image.Image:
    """:func:`open_rgb` (optionally of a crop ``box`` of the full picture), cached as PNG."""
    stat = path.stat()
    key = hashlib.sha256(
        f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{max_side}|{box}|v1".encode()
    ).hexdigest()[:24]
    cache = CACHE_DIR / f"{key}.png"
    if cache.is_file():
        with Image.open(cache) as im:
            return im.convert("RGB")
    if box is None:
        rgb = open_rgb(path, max_side)
    else:
        rgb = open_rgb(path).crop(box)
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    rgb.save(tmp, "PNG", compress_level=1)
    tmp.replace(cache)
    return rgb


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    """Encode a Pillow image to bytes."""
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


# --------------------------------------------------------------------------- timing


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


def time_call(fn: Callable[[], object], inner: int = 1) -> tuple[float, float]:
    """(wall, CPU) seconds per call of ``fn``, averaged over ``inner`` back-to-back calls.

    CPU time (``time.process_time``: this process, all its threads) leaves out the time the
    process waited for a core, which on a shared machine is most of the noise.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - wall) / inner, (time.process_time() - cpu) / inner


class Stopwatch:
    """Wall and CPU seconds since creation: ``sw = Stopwatch(); ...; wall, cpu = sw.read()``."""

    __slots__ = ("cpu", "wall")

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def calibrate(fn: Callable[[], object], sample_seconds: float) -> int:
    """How many back-to-back calls make one sample of about ``sample_seconds``."""
    once = time_call(fn)[0]
    return max(1, int(sample_seconds / max(once, 1e-9)))


# --------------------------------------------------------------------------- reporting


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000.0
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table; numeric-looking columns are right-aligned."""
    body = [[str(c) for c in row] for row in rows]
    aligns = []
    for col in range(len(headers)):
        cells = [r[col] for r in body if col < len(r)]
        numeric = bool(cells) and all(re.match(r"^[-+<>~]?[\d.,]+", c) for c in cells if c)
        aligns.append("---:" if numeric and col > 0 else "---")
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    lines.extend("| " + " | ".join(r) + " |" for r in body)
    return "\n".join(lines)


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (a 2-core machine is busy above 2)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _loaded_bot_files() -> list[Path]:
    """Source files of the seenit modules this process has imported."""
    files = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (name == "bot" or name.startswith(("bot.", "cogs."))) and path:
            files.add(Path(path))
    return sorted(files)


def code_state() -> str:
    """Which seenit code is measured: the commit, and a digest of the bot/ modules in use.

    The digest covers the source files of the ``bot`` modules imported by this process, as
    they are on disk now: if it differs at the end of a run, one of them was edited meanwhile.
    """
    digest = hashlib.sha256()
    files = _loaded_bot_files()
    for path in files:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "unknown", ""
    changed = (
        f" ({len(dirty.splitlines())} files in bot/ with uncommitted changes)" if dirty else ""
    )
    return f"commit {head}{changed}; digest {digest.hexdigest()[:12]} of {len(files)} bot modules"


_START_CODE: list[str] = []


def machine_line() -> str:
    """One line describing the machine, the versions and the code measured (call at start)."""
    _START_CODE[:] = [code_state()]
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import imagehash
    import scipy

    return (
        f"{cpu}, {os.cpu_count()} cores, load average {loadavg()} at start; "
        f"Python {platform.python_version()}, Pillow {PIL.__version__}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, ImageHash {imagehash.__version__}."
        f" Code: {_START_CODE[0]}"
    )


def write_results(name: str, markdown: str, data: dict[str, Any]) -> None:
    """Print the markdown report and save it as bench/results/<name>.md (+ raw .json)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    end_load = loadavg()
    end_code = code_state()
    data = {**data, "load_average_end": end_load, "code_start": _START_CODE, "code_end": end_code}
    text = markdown.rstrip() + f"\n\nLoad average at the end: {end_load}.\n"
    if _START_CODE and end_code.split("; ")[-1] != _START_CODE[0].split("; ")[-1]:
        text += f"\n**seenit code in use changed during the run**: at the end, {end_code}.\n"
    print(text, end="")
    (RESULTS_DIR / f"{name}.md").write_text(text)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n(written to {RESULTS_DIR.relative_to(PROJECT_ROOT) / name}.md and .json)")
