"""KeyedLock: work on one key never overlaps, and no lock outlives its users."""

from __future__ import annotations

import asyncio

from bot.keyed_lock import KeyedLock


async def test_three_users_of_one_key_never_overlap() -> None:
    locks = KeyedLock()
    inside: list[str] = []
    overlaps = 0

    async def work(name: str) -> None:
        nonlocal overlaps
        async with locks.hold(42):
            inside.append(name)
            if len(inside) > 1:
                overlaps += 1
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside.remove(name)

    first = asyncio.create_task(work("post"))
    second = asyncio.create_task(work("preview"))
    await asyncio.sleep(0)  # both are in: one holds the lock, one waits
    # A third arrives exactly when the first releases and the second has not woken yet.
    third = asyncio.create_task(work("hide"))
    await asyncio.gather(first, second, third)
    assert overlaps == 0
    assert len(locks) == 0


async def test_different_keys_run_side_by_side() -> None:
    locks = KeyedLock()
    both_inside = asyncio.Event()
    entered = 0

    async def work(key: int) -> None:
        nonlocal entered
        async with locks.hold(key):
            entered += 1
            if entered == 2:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), timeout=5)

    await asyncio.gather(work(1), work(2))
    assert len(locks) == 0
