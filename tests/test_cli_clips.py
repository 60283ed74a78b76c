"""The seenit command on videos and animations: hash, compare and dupes, as a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clipmaker import clip, jpeg, still_of


def seenit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clips with their copies in every container, a still frame, and unrelated clips."""
    root = tmp_path_factory.mktemp("reel")
    files = {
        "cat.mp4": clip(),
        "copies/cat_reencoded.mp4": clip(out_size=(144, 108)),
        "copies/cat_trimmed.webm": clip(container="webm", trim=(0.2, 0.8)),
        "copies/cat.mov": clip(container="mov"),
        "copies/cat.mkv": clip(container="mkv"),
        "copies/cat_part.gif": clip(container="gif", trim=(0.3, 0.7)),
        "copies/cat_frame.jpg": jpeg(still_of(at=0.5)),
        "coffee.webm": clip("coffee.jpg", container="webm", direction=-1),
        "copies/coffee.apng": clip("coffee.jpg", container="apng", direction=-1, trim=(0, 0.5)),
        "copies/coffee.webp": clip("coffee.jpg", container="webp", direction=-1),
        "rocket.mp4": clip("rocket.jpg"),
        "astronaut.gif": clip("astronaut.jpg", container="gif", zoom=1.4),
        "motorcycle.mkv": clip("motorcycle.jpg", container="mkv"),
        "fake.mp4": b"\x00\x00\x00\x18ftypisom" + b"not a video" * 10,
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_dupes_groups_each_clip_with_its_copies_and_frame_and_nothing_else(reel: Path) -> None:
    done = seenit("dupes", str(reel), "--json", "--workers", "2")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    groups = sorted(
        sorted(Path(p).relative_to(reel).as_posix() for p in g) for g in found["groups"]
    )
    assert groups == [
        [
            "cat.mp4",
            "copies/cat.mkv",
            "copies/cat.mov",
            "copies/cat_frame.jpg",
            "copies/cat_part.gif",
            "copies/cat_reencoded.mp4",
            "copies/cat_trimmed.webm",
        ],
        ["coffee.webm", "copies/coffee.apng", "copies/coffee.webp"],
    ]
    assert "fake.mp4: skipped: the video is corrupt or truncated" in done.stderr


def test_compare_names_the_edit(reel: Path) -> None:
    done = seenit(
        "compare",
        str(reel / "cat.mp4"),
        str(reel / "copies/cat_trimmed.webm"),
        str(reel / "copies/cat_part.gif"),
        str(reel / "copies/cat_frame.jpg"),
        str(reel / "rocket.mp4"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(done.stdout)}
    assert {name: (r["repost"], r["edit"]) for name, r in rows.items()} == {
        "cat_trimmed.webm": (True, "a trimmed copy of"),
        "cat_part.gif": (True, "a GIF made from"),
        "cat_frame.jpg": (True, "a frame of"),
        "rocket.mp4": (False, None),
    }
    text = seenit("compare", str(reel / "cat.mp4"), str(reel / "copies/cat_trimmed.webm"))
    assert f"cat_trimmed.webm is a trimmed copy of {reel / 'cat.mp4'}" in text.stdout


def test_hash_describes_a_clip(reel: Path) -> None:
    done = seenit("hash", str(reel / "copies/cat_part.gif"), "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["kind"], row["container"], row["width"], row["height"]) == ("gif", "gif", 160, 120)
    assert 1_400 <= row["duration_ms"] <= 1_700
    assert [f["t_ms"] for f in row["frames"]] == sorted(f["t_ms"] for f in row["frames"])
    assert len(row["frames"]) >= 5
    text = seenit("hash", str(reel / "cat.mp4"))
    # Eight samples a second of a 10 fps clip: some fall on the same frame.
    found = re.search(r"video=mp4 duration=4\.0s frames=(\d+)", text.stdout)
    assert found is not None and 25 <= int(found.group(1)) <= 33
