"""Sharding settings reach discord.py, and guild indexes are loaded lazily with a bound."""

from __future__ import annotations

from pathlib import Path

from bot.client import SeenitBot
from bot.config import Config
from bot.fetch import Fetcher
from bot.hashing_pool import Hasher
from bot.service import SeenService
from bot.store import SQLiteStore


async def test_a_process_runs_only_its_shards(tmp_path: Path) -> None:
    config = Config.from_env({"SHARD_COUNT": "4", "SHARD_IDS": "1,3"}, None)
    async with SQLiteStore(f"sqlite:///{tmp_path / 's.db'}") as store, Hasher(0) as hasher:
        service = SeenService(store, hasher, max_cached_guilds=config.max_cached_guilds)
        bot = SeenitBot(config=config, service=service, fetcher=Fetcher(max_bytes=1000))
        assert bot.shard_count == 4
        assert list(bot.shard_ids or ()) == [1, 3]
        # Nothing is loaded before a guild's first event.
        assert service.loaded_guilds() == []


async def test_a_single_process_runs_everything(tmp_path: Path) -> None:
    config = Config.from_env({}, None)
    async with SQLiteStore(f"sqlite:///{tmp_path / 's.db'}") as store, Hasher(0) as hasher:
        bot = SeenitBot(
            config=config, service=SeenService(store, hasher), fetcher=Fetcher(max_bytes=1000)
        )
        assert bot.shard_count == 1 and bot.shard_ids is None
