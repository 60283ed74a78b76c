"""Deterministic corpus builder for the detection-quality benchmark.

Run ``python -m bench.quality.corpus`` (or call :func:`build_corpus`). The corpus is
built into a cache directory (default ``bench/.cache/quality/``, git-ignored); only
this script is committed, never the images.

What it contains
----------------
*Originals* (:class:`Original`), every one normalised to an RGB PNG whose longer side
is at most :data:`MAX_SIDE` pixels:

* real photographs and artworks shipped by packages: scikit-image's ``skimage/data``
  files (only those inside the wheel, nothing fetched through pooch), scikit-learn's
  two sample images, and Debian wallpaper / artwork packages (see
  :data:`APT_PACKAGES`). Missing packages are installed with ``apt-get`` / ``pip``
  unless ``--no-install`` is given. Selection is deterministic: sorted paths, fixed
  per-source caps taken at evenly spaced positions, exact duplicates dropped by
  content hash, the same wallpaper at several resolutions collapsed to its largest
  rendition, and near-identical pictures (32x32 grayscale thumbnails within
  :data:`NEAR_DUP_MAD` mean absolute difference and :data:`NEAR_DUP_CORR`
  correlation) dropped, as are near-blank ones (:data:`MIN_SOURCE_STD`).
  Similar-but-distinct pictures are kept on purpose, as realistic hard negatives:
  light/dark wallpaper pairs (GNOME ``-l``/``-d``, Plasma ``images_dark``), the
  grub / login / wallpaper renditions of one desktop-base theme, portraits and
  constellation drawings by one artist, and astrophotos that are mostly black;
* synthetic chat-like graphics drawn with Pillow (chat screenshots, settings pages,
  code editors, articles, bar/line/pie charts; ``kind="graphic"``). Screenshots of one
  "app" share a layout, which is realistic and makes them hard negatives too;
* near-blank images (solid colours, faint gradients, a solid colour with a tiny mark,
  almost-white pages, near-black dark-mode panes; ``kind="blank"``). They must never
  raise an alert, whatever they are compared with.

*Variants* (:class:`Variant`): every original (blank ones included) goes through each
transform of :data:`TRANSFORMS` and is stored as the encoded bytes a chat user would
post: JPEG quality 85 unless the transform is itself about encoding (``jpeg_*``,
``png``, ``webp``, ``gif``). Transform semantics are in :data:`TRANSFORM_DOCS`.

Everything is seeded (``zlib.crc32`` of the original's name and the transform), so two
runs on the same package versions produce byte-identical files; the manifest records
package versions and a SHA-256 of every file.

A ``manifest.json`` in the cache directory makes a second run instant: the corpus is
rebuilt only if the manifest is missing, incomplete, or was written by another
version of this script (:data:`CORPUS_VERSION` plus a hash of this file).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

__all__ = [
    "APT_PACKAGES",
    "CORPUS_VERSION",
    "DEFAULT_CACHE_DIR",
    "EASY_TRANSFORMS",
    "GROUP_OF",
    "HARD_TRANSFORMS",
    "KINDS",
    "MAX_SIDE",
    "TRANSFORMS",
    "TRANSFORM_DOCS",
    "TRANSFORM_GROUPS",
    "Corpus",
    "Original",
    "Variant",
    "build_corpus",
    "load_corpus",
    "main",
]

#: Bump when the corpus content changes on purpose; any edit of this file also
#: invalidates the cache (its hash is part of the manifest version).
CORPUS_VERSION = 1

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "quality"
MANIFEST_NAME = "manifest.json"

#: Longest side of a normalised original, in pixels.
MAX_SIDE = 1024
#: Packaged pictures whose shorter side is below this are skipped (icons, sprites).
MIN_SOURCE_SIDE = 256
#: Two originals are near-identical (the later one is dropped) when their 32x32
#: grayscale thumbnails differ by less than NEAR_DUP_MAD in mean absolute difference
#: (0-255 scale) *and* correlate at NEAR_DUP_CORR or more. The correlation test keeps
#: distinct but mostly-black pictures (two small galaxies) apart.
NEAR_DUP_MAD = 4.0
NEAR_DUP_CORR = 0.95
#: Packaged pictures whose 64x64 grayscale standard deviation is below this are
#: near-blank (fog textures, empty frames) and skipped; blanks come from the generator.
MIN_SOURCE_STD = 5.0

KINDS: tuple[str, ...] = ("photo", "graphic", "blank")

EASY_TRANSFORMS: tuple[str, ...] = (
    "resize_25",
    "resize_50",
    "resize_200",
    "jpeg_90",
    "jpeg_70",
    "jpeg_40",
    "png",
    "webp",
    "brightness_up",
    "brightness_down",
    "contrast_up",
    "contrast_down",
    "saturation_up",
    "saturation_down",
    "grayscale",
    "blur",
    "noise",
    "watermark",
    "hflip",
    "rot90",
    "rot180",
    "rot270",
    "gif",
)
HARD_TRANSFORMS: tuple[str, ...] = (
    "caption",
    "canvas",
    "crop_center_05",
    "crop_center_10",
    "crop_center_20",
    "crop_topleft_10",
    "crop_topleft_20",
    "rotate_2",
    "rotate_5",
    "caption_bottom",
    "caption_tall",
    "caption_overlay",
    "canvas_chat",
    "canvas_phone",
    "crop_topright_15",
    "crop_bottomleft_05",
    "crop_bottomright_20",
    "rotate_3cw",
    "rotate_8",
    "rotate_10cw",
)
#: Meme templates: one picture under two different captions, and the first reposted smaller.
#: Each is also a captioned repost of its original; the benchmark pairs them with each other.
TEMPLATE_TRANSFORMS: tuple[str, ...] = ("template_a", "template_b", "template_a_small")
#: Every transform name, in a stable order (easy ones first).
TRANSFORMS: tuple[str, ...] = EASY_TRANSFORMS + HARD_TRANSFORMS + TEMPLATE_TRANSFORMS
#: Reporting groups: ``"easy"``, ``"hard"`` and ``"template"``.
TRANSFORM_GROUPS: dict[str, tuple[str, ...]] = {
    "easy": EASY_TRANSFORMS,
    "hard": HARD_TRANSFORMS,
    "template": TEMPLATE_TRANSFORMS,
}
#: Transform name -> group name.
GROUP_OF: dict[str, str] = {t: g for g, ts in TRANSFORM_GROUPS.items() for t in ts}

#: What each transform does (all outputs JPEG q=85 unless stated).
TRANSFORM_DOCS: dict[str, str] = {
    "resize_25": "scaled to 25% of each side (Lanczos)",
    "resize_50": "scaled to 50% of each side (Lanczos)",
    "resize_200": "scaled to 200% of each side (bicubic)",
    "jpeg_90": "re-encoded as JPEG quality 90",
    "jpeg_70": "re-encoded as JPEG quality 70",
    "jpeg_40": "re-encoded as JPEG quality 40",
    "png": "re-encoded as PNG (lossless: same pixels, other bytes)",
    "webp": "re-encoded as lossy WebP quality 80",
    "brightness_up": "brightness x1.25",
    "brightness_down": "brightness x0.75",
    "contrast_up": "contrast x1.3",
    "contrast_down": "contrast x0.7",
    "saturation_up": "saturation x1.5",
    "saturation_down": "saturation x0.5",
    "grayscale": "converted to grayscale (stored as a grayscale JPEG)",
    "blur": "gaussian blur, radius 2",
    "noise": "additive gaussian noise, sigma 8 (seeded)",
    "watermark": "semi-transparent text (~5% of the height) in the bottom-right corner",
    "hflip": "mirrored left-right",
    "rot90": "rotated 90 degrees counter-clockwise",
    "rot180": "rotated 180 degrees",
    "rot270": "rotated 270 degrees counter-clockwise (90 clockwise)",
    "gif": (
        "3-frame animated GIF (frame 0 = the image quantised to 256 colours, later frames "
        "slightly brighter / with a sticker); the hasher is expected to use frame 0"
    ),
    "caption": (
        "meme caption: a white bar of 18% of the height with black bold text added on "
        "top; the image itself is not scaled"
    ),
    "canvas": (
        "'screenshot of an image': scaled to 65% and placed on a grey/white UI-like "
        "canvas of the original size, with a title bar and text around it"
    ),
    "crop_center_05": "5% of the width/height cut from each of the four sides (90% x 90% left)",
    "crop_center_10": "10% cut from each of the four sides (80% x 80% left)",
    "crop_center_20": "20% cut from each of the four sides (60% x 60% left)",
    "crop_topleft_10": "10% of the width cut from the left and 10% of the height from the top",
    "crop_topleft_20": "20% of the width cut from the left and 20% of the height from the top",
    "rotate_2": (
        "rotated 2 degrees counter-clockwise about the centre, then cropped to the largest "
        "centred rectangle of the original aspect ratio with no fill corners (not rescaled)"
    ),
    "rotate_5": "as rotate_2, with 5 degrees",
    "caption_bottom": "a light bar of 12% of the height with dark text added below the picture",
    "caption_tall": (
        "a black bar of 32% of the height with two or three lines of white text added on top"
    ),
    "caption_overlay": (
        "classic meme lettering drawn over the picture: white bold text with a black outline "
        "along the top and the bottom, no bar"
    ),
    "canvas_chat": (
        "screenshot of a dark chat window: the picture at 50% under a message with an avatar, "
        "left-aligned, more messages below"
    ),
    "canvas_phone": (
        "portrait phone screenshot: status bar, the picture scaled to the screen width, "
        "likes and comments below"
    ),
    "crop_topright_15": "15% cut from the top and from the right",
    "crop_bottomleft_05": "5% cut from the bottom and from the left",
    "crop_bottomright_20": "20% cut from the bottom and from the right",
    "rotate_3cw": "as rotate_2, 3 degrees clockwise",
    "rotate_8": "as rotate_2, with 8 degrees",
    "rotate_10cw": "as rotate_2, 10 degrees clockwise",
    "template_a": "caption bar on top with caption A (the same layout as 'caption')",
    "template_b": "the same layout with another caption text, B",
    "template_a_small": "template_a scaled to 70% and re-encoded: the same meme posted again",
}

#: Debian packages the originals come from (plus the font and SVG rasteriser used).
APT_PACKAGES: tuple[str, ...] = (
    "desktop-base",
    "fonts-dejavu-core",
    "gnome-backgrounds",
    "librsvg2-bin",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "stellarium-data",
    "sway-backgrounds",
    "tuxpaint-data",
    "ukui-wallpapers",
    "wesnoth-1.16-data",
    "xfdesktop4-data",
)
#: Python packages that ship sample images: import name -> PyPI distribution.
PIP_PACKAGES: dict[str, str] = {"skimage": "scikit-image", "sklearn": "scikit-learn"}

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
RASTER_EXTS = (".jpg", ".jpeg", ".png", ".webp")

_RESOLUTION_RE = re.compile(r"[-_]?\d{1,5}x\d{1,5}")
_PORTRAIT_RE = re.compile(r"[-_]portrait\b")

Log = Callable[[str], None]


# --------------------------------------------------------------------------- API types


@dataclass(frozen=True)
class Original:
    """One original picture of the corpus.

    Attributes:
        name: unique id, ``"<source>--<slug>"``; also the file stem.
        path: absolute path of the normalised RGB PNG.
        kind: ``"photo"`` (photograph or painted/drawn artwork), ``"graphic"`` (line
            art, maps, screenshots, charts, flat vector wallpapers) or ``"blank"``
            (must never alert). The label is coarse: set per source.
        source: where it came from, e.g. ``"plasma-workspace-wallpapers"`` or
            ``"synthetic-graphic"``.
        origin: the packaged file it was made from, or ``"synthetic:<generator>"``.
    """

    name: str
    path: Path
    kind: str
    source: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Variant:
    """A transformed copy of an original, as encoded bytes on disk.

    Attributes:
        original_name: :attr:`Original.name` it was made from.
        transform: one of :data:`TRANSFORMS`.
        path: absolute path of the encoded file (``.jpg``, ``.png``, ``.webp``, ``.gif``).
    """

    original_name: str
    transform: str
    path: Path

    @property
    def group(self) -> str:
        """Reporting group of the transform (``"easy"`` or ``"hard"``)."""
        return GROUP_OF[self.transform]


@dataclass(frozen=True)
class Corpus:
    """The whole corpus: originals, variants and where they live."""

    cache_dir: Path
    version: str
    originals: tuple[Original, ...]
    variants: tuple[Variant, ...]

    @cached_property
    def _by_name(self) -> dict[str, Original]:
        return {o.name: o for o in self.originals}

    @cached_property
    def _variants_by_name(self) -> dict[str, tuple[Variant, ...]]:
        out: dict[str, list[Variant]] = {}
        for v in self.variants:
            out.setdefault(v.original_name, []).append(v)
        return {k: tuple(v) for k, v in out.items()}

    def original(self, name: str) -> Original:
        """The original called ``name`` (``KeyError`` if unknown)."""
        return self._by_name[name]

    def variants_of(self, name: str) -> tuple[Variant, ...]:
        """Variants of the original called ``name``, in :data:`TRANSFORMS` order."""
        return self._variants_by_name.get(name, ())

    def originals_of_kind(self, kind: str) -> tuple[Original, ...]:
        """Originals whose :attr:`Original.kind` is ``kind``."""
        return tuple(o for o in self.originals if o.kind == kind)


# ------------------------------------------------------------------ small utilities


def _script_version() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"{CORPUS_VERSION}-{digest}"


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int = 85) -> tuple[bytes, str]:
    return _encode(img, "JPEG", quality=quality), "jpg"


@lru_cache(maxsize=64)
def _font(size: int, style: str = "sans") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu at ``size`` px (style: sans, bold, mono, serif); Pillow's default if absent.

    The basic layout engine is forced so that text renders the same with or without
    libraqm.
    """
    files = {
        "sans": "DejaVuSans.ttf",
        "bold": "DejaVuSans-Bold.ttf",
        "mono": "DejaVuSansMono.ttf",
        "serif": "DejaVuSerif.ttf",
    }
    path = FONT_DIR / files[style]
    size = max(6, size)
    if path.exists():
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    return ImageFont.load_default(size=size)


