"""seenit when Discord misbehaves: rate limits, server errors, slow answers, a failing CDN,
dropped gateway connections, reconnect requests and invalid sessions.

The real discord.py client runs in-process against the fake Discord (tests/fakediscord), on a
real SQLite file, as in tests/test_bot_e2e.py. discord.py logs a WARNING when it is rate
limited; ``no_logged_errors`` only fails on ERROR and above, so every test uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import SeenitBot
from bot.config import Config
from bot.fetch import DISCORD_ATTEMPTS, Fetcher
from bot.hashing_pool import Hasher
from bot.service import SeenService
from bot.store import open_store
from tests.botworld import World, jump, text_of
from tests.fakediscord import Channel, RecordedRequest, running_bot
from tests.procbot import distinct_images
from tests.support import CHELSEA, COFFEE, ROCKET, variant

JSON = dict[str, Any]


pytestmark = pytest.mark.usefixtures("no_logged_errors")


@contextlib.asynccontextmanager
async def seenit(
    world: World, *, fetch_timeout: float = 5.0, reidentify_delay: float = 0.0
) -> AsyncIterator[SeenitBot]:
    """seenit on the world's SQLite file, logged in to the fake (tests/botworld.py's
    ``seenit_running``, with the download timeout and re-IDENTIFY delay adjustable)."""
    config = Config(database_url=world.db_url, hash_workers=0, allow_private_urls=True)
    async with (
        open_store(config.database_url) as store,
        Hasher(0) as hasher,
        Fetcher(
            max_bytes=config.max_image_bytes, timeout=fetch_timeout, allow_private=True
        ) as fetcher,
    ):
        bot = SeenitBot(config=config, service=SeenService(store, hasher), fetcher=fetcher)
        world.bots.append(bot)
        async with running_bot(world.fake, bot, reidentify_delay=reidentify_delay):
            yield bot


def db_path(world: World) -> Path:
    return Path(world.db_url.removeprefix("sqlite:///"))


def stored_keys(world: World) -> list[tuple[int, int]]:
    """(message id, slot) of every stored image, read behind the bot's back."""
    uri = f"file:{db_path(world)}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return [(int(m), int(s)) for m, s in db.execute("SELECT message_id, slot FROM images")]


def posts_to(world: World, channel: Channel) -> list[RecordedRequest]:
    return world.fake.requests_matching("POST", f"/channels/{channel.id}/messages")


def downloads_of(world: World, message: JSON) -> list[RecordedRequest]:
    attachment = message["attachments"][0]
    return world.fake.requests_matching(
        "GET", f"/attachments/{message['channel_id']}/{attachment['id']}/*"
    )


async def repost_and_alert(world: World) -> tuple[JSON, JSON]:
    """Chelsea in #general, stored, then mirrored in #memes; returns (original, repost)."""
    original = await world.post(world.general, world.alice, CHELSEA)
    await world.settled(1)
    repost = await world.post(world.memes, world.bob, variant("chelsea.jpg", "mirrored"))
    return original, repost


def assert_one_alert(world: World, original: JSON, repost: JSON, alert: JSON) -> None:
    alerts = world.fake.bot_messages_in(world.memes)
    assert [a["id"] for a in alerts] == [alert["id"]], "the alert was posted more than once"
    assert alert["message_reference"]["message_id"] == repost["id"]
    assert jump(world, world.general, original) in text_of(alert)


# --------------------------------------------------------------------- REST faults


async def test_a_rate_limited_alert_is_retried_and_posted_once(world: World) -> None:
    async with seenit(world):
        world.fake.rate_limit("POST", f"/channels/{world.memes.id}/messages", retry_after=0.3)
        original, repost = await repost_and_alert(world)
        alert = await world.fake.wait_for_message(world.memes, after=repost, timeout=8)
        assert_one_alert(world, original, repost, alert)
        assert [r.status for r in posts_to(world, world.memes)] == [429, 200]
        await world.idle()  # every handler has finished: nothing else can trickle in
        assert len(world.fake.bot_messages_in(world.memes)) == 1


