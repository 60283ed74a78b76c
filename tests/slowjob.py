"""A fingerprint job with injected delays, for the hashing pool's timeout tests.

Importable by the pool's spawned workers. ``b"hang"`` never finishes, as a decoder stuck in
a loop would; ``b"wait:PATH"`` waits until the file PATH exists, then fingerprints a real
photo; ``b"opencv-threads"`` fingerprints the photo and gives, as its width, how many threads
OpenCV runs on in the worker; anything else is fingerprinted.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import cv2

from bot.hashing import Fingerprint, Limits, fingerprint

PHOTO = Path(__file__).parent / "data" / "chelsea.jpg"


def slow_job(data: bytes, limits: Limits) -> Fingerprint:
    if data == b"hang":
        Path(os.environ["SEENIT_TEST_HANG_PID"]).write_text(str(os.getpid()))
        while True:
            time.sleep(1)
    if data.startswith(b"wait:"):
        gate = Path(data[5:].decode())
        while not gate.exists():
            time.sleep(0.01)
        return fingerprint(PHOTO.read_bytes(), limits)
    if data == b"opencv-threads":
        return dataclasses.replace(
            fingerprint(PHOTO.read_bytes(), limits), width=cv2.getNumThreads()
        )
    return fingerprint(data, limits)
