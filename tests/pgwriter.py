"""A separate bot-like process for tests/test_postgres.py: inserts one guild's images.

    python -m tests.pgwriter URL GUILD SEED MESSAGE...

Opens the store (migrating a fresh database if it gets there first), prints ``ready``,
waits for a line on stdin, then inserts two images per message in batches of random size
(1 to 20), the messages in the order given, pausing 10 ms between batches. Finally
prints one JSON line: the [id, message_id, slot] of every row its add_images calls
reported as inserted.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys

from bot.records import NewImage
from bot.store.postgres import PostgresStore


def images(guild: int, message: int) -> list[NewImage]:
    return [
        NewImage(
            guild,
            10,
            message,
            100 + message % 7,
            slot,
            1_000 + message,
            message * 31 + slot,
            bytes(32),
            90,
        )
        for slot in (0, 1)
    ]


async def main(url: str, guild: int, seed: int, messages: list[int]) -> None:
    rng = random.Random(seed)
    inserted: list[list[int]] = []
    async with PostgresStore(url) as store:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        at = 0
        while at < len(messages):
            size = rng.randint(1, 20)
            batch = [img for m in messages[at : at + size] for img in images(guild, m)]
            at += size
            for record in await store.add_images(batch):
                inserted.append([record.id, record.message_id, record.slot])
            await asyncio.sleep(0.01)
    print(json.dumps(inserted), flush=True)


if __name__ == "__main__":
    url, guild, seed, *rest = sys.argv[1:]
    asyncio.run(main(url, int(guild), int(seed), [int(m) for m in rest]))