async def test_a_server_error_on_the_alert_is_retried_and_posted_once(world: World) -> None:
    async with seenit(world):
        world.fake.server_error("POST", f"/channels/{world.memes.id}/messages")
        original, repost = await repost_and_alert(world)
        # discord.py waits 1 s before retrying a 500.
        alert = await world.fake.wait_for_message(world.memes, after=repost, timeout=8)
        assert_one_alert(world, original, repost, alert)
        assert [r.status for r in posts_to(world, world.memes)] == [500, 200]
        await world.idle()
        assert len(world.fake.bot_messages_in(world.memes)) == 1


async def test_a_slow_alert_does_not_hold_up_other_channels(world: World) -> None:
    slow = 3.0
    async with seenit(world):
        world.fake.inject_fault(
            "POST", f"/channels/{world.memes.id}/messages", status=None, delay=slow
        )
        original, repost = await repost_and_alert(world)
        stalled = await world.fake.wait_until(
            lambda: posts_to(world, world.memes), timeout=5, what="the alert POST"
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Meanwhile, in other channels: new images are indexed while the alert hangs.
        await world.post(world.general, world.carol, ROCKET)
        await world.post(world.staff, world.mod, COFFEE)
        await world.settled(4, wait=slow)
        took = loop.time() - started
        assert stalled[0].status is None, "the slow alert finished first: nothing was shown"
        assert took < slow / 2, f"indexing waited {took:.2f} s for the slow alert"
        alert = await world.fake.wait_for_message(world.memes, after=repost, timeout=slow + 3)
        assert_one_alert(world, original, repost, alert)
        assert [r.status for r in posts_to(world, world.memes)] == [200]


async def test_a_rate_limited_interaction_callback_still_answers(world: World) -> None:
    async with seenit(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        world.fake.rate_limit("POST", "/interactions/*/*/callback", retry_after=0.3)
        rec = await world.fake.slash_command(
            world.guild,
            world.memes,
            world.bob,
            "findsimilar",
            {"image": variant("chelsea.jpg", "grayscale")},
        )
        answer = await rec.wait_final(timeout=8)
        assert rec.ephemeral
        assert jump(world, world.general, original) in text_of(answer)
        callbacks = world.fake.requests_matching("POST", "/interactions/*/*/callback")
        assert [r.status for r in callbacks] in ([429, 200], [429, 204])
        assert len(rec.callbacks) == 1 and len(rec.messages) == 1


# ---------------------------------------------------------------------- CDN faults


async def test_a_download_failing_once_with_500_is_retried(world: World) -> None:
    async with seenit(world):
        world.fake.server_error("GET", "/attachments/*/*/chelsea.jpg")
        message = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1, wait=5)
        await world.idle()  # committed: the bot's own connection sees its open transaction
        assert stored_keys(world) == [(int(message["id"]), 0)]
        assert [r.status for r in downloads_of(world, message)] == [500, 200]


async def test_a_download_timing_out_once_is_retried(world: World) -> None:
    async with seenit(world, fetch_timeout=0.5):
        world.fake.inject_fault("GET", "/attachments/*/*/chelsea.jpg", status=None, delay=1.0)
        message = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1, wait=5)
        await world.idle()  # committed: the bot's own connection sees its open transaction
        assert stored_keys(world) == [(int(message["id"]), 0)]
        assert len(downloads_of(world, message)) == 2


async def test_a_download_that_keeps_failing_is_skipped_logged_and_the_bot_carries_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ingest")
    async with seenit(world):
        world.fake.server_error("GET", "/attachments/*/*/chelsea.jpg", count=DISCORD_ATTEMPTS)
        broken = await world.post(world.general, world.alice, CHELSEA)
        await world.fake.wait_until(
            lambda: (
                len(downloads_of(world, broken)) == DISCORD_ATTEMPTS
                and all(r.status == 500 for r in downloads_of(world, broken))
            ),
            timeout=5,
            what="every download attempt",
        )
        after = await world.post(world.general, world.bob, ROCKET)
        await world.settled(1)
        await world.idle()
        assert stored_keys(world) == [(int(after["id"]), 0)]
        assert len(downloads_of(world, broken)) == DISCORD_ATTEMPTS
    skipped = [r.getMessage() for r in caplog.records if r.name == "bot.ingest"]
    assert any("skipped image" in m and "HTTP 500" in m for m in skipped), skipped