def _text_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> float:
    return float(font.getlength(text))


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and _text_width(font, trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def _fit_max_side(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    scale = max_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white (as the bot does) and convert to RGB."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I", "I;16", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else arr * 0
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


_WORDS_TEXT = (
    "the a to and of is in it you that for on with this was are be have not but just so "
    "like what do get all can if lol now no yes ok one out up my your me we they about "
    "when time here there how good new see think know really look going right back "
    "server channel image repost meme photo game night today tomorrow weekend update "
    "patch build test release bug fix merge review coffee pizza cat dog weather music "
    "movie stream link screenshot anyone else thanks nice great cool wait why who where"
)
_WORDS = tuple(_WORDS_TEXT.split())

_NAMES_TEXT = (
    "ada blossom cirrus dune echo fable grove harbor iris juniper kestrel lumen mango "
    "nimbus onyx pixel quartz rune sable tundra umber vortex willow xeno yarrow zephyr"
)
_NAMES = tuple(_NAMES_TEXT.split())

_CAPTIONS = (
    "WHEN THE CODE WORKS ON THE FIRST TRY",
    "NOBODY: ABSOLUTELY NOBODY:",
    "ME EXPLAINING THE JOKE",
    "MONDAY MORNING BE LIKE",
    "THIS IS FINE",
    "POV: YOU POSTED IT FIRST",
    "WHEN SOMEONE REPOSTS YOUR MEME",
    "ONE DOES NOT SIMPLY",
)


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(lo, hi))]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _rand_color(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


# ----------------------------------------------------------------- dependency install


def _dpkg_installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    # "install ok installed"; a removed package reads "unknown ok not-installed"
    return proc.returncode == 0 and proc.stdout.split()[-1:] == ["installed"]


def _dpkg_versions(packages: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for package in packages:
        if not _dpkg_installed(package):
            continue
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        out[package] = proc.stdout.strip()
    return out


def ensure_system_packages(packages: Sequence[str], log: Log) -> list[str]:
    """Install missing Debian ``packages`` with apt-get; return those still missing.

    Needs apt-get and root. Without them it prints what to install and carries on:
    sources from missing packages are then simply skipped.
    """
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return []
    cmd_text = "apt-get install -y --no-install-recommends " + " ".join(missing)
    if shutil.which("apt-get") is None:
        log(f"apt-get is not available: cannot install {missing}; their pictures are skipped.")
        return missing
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        log(f"not root: run `sudo apt-get update && sudo {cmd_text}`; skipping them for now.")
        return missing
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log(f"apt-get update, then installing {len(missing)} packages: {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
    base = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    proc = subprocess.run(base + missing, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        log("apt-get install of the whole set failed; trying one package at a time")
        for package in missing:
            one = subprocess.run(
                [*base, package], env=env, capture_output=True, text=True, check=False
            )
            if one.returncode != 0:
                tail = (one.stderr or one.stdout).strip().splitlines()[-1:]
                log(f"  could not install {package}: {' '.join(tail)}")
    still = [p for p in packages if not _dpkg_installed(p)]
    if still:
        log(f"still missing after apt-get: {still}")
    return still


def ensure_python_packages(log: Log) -> list[str]:
    """pip-install scikit-image / scikit-learn if absent; return import names still missing."""
    missing = [dist for mod, dist in PIP_PACKAGES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        log(f"pip install {' '.join(missing)} (into {sys.prefix})")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", *missing],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            log(f"pip install failed: {proc.stderr.strip().splitlines()[-1:]}")
        importlib.invalidate_caches()
    return [mod for mod in PIP_PACKAGES if importlib.util.find_spec(mod) is None]


# ----------------------------------------------------------------- source collection


@dataclass(frozen=True)
class _Candidate:
    source: str
    slug: str
    path: str
    kind: str

    @property
    def name(self) -> str:
        return f"{self.source}--{self.slug}"


def _module_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _dpkg_files(package: str) -> list[str]:
    if not _dpkg_installed(package):
        return []
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    return sorted(line for line in proc.stdout.splitlines() if line.startswith("/"))


def _source_size(path: str) -> tuple[int, int]:
    """Pixel size of a packaged picture (SVG: nominal size from its name, else 1920x1080)."""
    if path.lower().endswith(".svg"):
        m = re.search(r"(\d{3,5})x(\d{3,5})", Path(path).name)
        return (int(m.group(1)), int(m.group(2))) if m else (1920, 1080)
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError, SyntaxError):
        return (0, 0)


def _slug_for(path: str, prefix: str) -> str:
    """Slug of ``path`` below ``prefix``, without extension or resolution tokens.

    Renditions of one wallpaper at several resolutions map to the same slug.
    """
    rel = path[len(prefix) :] if path.startswith(prefix) else path
    rel = os.path.splitext(rel)[0]
    parts = []
    for part in rel.split("/"):
        part = _PORTRAIT_RE.sub("", _RESOLUTION_RE.sub("", part.lower()))
        if part in ("contents", "images", ""):
            continue
        parts.append("dark" if part == "images_dark" else part)
    return _slug("-".join(parts)) or "image"


@dataclass(frozen=True)
class _PackageSource:
    """Files of one Debian package that become originals."""

    source: str
    package: str
    prefix: str
    include: str
    kind: str
    cap: int
    exclude: str = r"(?!)"
    graphic: str = r"(?!)"
    allow_svg: bool = False


_PACKAGE_SOURCES: tuple[_PackageSource, ...] = (
    _PackageSource(
        "gnome-backgrounds",
        "gnome-backgrounds",
        "/usr/share/backgrounds/gnome/",
        r"^/usr/share/backgrounds/gnome/",
        "graphic",
        40,
        allow_svg=True,
    ),
    _PackageSource(
        "desktop-base",
        "desktop-base",
        "/usr/share/desktop-base/",
        r"^/usr/share/desktop-base/[a-z-]+-theme/(wallpaper[a-z-]*|login|grub)/",
        "graphic",
        40,
        exclude=r"/active-theme/",
        allow_svg=True,
    ),
    _PackageSource(
        "plasma-workspace-wallpapers",
        "plasma-workspace-wallpapers",
        "/usr/share/wallpapers/",
        r"^/usr/share/wallpapers/[^/]+/contents/images(_dark)?/",
        "photo",
        120,
    ),
    _PackageSource(
        "xfdesktop4-data",
        "xfdesktop4-data",
        "/usr/share/backgrounds/xfce/",
        r"^/usr/share/backgrounds/xfce/",
        "graphic",
        20,
    ),
    _PackageSource(
        "mate-backgrounds",
        "mate-backgrounds",
        "/usr/share/backgrounds/mate/",
        r"^/usr/share/backgrounds/mate/",
        "photo",
        40,
        graphic=r"/(abstract|desktop)/",
    ),
    _PackageSource(
        "ukui-wallpapers",
        "ukui-wallpapers",
        "/usr/share/backgrounds/",
        r"^/usr/share/backgrounds/[^/]+$",
        "photo",
        20,
    ),
    _PackageSource(
        "lomiri-wallpapers",
        "lomiri-wallpapers-16.04",
        "/usr/share/backgrounds/",
        r"^/usr/share/backgrounds/[^/]+$",
        "photo",
        20,
    ),
    _PackageSource(
        "lomiri-wallpapers",
        "lomiri-wallpapers-20.04",
        "/usr/share/backgrounds/",
        r"^/usr/share/backgrounds/[^/]+$",
        "photo",
        20,
    ),
    _PackageSource(
        "sway-backgrounds",
        "sway-backgrounds",
        "/usr/share/backgrounds/sway/",
        r"^/usr/share/backgrounds/sway/",
        "graphic",
        10,
    ),
    _PackageSource(
        "stellarium-nebulae",
        "stellarium-data",
        "/usr/share/stellarium/nebulae/default/",
        r"^/usr/share/stellarium/nebulae/default/",
        "photo",
        60,
    ),
    _PackageSource(
        "stellarium-skycultures",
        "stellarium-data",
        "/usr/share/stellarium/skycultures/",
        r"^/usr/share/stellarium/skycultures/",
        "photo",
        100,
    ),
    _PackageSource(
        "stellarium-planets",
        "stellarium-data",
        "/usr/share/stellarium/textures/",
        r"^/usr/share/stellarium/(textures|models)/",
        "photo",
        30,
        exclude=r"(normals|Test|gray|fog|halo|neb|pointeur|cross|disk|gear|sun_|star)",
    ),
    _PackageSource(
        "stellarium-landscapes",
        "stellarium-data",
        "/usr/share/stellarium/landscapes/",
        r"^/usr/share/stellarium/landscapes/",
        "photo",
        25,
    ),
    _PackageSource(
        "wesnoth-portraits",
        "wesnoth-1.16-data",
        "/usr/share/games/wesnoth/1.16/data/core/images/portraits/",
        r"^/usr/share/games/wesnoth/1\.16/data/core/images/portraits/[^/]+/[^/]+$",
        "photo",
        100,
    ),
    _PackageSource(
        "wesnoth-art",
        "wesnoth-1.16-data",
        "/usr/share/games/wesnoth/1.16/data/core/images/",
        r"^/usr/share/games/wesnoth/1\.16/data/core/images/"
        r"(story/|maps/[^/]+$|terrain/map-specific/|unit_env/schedule/)",
        "photo",
        40,
    ),
    _PackageSource(
        "wesnoth-screenshots",
        "wesnoth-1.16-data",
        "/usr/share/doc/wesnoth-1.16-data/images/",
        r"^/usr/share/doc/wesnoth-1\.16-data/images/[^/]+$",
        "graphic",
        10,
    ),
    _PackageSource(
        "tuxpaint-photos",
        "tuxpaint-data",
        "/usr/share/tuxpaint/templates/",
        r"^/usr/share/tuxpaint/templates/",
        "photo",
        40,
    ),
    _PackageSource(
        "tuxpaint-starters",
        "tuxpaint-data",
        "/usr/share/tuxpaint/starters/",
        r"^/usr/share/tuxpaint/starters/",
        "graphic",
        40,
    ),
)

_SKIMAGE_SKIP = {"motorcycle_right", "chessboard_GRAY", "logo"}  # stereo twin, gray twin
_SKIMAGE_GRAPHIC = {"chessboard_RGB", "color", "page", "phantom", "text"}


def _evenly(items: Sequence[_Candidate], cap: int) -> list[_Candidate]:
    """``cap`` items at evenly spaced positions of ``items`` (all of them if fewer)."""
    n = len(items)
    if n <= cap:
        return list(items)
    return [items[(i * n) // cap] for i in range(cap)]


def _collapse(cands: Iterable[_Candidate]) -> list[_Candidate]:
    """One candidate per (source, slug): the largest rendition, then the first path."""
    best: dict[tuple[str, str], tuple[int, str, _Candidate]] = {}
    for c in cands:
        w, h = _source_size(c.path)
        key = (c.source, c.slug)
        entry = (-(w * h), c.path, c)
        if key not in best or entry[:2] < best[key][:2]:
            best[key] = entry
    return sorted((e[2] for e in best.values()), key=lambda c: c.path)


def _usable(path: str, allow_svg: bool) -> bool:
    low = path.lower()
    if low.endswith(".svg"):
        return allow_svg and shutil.which("rsvg-convert") is not None
    if not low.endswith(RASTER_EXTS) or os.path.islink(path) or not os.path.isfile(path):
        return False
    return min(_source_size(path)) >= MIN_SOURCE_SIDE


def collect_candidates(log: Log) -> list[_Candidate]:
    """Every packaged picture selected as an original, before normalisation.

    Deterministic: sorted paths, exact duplicates (same bytes) keep the first path,
    resolutions collapsed, then each source capped at evenly spaced positions.
    """
    groups: list[tuple[str, list[_Candidate], int]] = []

    sk = _module_dir("skimage")
    if sk is not None:
        cands = []
        for p in sorted((sk / "data").glob("*")):
            if p.suffix.lower() not in RASTER_EXTS or p.stem in _SKIMAGE_SKIP:
                continue
            if min(_source_size(str(p))) < MIN_SOURCE_SIDE:
                continue
            kind = "graphic" if p.stem in _SKIMAGE_GRAPHIC else "photo"
            cands.append(_Candidate("skimage", _slug(p.stem), str(p), kind))
        groups.append(("skimage", cands, 100))
    else:
        log("scikit-image not importable: its sample images are skipped")

    skl = _module_dir("sklearn")
    if skl is not None:
        cands = [
            _Candidate("sklearn", _slug(p.stem), str(p), "photo")
            for p in sorted((skl / "datasets" / "images").glob("*.jpg"))
        ]
        groups.append(("sklearn", cands, 10))
    else:
        log("scikit-learn not importable: its sample images are skipped")

    for spec in _PACKAGE_SOURCES:
        files = _dpkg_files(spec.package)
        if not files:
            log(f"{spec.package} is not installed: source {spec.source} skipped")
        inc, exc, gra = re.compile(spec.include), re.compile(spec.exclude), re.compile(spec.graphic)
        cands = []
        for path in files:
            if not inc.search(path) or exc.search(path) or "screenshot" in path.lower():
                continue
            if not _usable(path, spec.allow_svg):
                continue
            kind = "graphic" if gra.search(path) else spec.kind
            cands.append(_Candidate(spec.source, _slug_for(path, spec.prefix), path, kind))
        groups.append((f"{spec.source}:{spec.package}", cands, spec.cap))

    seen_bytes: set[str] = set()
    selected: list[_Candidate] = []
    for _label, cands, cap in groups:
        unique = []
        for c in sorted(cands, key=lambda c: c.path):
            digest = _sha256(Path(c.path).read_bytes())
            if digest in seen_bytes:
                continue
            seen_bytes.add(digest)
            unique.append(c)
        selected.extend(_evenly(_collapse(unique), cap))
    names: set[str] = set()
    out = []
    for c in selected:
        if c.name in names:  # two packages sharing a source label and a slug
            continue
        names.add(c.name)
        out.append(c)
    return out


# ---------------------------------------------------------------- normalisation


def _load_source(path: str) -> Image.Image:
    if path.lower().endswith(".svg"):
        proc = subprocess.run(
            ["rsvg-convert", "--width", str(MAX_SIDE), "--format", "png", path],
            capture_output=True,
            check=True,
        )
        return Image.open(io.BytesIO(proc.stdout))
    img = Image.open(path)
    if img.format == "JPEG":
        img.draft("RGB", (MAX_SIDE, MAX_SIDE))
    return img


def _thumbs(img: Image.Image) -> tuple[list[float], float]:
    gray = img.convert("L")
    t32 = np.asarray(gray.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    t64 = np.asarray(gray.resize((64, 64), Image.Resampling.BOX), dtype=np.float64)
    return [round(float(x), 3) for x in t32.ravel()], float(t64.std())


def _normalise_job(job: tuple[str, str, str]) -> tuple[str, list[float], float, str]:
    """Worker: decode a packaged picture, save it as a normalised PNG.

    Returns (name, 32x32 thumbnail, 64x64 std, error message or "").
    """
    name, src, dest = job
    try:
        img = _load_source(src)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = _fit_max_side(_to_rgb(img))
        _write(Path(dest), _encode(img, "PNG", compress_level=6))
        thumb, std = _thumbs(img)
        return name, thumb, std, ""
    except Exception as exc:  # a broken packaged file only drops that file
        return name, [], 0.0, f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------ synthetic originals


def _chat_desktop(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(1280, 720), (1024, 768), (1366, 768), (1200, 800), (1440, 900)])
    dark = rng.random() < 0.65
    bg = (49, 51, 56) if dark else (255, 255, 255)
    side = (43, 45, 49) if dark else (242, 243, 245)
    rail = (30, 31, 34) if dark else (227, 229, 232)
    fg = (219, 222, 225) if dark else (49, 51, 56)
    muted = (148, 155, 164) if dark else (92, 94, 102)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    rail_w, side_w, head_h = 72, rng.randint(200, 260), 48
    d.rectangle([0, 0, rail_w, h], fill=rail)
    for i in range(rng.randint(4, 9)):
        y = 12 + i * 58
        d.ellipse([12, y, 60, y + 48], fill=_rand_color(rng, 60, 220))
    d.rectangle([rail_w, 0, rail_w + side_w, h], fill=side)
    f_side, f_bold, f_body = _font(15), _font(16, "bold"), _font(16)
    d.text((rail_w + 16, 16), rng.choice(_NAMES).title() + " Server", font=f_bold, fill=fg)
    for i in range(rng.randint(6, 12)):
        ch = f"# {rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
        active = i == 2
        if active:
            d.rounded_rectangle(
                [rail_w + 8, 60 + i * 34, rail_w + side_w - 8, 88 + i * 34],
                radius=4,
                fill=(64, 66, 73) if dark else (214, 217, 220),
            )
        d.text((rail_w + 18, 64 + i * 34), ch, font=f_side, fill=fg if active else muted)
    x0 = rail_w + side_w
    d.line([x0, head_h, w, head_h], fill=rail, width=2)
    d.text((x0 + 18, 14), f"# {rng.choice(_WORDS)}", font=f_bold, fill=fg)
    y = head_h + 18
    while y < h - 140:
        d.ellipse([x0 + 16, y, x0 + 56, y + 40], fill=_rand_color(rng, 60, 230))
        user = rng.choice(_NAMES) + str(rng.randint(1, 99))
        d.text((x0 + 72, y), user, font=f_bold, fill=_rand_color(rng, 90, 240))
        stamp = f"Today at {rng.randint(1, 12)}:{rng.randint(0, 59):02d} PM"
        d.text((x0 + 84 + _text_width(f_bold, user), y + 2), stamp, font=_font(12), fill=muted)
        y += 24
        for line in _wrap(_sentence(rng, 4, 30), f_body, w - x0 - 110)[:3]:
            d.text((x0 + 72, y), line, font=f_body, fill=fg)
            y += 22
        if rng.random() < 0.15:  # an embedded picture placeholder
            bw, bh = rng.randint(160, 320), rng.randint(90, 180)
            d.rectangle([x0 + 72, y + 4, x0 + 72 + bw, y + 4 + bh], fill=_rand_color(rng))
            y += bh + 8
        y += 18
    d.rounded_rectangle(
        [x0 + 16, h - 64, w - 16, h - 18], radius=8, fill=(56, 58, 64) if dark else side
    )
    d.text((x0 + 32, h - 52), f"Message #{rng.choice(_WORDS)}", font=f_body, fill=muted)
    return img


def _chat_phone(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(540, 1170), (480, 1040), (600, 1200)])
    dark = rng.random() < 0.5
    bg = (0, 0, 0) if dark else (255, 255, 255)
    fg = (255, 255, 255) if dark else (0, 0, 0)
    mine = rng.choice([(0, 122, 255), (52, 199, 89), (88, 86, 214)])
    theirs = (38, 38, 40) if dark else (233, 233, 235)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    f_small, f_body, f_bold = _font(14, "bold"), _font(18), _font(19, "bold")
    d.text((24, 12), f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}", font=f_small, fill=fg)
    d.rectangle([w - 60, 16, w - 28, 28], outline=fg, width=2)
    d.rectangle([0, 44, w, 120], fill=(28, 28, 30) if dark else (248, 248, 248))
    d.ellipse([w // 2 - 22, 50, w // 2 + 22, 94], fill=_rand_color(rng, 80, 220))
    contact = rng.choice(_NAMES).title()
    d.text((w // 2 - _text_width(f_bold, contact) / 2, 96), contact, font=f_small, fill=fg)
    y = 140
    while y < h - 150:
        me = rng.random() < 0.5
        lines = _wrap(_sentence(rng, 2, 22), f_body, w * 0.62)[:4]
        tw = max(_text_width(f_body, ln) for ln in lines)
        bh = 16 + 24 * len(lines)
        x1 = w - 20 - tw - 28 if me else 20
        d.rounded_rectangle([x1, y, x1 + tw + 28, y + bh], radius=18, fill=mine if me else theirs)
        for i, ln in enumerate(lines):
            d.text((x1 + 14, y + 8 + 24 * i), ln, font=f_body, fill=(255, 255, 255) if me else fg)
        y += bh + rng.randint(8, 20)
    d.rounded_rectangle([16, h - 70, w - 70, h - 28], radius=20, outline=theirs, width=2)
    d.text((34, h - 60), "iMessage" if rng.random() < 0.5 else "Message", font=f_body, fill=theirs)
    d.ellipse([w - 60, h - 70, w - 18, h - 28], fill=mine)
    return img


def _settings_page(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(800, 600), (1024, 768), (720, 1280)])
    dark = rng.random() < 0.4
    bg = (32, 33, 36) if dark else (245, 245, 247)
    card = (45, 46, 50) if dark else (255, 255, 255)
    fg = (232, 234, 237) if dark else (32, 33, 36)
    accent = _rand_color(rng, 40, 220)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    d.text(
        (32, 24),
        rng.choice(["Settings", "Preferences", "Account", "Privacy"]),
        font=_font(30, "bold"),
        fill=fg,
    )
    y = 90
    f_body = _font(18)
    while y < h - 120:
        rows = rng.randint(2, 4)
        d.rounded_rectangle([24, y, w - 24, y + rows * 56], radius=12, fill=card)
        for r in range(rows):
            ry = y + r * 56
            d.text((44, ry + 17), _sentence(rng, 1, 4), font=f_body, fill=fg)
            on = rng.random() < 0.5
            d.rounded_rectangle(
                [w - 100, ry + 16, w - 48, ry + 42], radius=13, fill=accent if on else (120,) * 3
            )
            cx = w - 61 if on else w - 87
            d.ellipse([cx - 11, ry + 18, cx + 11, ry + 40], fill=(255, 255, 255))
            if r < rows - 1:
                d.line([44, ry + 56, w - 44, ry + 56], fill=bg, width=1)
        y += rows * 56 + 28
    d.rounded_rectangle([w // 2 - 90, h - 84, w // 2 + 90, h - 36], radius=10, fill=accent)
    label = rng.choice(["Save", "Apply", "Continue", "Done"])
    f_btn = _font(20, "bold")
    d.text((w // 2 - _text_width(f_btn, label) / 2, h - 72), label, font=f_btn, fill=(255,) * 3)
    return img


def _code_editor(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(1280, 720), (1024, 640), (900, 700)])
    bg = rng.choice([(30, 30, 30), (40, 44, 52), (39, 40, 34), (253, 246, 227)])
    light = sum(bg) > 400
    palette = [(198, 120, 221), (97, 175, 239), (152, 195, 121), (229, 192, 123), (224, 108, 117)]
    plain = (60, 60, 60) if light else (212, 212, 212)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, w, 34], fill=tuple(max(0, c - 12) for c in bg))
    tab = f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}.py"
    d.text((16, 9), tab, font=_font(14), fill=plain)
    f = _font(16, "mono")
    indent = 0
    for i, y in enumerate(range(48, h - 20, 22)):
        d.text((12, y), f"{i + 1:>3}", font=f, fill=(110, 110, 110))
        x: float = 64 + indent * 38
        for _ in range(rng.randint(1, 7)):
            tok = rng.choice(_WORDS) + rng.choice(["", "(", ")", ":", " =", ".", ","])
            d.text((x, y), tok, font=f, fill=rng.choice([plain, *palette]))
            x += _text_width(f, tok + " ")
            if x > w - 60:
                break
        indent = max(0, min(4, indent + rng.choice([-1, 0, 0, 1])))
    return img


def _article(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(1024, 1280), (900, 1100), (800, 1000)])
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    nav = _rand_color(rng, 20, 120)
    d.rectangle([0, 0, w, 64], fill=nav)
    d.text((32, 18), rng.choice(_NAMES).upper() + " NEWS", font=_font(24, "bold"), fill=(255,) * 3)
    f_h = _font(36, "serif")
    y = 100
    for line in _wrap(_sentence(rng, 5, 12), f_h, w - 80)[:2]:
        d.text((40, y), line, font=f_h, fill=(20, 20, 20))
        y += 46
    y += 16
    ih = rng.randint(200, 320)
    top, bottom = _rand_color(rng), _rand_color(rng)
    for yy in range(ih):
        t = yy / max(1, ih - 1)
        col = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        d.line([40, y + yy, w - 40, y + yy], fill=col)
    for _ in range(rng.randint(2, 6)):
        cx, cy, r = rng.randint(60, w - 60), y + rng.randint(20, ih - 20), rng.randint(15, 70)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_rand_color(rng))
    y += ih + 24
    f_b = _font(18, "serif")
    while y < h - 40:
        for line in _wrap(_sentence(rng, 25, 60), f_b, w - 80):
            if y > h - 40:
                break
            d.text((40, y), line, font=f_b, fill=(60, 60, 60))
            y += 27
        y += 18
    return img


def _chart_axes(
    rng: random.Random, w: int, h: int
) -> tuple[Image.Image, ImageDraw.ImageDraw, tuple[int, int, int, int]]:
    img = Image.new("RGB", (w, h), rng.choice([(255, 255, 255), (250, 250, 250), (34, 34, 34)]))
    d = ImageDraw.Draw(img)
    dark = img.getpixel((0, 0)) == (34, 34, 34)
    fg = (230, 230, 230) if dark else (40, 40, 40)
    grid = (70, 70, 70) if dark else (225, 225, 225)
    title = _sentence(rng, 2, 6)
    d.text((60, 18), title, font=_font(22, "bold"), fill=fg)
    box = (70, 70, w - 30, h - 60)
    for i in range(6):
        gy = box[3] - i * (box[3] - box[1]) // 5
        d.line([box[0], gy, box[2], gy], fill=grid)
        d.text((10, gy - 8), str(i * rng.choice([5, 10, 20, 100])), font=_font(13), fill=fg)
    d.line([box[0], box[1], box[0], box[3]], fill=fg, width=2)
    d.line([box[0], box[3], box[2], box[3]], fill=fg, width=2)
    return img, d, box


def _bar_chart(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(800, 600), (1000, 600), (640, 480)])
    img, d, (x0, y0, x1, y1) = _chart_axes(rng, w, h)
    n = rng.randint(3, 12)
    slot = (x1 - x0) / n
    color = _rand_color(rng, 30, 220)
    for i in range(n):
        bh = rng.uniform(0.05, 0.95) * (y1 - y0)
        c = _rand_color(rng, 30, 220) if rng.random() < 0.3 else color
        d.rectangle(
            [x0 + i * slot + slot * 0.15, y1 - bh, x0 + (i + 1) * slot - slot * 0.15, y1], fill=c
        )
        d.text(
            (x0 + i * slot + slot * 0.2, y1 + 8),
            rng.choice(_WORDS)[:6],
            font=_font(12),
            fill=(128, 128, 128),
        )
    return img


def _line_chart(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(800, 600), (1000, 560), (640, 480)])
    img, d, (x0, y0, x1, y1) = _chart_axes(rng, w, h)
    for s in range(rng.randint(1, 3)):
        color = _rand_color(rng, 30, 230)
        n = rng.randint(8, 40)
        v = rng.uniform(0.2, 0.8)
        pts = []
        for i in range(n):
            v = min(0.98, max(0.02, v + rng.gauss(0, 0.08)))
            pts.append((x0 + i * (x1 - x0) / (n - 1), y1 - v * (y1 - y0)))
        d.line(pts, fill=color, width=3)
        d.rectangle([x1 - 150, y0 + 10 + s * 24, x1 - 134, y0 + 26 + s * 24], fill=color)
        d.text(
            (x1 - 126, y0 + 9 + s * 24), rng.choice(_WORDS), font=_font(14), fill=(128, 128, 128)
        )
    return img


def _pie_chart(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(800, 600), (600, 600)])
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((30, 20), _sentence(rng, 2, 5), font=_font(22, "bold"), fill=(40, 40, 40))
    parts = [rng.uniform(0.5, 3) for _ in range(rng.randint(2, 7))]
    total = sum(parts)
    start = rng.uniform(0, 360)
    r = min(w, h) // 3
    cx, cy = w // 3 + 40, h // 2 + 20
    for i, p in enumerate(parts):
        end = start + 360 * p / total
        color = _rand_color(rng, 30, 230)
        d.pieslice([cx - r, cy - r, cx + r, cy + r], start, end, fill=color, outline=(255,) * 3)
        d.rectangle([w - 200, 100 + i * 30, w - 182, 118 + i * 30], fill=color)
        d.text((w - 172, 100 + i * 30), rng.choice(_WORDS), font=_font(15), fill=(60, 60, 60))
        start = end
    return img


#: (generator name, count) of the synthetic ``graphic`` originals.
_GRAPHIC_GENERATORS: tuple[tuple[str, Callable[[random.Random], Image.Image], int], ...] = (
    ("chat-desktop", _chat_desktop, 14),
    ("chat-phone", _chat_phone, 14),
    ("settings", _settings_page, 10),
    ("code", _code_editor, 12),
    ("article", _article, 10),
    ("bar-chart", _bar_chart, 10),
    ("line-chart", _line_chart, 10),
    ("pie-chart", _pie_chart, 6),
)

_BLANK_SIZES = ((512, 512), (800, 600), (1024, 768), (720, 1280), (1280, 720), (640, 640))


def _blank(kind: str, index: int, rng: random.Random) -> Image.Image:
    """Near-blank picture number ``index`` of family ``kind``."""
    w, h = _BLANK_SIZES[index % len(_BLANK_SIZES)]
    if kind == "solid":
        colors = [
            (255, 255, 255),
            (0, 0, 0),
            (49, 51, 56),
            (128, 128, 128),
            (220, 40, 40),
            (30, 90, 200),
            (60, 160, 90),
            (250, 235, 215),
        ]
        return Image.new("RGB", (w, h), colors[index % len(colors)])
    if kind == "gradient":
        base = _rand_color(rng, 30, 225)
        delta = rng.choice([3, 5, 8, 12])
        t = np.linspace(0.0, 1.0, h if index % 2 == 0 else w)
        ramp = (t * delta)[:, None] if index % 2 == 0 else (t * delta)[None, :]
        arr = np.zeros((h, w, 3))
        arr[:] = np.asarray(base, dtype=np.float64)
        arr += ramp[..., None]
        return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8))
    if kind == "mark":
        img = Image.new("RGB", (w, h), _rand_color(rng, 0, 255))
        d = ImageDraw.Draw(img)
        x, y, s = rng.randint(20, w - 40), rng.randint(20, h - 40), rng.randint(3, 10)
        shape = index % 3
        color = _rand_color(rng)
        if shape == 0:
            d.ellipse([x, y, x + s, y + s], fill=color)
        elif shape == 1:
            d.rectangle([x, y, x + s, y + s], fill=color)
        else:
            d.line([x, y, x + 4 * s, y], fill=color, width=2)
        return img
    if kind == "page":
        arr = np.full((h, w, 3), 255.0)
        nrng = np.random.default_rng(rng.randint(0, 2**31))
        arr -= np.abs(nrng.normal(0.0, 1.5, (h, w, 1)))
        img = Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8))
        d = ImageDraw.Draw(img)
        if index % 2 == 0:  # a faint margin rule, as on ruled paper
            d.line([w // 10, 0, w // 10, h], fill=(246, 226, 226), width=1)
        else:  # ghost text, barely darker than the page
            f = _font(14)
            for y in range(60, h - 60, 28):
                d.text((60, y), _sentence(rng, 6, 12), font=f, fill=(247, 247, 247))
        return img
    # "dark": a near-black pane with faint noise (dark-mode empty screen)
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    floor = np.asarray(rng.choice([(0, 0, 0), (18, 18, 18), (30, 31, 34)]), dtype=np.float64)
    arr = floor + nrng.normal(0.0, 1.0, (h, w, 1))
    return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8))


