"""seenit as operators run it: the real ``python -m bot`` process against the fake Discord.

The fake runs in the test process; the bot is a child process aimed at it through
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY``, started from an unrelated working directory
with its SQLite file given by an absolute ``DATABASE_URL``. Every wait has a timeout and
every child is killed in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.botworld import text_of
from tests.conftest import DATA, PHOTOS, VARIANTS, encode, photo
from tests.fakediscord import Channel, FakeDiscord, Guild, Member

#: Environment variables seenit reads: none may leak in from the developer's shell.
SEENIT_VARIABLES = (
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "LOG_LEVEL",
    "HASH_WORKERS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "FETCH_TIMEOUT",
    "ALLOW_PRIVATE_URLS",
    "CATCHUP_LIMIT",
    "MAX_CACHED_GUILDS",
    "SHARD_COUNT",
    "SHARD_IDS",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY",
)
CONNECT_TIMEOUT = 10.0
EXIT_TIMEOUT = 10.0
ALERT_TIMEOUT = 8.0

CHELSEA = ("chelsea.jpg", (DATA / "chelsea.jpg").read_bytes())
COFFEE = ("coffee.jpg", (DATA / "coffee.jpg").read_bytes())
ROCKET = ("rocket.jpg", (DATA / "rocket.jpg").read_bytes())


def variant(name: str, edit: str) -> tuple[str, bytes]:
    return (f"{edit.replace(' ', '_')}.jpg", VARIANTS[edit](photo(name)))


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


def base_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SEENIT_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


@dataclass
class Town:
    fake: FakeDiscord
    guild: Guild
    general: Channel
    memes: Channel
    alice: Member
    bob: Member
    db_path: Path
    workdir: Path
    logs: Path

    def jump(self, channel: Channel, message: dict[str, object]) -> str:
        return f"https://discord.com/channels/{self.guild.id}/{channel.id}/{message['id']}"

    def env(self) -> dict[str, str]:
        return base_env(
            DISCORD_TOKEN="test-token",
            DATABASE_URL=f"sqlite:///{self.db_path}",  # absolute: four slashes
            DISCORD_API_BASE=self.fake.api_base,
            DISCORD_GATEWAY=self.fake.ws_url,
            HASH_WORKERS="1",
            LOG_LEVEL="INFO",
        )

    def downloads(self) -> list[int]:
        """Attachment ids the bot fetched from the fake's CDN (successful GETs)."""
        return [
            int(r.path.split("/")[-2])
            for r in self.fake.requests
            if r.method == "GET"
            and r.path.startswith(("/attachments/", "/media/attachments/"))
            and r.status == 200
        ]


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Process Town")
        category = fake.add_category(guild, "chat")
        yield Town(
            fake=fake,
            guild=guild,
            general=fake.add_text_channel(guild, "general", parent_id=category),
            memes=fake.add_text_channel(guild, "memes", parent_id=category),
            alice=fake.add_member(guild, "alice"),
            bob=fake.add_member(guild, "bob"),
            db_path=tmp_path / "db" / "seenit.db",
            workdir=workdir,
            logs=logs,
        )
        assert fake.internal_errors == []
        assert fake.unknown_requests == []


