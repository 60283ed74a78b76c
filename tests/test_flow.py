"""Flow control: fair admission under a burst, shedding past the bound, rate limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.flow import FairGate, RateLimit, Shed


async def test_one_busy_key_cannot_take_every_slot() -> None:
    gate = FairGate(total=4, per_key=2, max_waiting=100)
    running: dict[int, int] = {1: 0, 2: 0}
    peak: dict[int, int] = {1: 0, 2: 0}
    release = asyncio.Event()

    async def job(key: int) -> None:
        async with gate.slot(key):
            running[key] += 1
            peak[key] = max(peak[key], running[key])
            await release.wait()
            running[key] -= 1

    flood = [asyncio.create_task(job(1)) for _ in range(20)]
    await asyncio.sleep(0.01)
    quiet = asyncio.create_task(job(2))
    await asyncio.sleep(0.01)
    assert running[2] == 1  # the quiet guild got in while the busy one waits
    assert peak[1] == 2
    release.set()
    await asyncio.gather(*flood, quiet)
    assert gate.waiting == 0


async def test_work_past_the_waiting_bound_is_shed_and_counted() -> None:
    gate = FairGate(total=1, per_key=1, max_waiting=3)
    release = asyncio.Event()

    async def job() -> None:
        async with gate.slot(7):
            await release.wait()

    tasks = [asyncio.create_task(job()) for _ in range(4)]  # 1 running + 3 waiting
    await asyncio.sleep(0.01)
    with pytest.raises(Shed):
        async with gate.slot(7):
            pass
    assert gate.shed == 1
    release.set()
    await asyncio.gather(*tasks)


def test_rate_limit_is_per_key_and_slides() -> None:
    now = [0.0]
    limit = RateLimit(3, 10.0, clock=lambda: now[0])
    assert [limit.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limit.allow(2)
    now[0] = 10.0
    assert limit.allow(1)
    assert limit.refused == 1
