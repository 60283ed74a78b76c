"""Hostile input: the whole bad-image corpus through ``fingerprint``, N times, timed.

Run ``python -m bench.bad_input`` (a few minutes; writes bench/results/bad_input.md) or
``python -m bench.bad_input --quick`` (3 rounds, prints only).

The corpus is ``tests/badimages/corpus.py`` (generated in code: truncated and corrupt files,
non-images, decompression bombs, thousands of frames, absurd EXIF, polyglots, text-chunk
bombs and unusual valid formats). Every file is written to a temporary directory, then
fingerprinted by ``tests/badimages/run.py`` in a fresh interpreter, as a hashing worker
would:

* the regular files all in one process, each ``--repeat`` times (default 20): outcome,
  wall and CPU time of every call, peak resident memory (VmHWM) of the whole run, and of
  each file on its own where the kernel lets the peak be reset;
* each file of ``corpus.KNOWN_ISSUES`` (still over a bound with the current code) in its
  own process, ``--issue-repeat`` times (default 1), killed after ``--issue-timeout``.

Reports files tried, refused by error type, accepted, any untyped exception, the max and
p99 time per call, the slowest files and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, RESULTS_DIR, loadavg, machine_line, md_table, percentile
from bot import hashing  # measured in a subprocess; imported so the code digest covers it
from tests.badimages import corpus

#: The bounds the tests hold the corpus to (tests/test_bad_images.py).
TIME_BOUND = 2.0
PEAK_RSS_BOUND_MB = 400


def _run(paths: list[Path], repeat: int, timeout: float) -> dict[str, Any] | None:
    """tests/badimages/run.py on ``paths`` in a fresh interpreter; None if it timed out."""
    command = [sys.executable, "-m", "tests.badimages.run", "--repeat", str(repeat)]
    try:
        done = subprocess.run(
            [*command, "--stop-after", str(TIME_BOUND * 5), *map(str, paths)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.2f}"


def _mb(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, known issues once")
    parser.add_argument("--repeat", type=int, help="calls per regular file (default 20)")
    parser.add_argument("--issue-repeat", type=int, default=1)
    parser.add_argument("--issue-timeout", type=float, default=120.0)
    parser.add_argument("--no-issues", action="store_true", help="leave the known issues out")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 20)

    started = time.perf_counter()
    machine = machine_line()
    regular = [case for case in corpus.CASES if case.name not in corpus.KNOWN_ISSUES]
    issues = [] if args.no_issues else [corpus.BY_NAME[n] for n in corpus.KNOWN_ISSUES]
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="seenit-bad-input-") as tmp:
        folder = Path(tmp)
        for case in [*regular, *issues]:
            (folder / case.name).write_bytes(corpus.build(case.name))
        print(f"{len(regular)} regular files x {repeat} ...", file=sys.stderr, flush=True)
        whole = _run([folder / c.name for c in regular], repeat, timeout=3600)
        if whole is None:
            raise SystemExit("the regular corpus did not finish within an hour")
        for result in whole["files"]:
            rows[result["name"]] = result
        issue_peaks: dict[str, int | None] = {}
        for case in issues:
            print(f"known issue {case.name} ...", file=sys.stderr, flush=True)
            report = _run([folder / case.name], args.issue_repeat, args.issue_timeout)
            if report is None:
                rows[case.name] = {
                    "name": case.name,
                    "size": len(corpus.build(case.name)),
                    "outcome": f"killed after {args.issue_timeout:.0f} s",
                    "detail": "",
                    "times": [],
                    "cpu": [],
                    "peak_kib": None,
                }
                issue_peaks[case.name] = None
            else:
                (result,) = report["files"]
                result["peak_kib"] = report["peak_kib"]
                rows[case.name] = result
                issue_peaks[case.name] = report["peak_kib"]
    elapsed = time.perf_counter() - started

    def summary(cases: list[corpus.Case]) -> tuple[Counter[str], list[float]]:
        outcomes = Counter(rows[c.name]["outcome"] for c in cases)
        calls = [t for c in cases for t in rows[c.name]["times"]]
        return outcomes, calls

    reg_outcomes, reg_calls = summary(regular)
    refused = {k: v for k, v in reg_outcomes.items() if k != "ok" and not k.startswith("untyped")}
    untyped = {k: v for k, v in reg_outcomes.items() if k.startswith("untyped")}
    slowest = sorted(regular, key=lambda c: max(rows[c.name]["times"]), reverse=True)[:10]
    by_expect = Counter(c.expect.value for c in regular)

    lines = [
        "# Hostile input: the bad-image corpus through `fingerprint`",
        "",
        f"`python -m bench.bad_input{' --quick' if args.quick else ''}` ({repeat} calls per "
        f"regular file). {machine}",
        "",
        f"Limits: the defaults, {hashing.DEFAULT_MAX_PIXELS:,} pixels and "
        f"{hashing.DEFAULT_MAX_BYTES / 2**20:.0f} MiB.",
        "",
        "Every file was written to a temporary directory and fingerprinted by "
        "`tests/badimages/run.py` in a fresh interpreter, as a hashing worker would; peak "
        "RSS is that process's VmHWM (Linux), including the interpreter, numpy, scipy and "
        "Pillow. Times are wall clock per `fingerprint()` call; CPU time is given too, as "
        "other jobs shared the machine.",
        "",
        "## Regular corpus",
        "",
        f"* files tried: **{len(regular)}** ({by_expect['decode']} valid-but-unusual that must "
        f"fingerprint, {by_expect['refuse']} that must be refused, {by_expect['either']} damaged "
        f"files where either is fine), {len(reg_calls):,} calls in all",
        f"* accepted (fingerprinted): **{reg_outcomes.get('ok', 0)}**",
        "* refused: **"
        + str(sum(refused.values()))
        + "** ("
        + ", ".join(f"{k} {v}" for k, v in sorted(refused.items(), key=lambda kv: -kv[1]))
        + ")",
        f"* untyped exceptions: **{sum(untyped.values())}**"
        + (f" ({', '.join(f'{k} {v}' for k, v in untyped.items())})" if untyped else ""),
        f"* time per call: p50 {_ms(percentile(reg_calls, 50))} ms, p99 "
        f"{_ms(percentile(reg_calls, 99))} ms, max {_ms(max(reg_calls))} ms "
        f"({slowest[0].name}); bound {TIME_BOUND:.0f} s",
        f"* peak RSS of the whole run: **{_mb(whole['peak_kib'])} MB** (a ready worker: "
        f"{_mb(whole['baseline_kib'])} MB); bound {PEAK_RSS_BOUND_MB} MB",
        "",
        "Slowest files (max over their calls):",
        "",
        md_table(
            ["file", "what", "bytes", "outcome", "p50 ms", "max ms", "CPU p50 ms", "peak MB"],
            [
                [
                    c.name,
                    c.what,
                    f"{rows[c.name]['size']:,}",
                    rows[c.name]["outcome"],
                    _ms(percentile(rows[c.name]["times"], 50)),
                    _ms(max(rows[c.name]["times"])),
                    _ms(percentile(rows[c.name]["cpu"], 50)),
                    _mb(rows[c.name]["peak_kib"]),
                ]
                for c in slowest
            ],
        ),
    ]
    if issues:
        lines += [
            "",
            "## Known issues (each in its own process)",
            "",
            "Files still over a bound with the current `bot/hashing.py` "
            "(`corpus.KNOWN_ISSUES`; the tests hold them in strict xfail under `-m slow`).",
            "",
            md_table(
                ["file", "what", "bytes", "outcome", "wall s", "CPU s", "peak MB", "why"],
                [
                    [
                        c.name,
                        c.what,
                        f"{rows[c.name]['size']:,}",
                        rows[c.name]["outcome"],
                        f"{max(rows[c.name]['times']):.2f}" if rows[c.name]["times"] else "-",
                        f"{max(rows[c.name]['cpu']):.2f}" if rows[c.name]["cpu"] else "-",
                        _mb(issue_peaks[c.name]),
                        corpus.KNOWN_ISSUES[c.name],
                    ]
                    for c in issues
                ],
            ),
        ]
    lines += [
        "",
        "## Every regular file",
        "",
        md_table(
            ["file", "expect", "bytes", "outcome", "detail", "p50 ms", "p99 ms", "max ms"],
            [
                [
                    c.name,
                    c.expect.value + (f" ({c.error})" if c.error else ""),
                    f"{rows[c.name]['size']:,}",
                    rows[c.name]["outcome"],
                    rows[c.name]["detail"][:60].replace("|", "/"),
                    _ms(percentile(rows[c.name]["times"], 50)),
                    _ms(percentile(rows[c.name]["times"], 99)),
                    _ms(max(rows[c.name]["times"])),
                ]
                for c in regular
            ],
        ),
        "",
        f"Run took {elapsed:.0f} s. Load average at the end: {loadavg()}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick:  # a quick run only prints: it must not replace the full results
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / "bad_input.md"
        path.write_text(text)
        print(f"(written to {path.relative_to(PROJECT_ROOT)})", file=sys.stderr)
    return 1 if untyped else 0


if __name__ == "__main__":
    raise SystemExit(main())
