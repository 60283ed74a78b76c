"""``python -m bot``: start seenit. Every resource is opened and closed with ``async with``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import discord
import yarl

from bot.client import OneLineConnectErrors, SeenitBot, ingest_for, one_line
from bot.config import Config, ConfigError
from bot.fetch import Fetcher
from bot.hashing import Limits
from bot.hashing_pool import Hasher
from bot.service import SeenService
from bot.store import StoreError, open_store

log = logging.getLogger("bot")


def point_at(config: Config) -> None:
    """Aim discord.py at another Discord-compatible server (used by integration tests)."""
    if config.discord_api_base:
        discord.http.Route.BASE = config.discord_api_base.rstrip("/")
    if config.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.discord_gateway)


async def run(config: Config) -> None:
    token = config.require_token()
    point_at(config)
    limits = Limits(max_pixels=config.max_image_pixels, max_bytes=config.max_image_bytes)
    async with (
        open_store(config.database_url) as store,
        Hasher(config.hash_workers, limits, timeout=config.hash_timeout) as hasher,
        Fetcher(
            max_bytes=config.max_image_bytes,
            timeout=config.fetch_timeout,
            allow_private=config.allow_private_urls,
        ) as fetcher,
    ):
        service = SeenService(store, hasher, max_cached_guilds=config.max_cached_guilds)
        # One pipeline for every post, created here and handed to the bot's cogs.
        ingest = ingest_for(config, service, fetcher)
        async with SeenitBot(config=config, service=service, fetcher=fetcher, ingest=ingest) as bot:
            loop = asyncio.get_running_loop()
            stopping = asyncio.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
            runner = asyncio.create_task(bot.start_patiently(token))
            stopper = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                log.info("stopping: closing the gateway, HTTP session and database")
                if not bot.is_ready():
                    # Still waiting for Discord (its API or gateway) to answer: stop waiting.
                    runner.cancel()
                await bot.close()
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"seenit: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("discord.shard").addFilter(OneLineConnectErrors())
    try:
        config.require_token()
        asyncio.run(run(config))
    except ConfigError as exc:
        print(f"seenit: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"seenit: database: {exc}", file=sys.stderr)
        return 2
    except discord.LoginFailure:
        print("seenit: Discord refused the token (DISCORD_TOKEN)", file=sys.stderr)
        return 2
    except discord.HTTPException as exc:
        print(f"seenit: Discord refused to start the bot: {one_line(exc)}", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            "seenit: enable the Message Content intent for the bot in the developer portal",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
