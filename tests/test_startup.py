"""Start-up as operators meet it: a .env file, Discord unreachable, a token or commands refused.

The real ``python -m bot`` runs as a child process against the fake Discord (or against
nothing at all); the command-sync test runs seenit in this process to inspect its store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.client import COMMAND_HASH_KEY, SeenitBot
from bot.config import Config
from bot.fetch import Fetcher
from bot.hashing_pool import Hasher
from bot.service import SeenService
from bot.store import open_store
from tests.botworld import World, jump, text_of
from tests.fakediscord import FakeDiscord, running_bot
from tests.procbot import BotProcess, Database, base_env, build_proc_world
from tests.support import CHELSEA

EXIT_TIMEOUT = 30.0  # generous: the shared machines are slow when loaded


def free_port() -> int:
    """A local port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def started(env: dict[str, str], cwd: Path, log: Path) -> AsyncIterator[BotProcess]:
    """``python -m bot`` with exactly this environment; killed on the way out."""
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,
        )
    bot = BotProcess(proc, log)
    try:
        yield bot
    finally:
        await bot.kill()


async def wait_for_lines(bot: BotProcess, text: str, count: int, wait: float) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        lines = [line for line in bot.output().splitlines() if text in line]
        if len(lines) >= count:
            return lines
        if bot.proc.returncode is not None or loop.time() > deadline:
            raise AssertionError(f"expected {count} lines with {text!r}:\n{bot.tail()}")
        await asyncio.sleep(0.05)


def no_traceback(bot: BotProcess) -> None:
    assert "Traceback" not in bot.output(), bot.output()


async def test_refused_connections_and_5xx_at_start_up_are_retried_until_discord_answers(
    tmp_path: Path,
) -> None:
    port = free_port()
    db = Database(f"sqlite:///{tmp_path / 'seenit.db'}")
    fake = FakeDiscord(port=port)
    world = build_proc_world(fake, db, tmp_path)
    async with started(world.env(), world.workdir, world.logs / "bot.log") as bot:
        first = await wait_for_lines(bot, "cannot reach Discord", 1, wait=10.0)
        assert "attempt 1" in first[0] and "retrying in 2 s" in first[0]
        # Discord comes up, but its API answers 503 once: the next attempt waits longer.
        fake.inject_fault("GET", "/users/@me", status=503, count=1)
        async with fake:
            lines = await wait_for_lines(bot, "cannot reach Discord", 2, wait=10.0)
            assert "attempt 2" in lines[1] and "503" in lines[1] and "retrying in 4 s" in lines[1]
            await fake.wait_until(
                lambda: fake.gateway.identifies and fake.gateway.connected,
                timeout=15.0,
                what="the bot to connect",
            )
            original = await fake.post_message(world.general, world.alice, attachments=[CHELSEA])
            await db.wait_count(lambda n: n == 1, wait=10.0, what="the first image")
            repost = await fake.post_message(world.memes, world.bob, attachments=[CHELSEA])
            alert = await fake.wait_for_message(world.memes, after=repost, timeout=10.0)
            assert f"{world.general.id}/{original['id']}" in text_of(alert)
            assert await bot.stop(EXIT_TIMEOUT) == 0
    no_traceback(bot)
    # One line per failed attempt, nothing else about it.
    assert len([ln for ln in bot.output().splitlines() if "cannot reach" in ln]) == 2


async def test_a_name_that_does_not_resolve_is_one_line_per_attempt_and_sigterm_stops(
    tmp_path: Path,
) -> None:
    env = base_env(
        DISCORD_TOKEN="test-token",
        DATABASE_URL=f"sqlite:///{tmp_path / 'seenit.db'}",
        DISCORD_API_BASE="http://seenit-test.invalid/api/v10",
        DISCORD_GATEWAY="ws://seenit-test.invalid/",
        HASH_WORKERS="0",
    )
    async with started(env, tmp_path, tmp_path / "bot.log") as bot:
        (line,) = await wait_for_lines(bot, "cannot reach Discord", 1, wait=10.0)
        assert "seenit-test.invalid" in line
        assert await bot.stop(EXIT_TIMEOUT) == 0
    no_traceback(bot)


