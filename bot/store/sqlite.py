"""SQLite store through aiosqlite: the embedded default engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite
import numpy as np
import numpy.typing as npt

from bot.clips import StoredClip, pack_frames
from bot.guild_settings import GuildSettings
from bot.index import to_signed
from bot.records import (
    WEEK_MS,
    AlertRecord,
    AllowedImage,
    GuildStats,
    ImageRecord,
    MemberForgotten,
    NewImage,
)
from bot.store.base import (
    ALERT_COLUMNS,
    ALLOWED_COLUMNS,
    CLIP_COLUMNS,
    GUILD_TABLES,
    IMAGE_COLUMNS,
    NOBODY,
    SCHEMA_VERSION,
    STATS_TOP,
    StoreError,
    alert_from_row,
    allowed_from_row,
    clip_from_row,
    clip_hashes,
    guild_stats,
    image_from_row,
    stats_start,
    without_exemption,
)

log = logging.getLogger(__name__)

#: Forward migrations; entry N brings the schema from version N to N + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        author_id INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        posted_at INTEGER NOT NULL,
        phash64 INTEGER NOT NULL,
        phash256 BLOB NOT NULL,
        quality INTEGER NOT NULL,
        UNIQUE (guild_id, message_id, slot)
    );
    CREATE INDEX images_guild ON images (guild_id, id, phash64);
    CREATE INDEX images_message ON images (message_id);
    CREATE INDEX images_channel ON images (channel_id);
    CREATE INDEX images_author ON images (guild_id, author_id);
    CREATE TABLE guild_settings (
        guild_id INTEGER PRIMARY KEY,
        data TEXT NOT NULL
    );
    CREATE TABLE channel_cursors (
        channel_id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        last_message_id INTEGER NOT NULL
    );
    CREATE INDEX channel_cursors_guild ON channel_cursors (guild_id);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        author_id INTEGER NOT NULL,
        original_image_id INTEGER NOT NULL,
        alert_channel_id INTEGER,
        alert_message_id INTEGER,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX alerts_guild ON alerts (guild_id, created_at);
    CREATE INDEX alerts_message ON alerts (message_id);
    CREATE TABLE allowed_images (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        phash64 INTEGER NOT NULL,
        phash256 BLOB NOT NULL,
        added_by INTEGER NOT NULL
    );
    CREATE INDEX allowed_images_guild ON allowed_images (guild_id);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE not_reposts (
        id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        image_id INTEGER NOT NULL,
        phash256 BLOB NOT NULL,
        added_by INTEGER NOT NULL
    );
    CREATE INDEX not_reposts_guild ON not_reposts (guild_id, image_id);
    """,
    # Local features in two tables: loading a guild's index reads only the small words;
    # the large features are read for the few candidates a query verifies.
    """
    CREATE TABLE local_words (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        guild_id INTEGER NOT NULL,
        words BLOB NOT NULL
    );
    CREATE INDEX local_words_guild ON local_words (guild_id, image_id);
    CREATE TABLE local_features (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        data BLOB NOT NULL
    );
    """,
    # Clips (videos, animations): the images row holds a representative frame, this one the
    # sampled frames (45 bytes each); every deletion of the image row takes it along.
    """
    CREATE TABLE clips (
        image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        guild_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        container TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        frames BLOB NOT NULL
    );
    CREATE INDEX clips_guild ON clips (guild_id, image_id);
    """,
)

