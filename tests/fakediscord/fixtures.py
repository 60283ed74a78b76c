"""Pointing discord.py at the fake and running a bot against it.

``patch_discord(fake)`` swaps discord.py's REST base URL and gateway URL for
the fake's (and restores them); ``running_bot(fake, bot)`` logs a real
``commands.Bot`` in, connects it, waits for ``on_ready`` and closes it after.
Pytest fixtures ``fake_discord`` (a started :class:`FakeDiscord`) are provided
for conftest modules to import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import discord
import pytest
import yarl
from discord.ext import commands

from .fake import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.contextmanager
def patch_discord(fake: FakeDiscord) -> Iterator[FakeDiscord]:
    """Point discord.py's REST (``Route.BASE``), gateway and asset CDN at ``fake`` while inside.

    The gateway URL is only the first one: on RESUME discord.py uses
    ``resume_gateway_url`` from READY, which the fake sets to itself too.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    old_asset = discord.asset.Asset.BASE
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.ws_url)
    discord.asset.Asset.BASE = fake.base_url
    try:
        yield fake
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        discord.asset.Asset.BASE = old_asset


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    bot: ClientT,
    token: str = "test-token",
    *,
    ready_timeout: float = 5.0,
    guild_ready_timeout: float | None = 0.05,
    reidentify_delay: float | None = 0.0,
) -> AsyncIterator[ClientT]:
    """Log ``bot`` in against ``fake``, connect it, wait for ready; close it on exit.

    Two discord.py delays are shortened for fast tests (pass None to keep
    the bot's own behaviour): ``guild_ready_timeout``, the wait for
    GUILD_CREATEs after READY (2 s; the fake sends them all at once), and
    ``reidentify_delay``, the sleep of ``Client.before_identify_hook`` before
    a non-initial IDENTIFY, e.g. after an invalid session (5 s). Errors
    raised while connecting (or by ``setup_hook``) are re-raised here
    instead of hanging.
    """
    if guild_ready_timeout is not None:
        bot._connection.guild_ready_timeout = guild_ready_timeout
    if reidentify_delay is not None:
        delay = reidentify_delay

        async def before_identify_hook(shard_id: int | None, *, initial: bool = False) -> None:
            if not initial and delay:
                await asyncio.sleep(delay)

        bot.before_identify_hook = before_identify_hook  # type: ignore[method-assign]
    with patch_discord(fake):
        connect_task: asyncio.Task[None] | None = None
        try:
            await bot.login(token)
            connect_task = asyncio.create_task(bot.connect(reconnect=True), name="fakediscord-bot")
            ready_task = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {connect_task, ready_task},
                timeout=ready_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if ready_task not in done:
                ready_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready_task
                if connect_task in done:
                    connect_task.result()  # re-raise the connection error
                    raise RuntimeError("bot.connect() returned before the bot became ready")
                raise TimeoutError(f"bot not ready within {ready_timeout}s")
            yield bot
        finally:
            await bot.close()
            if connect_task is not None:
                try:
                    await asyncio.wait_for(connect_task, timeout=5.0)
                except (asyncio.CancelledError, TimeoutError):
                    connect_task.cancel()
                except Exception:
                    pass


def make_bot(
    *,
    command_prefix: str = "!",
    message_content: bool = True,
    members: bool = False,
) -> commands.Bot:
    """A plain ``commands.Bot`` with default intents (+ message content)."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = members
    return commands.Bot(command_prefix=command_prefix, intents=intents)


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR log records of the current test (setup, call, teardown) as ``"logger: message"``.

    discord.py logs, rather than raises, exceptions in event handlers, app
    commands and views ("Ignoring exception in ..."): assert this is empty.
    """
    return [
        f"{record.name}: {record.getMessage()}"
        for phase in ("setup", "call", "teardown")
        for record in caplog.get_records(phase)
        if record.levelno >= logging.ERROR
    ]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord`, stopped after the test."""
    async with FakeDiscord() as fake:
        yield fake
