"""Runs fingerprinting off the event loop, in a pool of worker processes."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import signal
import sys
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Self

from bot.hashing import Fingerprint, ImageError, Limits, fingerprint

log = logging.getLogger(__name__)


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Worker start-up: on Linux, ask the kernel to kill this worker when the bot dies.

    Without it a bot killed with SIGKILL (say, by the out-of-memory killer) leaves its
    workers running.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) is not available")


class HashingCrashed(ImageError):
    reason = "the image could not be processed"


class Hasher:
    """Decodes and hashes image bytes without blocking the event loop.

    ``workers=0`` hashes in threads of this process (handy in tests); otherwise a process
    pool, rebuilt if a worker dies (for example killed for memory), keeps hashing
    CPU-parallel and isolates a hostile file from the bot process.
    """

    def __init__(self, workers: int = 2, limits: Limits | None = None) -> None:
        self.workers = workers
        self.limits = limits or Limits()
        self._pool: Executor | None = None

    def _new_pool(self) -> Executor:
        if self.workers <= 0:
            return ThreadPoolExecutor(max_workers=2, thread_name_prefix="seenit-hash")
        # "spawn": workers start clean, holding none of the bot's sockets or connections.
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_die_with_parent,
        )

    async def __aenter__(self) -> Self:
        self._pool = self._new_pool()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def fingerprint(self, data: bytes) -> Fingerprint:
        """Fingerprint bytes; raises :class:`ImageError` for anything unusable."""
        if self._pool is None:
            raise RuntimeError("the hasher is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fingerprint, data, self.limits)
        except BrokenProcessPool as exc:
            log.error("a hashing worker died; starting a new pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise HashingCrashed() from exc
