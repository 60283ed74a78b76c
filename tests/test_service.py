"""The service on a real SQLite file: ingest, alerts and their filters, deletions, reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.guild_settings import GuildSettings
from bot.hashing_pool import Hasher
from bot.matching import PostContext
from bot.service import SeenService
from bot.store import SQLiteStore
from tests.support import DATA, VARIANTS, photo

GUILD = 1
DAY = 24 * 3600 * 1000


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[SeenService]:
    async with SQLiteStore(f"sqlite:///{tmp_path / 's.db'}") as store, Hasher(0) as hasher:
        yield SeenService(store, hasher)


def post(
    message: int,
    *,
    author: int = 100,
    channel: int = 10,
    at: int = DAY,
    roles: frozenset[int] = frozenset(),
) -> PostContext:
    return PostContext(GUILD, channel, message, author, at, roles)


async def ingest(service: SeenService, ctx: PostContext, *blobs: bytes):  # type: ignore[no-untyped-def]
    prints = [(slot, await service.fingerprint(b)) for slot, b in enumerate(blobs)]
    return await service.ingest(ctx, prints)


async def test_a_repost_by_someone_else_alerts_with_the_original(service: SeenService) -> None:
    original = (DATA / "chelsea.jpg").read_bytes()
    (first,) = await ingest(service, post(1, author=100), original)
    assert first.stored is not None and first.alert == ()
    (second,) = await ingest(
        service, post(2, author=200), VARIANTS["mirrored"](photo("chelsea.jpg"))
    )
    assert [m.image.message_id for m in second.alert] == [1]
    (third,) = await ingest(
        service, post(3, author=300), VARIANTS["half size"](photo("chelsea.jpg"))
    )
    assert sorted(m.image.message_id for m in third.alert) == [1, 2]
    (other,) = await ingest(service, post(4, author=300), (DATA / "coffee.jpg").read_bytes())
    assert other.alert == ()


async def test_own_posts_scope_age_and_exemptions(service: SeenService) -> None:
    data = (DATA / "rocket.jpg").read_bytes()
    await ingest(service, post(1, author=100, channel=10, at=DAY), data)
    (own,) = await ingest(service, post(2, author=100, channel=10, at=2 * DAY), data)
    assert own.matches and own.alert == ()  # the author's own earlier post
    await service.save_settings(GUILD, GuildSettings(scope="channel"))
    (elsewhere,) = await ingest(service, post(3, author=200, channel=11, at=3 * DAY), data)
    assert elsewhere.alert == ()
    await service.save_settings(GUILD, GuildSettings(max_age_days=1))
    (late,) = await ingest(service, post(4, author=300, channel=10, at=30 * DAY), data)
    assert late.alert == ()
    await service.save_settings(GUILD, GuildSettings(exempt_roles=frozenset({77})))
    (exempt,) = await ingest(service, post(5, author=400, at=3 * DAY, roles=frozenset({77})), data)
    assert exempt.matches and exempt.alert == ()
    (alerted,) = await ingest(service, post(6, author=500, at=3 * DAY), data)
    assert alerted.alert


async def test_allowlisted_images_never_alert(service: SeenService) -> None:
    data = (DATA / "astronaut.jpg").read_bytes()
    await ingest(service, post(1, author=100), data)
    await service.allow(GUILD, await service.fingerprint(data), added_by=1)
    (again,) = await ingest(
        service, post(2, author=200), VARIANTS["jpeg q40"](photo("astronaut.jpg"))
    )
    assert again.matches and again.alert == ()


async def test_deleted_originals_are_never_reported_and_the_next_takes_over(
    service: SeenService,
) -> None:
    data = (DATA / "coffee.jpg").read_bytes()
    await ingest(service, post(1, author=100), data)
    await ingest(service, post(2, author=200), data)
    assert await service.forget_messages(GUILD, [1]) == 1
    (third,) = await ingest(service, post(3, author=300), data)
    assert [m.image.message_id for m in third.alert] == [2]
    await service.forget_channel(GUILD, 10)
    (fourth,) = await ingest(service, post(4, author=400, channel=12), data)
    assert fourth.alert == ()


async def test_replayed_events_are_stored_once_and_alert_once(service: SeenService) -> None:
    data = (DATA / "motorcycle.jpg").read_bytes()
    await ingest(service, post(1, author=100), data)
    (first,) = await ingest(service, post(2, author=200), data)
    (replay,) = await ingest(service, post(2, author=200), data)
    assert first.alert and replay.stored is None and replay.alert == ()
    assert await service.store.count_images(GUILD) == 2


async def test_blank_images_never_alert(service: SeenService) -> None:
    from PIL import Image

    from tests.support import encode

    white = encode(Image.new("RGB", (500, 400), "white"), "PNG")
    await ingest(service, post(1, author=100), white)
    (again,) = await ingest(service, post(2, author=200), white)
    assert again.alert == () and again.matches == ()


async def test_index_reloads_from_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    data = (DATA / "chelsea.jpg").read_bytes()
    async with SQLiteStore(url) as store, Hasher(0) as hasher:
        await ingest(SeenService(store, hasher), post(1, author=100), data)
    async with SQLiteStore(url) as store, Hasher(0) as hasher:
        fresh = SeenService(store, hasher)
        (again,) = await ingest(fresh, post(2, author=200), data)
        assert [m.image.message_id for m in again.alert] == [1]


async def test_least_recently_used_guild_indexes_are_dropped(tmp_path: Path) -> None:
    async with SQLiteStore(f"sqlite:///{tmp_path / 'l.db'}") as store, Hasher(0) as hasher:
        service = SeenService(store, hasher, max_cached_guilds=2)
        for guild in (1, 2, 3):
            await service.index(guild)
        assert service.loaded_guilds() == [2, 3]


def crop(name: str, share: float = 0.15) -> bytes:
    from tests.conftest import encode

    image = photo(name)
    return encode(image.crop((int(image.width * share), int(image.height * share), *image.size)))


async def test_a_crop_is_found_by_the_local_stage_and_names_the_edit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    async with SQLiteStore(url) as store, Hasher(0) as hasher:
        service = SeenService(store, hasher)
        await ingest(service, post(1, author=100), (DATA / "chelsea.jpg").read_bytes())
        await ingest(service, post(2, author=100), (DATA / "coffee.jpg").read_bytes())
        (cropped,) = await ingest(service, post(3, author=200), crop("chelsea.jpg"))
        (match,) = cropped.alert
        assert match.image.message_id == 1
        assert match.verdict.local is not None and match.verdict.edit_text == "cropped"
    # After a restart the guild's local index is loaded from the stored words.
    async with SQLiteStore(url) as store, Hasher(0) as hasher:
        service = SeenService(store, hasher)
        (again,) = await ingest(service, post(4, author=300), crop("chelsea.jpg", 0.1))
        assert sorted(m.image.message_id for m in again.alert) == [1, 3]


async def test_deleted_images_leave_the_local_index(service: SeenService) -> None:
    await ingest(service, post(1, author=100), (DATA / "rocket.jpg").read_bytes())
    query = await service.fingerprint(crop("rocket.jpg"))
    assert [m.image.message_id for m in await service.search(GUILD, query)] == [1]
    assert await service.forget_messages(GUILD, [1]) == 1
    assert await service.search(GUILD, query) == []
    assert len((await service.indexes(GUILD)).local) == 0
