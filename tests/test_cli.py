"""The seenit command end to end, as a subprocess, on real photos and their variants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.cli import find_pairs, hash_files
from bot.matching import PRESETS
from tests.support import DATA, VARIANTS, encode, photo


def seenit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """A folder of photos, reposted variants of two of them, junk and a blank image."""
    root = tmp_path / "album"
    (root / "reposts").mkdir(parents=True)
    for name in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"):
        (root / name).write_bytes((DATA / name).read_bytes())
    for variant in ("half size", "jpeg q40", "mirrored", "rotated 90", "watermark"):
        slug = variant.replace(" ", "_")
        (root / "reposts" / f"chelsea_{slug}.jpg").write_bytes(
            VARIANTS[variant](photo("chelsea.jpg"))
        )
    (root / "reposts" / "rocket_webp.webp").write_bytes(VARIANTS["webp"](photo("rocket.jpg")))
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "notes.txt").write_text("not an image")
    from PIL import Image

    (root / "white.png").write_bytes(encode(Image.new("RGB", (300, 200), "white"), "PNG"))
    (root / "white2.jpg").write_bytes(encode(Image.new("RGB", (600, 400), (250, 250, 250))))
    return root


def test_hash_prints_fingerprint_and_quality() -> None:
    result = seenit("hash", str(DATA / "chelsea.jpg"), "--json")
    assert result.returncode == 0
    (row,) = json.loads(result.stdout)
    assert row["phash64"] == "b15fe6465121175e"
    assert len(row["phash256"]) == 64 and row["quality"] == 100
    text = seenit("hash", str(DATA / "chelsea.jpg")).stdout
    assert "b15fe6465121175e" in text and "quality=100" in text


def test_compare_json_calls_variants_reposts_and_others_not(album: Path) -> None:
    files = sorted(str(p) for p in (album / "reposts").iterdir())
    others = [str(album / "coffee.jpg"), str(album / "astronaut.jpg"), str(album / "broken.png")]
    result = seenit("compare", "--json", str(album / "chelsea.jpg"), *files, *others)
    assert result.returncode == 0
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    for path in files:
        if "chelsea" in path:
            assert rows[path]["repost"] is True, rows[path]
    assert rows[str(album / "reposts" / "rocket_webp.webp")]["repost"] is False
    assert rows[str(album / "coffee.jpg")]["repost"] is False
    assert rows[str(album / "coffee.jpg")]["distance"] > 60
    assert str(album / "broken.png") not in rows
    assert "broken.png" in result.stderr


def test_compare_text_is_in_the_articles_spirit(album: Path) -> None:
    result = seenit("compare", str(album / "chelsea.jpg"), str(album / "coffee.jpg"))
    assert result.stdout.startswith(
        f"Hamming distance between {album / 'chelsea.jpg'} and {album / 'coffee.jpg'} is "
    )


def test_dupes_json_groups_reposts_and_skips_junk(album: Path) -> None:
    result = seenit("dupes", "--json", str(album))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    groups = [set(g) for g in report["groups"]]
    chelsea = {str(album / "chelsea.jpg")} | {str(p) for p in (album / "reposts").glob("chelsea_*")}
    rocket = {str(album / "rocket.jpg"), str(album / "reposts" / "rocket_webp.webp")}
    assert sorted(groups, key=len) == sorted([chelsea, rocket], key=len)
    for pair in report["pairs"]:
        assert {pair["a"], pair["b"]} <= chelsea or {pair["a"], pair["b"]} <= rocket
        assert pair["distance"] <= 29
    distances = [p["distance"] for p in report["pairs"]]
    assert distances == sorted(distances)
    # Blank images look alike but carry no information: never reported.
    assert not any("white" in path for g in groups for path in g)
    assert "broken.png" in result.stderr


def test_dupes_text_output_and_relative_paths(album: Path) -> None:
    result = seenit("dupes", "album", cwd=album.parent)
    assert result.returncode == 0
    assert "2 groups" in result.stdout
    assert "album/reposts/chelsea_mirrored.jpg" in result.stdout


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = seenit("dupes", str(tmp_path / "nope"))
    assert result.returncode == 2 and "not a folder" in result.stderr


def captioned(image: Image.Image, text: str = "WHEN THE CAT SEES IT") -> Image.Image:
    """The picture under a white caption bar, as meme generators make them."""
    bar = image.height * 22 // 100
    out = Image.new("RGB", (image.width, image.height + bar), "white")
    out.paste(image, (0, bar))
    font = ImageFont.load_default(size=max(12, bar // 3))
    ImageDraw.Draw(out).text((10, bar // 4), text, fill="black", font=font)
    return out


def test_dupes_pairs_a_caption_whichever_file_sorts_first(tmp_path: Path) -> None:
    # The captioned file sorts after its original: the caption's view is only tried when
    # it is the query, as when it is posted after the original.
    for name in ("chelsea.jpg", "rocket.jpg"):
        (tmp_path / f"a_{name}").write_bytes((DATA / name).read_bytes())
        (tmp_path / f"b_{name}").write_bytes(encode(captioned(photo(name))))
    hashed = hash_files(sorted(str(p) for p in tmp_path.iterdir()), workers=1, progress=None)
    pairs = {(hashed[p.a].path, hashed[p.b].path) for p in find_pairs(hashed, PRESETS["normal"])}
    assert pairs == {
        (str(tmp_path / f"a_{name}"), str(tmp_path / f"b_{name}"))
        for name in ("chelsea.jpg", "rocket.jpg")
    }


def test_dupes_and_compare_find_crops_and_say_so(tmp_path: Path) -> None:
    chelsea = photo("chelsea.jpg")
    w, h = chelsea.size
    (tmp_path / "chelsea.jpg").write_bytes((DATA / "chelsea.jpg").read_bytes())
    (tmp_path / "coffee.jpg").write_bytes((DATA / "coffee.jpg").read_bytes())
    (tmp_path / "crop.jpg").write_bytes(encode(chelsea.crop((w * 15 // 100, h * 15 // 100, w, h))))
    result = seenit("dupes", "--json", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (pair,) = json.loads(result.stdout)["pairs"]
    assert {pair["a"], pair["b"]} == {str(tmp_path / "chelsea.jpg"), str(tmp_path / "crop.jpg")}
    assert pair["edit"] == "cropped"
    result = seenit("compare", str(tmp_path / "chelsea.jpg"), str(tmp_path / "crop.jpg"))
    assert result.stdout.rstrip().endswith("repost (cropped)")


def test_dupes_pairs_an_edit_with_its_original_among_many_copies(tmp_path: Path) -> None:
    # Thirty near-identical crops fill the crop's candidate lists (index hits and local
    # candidates): the original must still be judged against it, and paired.
    chelsea = photo("chelsea.jpg")
    w, h = chelsea.size
    (tmp_path / "z_original.jpg").write_bytes((DATA / "chelsea.jpg").read_bytes())
    for k in range(30):
        left, top = w * (12 + k % 5) // 100, h * (12 + k // 6) // 100
        copy = chelsea.crop((left, top, w, h))
        (tmp_path / f"copy_{k:02}.jpg").write_bytes(encode(copy, quality=90 - k))
    query = chelsea.crop((w * 15 // 100, h * 15 // 100, w, h))
    (tmp_path / "query.jpg").write_bytes(encode(query))
    hashed = hash_files(sorted(str(p) for p in tmp_path.iterdir()), workers=1, progress=None)
    pairs = {
        frozenset((hashed[p.a].path, hashed[p.b].path))
        for p in find_pairs(hashed, PRESETS["normal"])
    }
    original, crop = str(tmp_path / "z_original.jpg"), str(tmp_path / "query.jpg")
    assert frozenset((original, crop)) in pairs
    # Every copy is a crop of the original: each is paired with it too.
    assert sum(1 for pair in pairs if original in pair) == 31
