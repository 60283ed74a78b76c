"""Flow control for bursts: bounded, fair admission of work and per-key rate limits. Pure."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class Shed(Exception):
    """The work was refused because too much is already waiting."""


class FairGate:
    """Admits at most ``total`` jobs at once, at most ``per_key`` of them for one key.

    One busy guild (a raid posting hundreds of images) then cannot take every hashing slot:
    other guilds' jobs still get in. At most ``max_waiting`` jobs may wait; beyond that new
    jobs are shed (the caller counts them and catches up later).
    """

    def __init__(self, total: int, per_key: int, max_waiting: int) -> None:
        self._total = asyncio.Semaphore(total)
        self._per_key_limit = per_key
        self._per_key: dict[int, asyncio.Semaphore] = {}
        self._users: dict[int, int] = defaultdict(int)
        self.max_waiting = max_waiting
        self.waiting = 0
        self.peak_waiting = 0
        self.shed = 0

    @asynccontextmanager
    async def slot(self, key: int) -> AsyncIterator[None]:
        if self.waiting >= self.max_waiting:
            self.shed += 1
            raise Shed()
        self.waiting += 1
        self.peak_waiting = max(self.peak_waiting, self.waiting)
        waiting = True
        semaphore = self._per_key.setdefault(key, asyncio.Semaphore(self._per_key_limit))
        self._users[key] += 1
        try:
            async with semaphore, self._total:
                self.waiting -= 1
                waiting = False
                yield
        finally:
            if waiting:
                self.waiting -= 1
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._per_key.pop(key, None)


class RateLimit:
    """At most ``count`` events per ``seconds`` for each key (a sliding window)."""

    def __init__(
        self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self._events: dict[int, deque[float]] = {}
        self.refused = 0

    def allow(self, key: int) -> bool:
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.seconds:
            events.popleft()
        if len(events) >= self.count:
            self.refused += 1
            return False
        events.append(now)
        return True
