"""Every store engine on a real database: round trips, deletions, settings, migrations.

The same tests run against SQLite (a file) and PostgreSQL (a real server, see
tests/pgserver.py); the few SQLite-only ones use ``db_url`` instead of ``store_url``.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.guild_settings import GuildSettings
from bot.records import WEEK_MS, AlertRecord, NewImage
from bot.store import SCHEMA_VERSION, StoreError, open_store
from bot.store.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from bot.store.postgres import PostgresStore
from bot.store.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from bot.store.sqlite import SQLiteStore, sqlite_path, sqlite_sql

pytest_plugins = ("tests.pgserver",)


def image(
    message: int,
    slot: int = 0,
    *,
    guild: int = 1,
    channel: int = 10,
    author: int = 100,
    h64: int = 0xDEADBEEF_00000000,
    posted_at: int = 1_000,
    local: bool = False,
) -> NewImage:
    data, words = local_of(message, slot) if local else (None, None)
    return NewImage(
        guild, channel, message, author, slot, posted_at, h64, bytes(range(32)), 90, data, words
    )


def local_of(message: int, slot: int = 0) -> tuple[bytes, bytes]:
    """Distinct stand-ins for an image's (local features, words): the store keeps bytes."""
    seed = f"{message}:{slot}".encode()
    return seed * 2000, seed * 50


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'seenit.db'}"


