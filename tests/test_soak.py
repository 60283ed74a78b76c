"""Soak: a burst of 2,000 images in a minute across five channels, nothing lost.

Run with ``pytest -m slow tests/test_soak.py``; CI runs the short flood tests instead
(tests/test_flood_e2e.py).
"""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from cogs._posts import channel_finder
from tests.botworld import World, seenit_running
from tests.test_flood_e2e import distinct_images

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_logged_errors")]

BURST = 2000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def test_two_thousand_images_in_a_minute(world: World) -> None:
    images = distinct_images(BURST)
    channels = [world.general, world.memes] + [
        world.fake.add_text_channel(world.guild, f"flood-{i}") for i in range(3)
    ]
    async with seenit_running(world):
        before = peak_rss_mib()
        started = time.monotonic()
        for i, data in enumerate(images):
            await world.post(channels[i % 5], world.carol, (f"{i}.jpg", data))
            if i % 50 == 49:
                await asyncio.sleep(0)  # let the bot breathe, as a real gateway would
        posted = time.monotonic() - started
        ingest = world.bot.ingest
        deadline = time.monotonic() + 120
        while await world.bot.service.store.count_images(world.guild.id) < BURST:
            assert time.monotonic() < deadline, "the burst was not absorbed in time"
            if ingest.gate.shed:
                await ingest.catch_up_shed(channel_finder(world.bot))
            await asyncio.sleep(0.2)
        drained = time.monotonic() - started
        print(
            f"\n{BURST} images posted in {posted:.1f} s, all stored after {drained:.1f} s;"
            f" peak waiting {ingest.gate.peak_waiting}, shed {ingest.gate.shed};"
            f" peak RSS {peak_rss_mib():.0f} MiB (+{peak_rss_mib() - before:.0f})"
        )
        assert posted < 60
        assert peak_rss_mib() - before < 500
