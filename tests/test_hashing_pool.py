"""The hashing pool refuses a job that hangs, replaces its worker and loses no other job."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.hashing import fingerprint
from bot.hashing_pool import Hasher, HashingTimedOut
from tests.conftest import DATA
from tests.slowjob import slow_job

CHELSEA = (DATA / "chelsea.jpg").read_bytes()
COFFEE = (DATA / "coffee.jpg").read_bytes()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_a_hanging_decode_is_refused_and_its_worker_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang_pid = tmp_path / "hang.pid"
    monkeypatch.setenv("SEENIT_TEST_HANG_PID", str(hang_pid))  # the spawned workers inherit it
    gate = tmp_path / "go"
    async with Hasher(2, timeout=4.0, job=slow_job) as hasher:
        # Both workers busy: one stuck for good, then one on an image that is merely waiting.
        stuck = asyncio.create_task(hasher.fingerprint(b"hang"))
        for _ in range(1500):  # a worker process writes it: poll (spawning takes seconds)
            if hang_pid.exists():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.0)  # well inside its own time when the stuck one is given up
        waiting = asyncio.create_task(hasher.fingerprint(b"wait:" + str(gate).encode()))
        with pytest.raises(HashingTimedOut):
            await stuck
        pid = int(hang_pid.read_text())
        gate.touch()
        # The other image lost its worker with the stuck one: it is run again, not refused.
        assert await waiting == fingerprint(CHELSEA)
        for _ in range(100):  # the kill is asynchronous
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not alive(pid), "the stuck worker still runs"
        assert await hasher.fingerprint(COFFEE) == fingerprint(COFFEE)
        assert os.getpid() != pid


async def test_workers_run_opencv_on_one_thread() -> None:
    """A worker is one process per core: OpenCV's own threads would only add CPU time."""
    async with Hasher(1, job=slow_job) as hasher:
        reported = await hasher.fingerprint(b"opencv-threads")
    assert reported.width == 1
    assert reported.local == fingerprint(CHELSEA).local
