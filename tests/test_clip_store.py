"""Clips through the store (SQLite and PostgreSQL) and the service: stored, found, forgotten."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clips import ClipFingerprint, Frame, StoredClip
from bot.hashing_pool import Hasher
from bot.matching import PostContext
from bot.records import NewImage
from bot.service import SeenService
from bot.store import open_store
from bot.video import fingerprint_media
from tests.clipmaker import clip, jpeg, still_of

pytest_plugins = ("tests.pgserver",)

GUILD = 1


def new_image(message: int, guild: int = GUILD, author: int = 100) -> NewImage:
    return NewImage(
        guild_id=guild,
        channel_id=10,
        message_id=message,
        author_id=author,
        slot=0,
        posted_at=1_000,
        phash64=1,
        phash256=bytes(32),
        quality=50,
    )


def frames(n: int) -> tuple[Frame, ...]:
    return tuple(Frame(250 * k, (1 << 63) + k, bytes([k]) * 32, 40 + k) for k in range(n))


async def test_clips_round_trip_and_go_with_their_image(store_url: str) -> None:
    async with open_store(store_url) as store:
        a, b, c = await store.add_images([new_image(1), new_image(2, author=7), new_image(3)])
        clip_a = StoredClip(a.id, "video", "mp4", 4_000, 160, 120, frames(3))
        assert await store.add_clip(GUILD, clip_a)
        assert await store.add_clip(GUILD, StoredClip(b.id, "gif", "gif", 2_000, 80, 60, frames(2)))
        # A clip of an image of another guild, or of no image, is not stored.
        assert not await store.add_clip(2, StoredClip(c.id, "video", "mp4", 1, 1, 1, frames(1)))
        assert not await store.add_clip(GUILD, StoredClip(10**9, "video", "mp4", 1, 1, 1, ()))
        found = await store.clips([a.id, b.id, c.id])
        assert found[a.id] == clip_a and set(found) == {a.id, b.id}
        ids, hashes = await store.load_clip_hashes(GUILD)
        assert ids.tolist() == [a.id] * 3 + [b.id] * 2
        assert [h & (2**64 - 1) for h in hashes.tolist()] == [
            (1 << 63) + k for k in (0, 1, 2, 0, 1)
        ]
        await store.delete_messages(GUILD, [1])
        await store.delete_author(GUILD, 7)
        assert await store.clips([a.id, b.id]) == {}
        assert (await store.load_clip_hashes(GUILD))[0].tolist() == []


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[SeenService]:
    async with open_store(store_url) as store, Hasher(0) as hasher:
        yield SeenService(store, hasher)


def post(message: int, author: int) -> PostContext:
    return PostContext(GUILD, 10, message, author, message * 1_000)


async def test_a_video_repost_is_found_as_a_clip_its_frames_and_after_a_reload(
    service: SeenService,
) -> None:
    original = await service.fingerprint(clip())
    assert isinstance(original, ClipFingerprint)
    (first,) = await service.ingest(post(1, 100), [(0, original)])
    assert first.stored is not None and first.alert == ()
    trimmed = await service.fingerprint(clip(container="webm", trim=(0.3, 0.9)))
    (second,) = await service.ingest(post(2, 200), [(0, trimmed)])
    assert [(m.image.message_id, m.verdict.edit) for m in second.alert] == [(1, "trimmed")]
    # A still frame from the middle of the clip: only the clip's frames can find it.
    frame = fingerprint_media(jpeg(still_of(at=0.5)))
    assert frame.phash64 != original.phash64
    hits = await service.search(GUILD, frame)
    assert {(m.image.message_id, m.verdict.edit) for m in hits} == {
        (1, "frame"),
        (2, "frame"),
    }
    # A fresh service loads the frames from the store into the index.
    fresh = SeenService(service.store, service.hasher)
    assert {m.image.message_id for m in await fresh.search(GUILD, frame)} == {1, 2}
    assert await service.forget_author(GUILD, 100) == 1
    assert {m.image.message_id for m in await service.search(GUILD, frame)} == {2}
    other = await service.fingerprint(clip(name="rocket.jpg"))
    assert await service.search(GUILD, other) == []


async def test_a_database_of_schema_3_gains_the_clips_table(store_url: str) -> None:
    import sqlite3

    import asyncpg

    from bot.store import SCHEMA_VERSION
    from bot.store.sqlite import sqlite_path

    async with open_store(store_url) as store:
        (kept,) = await store.add_images([new_image(1)])
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(store_url))
        conn.executescript(
            "DROP TABLE clips; ALTER TABLE images DROP COLUMN colour;"
            " UPDATE schema_version SET version = 3;"
        )
        conn.close()
    else:
        pg = await asyncpg.connect(store_url)
        await pg.execute(
            "DROP TABLE clips; ALTER TABLE images DROP COLUMN colour;"
            " UPDATE schema_version SET version = 3"
        )
        await pg.close()
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION == 5
        assert await store.get_images([kept.id]) == [kept]
        clip_row = StoredClip(kept.id, "video", "webm", 2_000, 64, 48, frames(2))
        assert await store.add_clip(GUILD, clip_row)
        assert await store.clips([kept.id]) == {kept.id: clip_row}
        assert await store.integrity_check()