async def set_schema_version(url: str, version: int) -> None:
    """Pretend a newer seenit migrated the database (engine-specific SQL, test only)."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(url))
        conn.execute("UPDATE schema_version SET version = ?", (version,))
        conn.commit()
        conn.close()
    else:
        pg = await asyncpg.connect(url)
        await pg.execute("UPDATE schema_version SET version = $1", version)
        await pg.close()


async def test_images_round_trip_with_unsigned_hashes(store_url: str) -> None:
    async with open_store(store_url) as store:
        stored = await store.add_images([image(1, h64=(1 << 64) - 1), image(1, 1, h64=5)])
        assert [r.slot for r in stored] == [0, 1]
        again = await store.get_images([r.id for r in stored])
        assert again == stored
        assert again[0].phash64 == (1 << 64) - 1
        ids, hashes = await store.load_hashes(1)
        assert ids.tolist() == [r.id for r in stored]
        assert [h & ((1 << 64) - 1) for h in hashes.tolist()] == [(1 << 64) - 1, 5]


async def test_the_same_message_slot_is_stored_once(store_url: str) -> None:
    async with open_store(store_url) as store:
        assert len(await store.add_images([image(7)])) == 1
        assert await store.add_images([image(7)]) == []
        assert await store.count_images(1) == 1


async def test_deletions_by_message_channel_author_and_guild(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.add_images(
            [image(1), image(2, channel=11), image(3, author=200), image(4, guild=2)]
        )
        gone = await store.delete_messages(1, [1])
        assert len(gone) == 1
        assert len(await store.delete_channel(11)) == 1
        assert len(await store.delete_author(1, 200)) == 1
        assert await store.count_images(1) == 0
        await store.save_settings(2, GuildSettings(sensitivity="strict"))
        assert await store.delete_guild(2) == 1
        assert await store.get_settings(2) == GuildSettings()


async def test_messages_of_a_channel_newest_first(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.add_images(
            [image(5), image(5, 1), image(7), image(9), image(6, channel=11), image(3)]
        )
        assert await store.messages_in_channel(10, before=9) == [7, 5, 3]
        assert await store.messages_in_channel(10, before=1) == []
        assert await store.messages_in_channel(11, before=100) == [6]


async def test_data_survives_reopening_the_store(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.add_images([image(1)])
        await store.save_settings(
            1, GuildSettings(alert_style="log", log_channel_id=55, exempt_roles=frozenset({3, 4}))
        )
        await store.advance_cursor(1, 10, 500)
        await store.advance_cursor(1, 10, 400)
    async with open_store(store_url) as store:
        assert await store.count_images(1) == 1
        settings = await store.get_settings(1)
        assert settings.alert_style == "log" and settings.exempt_roles == {3, 4}
        assert await store.get_cursor(10) == 500
        assert await store.integrity_check()


async def test_schema_is_versioned_and_migrated_from_an_empty_database(store_url: str) -> None:
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    async with open_store(store_url) as store:  # a second start finds it current
        assert await store.schema_version() == SCHEMA_VERSION
    await set_schema_version(store_url, 999)
    with pytest.raises(StoreError, match="newer"):
        async with open_store(store_url):
            pass


async def test_sqlite_runs_in_wal_mode(db_url: str) -> None:
    async with SQLiteStore(db_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(sqlite_path(db_url))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_alerts_and_stats(store_url: str) -> None:
    async with open_store(store_url) as store:
        (orig,) = await store.add_images([image(1)])
        for message, author in ((2, 300), (3, 300), (4, 301)):
            await store.record_alert(
                AlertRecord(1, 10, message, author, orig.id, 10, 900 + message, 5_000)
            )
        stats = await store.stats(1, now_ms=10_000)
        assert stats.alerts == 3 and stats.images == 1
        assert stats.top_reposters[0] == (300, 2)
        assert stats.most_reposted[0][0].id == orig.id and stats.most_reposted[0][1] == 3
        assert (await store.alerts_for_message(2))[0].alert_message_id == 902
        assert sum(n for _, n in stats.weekly_alerts) == 3


async def test_an_alert_counts_before_it_is_posted_and_learns_where_it_went(
    store_url: str,
) -> None:
    async with open_store(store_url) as store:
        (orig,) = await store.add_images([image(1)])
        alert_id = await store.record_alert(AlertRecord(1, 10, 2, 300, orig.id, None, None, 5))
        assert (await store.stats(1, now_ms=10_000)).alerts == 1
        assert await store.alert_posted(alert_id, 10, 902)
        assert await store.alerts_for_message(2) == [
            AlertRecord(1, 10, 2, 300, orig.id, 10, 902, 5)
        ]
        # The poster is forgotten while a second alert is being posted: it has nowhere to go.
        second = await store.record_alert(AlertRecord(1, 10, 3, 300, orig.id, None, None, 6))
        await store.forget_member(1, 300)
        assert not await store.alert_posted(second, 10, 903)
        assert await store.alerts_for_message(3) == []


async def test_alerts_for_a_message_come_in_the_order_they_were_recorded(store_url: str) -> None:
    async with open_store(store_url) as store:
        # Created-at times run backwards, so only the recording order gives 901, 902, 903.
        for n, created in ((1, 9_000), (2, 3_000), (3, 6_000)):
            await store.record_alert(AlertRecord(1, 10, 2, 300, 1, 10, 900 + n, created))
        await store.record_alert(AlertRecord(1, 10, 5, 300, 1, 10, 999, 1))
        alerts = await store.alerts_for_message(2)
        assert [a.alert_message_id for a in alerts] == [901, 902, 903]
        assert alerts[1] == AlertRecord(1, 10, 2, 300, 1, 10, 902, 3_000)
        assert await store.alerts_for_message(404) == []


async def test_deleting_a_channel_takes_its_images_and_cursor_only(store_url: str) -> None:
    async with open_store(store_url) as store:
        kept = await store.add_images([image(1, channel=10)])
        gone = await store.add_images([image(2, channel=11), image(2, 1, channel=11)])
        await store.advance_cursor(1, 10, 1)
        await store.advance_cursor(1, 11, 2)
        assert sorted(await store.delete_channel(11)) == sorted(r.id for r in gone)
        assert await store.get_cursor(11) is None
        assert await store.get_cursor(10) == 1
        assert await store.get_images([r.id for r in kept + gone]) == kept
        assert await store.delete_channel(11) == []


async def test_stats_buckets_weeks_and_ranks_ties_the_same_on_every_engine(
    store_url: str,
) -> None:
    week = WEEK_MS
    now = 100 * week
    async with open_store(store_url) as store:
        originals = await store.add_images([image(m) for m in range(1, 8)])
        # Alerts per author: 6 and 7 have three each (tie: lower id first), 1-5 one each.
        plan = [(6, 0), (6, 0), (6, 0), (7, 1), (7, 1), (7, 1)]
        plan += [(a, 2 + a % 5) for a in range(1, 6)]
        # Times: this week, last week (twice), the first of the twelve weeks, and older.
        times = [now - 1, now - week - 1, now - week - 2, now - 11 * week - 1]
        times += [now - 12 * week - 1] * (len(plan) - len(times))
        for n, ((author, original), created) in enumerate(zip(plan, times, strict=True)):
            alert = AlertRecord(
                1, 10, 100 + n, author, originals[original].id, 10, 500 + n, created
            )
            await store.record_alert(alert)
        await store.record_alert(AlertRecord(2, 10, 99, 6, originals[0].id, 10, 1, now - 1))
        await store.delete_messages(1, [originals[2].message_id])  # left out of the ranking

        stats = await store.stats(1, now_ms=now)

    assert stats.images == 6 and stats.alerts == len(plan)
    assert stats.top_reposters == ((6, 3), (7, 3), (1, 1), (2, 1), (3, 1))
    assert [(r.id, n) for r, n in stats.most_reposted] == [
        (originals[0].id, 3),
        (originals[1].id, 3),
        (originals[3].id, 1),
        (originals[4].id, 1),
    ]
    start = now - 12 * week
    assert [t for t, _ in stats.weekly_alerts] == [start + w * week for w in range(12)]
    assert [n for _, n in stats.weekly_alerts] == [1] + [0] * 9 + [2, 1]


async def test_allowlist(store_url: str) -> None:
    async with open_store(store_url) as store:
        allowed = await store.allow_image(1, (1 << 64) - 2, b"\x01" * 32, 100)
        assert (await store.allowed_images(1)) == [allowed]
        assert await store.disallow_image(1, allowed.id)
        assert await store.allowed_images(1) == []


async def test_not_reposts_are_kept_per_guild_and_go_with_it(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.add_not_repost(1, 5, b"\x01" * 32, 100)
        await store.add_not_repost(1, 6, b"\x02" * 32, 100)
        await store.add_not_repost(2, 7, b"\x03" * 32, 100)
        assert await store.not_reposts(1) == [(5, b"\x01" * 32), (6, b"\x02" * 32)]
        await store.delete_guild(1)
        assert await store.not_reposts(1) == []
        assert await store.not_reposts(2) == [(7, b"\x03" * 32)]


async def test_local_features_are_read_apart_from_their_words(store_url: str) -> None:
    async with open_store(store_url) as store:
        stored = await store.add_images(
            [image(1, local=True), image(1, 1), image(2, local=True), image(3, guild=2, local=True)]
        )
        with_local = [stored[0].id, stored[2].id]
        ids, words = await store.load_local_words(1)
        assert ids == with_local
        assert words == [local_of(1)[1], local_of(2)[1]]
        blobs = await store.local_features([r.id for r in stored])
        assert blobs == {
            stored[0].id: local_of(1)[0],
            stored[2].id: local_of(2)[0],
            stored[3].id: local_of(3)[0],
        }
        assert await store.local_features([]) == {}


async def test_images_stored_without_local_features_get_them_once(store_url: str) -> None:
    async with open_store(store_url) as store:
        old, has, other = await store.add_images(
            [image(1), image(2, local=True), image(3, guild=2)]
        )
        data, words = b"new" * 1000, b"w" * 40
        added = await store.add_local_features(
            1,
            [
                (1, 0, data, words),
                (2, 0, data, words),  # keeps what it had
                (3, 0, data, words),  # another guild's image
                (1, 1, data, words),  # not stored at all
            ],
        )
        assert added == [old.id]
        assert await store.add_local_features(1, [(1, 0, data, words)]) == []
        assert await store.load_local_words(1) == ([old.id, has.id], [words, local_of(2)[1]])
        blobs = await store.local_features([old.id, has.id, other.id])
        assert blobs == {old.id: data, has.id: local_of(2)[0]}


async def test_colour_is_kept_beside_the_hashes(store_url: str) -> None:
    colour = bytes((2, 1)) + bytes(range(6))
    async with open_store(store_url) as store:
        with_colour, without = await store.add_images(
            [dataclasses.replace(image(1), colour=colour), image(2)]
        )
        assert (with_colour.colour, without.colour) == (colour, None)
        assert [r.colour for r in await store.get_images([with_colour.id, without.id])] == [
            colour,
            None,
        ]


async def test_images_stored_without_colour_get_it_once(store_url: str) -> None:
    async with open_store(store_url) as store:
        old, has = await store.add_images(
            [image(1), dataclasses.replace(image(2), colour=b"\x01\x01abc")]
        )
        assert await store.add_colour(1, 1, 0, b"\x01\x01xyz")
        assert not await store.add_colour(1, 1, 0, b"\x01\x01new")  # has one now
        assert not await store.add_colour(1, 2, 0, b"\x01\x01new")  # had one
        assert not await store.add_colour(2, 1, 0, b"\x01\x01new")  # another guild's
        assert not await store.add_colour(1, 1, 1, b"\x01\x01new")  # not stored
        assert [r.colour for r in await store.get_images([old.id, has.id])] == [
            b"\x01\x01xyz",
            b"\x01\x01abc",
        ]


async def test_a_stored_image_takes_a_new_detail_score(store_url: str) -> None:
    async with open_store(store_url) as store:
        (stored,) = await store.add_images([image(1)])
        assert await store.requalify(1, 1, 0, 0)
        assert not await store.requalify(1, 1, 0, 0)  # has that score now
        assert not await store.requalify(2, 1, 0, 7)  # another guild's
        assert not await store.requalify(1, 1, 1, 7)  # not stored
        assert [r.quality for r in await store.get_images([stored.id])] == [0]


async def test_features_of_an_older_format_are_replaced_when_read_again(store_url: str) -> None:
    async with open_store(store_url) as store:
        old, current = await store.add_images([image(1), image(2)])
        await store.add_local_features(1, [(1, 0, b"SLF1" + b"o" * 500, b"w" * 40)])
        await store.add_local_features(1, [(2, 0, b"SLF2" + b"c" * 500, b"v" * 40)])
        newer = b"SLF2" + b"n" * 600
        # Already indexed: no image is new to the index, but the old-format blob is replaced.
        again = [(1, 0, newer, b"w" * 40), (2, 0, newer, b"v" * 40)]
        assert await store.add_local_features(1, again, stale=b"SLF1") == []
        blobs = await store.local_features([old.id, current.id])
        assert blobs == {old.id: newer, current.id: b"SLF2" + b"c" * 500}
        assert await store.load_local_words(1) == ([old.id, current.id], [b"w" * 40, b"v" * 40])


async def test_local_features_go_with_their_images(store_url: str) -> None:
    async with open_store(store_url) as store:
        stored = await store.add_images(
            [
                image(1, local=True),
                image(2, channel=11, local=True),
                image(3, author=200, local=True),
                image(4, local=True),
                image(5, guild=2, local=True),
            ]
        )
        await store.delete_messages(1, [1])
        await store.delete_channel(11)
        await store.delete_author(1, 200)
        assert (await store.load_local_words(1))[0] == [stored[3].id]
        await store.delete_guild(1)
        await store.delete_guild(2)
        assert await store.load_local_words(1) == ([], [])
        assert await store.load_local_words(2) == ([], [])
        assert await store.local_features([r.id for r in stored]) == {}


async def test_a_database_of_the_previous_schema_gains_local_features(store_url: str) -> None:
    async with open_store(store_url) as store:
        (kept,) = await store.add_images([image(1)])
    # Undo the migrations from 2 on by hand: the tables as a seenit of schema 2 left them.
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(store_url))
        conn.executescript(
            "DROP TABLE local_words; DROP TABLE local_features; DROP TABLE clips;"
            " ALTER TABLE images DROP COLUMN colour;"
        )
        conn.close()
    else:
        pg = await asyncpg.connect(store_url)
        await pg.execute(
            "DROP TABLE local_words; DROP TABLE local_features; DROP TABLE clips;"
            " ALTER TABLE images DROP COLUMN colour"
        )
        await pg.close()
    await set_schema_version(store_url, 2)
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.get_images([kept.id]) == [kept]
        assert await store.load_local_words(1) == ([], [])
        assert await store.add_local_features(1, [(1, 0, b"f", b"w")]) == [kept.id]
        assert await store.integrity_check()


async def build_old_database(url: str, version: int) -> None:
    """The database as a seenit of schema ``version`` left it, with one image stored."""
    on_sqlite = url.startswith("sqlite:")
    steps = (SQLITE_MIGRATIONS if on_sqlite else POSTGRES_MIGRATIONS)[:version]
    blob = "X'00ff'" if on_sqlite else "'\\x00ff'::bytea"
    statements = [
        "CREATE TABLE schema_version (version integer NOT NULL)",
        *(statement for step in steps for statement in step),
        f"INSERT INTO schema_version (version) VALUES ({version})",
        "INSERT INTO images (guild_id, channel_id, message_id, author_id, slot, posted_at,"
        f" phash64, phash256, quality) VALUES (1, 10, 1, 100, 0, 1000, -5, {blob}, 90)",
    ]
    if on_sqlite:
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
        conn.executescript(";".join(statements))
        conn.close()
    else:
        pg = await asyncpg.connect(url)
        await pg.execute(";".join(statements))
        await pg.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
async def test_every_older_schema_migrates_forward_keeping_the_data(
    store_url: str, version: int
) -> None:
    await build_old_database(store_url, version)
    async with open_store(store_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.integrity_check()
        (kept,) = await store.get_images([1])
        assert (kept.message_id, kept.phash64, kept.phash256) == (1, (1 << 64) - 5, b"\0\xff")
        assert await store.add_local_features(1, [(1, 0, b"f", b"w")]) == [kept.id]
        assert kept.colour is None
        (added,) = await store.add_images([dataclasses.replace(image(2), colour=b"\x01\x01abc")])
        assert added.colour == b"\x01\x01abc"
    async with open_store(store_url) as store:
        assert await store.count_images(1) == 2
        assert await store.local_features([kept.id, added.id]) == {kept.id: b"f"}


def test_the_schema_reads_the_same_on_every_engine() -> None:
    assert len(SQLITE_MIGRATIONS) == len(POSTGRES_MIGRATIONS) == SCHEMA_VERSION
    for sqlite_step, postgres_step in zip(SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS, strict=True):
        assert len(sqlite_step) == len(postgres_step)
        for statement in (*sqlite_step, *postgres_step):
            assert "{" not in statement and ";" not in statement
    assert "CREATE TABLE images" in SQLITE_MIGRATIONS[0][0]


@pytest.mark.parametrize(
    ("shared", "on_sqlite"),
    [
        ("SELECT 1 WHERE a = $1 AND b = $2", "SELECT 1 WHERE a = ?1 AND b = ?2"),
        ("($2::bigint IS NULL OR g = $2)", "(?2 IS NULL OR g = ?2)"),
        ("id = ANY($12::bigint[])", "id IN (SELECT value FROM json_each(?12))"),
        ("x > $10 AND y < $1", "x > ?10 AND y < ?1"),
    ],
)
def test_shared_queries_in_sqlites_words(shared: str, on_sqlite: str) -> None:
    assert sqlite_sql(shared) == on_sqlite


def test_database_urls() -> None:
    assert sqlite_path("sqlite:////abs/path.db") == Path("/abs/path.db")
    assert sqlite_path("sqlite:///rel.db") == Path("rel.db")
    assert isinstance(open_store("sqlite:///rel.db"), SQLiteStore)
    assert isinstance(open_store("postgresql://u:p@db:5432/seenit"), PostgresStore)
    assert isinstance(open_store("postgres://u@localhost/seenit"), PostgresStore)
    with pytest.raises(StoreError, match=r"postgresql://.*not 'mysql'"):
        open_store("mysql://nope")


async def test_a_read_never_sees_another_coroutines_uncommitted_write(tmp_path: Path) -> None:
    # One coroutine holds a write transaction open; another reads meanwhile: it sees what
    # was committed before, then the new value once the transaction commits.
    import asyncio

    from bot.store.schema import Connection
    from bot.store.sql import SET_META, Mode

    async with open_store(f"sqlite:///{tmp_path / 'seen.db'}") as store:
        assert isinstance(store, SQLiteStore)
        await store.set_meta("colour", "blue")
        written, release = asyncio.Event(), asyncio.Event()

        async def work(conn: Connection) -> None:
            await conn.execute(SET_META, "colour", "green")
            written.set()
            await release.wait()

        writer = asyncio.create_task(store._run("test", work, Mode.WRITE))
        await written.wait()
        assert await store.get_meta("colour") == "blue"
        release.set()
        await writer
        assert await store.get_meta("colour") == "green"
