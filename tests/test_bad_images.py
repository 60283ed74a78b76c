"""Hostile images: fingerprinted or refused with a typed ImageError, fast, in bounded memory.

The corpus (``tests/badimages/corpus.py``, videos in ``tests/badimages/videos.py``) is
generated in code. Here every file goes through ``bot.video.fingerprint_media`` (what the
hashing workers run: images, and videos and animations as clips) in this process (type of
outcome, time, and a valid image right after), then the whole corpus through a fresh process
(peak resident memory) and through the real process-pool ``Hasher``. Mutation-based property
tests then damage real JPEG, PNG, GIF, WebP, TIFF and BMP files at random (derandomized, so
CI sees the same examples every run).

The heaviest files (``corpus.KNOWN_ISSUES``: thin and tall PNGs, huge animation canvases,
thousands of JPEG scans, millions of segments) each run alone in a fresh process under the
same time and memory bounds.
"""

from __future__ import annotations

import contextlib
import json
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.hashing import Fingerprint, ImageError, fingerprint
from bot.hashing_pool import Hasher, HashingCrashed
from bot.video import fingerprint_media
from tests.badimages import corpus
from tests.badimages.corpus import CASES, KNOWN_ISSUES, Case, Expect

#: Seconds any single file may take (generous: the slowest regular file takes ~0.25 s of
#: CPU; see _assert_quick for busy machines).
TIME_BOUND = 2.0
#: Peak resident memory of a fresh process fingerprinting the whole corpus.
PEAK_RSS_BOUND_MB = 400
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Wall-clock cap on one known-issue file in its own process (start-up included).
KNOWN_ISSUE_TIMEOUT = 20.0
#: What pytest.fail raises.
Failed = pytest.fail.Exception

REGULAR = [case for case in CASES if case.name not in KNOWN_ISSUES]


@pytest.fixture(scope="module")
def reference() -> Fingerprint:
    return fingerprint(corpus.valid_reference())


def _assert_quick(name: str, wall: float, cpu: float) -> None:
    """Under the time bound: wall time, unless the machine was so busy that the file's own
    CPU time shows it was quick (shared CI runners); never more than 5x the bound."""
    assert wall < TIME_BOUND * 5, f"{name}: {wall:.2f} s"
    assert wall < TIME_BOUND or cpu < TIME_BOUND / 2, f"{name}: {wall:.2f} s ({cpu:.2f} s CPU)"


class Stopwatch:
    """Wall (perf_counter) and CPU (process_time) seconds of a block."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _assert_sane(fp: Fingerprint) -> None:
    assert isinstance(fp, Fingerprint)
    assert fp.width >= 1 and fp.height >= 1
    assert len(fp.phash256) == 32
    assert len(fp.phash64_orientations) == len(fp.phash256_orientations) == 8
    assert 0 <= fp.quality <= 100


def test_corpus_is_deterministic_and_covers_every_kind() -> None:
    files = corpus.hostile_files(known_issues=False)
    assert len(files) == len(REGULAR) > 150
    for name, data, _ in files:  # built again from scratch: the same bytes
        assert corpus.BY_NAME[name].build() == data, name
    expects = {case.expect for case in CASES}
    assert expects == set(Expect)
    # Within the default byte cap: a bigger file would only test that one comparison.
    assert max(len(data) for _, data, _ in files) <= 25 * 1024 * 1024


@pytest.mark.parametrize("case", REGULAR, ids=lambda case: case.name)
def test_hostile_file_is_fingerprinted_or_refused_with_a_typed_error(
    case: Case, reference: Fingerprint
) -> None:
    data = corpus.build(case.name)
    fp: Fingerprint | None = None
    error: ImageError | None = None
    with Stopwatch() as took:
        try:
            # What the bot's hashing workers run: images, and videos and animations as clips.
            fp = fingerprint_media(data)
        except ImageError as exc:
            error = exc
    if error is not None:
        assert case.expect is not Expect.DECODE, f"a valid file was refused: {error!r}"
        if case.error is not None:
            # The named class, or a more precise one (VideoTooLarge is an ImageTooLarge).
            assert case.error in [c.__name__ for c in type(error).__mro__], repr(error)
    else:
        assert fp is not None
        assert case.expect is not Expect.REFUSE, f"fingerprinted {fp.width}x{fp.height}"
        _assert_sane(fp)
    _assert_quick(case.name, took.wall, took.cpu)
    # Nothing the bad file did (global Pillow state, warnings filters) changes the next one.
    assert fingerprint(corpus.valid_reference()) == reference


def _run_isolated(paths: list[Path], timeout: float, *args: str) -> dict[str, Any]:
    """Fingerprint ``paths`` in a fresh interpreter (tests/badimages/run.py); its report."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.badimages.run", *args, *map(str, paths)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _write(names: list[str], directory: Path) -> list[Path]:
    paths = []
    for name in names:
        path = directory / name
        path.write_bytes(corpus.build(name))
        paths.append(path)
    return paths


def test_whole_corpus_in_a_fresh_process_stays_under_the_memory_bound(
    tmp_path: Path, record_property: Any
) -> None:
    paths = _write([case.name for case in REGULAR], tmp_path)
    report = _run_isolated(paths, timeout=300)
    peak_mb = report["peak_kib"] / 1024
    baseline_mb = report["baseline_kib"] / 1024
    slowest = max(report["files"], key=lambda f: max(f["times"]))
    record_property("peak_rss_mb", round(peak_mb, 1))
    print(
        f"\nwhole corpus ({len(paths)} files): peak RSS {peak_mb:.0f} MB "
        f"(a ready worker: {baseline_mb:.0f} MB); slowest {slowest['name']} "
        f"{max(slowest['times']) * 1000:.0f} ms"
    )
    untyped = [f for f in report["files"] if f["outcome"].startswith("untyped:")]
    assert untyped == []
    assert peak_mb < PEAK_RSS_BOUND_MB
    for result in report["files"]:
        _assert_quick(result["name"], max(result["times"]), max(result["cpu"]))