# ------------------------------------------------------------------ gateway faults


async def test_a_gateway_drop_mid_burst_resumes_and_stores_every_image_once(
    world: World,
) -> None:
    images = distinct_images(20, prefix="burst")
    async with seenit(world):
        posted: list[JSON] = []
        for n, image in enumerate(images):
            if n == 10:
                assert await world.fake.drop_gateway() == 1
            channel = world.general if n % 2 else world.memes
            posted.append(await world.post(channel, world.alice, image))
        await world.fake.wait_for_resume(timeout=5)
        await world.settled(len(images), wait=8)
        await world.idle()  # every event is handled: a replayed duplicate would show by now
        keys = stored_keys(world)
        assert sorted(keys) == sorted((int(m["id"]), 0) for m in posted)
        # Each message processed once: one download per attachment, no alert.
        fetched = Counter(
            int(r.path.split("/")[-2])
            for r in world.fake.requests_matching("GET", "/attachments/*")
        )
        assert fetched == Counter(int(m["attachments"][0]["id"]) for m in posted)
        assert len(world.fake.gateway.identifies) == 1  # resumed, not re-identified
        assert world.fake.bot_messages_in(world.general) == []
        assert world.fake.bot_messages_in(world.memes) == []


async def test_op7_reconnect_and_an_invalid_session_keep_the_bot_working(world: World) -> None:
    async with seenit(world) as bot:
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)

        await world.fake.gateway.send_reconnect()  # op 7: discord.py reconnects and RESUMEs
        await world.fake.wait_for_resume(timeout=5)
        await world.post(world.general, world.bob, ROCKET)
        await world.settled(2)

        await world.fake.gateway.invalidate_sessions(resumable=False)  # op 9: IDENTIFY again
        await world.fake.wait_until(
            lambda: len(world.fake.gateway.identifies) == 2, timeout=5, what="a new IDENTIFY"
        )
        await world.fake.wait_for_gateway_connected(timeout=5)
        await world.fake.wait_until(bot.is_ready, timeout=5, what="ready again")
        await world.post(world.general, world.carol, COFFEE)
        await world.settled(3)
        # And it still alerts (on someone else's image: own reposts are ignored by default).
        repost = await world.post(world.memes, world.alice, variant("rocket.jpg", "half size"))
        alert = await world.fake.wait_for_message(world.memes, after=repost, timeout=8)
        assert alert["message_reference"]["message_id"] == repost["id"]


async def test_images_posted_while_re_identifying_are_caught_up(world: World) -> None:
    async with seenit(world, reidentify_delay=1.0) as bot:
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        await world.fake.gateway.invalidate_sessions(resumable=False)
        await world.fake.wait_until(
            lambda: not world.fake.gateway.live_sessions, timeout=5, what="the session to end"
        )
        lost = await world.post(world.general, world.bob, ROCKET)  # no session to deliver it
        await world.fake.wait_until(
            lambda: len(world.fake.gateway.identifies) == 2, timeout=5, what="a new IDENTIFY"
        )
        await world.fake.wait_until(bot.is_ready, timeout=5, what="ready again")
        later = await world.post(world.general, world.carol, COFFEE)
        await world.fake.wait_until(
            lambda: (int(later["id"]), 0) in stored_keys(world), timeout=5, what="a live image"
        )
        # The catch-up after the new session stores it; a lost image times out here.
        await world.fake.wait_until(
            lambda: (int(lost["id"]), 0) in stored_keys(world),
            timeout=5,
            what="the image posted meanwhile",
        )
