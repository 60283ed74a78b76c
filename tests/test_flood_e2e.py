"""Floods through the fake Discord: bounded work, rate-limited alerts, nothing lost."""

from __future__ import annotations

import asyncio
import io

import pytest

from bot.flow import FairGate
from cogs._posts import channel_finder
from tests.botworld import World, seenit_running
from tests.support import DATA, VARIANTS, photo

pytestmark = pytest.mark.usefixtures("no_logged_errors")


def distinct_images(count: int) -> list[bytes]:
    """Different pictures: tiles of the committed photos at different places and scales."""
    sources = [photo(name) for name in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg")]
    images = []
    for i in range(count):
        source = sources[i % len(sources)]
        side = 60 + (i * 7) % 80
        x, y = (i * 37) % (source.width - side), (i * 53) % (source.height - side)
        tile = source.crop((x, y, x + side, y + side)).resize((160, 160))
        buf = io.BytesIO()
        tile.save(buf, "JPEG", quality=85)
        images.append(buf.getvalue())
    return images


async def test_a_flood_of_reposts_gets_rate_limited_alerts_and_every_image_stored(
    world: World,
) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, ("r.jpg", (DATA / "rocket.jpg").read_bytes()))
        await world.settled(1)
        repost = VARIANTS["jpeg q40"](photo("rocket.jpg"))
        for _ in range(9):
            await world.post(world.general, world.bob, ("r.jpg", repost))
        await world.settled(10)
        await world.idle()
        alerts = world.fake.bot_messages_in(world.general)
        assert len(alerts) == 5  # ALERT_BURST: the rest of the flood is recorded, not posted
        stats = await world.bot.service.stats(world.guild.id)
        assert stats.alerts == 9


async def test_shed_messages_are_caught_up_from_history(world: World) -> None:
    images = distinct_images(40)
    async with seenit_running(world):
        ingest = world.bot.ingest
        # A tight gate: one message at a time, three waiting; the rest of the burst is shed.
        ingest.gate = FairGate(total=1, per_key=1, max_waiting=3)
        for i, data in enumerate(images):
            channel = (world.general, world.memes)[i % 2]
            await world.post(channel, world.alice, (f"{i}.jpg", data))
        await asyncio.sleep(0.5)
        shed = ingest.gate.shed
        assert shed > 0
        stored = await world.bot.service.store.count_images(world.guild.id)
        assert stored < 40
        await ingest.catch_up_shed(channel_finder(world.bot))
        await world.settled(40)
