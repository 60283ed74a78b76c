"""Runs fingerprinting off the event loop, in a pool of worker processes."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import signal
import sys
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Self

from bot.config import DEFAULTS
from bot.hashing import Fingerprint, ImageError, Limits
from bot.local.features import single_threaded
from bot.video import fingerprint_media

log = logging.getLogger(__name__)


PR_SET_PDEATHSIG = 1


def _worker_started() -> None:
    """Worker start-up: die with the bot, and run OpenCV on the worker's thread only."""
    _die_with_parent()
    single_threaded()


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker when the bot dies.

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


#: Seconds a fingerprint job may run (HASH_TIMEOUT's default): the slowest hostile file
#: seenit was tried on takes under a second, a 50 MP photo a few on a busy machine.
DEFAULT_JOB_TIMEOUT = DEFAULTS.hash_timeout

#: The job run for each image (tests inject a slow one); it must be picklable by reference.
Job = Callable[[bytes, Limits], Fingerprint]


#: Threads that hash when ``workers=0``.
THREADS = 2


def _started() -> None:
    """A no-op run once per worker of a new pool: it returns once the worker is up."""


class HashingCrashed(ImageError):
    reason = "the image could not be processed"


class HashingTimedOut(ImageError):
    reason = "the image took too long to decode"


class Hasher:
    """Decodes and hashes image bytes without blocking the event loop.

    ``workers=0`` hashes in threads of this process (handy in tests); otherwise a process
    pool, rebuilt if a worker dies (for example killed for memory), keeps hashing
    CPU-parallel and isolates a hostile file from the bot process.
    """

    def __init__(
        self,
        workers: int = 2,
        limits: Limits | None = None,
        *,
        timeout: float = DEFAULT_JOB_TIMEOUT,
        job: Job = fingerprint_media,
    ) -> None:
        self.workers = workers
        self.limits = limits or Limits()
        #: Seconds before a job is given up and its worker replaced.
        self.timeout = timeout
        self.job = job
        self._pool: Executor | None = None
        #: Finishes once the current pool's workers have started (spawning one takes a
        #: second or more on a busy machine: it does not count against a job's time).
        self._warm: asyncio.Future[list[BaseException | None]] | None = None
        #: At most one job per worker is handed to the pool, so a job starts running when
        #: it is handed over and its timeout measures its own work, not a queue.
        self._slots = asyncio.Semaphore(max(1, workers) if workers > 0 else THREADS)
        #: Pools whose workers were killed on purpose: their other jobs are run again.
        self._retired: weakref.WeakSet[Executor] = weakref.WeakSet()

    def _new_pool(self) -> Executor:
        if self.workers <= 0:
            pool: Executor = ThreadPoolExecutor(
                max_workers=THREADS, thread_name_prefix="seenit-hash"
            )
        else:
            # "spawn": workers start clean, holding none of the bot's sockets or connections.
            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_started,
            )
        loop = asyncio.get_running_loop()
        starts = [loop.run_in_executor(pool, _started) for _ in range(max(1, self.workers))]
        self._warm = asyncio.gather(*starts, return_exceptions=True)
        return pool

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
        """Fingerprint an image or a clip; raises :class:`ImageError` for anything unusable.

        A job running longer than ``timeout`` (a decoder stuck on a hostile file) is refused
        with :class:`HashingTimedOut` and its worker replaced; other jobs the replaced
        workers held are run again on the new ones.
        """
        loop = asyncio.get_running_loop()
        async with self._slots:
            while True:
                pool, warm = self._pool, self._warm
                if pool is None or warm is None:
                    raise RuntimeError("the hasher is not open")
                await asyncio.shield(warm)
                try:
                    return await asyncio.wait_for(
                        loop.run_in_executor(pool, self.job, data, self.limits), self.timeout
                    )
                except TimeoutError:
                    log.warning(
                        "an image took over %.0f s to fingerprint; replacing the hashing workers",
                        self.timeout,
                    )
                    self._replace(pool, kill=True)
                    raise HashingTimedOut() from None
                except BrokenProcessPool as exc:
                    if pool in self._retired and pool is not self._pool:
                        continue  # its workers were killed for another job: run it again
                    log.error("a hashing worker died; starting a new pool")
                    self._replace(pool, kill=False)
                    raise HashingCrashed() from exc

    def _replace(self, pool: Executor, *, kill: bool) -> None:
        """Put a new pool in place of ``pool`` (once), killing its workers if asked."""
        if pool is self._pool:
            self._pool = self._new_pool()
        # A stuck worker ignores shutdown: only killing it frees it. Threads cannot be
        # killed; a stuck thread (workers=0, tests only) is left to finish.
        processes = list((getattr(pool, "_processes", None) or {}).values()) if kill else []
        if kill:
            self._retired.add(pool)
        pool.shutdown(wait=False, cancel_futures=not kill)
        for process in processes:
            process.kill()
