"""seenit as operators run it: the real ``python -m bot`` process against the fake Discord.

The fake runs in the test process; the bot is a child process aimed at it through
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY``, started from an unrelated working directory
with its SQLite file given by an absolute ``DATABASE_URL``. Every wait has a timeout and
every child is killed in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.botworld import text_of
from tests.fakediscord import Channel, FakeDiscord
from tests.procbot import BotProcess, Database, ProcWorld, base_env, bot_process, build_proc_world
from tests.support import CHELSEA, COFFEE, PHOTOS, ROCKET, encode, photo, variant

EXIT_TIMEOUT = 30.0  # generous: the shared machines are slow when loaded
ALERT_TIMEOUT = 8.0


def burst_images(count: int) -> list[tuple[str, bytes]]:
    """``count`` different pictures: tiles of a 2x3 grid over each committed photo."""
    images: list[tuple[str, bytes]] = []
    tiles = [(col, row) for row in range(2) for col in range(3)]
    for n in range(count):
        name = PHOTOS[n % len(PHOTOS)]
        col, row = tiles[(n // len(PHOTOS)) % len(tiles)]
        im: Image.Image = photo(name)
        w, h = im.width // 3, im.height // 2
        tile = im.crop((col * w, row * h, (col + 1) * w, (row + 1) * h))
        images.append((f"burst-{n:02d}.jpg", encode(tile.resize((256, 256)), quality=85)))
    return images


def jump(world: ProcWorld, channel: Channel, message: dict[str, object]) -> str:
    return f"https://discord.com/channels/{world.guild.id}/{channel.id}/{message['id']}"


def downloads(world: ProcWorld) -> list[int]:
    """Attachment ids the bot fetched from the fake's CDN (successful GETs)."""
    return [
        int(r.path.split("/")[-2])
        for r in world.fake.requests
        if r.method == "GET"
        and r.path.startswith(("/attachments/", "/media/attachments/"))
        and r.status == 200
    ]


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[ProcWorld]:
    db = Database(f"sqlite:///{tmp_path / 'db' / 'seenit.db'}")  # absolute: four slashes
    async with FakeDiscord() as fake:
        yield build_proc_world(fake, db, tmp_path)
        assert fake.internal_errors == []
        assert fake.unknown_requests == []


def stored_rows(db_path: Path) -> list[tuple[int, int]]:
    """(message id, slot) of every stored image, read with the sqlite3 module."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return [(int(m), int(s)) for m, s in db.execute("SELECT message_id, slot FROM images")]


def integrity(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def wait_stored(town: ProcWorld, count: int, wait: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            have = len(stored_rows(town.db.sqlite_path))
        except sqlite3.OperationalError:
            have = -1  # not created yet, or busy
        if have == count:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"expected {count} stored images, have {have}")
        await asyncio.sleep(0.05)


@pytest.fixture
def caught() -> Iterator[list[BotProcess]]:
    """Bot processes of a test: none may have logged an error."""
    bots: list[BotProcess] = []
    yield bots
    for bot in bots:
        assert bot.errors() == [], bot.tail()


async def test_a_repost_gets_an_alert_from_the_bot_process(
    town: ProcWorld, caught: list[BotProcess]
) -> None:
    async with bot_process(town, "run") as bot:
        caught.append(bot)
        original = await town.fake.post_message(town.general, town.alice, attachments=[CHELSEA])
        await wait_stored(town, 1)
        repost = await town.fake.post_message(
            town.memes, town.bob, attachments=[variant("chelsea.jpg", "mirrored")]
        )
        alert = await town.fake.wait_for_message(town.memes, after=repost, timeout=ALERT_TIMEOUT)
        assert alert["message_reference"]["message_id"] == repost["id"]
        assert jump(town, town.general, original) in text_of(alert)
        assert await bot.stop(EXIT_TIMEOUT) == 0
    assert "stopping" in bot.output()
    # seenit has no voice: discord.py's missing-voice-library warnings are silenced.
    assert "voice will NOT be supported" not in bot.output()


async def test_sigterm_during_a_burst_exits_cleanly_and_keeps_every_downloaded_image(
    town: ProcWorld, caught: list[BotProcess]
) -> None:
    images = burst_images(30)
    async with bot_process(town, "burst") as bot:
        caught.append(bot)
        posted: dict[int, int] = {}  # attachment id -> message id
        for n, image in enumerate(images):
            channel = town.general if n % 2 else town.memes
            msg = await town.fake.post_message(channel, town.alice, attachments=[image])
            posted[int(msg["attachments"][0]["id"])] = int(msg["id"])
        # Right after the posts, with the bot busy on them (at least one download started).
        await town.fake.wait_until(
            lambda: town.fake.requests_matching("GET", "/attachments/*"),
            timeout=5.0,
            what="the first download",
        )
        bot.proc.send_signal(signal.SIGTERM)
        at_signal = len(downloads(town))
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await asyncio.wait_for(bot.proc.wait(), EXIT_TIMEOUT)
        took = loop.time() - started
    assert code == 0, bot.tail()
    assert took < EXIT_TIMEOUT
    assert integrity(town.db.sqlite_path) == "ok"
    downloaded = downloads(town)
    assert len(downloaded) == len(set(downloaded)), "an attachment was fetched twice"
    stored = stored_rows(town.db.sqlite_path)
    # Nothing acknowledged (downloaded, so hashed and stored, or about to be) is lost ...
    assert sorted(stored) == sorted((posted[a], 0) for a in downloaded), (
        f"{len(downloaded)} downloaded ({at_signal} when signalled), {len(stored)} stored\n"
        + bot.tail()
    )
    # ... and the test was not vacuous: the burst was under way when the signal came.
    assert 1 <= len(stored) <= len(images)


async def test_a_restarted_process_alerts_on_reposts_of_earlier_images(
    town: ProcWorld, caught: list[BotProcess]
) -> None:
    async with bot_process(town, "first") as first:
        caught.append(first)
        original = await town.fake.post_message(town.general, town.alice, attachments=[ROCKET])
        await town.fake.post_message(town.general, town.bob, attachments=[COFFEE])
        await wait_stored(town, 2)
        assert await first.stop(EXIT_TIMEOUT) == 0
    syncs = town.fake.sync_count
    async with bot_process(town, "second") as second:
        caught.append(second)
        repost = await town.fake.post_message(
            town.memes, town.bob, attachments=[variant("rocket.jpg", "half size")]
        )
        alert = await town.fake.wait_for_message(town.memes, after=repost, timeout=ALERT_TIMEOUT)
        assert jump(town, town.general, original) in text_of(alert)
        assert await second.stop(EXIT_TIMEOUT) == 0
    # Same command definitions on the same database: no second sync.
    assert town.fake.sync_count == syncs == 1
    assert len(stored_rows(town.db.sqlite_path)) == 3
    assert integrity(town.db.sqlite_path) == "ok"


async def test_without_a_token_the_process_says_so_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=empty,
        env=base_env(),  # no DISCORD_TOKEN, and no .env in the working directory
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 15.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode not in (0, None)
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert "DISCORD_TOKEN" in lines[0]
    assert out == b""
    assert list(empty.iterdir()) == []  # nothing created in the working directory
