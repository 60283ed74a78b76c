"""Fingerprint files in a fresh process; report outcomes, times and peak memory as JSON.

``python -m tests.badimages.run FILE... [--repeat N] [--stop-after SECONDS]``

Run in its own interpreter so that its peak resident memory (``VmHWM``) is that of a
hashing worker and nothing else: the corpus is written to files by the caller, not built
here. When the kernel allows resetting the peak (``/proc/self/clear_refs``), each file's
own peak is reported too.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bot.hashing import ImageError
from bot.video import fingerprint_media


def peak_kib() -> int:
    """Peak resident memory of this process so far, in KiB (VmHWM on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    # ru_maxrss: KiB on Linux, bytes on macOS; and on Linux it survives exec (inherited).
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


def reset_peak() -> bool:
    """Reset VmHWM to the current resident size; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def outcome(data: bytes) -> tuple[str, str]:
    """("ok", "WxH") or (error class name, message); "untyped:<class>" for anything else."""
    try:
        fp = fingerprint_media(data)
    except ImageError as exc:
        return type(exc).__name__, str(exc)[:200]
    except Exception as exc:  # the point is to report these, not to die on them
        return f"untyped:{type(exc).__name__}", str(exc)[:200]
    return "ok", f"{fp.width}x{fp.height}"


def run(paths: list[Path], repeat: int = 1, stop_after: float = 60.0) -> dict[str, Any]:
    """Fingerprint each file ``repeat`` times (fewer once one run took over ``stop_after`` s).

    Per file: outcome, wall and CPU seconds of each run, and the peak resident memory while
    it was processed (when the peak can be reset; otherwise only the overall peak is known).
    """
    started = time.perf_counter()
    baseline = peak_kib()
    per_file_peaks = reset_peak()
    files: list[dict[str, Any]] = []
    for path in paths:
        data = path.read_bytes()
        if per_file_peaks:
            reset_peak()
        times: list[float] = []
        cpu: list[float] = []
        result = ("", "")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = outcome(data)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if times[-1] > stop_after:
                break
        del data
        files.append(
            {
                "name": path.name,
                "size": path.stat().st_size,
                "outcome": result[0],
                "detail": result[1],
                "times": times,
                "cpu": cpu,
                "peak_kib": peak_kib() if per_file_peaks else None,
            }
        )
    return {
        "baseline_kib": baseline,
        "peak_kib": max([baseline, peak_kib(), *(f["peak_kib"] or 0 for f in files)]),
        "per_file_peaks": per_file_peaks,
        "seconds": time.perf_counter() - started,
        "files": files,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stop-after", type=float, default=60.0)
    args = parser.parse_args(argv)
    # Warm up imports and lazy initialisation (scipy's FFT plans, Pillow plugins) first, so
    # the baseline is a ready worker.
    from tests.badimages.corpus import build, valid_reference

    fingerprint_media(valid_reference())
    fingerprint_media(build("video-valid.mp4"))
    json.dump(run(args.files, args.repeat, args.stop_after), sys.stdout)


if __name__ == "__main__":
    main()