async def test_process_pool_hasher_survives_the_corpus(reference: Fingerprint) -> None:
    outcomes: dict[str, str] = {}
    async with Hasher(1) as hasher:
        for name, data, _ in corpus.hostile_files(known_issues=False):
            try:
                await hasher.fingerprint(data)
            except HashingCrashed:
                outcomes[name] = "crashed"
            except ImageError as exc:
                outcomes[name] = type(exc).__name__
            else:
                outcomes[name] = "ok"
        assert await hasher.fingerprint(corpus.valid_reference()) == reference
    assert [name for name, outcome in outcomes.items() if outcome == "crashed"] == []
    assert "ok" in outcomes.values() and "ImageTooLarge" in outcomes.values()


# ------------------------------------------------------------------- the heaviest files

# Files that once broke a bound (seconds of CPU or gigabytes from a few bytes); bot/hashing.py
# now refuses or reduces them up front. Each runs alone in a fresh process, so its peak
# memory is its own.


def _known(names: list[str]) -> list[Any]:
    return [
        pytest.param(
            name,
            id=name,
            marks=[],
        )
        for name in names
    ]


@pytest.mark.parametrize("name", _known(sorted(KNOWN_ISSUES)))
def test_known_issue_file_meets_the_bounds(name: str, tmp_path: Path) -> None:
    """Each known-issue file alone: typed outcome, under the time and memory bounds."""
    case = corpus.BY_NAME[name]
    (path,) = _write([name], tmp_path)
    try:
        report = _run_isolated([path], timeout=KNOWN_ISSUE_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: still running after {KNOWN_ISSUE_TIMEOUT:.0f} s")
    (result,) = report["files"]
    assert not result["outcome"].startswith("untyped:"), result
    if case.expect is Expect.DECODE:
        assert result["outcome"] == "ok", result
    _assert_quick(name, max(result["times"]), max(result["cpu"]))
    assert report["peak_kib"] / 1024 < PEAK_RSS_BOUND_MB, report["peak_kib"]


async def test_hasher_raises_only_image_errors_for_a_wide_png() -> None:
    async with Hasher(1) as hasher:
        with contextlib.suppress(ImageError):
            await hasher.fingerprint(corpus.build("issue-png-50000000x1.png"))


# --------------------------------------------------------------------------- properties

#: Interesting values to write into header fields: zero, one, sign bits, all ones.
FIELD_VALUES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF)


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    """A real image of ``fmt`` damaged by 1-4 random edits."""
    bases = corpus.base_images()
    data = bytearray(bases[fmt])
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        op = draw(
            st.sampled_from(
                ["flip", "header", "field", "truncate", "insert", "delete", "repeat", "splice"]
            )
        )
        if size == 0:
            op = "insert"
        if op in ("flip", "header"):
            limit = min(size, 96) if op == "header" else size
            for _ in range(draw(st.integers(1, 16))):
                at = draw(st.integers(0, limit - 1))
                data[at] ^= draw(st.integers(1, 255))
        elif op == "field":
            width = draw(st.sampled_from([1, 2, 4]))
            at = draw(st.integers(0, max(0, min(size, 128) - width)))
            value = draw(st.sampled_from(FIELD_VALUES)) & ((1 << (8 * width)) - 1)
            code = {1: "B", 2: "H", 4: "I"}[width]
            packed = struct.pack(draw(st.sampled_from("<>")) + code, value)
            data[at : at + width] = packed
        elif op == "truncate":
            del data[draw(st.integers(0, size)) :]
        elif op == "insert":
            at = draw(st.integers(0, size))
            blob = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=64),
                    st.builds(
                        lambda b, n: bytes([b]) * n, st.integers(0, 255), st.integers(1, 4096)
                    ),
                )
            )
            data[at:at] = blob
        elif op == "delete":
            at = draw(st.integers(0, size - 1))
            del data[at : at + draw(st.integers(1, 512))]
        elif op == "repeat":
            at = draw(st.integers(0, size - 1))
            piece = bytes(data[at : at + draw(st.integers(1, 256))])
            data[at:at] = piece * draw(st.integers(1, 64))
        else:
            other = draw(st.sampled_from(sorted(bases)))
            cut = draw(st.integers(0, size))
            other_cut = draw(st.integers(0, len(bases[other])))
            data = data[:cut] + bytearray(bases[other][other_cut:])
    return bytes(data)


@pytest.mark.parametrize("fmt", sorted(corpus.base_images()))
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_images_give_a_fingerprint_or_a_typed_error_quickly(
    fmt: str, data: st.DataObject
) -> None:
    damaged = data.draw(mutated(fmt), label="damaged")
    fp: Fingerprint | None = None
    with Stopwatch() as took, contextlib.suppress(ImageError):
        fp = fingerprint(damaged)
    if fp is not None:
        _assert_sane(fp)
    _assert_quick(f"{len(damaged)} bytes", took.wall, took.cpu)


def test_the_unmutated_bases_fingerprint() -> None:
    for data in corpus.base_images().values():
        _assert_sane(fingerprint(data))