#: (family, count) of the ``blank`` originals: 30 in all.
_BLANK_FAMILIES: tuple[tuple[str, int], ...] = (
    ("solid", 8),
    ("gradient", 6),
    ("mark", 6),
    ("page", 6),
    ("dark", 4),
)


def _synthetic_specs() -> list[tuple[str, str, str, int]]:
    """(name, kind, generator family, index) of every synthetic original."""
    specs = []
    for family, _fn, count in _GRAPHIC_GENERATORS:
        for i in range(count):
            specs.append((f"synthetic-graphic--{family}-{i:02d}", "graphic", family, i))
    for family, count in _BLANK_FAMILIES:
        for i in range(count):
            specs.append((f"synthetic-blank--{family}-{i:02d}", "blank", family, i))
    return specs


def _synthetic_job(job: tuple[str, str, str, int, str]) -> str:
    """Worker: draw one synthetic original and save it as PNG; return its name."""
    name, kind, family, index, dest = job
    rng = random.Random(_seed(name))
    if kind == "blank":
        img = _blank(family, index, rng)
    else:
        fn = {f: g for f, g, _ in _GRAPHIC_GENERATORS}[family]
        img = fn(rng)
    img = _fit_max_side(img.convert("RGB"))
    _write(Path(dest), _encode(img, "PNG", compress_level=6))
    return name