async def test_a_gateway_that_refuses_connections_is_one_line_per_attempt(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as fake:
        world = build_proc_world(fake, Database(f"sqlite:///{tmp_path / 'seenit.db'}"), tmp_path)
        env = world.env(DISCORD_GATEWAY=f"ws://127.0.0.1:{free_port()}/")
        async with started(env, world.workdir, world.logs / "bot.log") as bot:
            lines = await wait_for_lines(bot, "Failed to connect", 2, wait=20.0)
            assert all("Connect call failed" in line for line in lines), lines
            assert await bot.stop(EXIT_TIMEOUT) == 0
    no_traceback(bot)


async def test_a_refused_token_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-real-token") as fake:
        world = build_proc_world(fake, Database(f"sqlite:///{tmp_path / 'seenit.db'}"), tmp_path)
        async with started(
            world.env(DISCORD_TOKEN="a-wrong-token"), world.workdir, world.logs / "bot.log"
        ) as bot:
            code = await asyncio.wait_for(bot.proc.wait(), EXIT_TIMEOUT)
    assert code == 2
    errors = [ln for ln in bot.output().splitlines() if ln.startswith("seenit:")]
    assert errors == ["seenit: Discord refused the token (DISCORD_TOKEN)"], bot.output()
    assert "a-wrong-token" not in bot.output()
    no_traceback(bot)


async def test_a_dotenv_with_comments_quotes_and_export_starts_the_bot(tmp_path: Path) -> None:
    async with FakeDiscord(token="test-token") as fake:
        world = build_proc_world(fake, Database(f"sqlite:///{tmp_path / 'seenit.db'}"), tmp_path)
        (world.workdir / ".env").write_text(
            "# seenit settings\n"
            "LOG_LEVEL=info  # more detail when debugging\n"
            'export DISCORD_TOKEN="test-token" # from the developer portal\n'
            "HASH_WORKERS='0'\n"
        )
        env = world.env()
        for name in ("DISCORD_TOKEN", "LOG_LEVEL", "HASH_WORKERS"):
            del env[name]  # only the .env file sets these
        async with started(env, world.workdir, world.logs / "bot.log") as bot:
            await fake.wait_until(
                lambda: fake.gateway.identifies and fake.gateway.connected,
                timeout=15.0,
                what="the bot to connect",
            )
            assert await bot.stop(EXIT_TIMEOUT) == 0
    assert " INFO " in bot.output()
    no_traceback(bot)


async def test_a_malformed_setting_in_dotenv_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc\nLOG_LEVEL=chatty # typo\n")
    env = base_env()
    async with started(env, tmp_path, tmp_path / "bot.log") as bot:
        code = await asyncio.wait_for(bot.proc.wait(), EXIT_TIMEOUT)
    assert code == 2
    assert bot.output().splitlines() == [
        "seenit: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'chatty'"
    ]


# ------------------------------------------------------------ a rejected command sync


class SeenitWithABadCommand(SeenitBot):
    """seenit plus one command whose description Discord refuses (over 100 characters)."""

    async def setup_hook(self) -> None:
        async def broken(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("never")

        if self.tree.get_command("broken") is None:
            self.tree.add_command(
                app_commands.Command(name="broken", description="x" * 101, callback=broken)
            )
        await super().setup_hook()


@contextlib.asynccontextmanager
async def seenit_with_a_bad_command(world: World) -> AsyncIterator[SeenitBot]:
    config = Config(database_url=world.db_url, hash_workers=0, allow_private_urls=True)
    async with (
        open_store(config.database_url) as store,
        Hasher(0) as hasher,
        Fetcher(max_bytes=config.max_image_bytes, timeout=5.0, allow_private=True) as fetcher,
    ):
        bot = SeenitWithABadCommand(
            config=config, service=SeenService(store, hasher), fetcher=fetcher
        )
        world.bots.append(bot)
        async with running_bot(world.fake, bot):
            yield bot


async def test_a_command_sync_discord_rejects_is_one_error_and_alerts_still_work(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with seenit_with_a_bad_command(world) as bot:
        rejected = world.fake.requests_matching("PUT", "*/commands")
        assert [r.status for r in rejected] == [400]
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        message = errors[0].getMessage()
        assert "\n" not in message and errors[0].exc_info is None
        assert "'broken'" in message and "description" in message
        assert "Must be between 1 and 100 in length" in message
        # No sync was recorded, so the next start tries again.
        assert await bot.service.store.get_meta(COMMAND_HASH_KEY) is None
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        repost = await world.post(world.memes, world.bob, CHELSEA)
        alert = await world.fake.wait_for_message(world.memes, after=repost)
        assert jump(world, world.general, original) in text_of(alert)
    async with seenit_with_a_bad_command(world):
        assert len(world.fake.requests_matching("PUT", "*/commands")) == 2
    assert world.fake.internal_errors == []