#: Rows fetched at a time when loading a guild's hashes.
LOAD_SLICE = 65_536


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel.db`` -> rel.db; ``sqlite:////abs.db`` -> /abs.db."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(f"not a sqlite URL: {url!r}")
    return Path(url[len(prefix) :])


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def _chunks(values: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SQLiteStore:
    """Store on one SQLite file in WAL mode."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._db: aiosqlite.Connection | None = None
        # One connection is shared by every coroutine: transactions must not interleave.
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            # Local features go with their image, whichever statement deletes it.
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._migrate()
        except BaseException:
            await self._db.close()
            self._db = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def _migrate(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database is at schema {version}, newer than this seenit ({SCHEMA_VERSION})"
            )
        for target in range(version, SCHEMA_VERSION):
            log.info("migrating %s from schema %d to %d", self.path, target, target + 1)
            async with self._transaction() as tx:
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        await tx.execute(statement)
                await tx.execute("DELETE FROM schema_version")
                await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (target + 1,))

    async def schema_version(self) -> int:
        async with self.db.execute("SELECT max(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self.db
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement in its own transaction; returns the affected rows."""
        async with self._lock, self.db.execute(sql, params) as cur:
            return cur.rowcount

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.db.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self.db.execute(sql, params) as cur:
            return await cur.fetchone()

    # images

    async def add_images(self, images: Sequence[NewImage]) -> list[ImageRecord]:
        if not images:
            return []
        stored: list[ImageRecord] = []
        async with self._transaction() as db:
            for img in images:
                async with db.execute(
                    "INSERT INTO images (guild_id, channel_id, message_id, author_id, slot,"
                    " posted_at, phash64, phash256, quality) VALUES (?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (guild_id, message_id, slot) DO NOTHING",
                    (
                        img.guild_id,
                        img.channel_id,
                        img.message_id,
                        img.author_id,
                        img.slot,
                        img.posted_at,
                        to_signed(img.phash64),
                        img.phash256,
                        img.quality,
                    ),
                ) as cur:
                    if cur.rowcount == 1 and cur.lastrowid is not None:
                        if img.local_data is not None and img.local_words is not None:
                            await self._insert_local(
                                db, img.guild_id, cur.lastrowid, img.local_data, img.local_words
                            )
                        stored.append(
                            ImageRecord(
                                cur.lastrowid,
                                img.guild_id,
                                img.channel_id,
                                img.message_id,
                                img.author_id,
                                img.slot,
                                img.posted_at,
                                img.phash64,
                                img.phash256,
                                img.quality,
                            )
                        )
        return stored

    async def get_images(self, image_ids: Sequence[int]) -> list[ImageRecord]:
        found: list[ImageRecord] = []
        for chunk in _chunks(list(image_ids)):
            rows = await self._fetchall(
                f"SELECT {IMAGE_COLUMNS} FROM images WHERE id IN ({_placeholders(len(chunk))})",
                chunk,
            )
            found.extend(image_from_row(r) for r in rows)
        found.sort(key=lambda r: r.id)
        return found

    async def messages_in_channel(self, channel_id: int, before: int) -> list[int]:
        rows = await self._fetchall(
            "SELECT DISTINCT message_id FROM images WHERE channel_id = ? AND message_id < ?"
            " ORDER BY message_id DESC",
            (channel_id, before),
        )
        return [int(r[0]) for r in rows]

    async def load_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        # In slices: a million rows as one list of tuples costs ~180 MiB at its peak.
        chunks: list[npt.NDArray[np.int64]] = []
        async with self.db.execute(
            "SELECT id, phash64 FROM images WHERE guild_id = ? ORDER BY id", (guild_id,)
        ) as cur:
            while rows := await cur.fetchmany(LOAD_SLICE):
                chunks.append(np.array(rows, dtype=np.int64).reshape(-1, 2))
        if not chunks:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty.copy()
        table = np.concatenate(chunks)
        return np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])

    async def count_images(self, guild_id: int) -> int:
        row = await self._fetchone("SELECT count(*) FROM images WHERE guild_id = ?", (guild_id,))
        return int(row[0])

    # local features

    @staticmethod
    async def _insert_local(
        db: aiosqlite.Connection, guild_id: int, image_id: int, data: bytes, words: bytes
    ) -> bool:
        async with db.execute(
            "INSERT INTO local_words (image_id, guild_id, words) VALUES (?,?,?)"
            " ON CONFLICT (image_id) DO NOTHING",
            (image_id, guild_id, words),
        ) as cur:
            if cur.rowcount != 1:
                return False
        await db.execute(
            "INSERT INTO local_features (image_id, data) VALUES (?,?)"
            " ON CONFLICT (image_id) DO UPDATE SET data = excluded.data",
            (image_id, data),
        )
        return True

    async def load_local_words(self, guild_id: int) -> tuple[list[int], list[bytes]]:
        ids: list[int] = []
        words: list[bytes] = []
        async with self.db.execute(
            "SELECT image_id, words FROM local_words WHERE guild_id = ? ORDER BY image_id",
            (guild_id,),
        ) as cur:
            while rows := await cur.fetchmany(LOAD_SLICE):
                for image_id, w in rows:
                    ids.append(int(image_id))
                    words.append(bytes(w))
        return ids, words

    async def local_features(self, image_ids: Sequence[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for chunk in _chunks(list(image_ids)):
            rows = await self._fetchall(
                "SELECT image_id, data FROM local_features"
                f" WHERE image_id IN ({_placeholders(len(chunk))})",
                chunk,
            )
            found.update((int(r[0]), bytes(r[1])) for r in rows)
        return found

    async def add_local_features(
        self, guild_id: int, features: Sequence[tuple[int, int, bytes, bytes]]
    ) -> list[int]:
        if not features:
            return []
        added: list[int] = []
        async with self._transaction() as db:
            for message_id, slot, data, words in features:
                async with db.execute(
                    "SELECT id FROM images WHERE guild_id = ? AND message_id = ? AND slot = ?",
                    (guild_id, message_id, slot),
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and await self._insert_local(db, guild_id, row[0], data, words):
                    added.append(int(row[0]))
        return added

    # clips

    async def add_clip(self, guild_id: int, clip: StoredClip) -> bool:
        return (
            await self._write(
                f"INSERT INTO clips ({CLIP_COLUMNS}, guild_id)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, guild_id FROM images WHERE id = ? AND guild_id = ?"
                " ON CONFLICT (image_id) DO NOTHING",
                (
                    clip.image_id,
                    clip.kind,
                    clip.container,
                    clip.duration_ms,
                    clip.width,
                    clip.height,
                    pack_frames(clip.frames),
                    clip.image_id,
                    guild_id,
                ),
            )
            == 1
        )

    async def clips(self, image_ids: Sequence[int]) -> dict[int, StoredClip]:
        found: dict[int, StoredClip] = {}
        for chunk in _chunks(list(image_ids)):
            rows = await self._fetchall(
                f"SELECT {CLIP_COLUMNS} FROM clips WHERE image_id IN ({_placeholders(len(chunk))})",
                chunk,
            )
            found.update((int(r[0]), clip_from_row(r)) for r in rows)
        return found

    async def load_clip_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        rows = await self._fetchall(
            "SELECT image_id, frames FROM clips WHERE guild_id = ? ORDER BY image_id", (guild_id,)
        )
        return clip_hashes([(int(r[0]), bytes(r[1])) for r in rows])

    async def _delete_where(
        self, where: str, params: Sequence[Any], *also: tuple[str, Sequence[Any]]
    ) -> list[int]:
        """Delete the images matching ``where`` (then run ``also``); returns their ids."""
        async with self._transaction() as db:
            async with db.execute(f"SELECT id FROM images WHERE {where}", params) as cur:
                rows = list(await cur.fetchall())
            await db.execute(f"DELETE FROM images WHERE {where}", params)
            for sql, args in also:
                await db.execute(sql, args)
        return [r[0] for r in rows]

    async def images_in_message(self, guild_id: int, message_id: int) -> list[ImageRecord]:
        rows = await self._fetchall(
            f"SELECT {IMAGE_COLUMNS} FROM images WHERE guild_id = ? AND message_id = ?"
            " ORDER BY slot",
            (guild_id, message_id),
        )
        return [image_from_row(r) for r in rows]

    async def delete_messages(self, guild_id: int | None, message_ids: Sequence[int]) -> list[int]:
        deleted: list[int] = []
        for chunk in _chunks(list(message_ids)):
            where = f"message_id IN ({_placeholders(len(chunk))})"
            params: list[int] = list(chunk)
            if guild_id is not None:
                where += " AND guild_id = ?"
                params.append(guild_id)
            deleted.extend(await self._delete_where(where, params))
        return deleted

    async def edit_images(
        self, guild_id: int, gone: Sequence[int], moved: Mapping[int, int]
    ) -> list[int]:
        deleted: list[int] = []
        async with self._transaction() as db:
            for chunk in _chunks(list(gone)):
                marks = _placeholders(len(chunk))
                async with db.execute(
                    f"SELECT id FROM images WHERE guild_id = ? AND id IN ({marks})",
                    (guild_id, *chunk),
                ) as cur:
                    deleted.extend(int(r[0]) for r in await cur.fetchall())
                await db.execute(
                    f"DELETE FROM images WHERE guild_id = ? AND id IN ({marks})", (guild_id, *chunk)
                )
            # Through negative slots first, so two images trading places never collide.
            for image_id in moved:
                await db.execute(
                    "UPDATE images SET slot = -1 - slot WHERE guild_id = ? AND id = ?",
                    (guild_id, image_id),
                )
            for image_id, slot in moved.items():
                await db.execute(
                    "UPDATE images SET slot = ? WHERE guild_id = ? AND id = ?",
                    (slot, guild_id, image_id),
                )
        return deleted

    async def delete_channel(self, channel_id: int) -> list[int]:
        return await self._delete_where(
            "channel_id = ?",
            (channel_id,),
            ("DELETE FROM channel_cursors WHERE channel_id = ?", (channel_id,)),
        )

    async def delete_author(self, guild_id: int, author_id: int) -> list[int]:
        return await self._delete_where("guild_id = ? AND author_id = ?", (guild_id, author_id))

    async def forget_member(self, guild_id: int | None, user_id: int) -> MemberForgotten:
        where = {"user": user_id, "guild": guild_id}
        in_guild = "(:guild IS NULL OR guild_id = :guild)"
        theirs = f"SELECT id FROM images WHERE author_id = :user AND {in_guild}"
        alerts_where = f"(author_id = :user OR original_image_id IN ({theirs})) AND {in_guild}"
        async with self._transaction() as db:
            async with db.execute(theirs, where) as cur:
                images = tuple(int(r[0]) for r in await cur.fetchall())
            async with db.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {alerts_where} ORDER BY id",
                where,
            ) as cur:
                alerts = tuple(alert_from_row(r) for r in await cur.fetchall())
            await db.execute(f"DELETE FROM alerts WHERE {alerts_where}", where)
            # Feedback about their images means nothing once the images are gone.
            await db.execute(
                f"DELETE FROM not_reposts WHERE image_id IN ({theirs}) AND {in_guild}", where
            )
            await db.execute(f"DELETE FROM images WHERE author_id = :user AND {in_guild}", where)
            cleared = 0
            for table in ("allowed_images", "not_reposts"):
                async with db.execute(
                    f"UPDATE {table} SET added_by = :nobody WHERE added_by = :user AND {in_guild}",
                    {**where, "nobody": NOBODY},
                ) as cur:
                    cleared += cur.rowcount
            async with db.execute(
                f"SELECT guild_id, data FROM guild_settings WHERE {in_guild}", where
            ) as cur:
                settings = list(await cur.fetchall())
            exemptions = 0
            for settings_guild, data in settings:
                updated = without_exemption(data, user_id)
                if updated is not None:
                    exemptions += 1
                    await db.execute(
                        "UPDATE guild_settings SET data = ? WHERE guild_id = ?",
                        (updated, settings_guild),
                    )
        return MemberForgotten(images, alerts, cleared, exemptions)

    async def delete_guild(self, guild_id: int) -> int:
        async with self._transaction() as db:
            async with db.execute("DELETE FROM images WHERE guild_id = ?", (guild_id,)) as cur:
                count = cur.rowcount
            for table in GUILD_TABLES:
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
        return count

    # settings and bookkeeping

    async def get_settings(self, guild_id: int) -> GuildSettings:
        row = await self._fetchone(
            "SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return GuildSettings.from_json(row[0]) if row else GuildSettings()

    async def save_settings(self, guild_id: int, settings: GuildSettings) -> None:
        await self._write(
            "INSERT INTO guild_settings (guild_id, data) VALUES (?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET data = excluded.data",
            (guild_id, settings.to_json()),
        )

    async def get_meta(self, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def update_meta(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        async with self._transaction() as db:
            async with db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            value = change(None if row is None else str(row[0]))
            if value is None:
                await db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
        return value

    async def get_cursor(self, channel_id: int) -> int | None:
        row = await self._fetchone(
            "SELECT last_message_id FROM channel_cursors WHERE channel_id = ?", (channel_id,)
        )
        return int(row[0]) if row else None

    async def advance_cursor(self, guild_id: int, channel_id: int, message_id: int) -> None:
        await self._write(
            "INSERT INTO channel_cursors (channel_id, guild_id, last_message_id) VALUES (?,?,?)"
            " ON CONFLICT (channel_id) DO UPDATE SET last_message_id ="
            " max(last_message_id, excluded.last_message_id)",
            (channel_id, guild_id, message_id),
        )

    async def cursors(self, guild_id: int) -> dict[int, int]:
        rows = await self._fetchall(
            "SELECT channel_id, last_message_id FROM channel_cursors WHERE guild_id = ?",
            (guild_id,),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    # alerts

    async def record_alert(self, alert: AlertRecord) -> None:
        await self._write(
            "INSERT INTO alerts (guild_id, channel_id, message_id, author_id, original_image_id,"
            " alert_channel_id, alert_message_id, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                alert.guild_id,
                alert.channel_id,
                alert.message_id,
                alert.author_id,
                alert.original_image_id,
                alert.alert_channel_id,
                alert.alert_message_id,
                alert.created_at,
            ),
        )

    async def alerts_for_message(self, message_id: int) -> list[AlertRecord]:
        rows = await self._fetchall(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE message_id = ? ORDER BY id", (message_id,)
        )
        return [alert_from_row(r) for r in rows]

    async def stats(self, guild_id: int, now_ms: int) -> GuildStats:
        images = await self.count_images(guild_id)
        row = await self._fetchone("SELECT count(*) FROM alerts WHERE guild_id = ?", (guild_id,))
        reposters = await self._fetchall(
            "SELECT author_id, count(*) AS n FROM alerts WHERE guild_id = ?"
            " GROUP BY author_id ORDER BY n DESC, author_id LIMIT ?",
            (guild_id, STATS_TOP),
        )
        reposted = await self._fetchall(
            "SELECT original_image_id, count(*) AS n FROM alerts WHERE guild_id = ?"
            " GROUP BY original_image_id ORDER BY n DESC, original_image_id LIMIT ?",
            (guild_id, STATS_TOP),
        )
        start = stats_start(now_ms)
        weeks = await self._fetchall(
            "SELECT (created_at - ?) / ? AS week, count(*) FROM alerts"
            " WHERE guild_id = ? AND created_at >= ? GROUP BY week",
            (start, WEEK_MS, guild_id, start),
        )
        return guild_stats(
            images=images,
            alerts=int(row[0]),
            reposters=reposters,
            reposted=reposted,
            originals=await self.get_images([r[0] for r in reposted]),
            weeks=weeks,
            start=start,
        )

    # allowlist

    async def allow_image(
        self, guild_id: int, phash64: int, phash256: bytes, added_by: int
    ) -> AllowedImage:
        async with (
            self._lock,
            self.db.execute(
                "INSERT INTO allowed_images (guild_id, phash64, phash256, added_by)"
                " VALUES (?,?,?,?)",
                (guild_id, to_signed(phash64), phash256, added_by),
            ) as cur,
        ):
            new_id = cur.lastrowid
        assert new_id is not None
        return AllowedImage(new_id, guild_id, phash64, phash256, added_by)

    async def allowed_images(self, guild_id: int) -> list[AllowedImage]:
        rows = await self._fetchall(
            f"SELECT {ALLOWED_COLUMNS} FROM allowed_images WHERE guild_id = ? ORDER BY id",
            (guild_id,),
        )
        return [allowed_from_row(r) for r in rows]

    async def disallow_image(self, guild_id: int, allowed_id: int) -> bool:
        n = await self._write(
            "DELETE FROM allowed_images WHERE guild_id = ? AND id = ?", (guild_id, allowed_id)
        )
        return n > 0

    # feedback

    async def add_not_repost(
        self, guild_id: int, image_id: int, phash256: bytes, added_by: int
    ) -> None:
        await self._write(
            "INSERT INTO not_reposts (guild_id, image_id, phash256, added_by) VALUES (?,?,?,?)",
            (guild_id, image_id, phash256, added_by),
        )

    async def not_reposts(self, guild_id: int) -> list[tuple[int, bytes]]:
        rows = await self._fetchall(
            "SELECT image_id, phash256 FROM not_reposts WHERE guild_id = ? ORDER BY id",
            (guild_id,),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def integrity_check(self) -> bool:
        row = await self._fetchone("PRAGMA integrity_check")
        return bool(row and row[0] == "ok")