# ----------------------------------------------------------------------- transforms


def _scale(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    method = Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC
    return img.resize(size, method)


def _crop_fraction(
    img: Image.Image, left: float, top: float, right: float, bottom: float
) -> Image.Image:
    w, h = img.size
    box = (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    return img.crop(box)


def _rotate_crop(img: Image.Image, degrees: float) -> Image.Image:
    """Rotate about the centre, then crop away the fill corners (keep the aspect ratio)."""
    w, h = img.size
    rotated = img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    a = math.radians(abs(degrees))
    s = min(w / (w * math.cos(a) + h * math.sin(a)), h / (w * math.sin(a) + h * math.cos(a)))
    cw, ch = w * s, h * s
    # one pixel of slack so that no interpolated fill colour survives at the border
    box = (
        math.ceil((w - cw) / 2) + 1,
        math.ceil((h - ch) / 2) + 1,
        math.floor((w + cw) / 2) - 1,
        math.floor((h + ch) / 2) - 1,
    )
    return rotated.crop(box)


def _caption(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    bar = max(24, round(h * 0.18))
    out = Image.new("RGB", (w, h + bar), (255, 255, 255))
    out.paste(img, (0, bar))
    d = ImageDraw.Draw(out)
    text = rng.choice(_CAPTIONS)
    size = max(8, round(bar * 0.42))
    font = _font(size, "bold")
    lines = _wrap(text, font, w * 0.92)
    while len(lines) > 2 and size > 8:
        size = max(8, round(size * 0.85))
        font = _font(size, "bold")
        lines = _wrap(text, font, w * 0.92)
    line_h = size * 1.15
    y = (bar - line_h * len(lines)) / 2
    for line in lines:
        d.text(((w - _text_width(font, line)) / 2, y), line, font=font, fill=(0, 0, 0))
        y += line_h
    return out


def _caption_bar(
    img: Image.Image,
    text: str,
    share: float,
    where: str = "top",
    colours: tuple[tuple[int, int, int], tuple[int, int, int]] = ((255, 255, 255), (0, 0, 0)),
    max_lines: int = 2,
) -> Image.Image:
    """The picture with a bar of ``share`` of its height holding ``text``, above or below."""
    w, h = img.size
    bar = max(24, round(h * share))
    background, ink = colours
    out = Image.new("RGB", (w, h + bar), background)
    out.paste(img, (0, bar if where == "top" else 0))
    d = ImageDraw.Draw(out)
    size = max(8, round(bar * 0.42 / max(1, max_lines - 1)))
    font = _font(size, "bold")
    lines = _wrap(text, font, w * 0.92)
    while len(lines) > max_lines and size > 8:
        size = max(8, round(size * 0.85))
        font = _font(size, "bold")
        lines = _wrap(text, font, w * 0.92)
    line_h = size * 1.15
    y = (bar - line_h * len(lines)) / 2 + (0 if where == "top" else h)
    for line in lines:
        d.text(((w - _text_width(font, line)) / 2, y), line, font=font, fill=ink)
        y += line_h
    return out


def _caption_overlay(img: Image.Image, rng: random.Random) -> Image.Image:
    """Meme lettering over the picture: white bold text with a black outline, top and bottom."""
    out = img.copy()
    w, h = out.size
    d = ImageDraw.Draw(out)
    top, bottom = rng.sample(_CAPTIONS, 2)
    for text, anchor_y in ((top, 0.03), (bottom, 0.85)):
        size = max(10, round(h * 0.09))
        font = _font(size, "bold")
        while _text_width(font, text) > w * 0.94 and size > 8:
            size = max(8, round(size * 0.9))
            font = _font(size, "bold")
        x = (w - _text_width(font, text)) / 2
        stroke = max(1, size // 12)
        d.text(
            (x, h * anchor_y),
            text,
            font=font,
            fill=(255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0),
        )
    return out


def _canvas_chat(img: Image.Image, rng: random.Random) -> Image.Image:
    """A dark chat window: avatar, name, message, the picture at 50% left-aligned, more text."""
    w, h = img.size
    out = Image.new("RGB", (w, h), (49, 51, 56))
    d = ImageDraw.Draw(out)
    fg = (219, 222, 225)
    size = max(8, round(h * 0.035))
    body = _font(size)
    bold = _font(size, "bold")
    y = round(h * 0.04)
    for _ in range(2):
        r = round(size * 1.1)
        d.ellipse([round(w * 0.02), y, round(w * 0.02) + 2 * r, y + 2 * r], fill=_rand_color(rng))
        x = round(w * 0.02) + 2 * r + round(w * 0.02)
        d.text((x, y), rng.choice(_NAMES).title(), font=bold, fill=(242, 243, 245))
        d.text((x, y + size * 1.3), _sentence(rng, 3, 8), font=body, fill=fg)
        y += round(size * 3.2)
    inner = _scale(img, 0.5)
    x = round(w * 0.02) + 2 * round(size * 1.1) + round(w * 0.02)
    out.paste(inner, (x, y))
    y += inner.height + round(size * 0.8)
    while y < h - size * 1.5:
        d.text((x, y), _sentence(rng, 4, 10), font=body, fill=fg)
        y += round(size * 1.5)
    return out


def _canvas_phone(img: Image.Image, rng: random.Random) -> Image.Image:
    """A portrait phone screenshot: status bar, the picture at the screen width, comments."""
    w = max(240, round(img.width * 0.6))
    h = round(w * 2.1)
    out = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(out)
    size = max(8, round(w * 0.04))
    body = _font(size)
    d.rectangle([0, 0, w, round(h * 0.035)], fill=(20, 20, 20))
    d.text(
        (round(w * 0.04), round(h * 0.006)),
        f"12:{rng.randint(0, 59):02d}",
        font=body,
        fill=(255, 255, 255),
    )
    d.text(
        (round(w * 0.04), round(h * 0.05)),
        "@" + rng.choice(_NAMES),
        font=_font(size, "bold"),
        fill=(0, 0, 0),
    )
    top = round(h * 0.09)
    inner = img.resize((w, max(1, round(img.height * w / img.width))), Image.Resampling.LANCZOS)
    out.paste(inner, (0, top))
    y = top + inner.height + round(size * 0.8)
    d.text(
        (round(w * 0.04), y),
        f"\u2665 {rng.randint(2, 999)} likes",
        font=_font(size, "bold"),
        fill=(0, 0, 0),
    )
    y += round(size * 1.8)
    while y < h - size * 1.5:
        d.text((round(w * 0.04), y), _sentence(rng, 3, 7), font=body, fill=(40, 40, 40))
        y += round(size * 1.6)
    return out


def _watermark(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    text = rng.choice(["@" + rng.choice(_NAMES) + str(rng.randint(10, 999)), "seenit.example"])
    size = max(10, round(h * 0.05))
    font = _font(size, "bold")
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    x = w - _text_width(font, text) - w * 0.03
    y = h - h * 0.03 - size * 1.2
    d.text((x + 1, y + 1), text, font=font, fill=(0, 0, 0, 90))
    d.text((x, y), text, font=font, fill=(255, 255, 255, 140))
    return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")


def _canvas(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    bg = rng.choice([(255, 255, 255), (242, 243, 245), (230, 230, 230), (54, 57, 63)])
    dark = sum(bg) < 300
    fg = (220, 221, 222) if dark else (40, 40, 40)
    out = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(out)
    bar_h = max(12, round(h * 0.08))
    d.rectangle([0, 0, w, bar_h], fill=(32, 34, 37) if dark else (200, 200, 205))
    small = _font(max(8, round(bar_h * 0.45)), "bold")
    d.text((round(w * 0.03), round(bar_h * 0.25)), rng.choice(_NAMES).title(), font=small, fill=fg)
    inner = _scale(img, 0.65)
    iw, ih = inner.size
    x, y = (w - iw) // 2, bar_h + round(h * 0.06)
    d.rectangle([x - 2, y - 2, x + iw + 1, y + ih + 1], fill=(180, 180, 180))
    out.paste(inner, (x, y))
    body_size = max(8, round(h * 0.03))
    body = _font(body_size)
    ty = y + ih + round(h * 0.025)
    for line in _wrap(_sentence(rng, 6, 16), body, w * 0.8)[:2]:
        if ty > h - body_size:
            break
        d.text((round(w * 0.1), ty), line, font=body, fill=fg)
        ty += round(h * 0.04)
    d.text((round(w * 0.03), round(h * 0.11)), _sentence(rng, 2, 5), font=body, fill=fg)
    return out


def _gif(img: Image.Image, rng: random.Random) -> tuple[bytes, str]:
    frames = [img]
    frames.append(ImageEnhance.Brightness(img).enhance(1.06))
    sticker = img.copy()
    d = ImageDraw.Draw(sticker)
    w, h = img.size
    r = max(4, min(w, h) // 12)
    cx, cy = rng.randint(r, max(r, w - r)), rng.randint(r, max(r, h - r))
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 220, 0))
    frames.append(sticker)
    paletted = [f.quantize(colors=256, method=Image.Quantize.FASTOCTREE) for f in frames]
    data = _encode(
        paletted[0],
        "GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=[300, 150, 150],
        loop=0,
        disposal=1,
    )
    return data, "gif"


def _noise(img: Image.Image, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(8.0)
    return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8))


def _template_texts(name: str) -> tuple[str, str]:
    """Two different captions for one original, the same for every template transform."""
    first, second = random.Random(_seed(name, "template")).sample(_CAPTIONS, 2)
    return first, second


def apply_transform(img: Image.Image, transform: str, name: str) -> tuple[bytes, str]:
    """Apply ``transform`` to the RGB image of original ``name``.

    Returns (encoded bytes, file extension). Deterministic: randomness is seeded from
    ``name`` and ``transform``.
    """
    seed = _seed(name, transform)
    rng = random.Random(seed)
    t = transform
    if t.startswith("resize_"):
        return _jpeg(_scale(img, int(t.split("_")[1]) / 100))
    if t.startswith("jpeg_"):
        return _jpeg(img, int(t.split("_")[1]))
    if t == "png":
        return _encode(img, "PNG"), "png"
    if t == "webp":
        return _encode(img, "WEBP", quality=80), "webp"
    simple: dict[str, Callable[[Image.Image], Image.Image]] = {
        "brightness_up": lambda im: ImageEnhance.Brightness(im).enhance(1.25),
        "brightness_down": lambda im: ImageEnhance.Brightness(im).enhance(0.75),
        "contrast_up": lambda im: ImageEnhance.Contrast(im).enhance(1.3),
        "contrast_down": lambda im: ImageEnhance.Contrast(im).enhance(0.7),
        "saturation_up": lambda im: ImageEnhance.Color(im).enhance(1.5),
        "saturation_down": lambda im: ImageEnhance.Color(im).enhance(0.5),
        "grayscale": lambda im: im.convert("L"),
        "blur": lambda im: im.filter(ImageFilter.GaussianBlur(2)),
        "noise": lambda im: _noise(im, seed),
        "watermark": lambda im: _watermark(im, rng),
        "hflip": ImageOps.mirror,
        "rot90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
        "rot180": lambda im: im.transpose(Image.Transpose.ROTATE_180),
        "rot270": lambda im: im.transpose(Image.Transpose.ROTATE_270),
        "caption": lambda im: _caption(im, rng),
        "canvas": lambda im: _canvas(im, rng),
        "crop_center_05": lambda im: _crop_fraction(im, 0.05, 0.05, 0.05, 0.05),
        "crop_center_10": lambda im: _crop_fraction(im, 0.10, 0.10, 0.10, 0.10),
        "crop_center_20": lambda im: _crop_fraction(im, 0.20, 0.20, 0.20, 0.20),
        "crop_topleft_10": lambda im: _crop_fraction(im, 0.10, 0.10, 0.0, 0.0),
        "crop_topleft_20": lambda im: _crop_fraction(im, 0.20, 0.20, 0.0, 0.0),
        "rotate_2": lambda im: _rotate_crop(im, 2.0),
        "rotate_5": lambda im: _rotate_crop(im, 5.0),
        "caption_bottom": lambda im: _caption_bar(
            im, rng.choice(_CAPTIONS), 0.12, "bottom", ((240, 240, 235), (20, 20, 20))
        ),
        "caption_tall": lambda im: _caption_bar(
            im, _sentence(rng, 10, 16).upper(), 0.32, "top", ((0, 0, 0), (255, 255, 255)), 3
        ),
        "caption_overlay": lambda im: _caption_overlay(im, rng),
        "canvas_chat": lambda im: _canvas_chat(im, rng),
        "canvas_phone": lambda im: _canvas_phone(im, rng),
        "crop_topright_15": lambda im: _crop_fraction(im, 0.0, 0.15, 0.15, 0.0),
        "crop_bottomleft_05": lambda im: _crop_fraction(im, 0.05, 0.0, 0.0, 0.05),
        "crop_bottomright_20": lambda im: _crop_fraction(im, 0.0, 0.0, 0.20, 0.20),
        "rotate_3cw": lambda im: _rotate_crop(im, -3.0),
        "rotate_8": lambda im: _rotate_crop(im, 8.0),
        "rotate_10cw": lambda im: _rotate_crop(im, -10.0),
        "template_a": lambda im: _caption_bar(im, _template_texts(name)[0], 0.18),
        "template_b": lambda im: _caption_bar(im, _template_texts(name)[1], 0.18),
        "template_a_small": lambda im: _scale(
            _caption_bar(im, _template_texts(name)[0], 0.18), 0.7
        ),
    }
    if t in simple:
        return _jpeg(simple[t](img))
    if t == "gif":
        return _gif(img, rng)
    raise ValueError(f"unknown transform {transform!r}")


def _variants_job(job: tuple[str, str, str]) -> list[tuple[str, str, str]]:
    """Worker: every variant of one original; returns (transform, rel path, sha256)."""
    name, src, cache_dir = job
    with Image.open(src) as im:
        img = im.convert("RGB")
    out = []
    for t in TRANSFORMS:
        data, ext = apply_transform(img, t, name)
        rel = f"variants/{name}/{t}.{ext}"
        _write(Path(cache_dir) / rel, data)
        out.append((t, rel, _sha256(data)))
    return out


# ------------------------------------------------------------------------ building


def _near_duplicates(
    order: Sequence[str], thumbs: dict[str, list[float]]
) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Keep the first of each near-identical group, in ``order``.

    Returns (kept names, [(dropped, kept twin, mean abs diff)]).
    """
    kept: list[str] = []
    raw: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    zed: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    dropped: list[tuple[str, str, float]] = []
    for name in order:
        v = np.asarray(thumbs[name], dtype=np.float64)
        z = (v - v.mean()) / (v.std() + 1e-9)
        if raw:
            mad = np.abs(np.stack(raw) - v).mean(axis=1)
            corr = (np.stack(zed) @ z) / v.size
            twins = np.flatnonzero((mad < NEAR_DUP_MAD) & (corr >= NEAR_DUP_CORR))
            if twins.size:
                j = int(twins[np.argmin(mad[twins])])
                dropped.append((name, kept[j], round(float(mad[j]), 2)))
                continue
        kept.append(name)
        raw.append(v)
        zed.append(z)
    return kept, dropped


def _file_sha(path: Path) -> str:
    return _sha256(path.read_bytes())


def load_corpus(cache_dir: Path | str = DEFAULT_CACHE_DIR) -> Corpus | None:
    """The cached corpus, or ``None`` if it is missing, incomplete or out of date."""
    cache = Path(cache_dir).resolve()
    manifest_path = cache / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("version") != _script_version():
        return None
    originals = tuple(
        Original(o["name"], cache / o["path"], o["kind"], o["source"], o["origin"])
        for o in manifest["originals"]
    )
    variants = tuple(
        Variant(v["original"], v["transform"], cache / v["path"]) for v in manifest["variants"]
    )
    if not all(o.path.is_file() for o in originals) or not all(v.path.is_file() for v in variants):
        return None
    return Corpus(cache, manifest["version"], originals, variants)


def build_corpus(
    cache_dir: Path | str = DEFAULT_CACHE_DIR,
    *,
    force: bool = False,
    workers: int = 2,
    install: bool = True,
    verbose: bool = True,
) -> Corpus:
    """Build (or load from the cache) the benchmark corpus.

    Args:
        cache_dir: where images and ``manifest.json`` go.
        force: rebuild even if the cached manifest is current.
        workers: processes used for decoding and generation.
        install: install missing Debian / PyPI packages first (apt-get needs root).
        verbose: print progress and a summary.
    """
    log: Log = (lambda msg: print(msg, flush=True)) if verbose else (lambda msg: None)
    cache = Path(cache_dir).resolve()
    if not force:
        cached = load_corpus(cache)
        if cached is not None:
            log(f"corpus is current ({cache / MANIFEST_NAME}); use --force to rebuild")
            if verbose:
                _print_summary(cached, json.loads((cache / MANIFEST_NAME).read_text()), log)
            return cached

    started = time.monotonic()
    if install:
        ensure_python_packages(log)
        ensure_system_packages(APT_PACKAGES, log)
    (cache / MANIFEST_NAME).unlink(missing_ok=True)
    for sub in ("originals", "variants"):
        shutil.rmtree(cache / sub, ignore_errors=True)
    (cache / "originals").mkdir(parents=True, exist_ok=True)

    log("collecting packaged pictures ...")
    cands = collect_candidates(log)
    log(f"  {len(cands)} candidates after exact-duplicate / resolution collapsing and caps")

    ctx = get_context("fork") if sys.platform.startswith("linux") else get_context()
    thumbs: dict[str, list[float]] = {}
    errors: list[tuple[str, str]] = []
    blanks: list[str] = []
    by_name = {c.name: c for c in cands}
    with ctx.Pool(processes=max(1, workers)) as pool:
        jobs = [(c.name, c.path, str(cache / "originals" / f"{c.name}.png")) for c in cands]
        for i, (name, thumb, std, err) in enumerate(pool.imap(_normalise_job, jobs, 2), 1):
            if err:
                errors.append((name, err))
            elif std < MIN_SOURCE_STD:
                blanks.append(name)
            else:
                thumbs[name] = thumb
            if i % 100 == 0 or i == len(jobs):
                log(f"  normalised {i}/{len(jobs)} ({time.monotonic() - started:.0f}s)")

        kept, dropped = _near_duplicates([c.name for c in cands if c.name in thumbs], thumbs)
        keep = set(kept)
        for c in cands:
            if c.name not in keep:
                (cache / "originals" / f"{c.name}.png").unlink(missing_ok=True)
        for name, err in errors:
            log(f"  skipped {name}: {err}")
        log(f"  dropped {len(blanks)} near-blank and {len(dropped)} near-duplicate pictures")

        originals: list[Original] = [
            Original(
                n,
                cache / "originals" / f"{n}.png",
                by_name[n].kind,
                by_name[n].source,
                by_name[n].path,
            )
            for n in kept
        ]
        log("drawing synthetic graphics and blanks ...")
        specs = _synthetic_specs()
        sjobs = [(n, k, f, i, str(cache / "originals" / f"{n}.png")) for n, k, f, i in specs]
        list(pool.imap(_synthetic_job, sjobs, 4))
        for n, k, f, _i in specs:
            src = "synthetic-blank" if k == "blank" else "synthetic-graphic"
            originals.append(
                Original(n, cache / "originals" / f"{n}.png", k, src, f"synthetic:{f}")
            )

        log(f"generating {len(TRANSFORMS)} variants of {len(originals)} originals ...")
        variants: list[Variant] = []
        vrecords: list[dict[str, str]] = []
        vjobs = [(o.name, str(o.path), str(cache)) for o in originals]
        for i, (o, results) in enumerate(
            zip(originals, pool.imap(_variants_job, vjobs, 2), strict=True), 1
        ):
            for t, rel, digest in results:
                variants.append(Variant(o.name, t, cache / rel))
                vrecords.append({"original": o.name, "transform": t, "path": rel, "sha256": digest})
            if i % 50 == 0 or i == len(originals):
                log(f"  variants for {i}/{len(originals)} ({time.monotonic() - started:.0f}s)")

    elapsed = time.monotonic() - started
    version = _script_version()
    manifest = {
        "version": version,
        "corpus_version": CORPUS_VERSION,
        "transforms": list(TRANSFORMS),
        "transform_groups": {g: list(ts) for g, ts in TRANSFORM_GROUPS.items()},
        "transform_docs": TRANSFORM_DOCS,
        "packages": _dpkg_versions(sorted(set(APT_PACKAGES))),
        "python_packages": _python_versions(),
        "pillow": PIL.__version__,
        "font_dir": str(FONT_DIR) if FONT_DIR.exists() else "pillow-default",
        "near_duplicates_dropped": [
            {"dropped": a, "kept": b, "mad": m, "origin": by_name[a].path} for a, b, m in dropped
        ],
        "near_blank_dropped": [by_name[n].path for n in blanks],
        "errors": [{"name": n, "error": e} for n, e in errors],
        "build_seconds": round(elapsed, 1),
        "originals": [
            {
                "name": o.name,
                "path": str(o.path.relative_to(cache)),
                "kind": o.kind,
                "source": o.source,
                "origin": o.origin,
                "sha256": _file_sha(o.path),
            }
            for o in originals
        ],
        "variants": vrecords,
    }
    (cache / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    corpus = Corpus(cache, version, tuple(originals), tuple(variants))
    if verbose:
        _print_summary(corpus, manifest, log)
    return corpus


def _python_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("scikit-image", "scikit-learn", "pillow", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _print_summary(corpus: Corpus, manifest: dict[str, Any], log: Log) -> None:
    log("")
    log(f"corpus {corpus.version} in {corpus.cache_dir}")
    by_source = Counter(o.source for o in corpus.originals)
    by_kind = Counter(o.kind for o in corpus.originals)
    log(f"originals: {len(corpus.originals)} ({', '.join(f'{k} {by_kind[k]}' for k in KINDS)})")
    for source, n in sorted(by_source.items()):
        log(f"  {source:<30} {n:>4}")
    by_t = Counter(v.transform for v in corpus.variants)
    log(f"variants: {len(corpus.variants)}")
    for group, ts in TRANSFORM_GROUPS.items():
        log(f"  {group}: " + ", ".join(f"{t} {by_t[t]}" for t in ts))
    dups = manifest.get("near_duplicates_dropped", [])
    log(
        f"dropped: {len(dups)} near-duplicates, {len(manifest.get('near_blank_dropped', []))} "
        f"near-blank, {len(manifest.get('errors', []))} unreadable"
    )
    size = _dir_size(corpus.cache_dir)
    log(f"disk: {size / 2**20:.0f} MiB; build time {manifest.get('build_seconds', '?')}s")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m bench.quality.corpus [--force] ...``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument(
        "--no-install", action="store_true", help="do not apt-get / pip install missing packages"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    corpus = build_corpus(
        args.cache_dir,
        force=args.force,
        workers=args.workers,
        install=not args.no_install,
        verbose=not args.quiet,
    )
    return 0 if corpus.originals else 1


if __name__ == "__main__":
    raise SystemExit(main())