class BotProcess:
    """One ``python -m bot`` child; its stdout and stderr go to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def errors(self) -> list[str]:
        return [
            line
            for line in self.output().splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]

    async def stop(self) -> int:
        """SIGTERM, then the exit code (TimeoutError after ``EXIT_TIMEOUT`` seconds)."""
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), EXIT_TIMEOUT)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 5.0)


@contextlib.asynccontextmanager
async def seenit_process(town: Town, name: str) -> AsyncIterator[BotProcess]:
    """``python -m bot`` connected to the fake (IDENTIFY received); killed on the way out."""
    identifies = len(town.fake.gateway.identifies)
    log = town.logs / f"{name}.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=town.workdir,
            env=town.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    bot = BotProcess(proc, log)
    try:
        exited = asyncio.create_task(proc.wait())
        connected = asyncio.create_task(
            town.fake.wait_until(
                lambda: (
                    len(town.fake.gateway.identifies) > identifies and town.fake.gateway.connected
                ),
                timeout=CONNECT_TIMEOUT,
                what="the bot process to IDENTIFY",
            )
        )
        done, _ = await asyncio.wait({exited, connected}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if connected not in done:
            connected.cancel()
            raise AssertionError(f"bot exited with {proc.returncode}:\n{bot.tail()}")
        connected.result()
        yield bot
    finally:
        await bot.kill()


def stored_rows(db_path: Path) -> list[tuple[int, int]]:
    """(message id, slot) of every stored image, read with the sqlite3 module."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return [(int(m), int(s)) for m, s in db.execute("SELECT message_id, slot FROM images")]


def integrity(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def wait_stored(town: Town, count: int, wait: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            have = len(stored_rows(town.db_path))
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
    town: Town, caught: list[BotProcess]
) -> None:
    async with seenit_process(town, "run") as bot:
        caught.append(bot)
        original = await town.fake.post_message(town.general, town.alice, attachments=[CHELSEA])
        await wait_stored(town, 1)
        repost = await town.fake.post_message(
            town.memes, town.bob, attachments=[variant("chelsea.jpg", "mirrored")]
        )
        alert = await town.fake.wait_for_message(town.memes, after=repost, timeout=ALERT_TIMEOUT)
        assert alert["message_reference"]["message_id"] == repost["id"]
        assert town.jump(town.general, original) in text_of(alert)
        assert await bot.stop() == 0
    assert "stopping" in bot.output()


async def test_sigterm_during_a_burst_exits_cleanly_and_keeps_every_downloaded_image(
    town: Town, caught: list[BotProcess]
) -> None:
    images = burst_images(30)
    async with seenit_process(town, "burst") as bot:
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
        at_signal = len(town.downloads())
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await asyncio.wait_for(bot.proc.wait(), EXIT_TIMEOUT)
        took = loop.time() - started
    assert code == 0, bot.tail()
    assert took < EXIT_TIMEOUT
    assert integrity(town.db_path) == "ok"
    downloaded = town.downloads()
    assert len(downloaded) == len(set(downloaded)), "an attachment was fetched twice"
    stored = stored_rows(town.db_path)
    # Nothing acknowledged (downloaded, so hashed and stored, or about to be) is lost ...
    assert sorted(stored) == sorted((posted[a], 0) for a in downloaded), (
        f"{len(downloaded)} downloaded ({at_signal} when signalled), {len(stored)} stored\n"
        + bot.tail()
    )
    # ... and the test was not vacuous: the burst was under way when the signal came.
    assert 1 <= len(stored) <= len(images)


async def test_a_restarted_process_alerts_on_reposts_of_earlier_images(
    town: Town, caught: list[BotProcess]
) -> None:
    async with seenit_process(town, "first") as first:
        caught.append(first)
        original = await town.fake.post_message(town.general, town.alice, attachments=[ROCKET])
        await town.fake.post_message(town.general, town.bob, attachments=[COFFEE])
        await wait_stored(town, 2)
        assert await first.stop() == 0
    syncs = town.fake.sync_count
    async with seenit_process(town, "second") as second:
        caught.append(second)
        repost = await town.fake.post_message(
            town.memes, town.bob, attachments=[variant("rocket.jpg", "half size")]
        )
        alert = await town.fake.wait_for_message(town.memes, after=repost, timeout=ALERT_TIMEOUT)
        assert town.jump(town.general, original) in text_of(alert)
        assert await second.stop() == 0
    # Same command definitions on the same database: no second sync.
    assert town.fake.sync_count == syncs == 1
    assert len(stored_rows(town.db_path)) == 3
    assert integrity(town.db_path) == "ok"


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
