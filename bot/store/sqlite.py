"""SQLite store through aiosqlite: the embedded default engine.

The shared queries (bot.store.sql) are written in PostgreSQL's dialect; :func:`sqlite_sql`
translates their parameters, and a list parameter travels as JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite
import numpy as np
import numpy.typing as npt

from bot.index import to_signed
from bot.records import ImageRecord, NewImage
from bot.store.base import StoreError, image_from_row
from bot.store.schema import SQLITE, Connection, migrate, migrations
from bot.store.sql import Mode, SQLStore

T = TypeVar("T")

#: The schema's migrations in SQLite's words (see bot.store.schema).
MIGRATIONS = migrations(SQLITE)

#: Rows fetched at a time when loading a guild's hashes.
LOAD_SLICE = 65_536

INSERT_IMAGE = (
    "INSERT INTO images (guild_id, channel_id, message_id, author_id, slot, posted_at, phash64,"
    " phash256, quality, colour) VALUES (?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (guild_id, message_id, slot) DO NOTHING"
)

#: RETURNING came with SQLite 3.35.
OLDEST_SQLITE = (3, 35)


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel.db`` -> rel.db; ``sqlite:////abs.db`` -> /abs.db."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(f"not a sqlite URL: {url!r}")
    return Path(url[len(prefix) :])


@functools.cache
def sqlite_sql(query: str) -> str:
    """A shared query in SQLite's words: ``= ANY($1::bigint[])`` -> ``IN (... json_each(?1))``,
    ``$1::bigint`` and ``$1`` -> ``?1``."""
    query = re.sub(r"= ANY\(\$(\d+)::\w+\[\]\)", r"IN (SELECT value FROM json_each(?\1))", query)
    return re.sub(r"\$(\d+)(::\w+)?", r"?\1", query)


def sqlite_args(args: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters for :func:`sqlite_sql`'s queries: a list (of ids) as a JSON array."""
    return tuple(json.dumps(a) if isinstance(a, list) else a for a in args)


class SQLiteConnection:
    """An aiosqlite connection that answers the calls the shared queries make."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, query: str, *args: Any) -> None:
        async with self.db.execute(sqlite_sql(query), sqlite_args(args)):
            pass

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        async with self.db.execute(sqlite_sql(query), sqlite_args(args)) as cur:
            return list(await cur.fetchall())

    async def fetchrow(self, query: str, *args: Any) -> Any:
        rows = await self.fetch(query, *args)
        return rows[0] if rows else None

    async def fetchval(self, query: str, *args: Any) -> Any:
        row = await self.fetchrow(query, *args)
        return None if row is None else row[0]


class SQLiteStore(SQLStore):
    """Store on one SQLite file in WAL mode.

    Two connections: one for writes, shared by every coroutine (its transactions must not
    interleave), and one for reads outside them. A read on the writing connection would see
    the rows of a transaction another coroutine still holds open (an image before its
    commit, a message's slots mid-renumbering); the reading one sees committed rows only,
    and WAL lets it read while a write goes on.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._db: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        if sqlite3.sqlite_version_info < OLDEST_SQLITE:
            raise StoreError(
                f"seenit needs SQLite {'.'.join(map(str, OLDEST_SQLITE))} or newer,"
                f" this Python has {sqlite3.sqlite_version}"
            )
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            # Local features go with their image, whichever statement deletes it.
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._run(
                "migrate", lambda conn: migrate(conn, SQLITE, str(self.path)), Mode.WRITE
            )
            self._reader = await aiosqlite.connect(self.path, isolation_level=None)
            await self._reader.execute("PRAGMA busy_timeout=5000")
            await self._reader.execute("PRAGMA query_only=ON")
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A transaction under way finishes first: its ROLLBACK or COMMIT needs the connection.
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        for db in (self._reader, self._db):
            if db is not None:
                await db.close()
        self._reader = self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    @property
    def reader(self) -> aiosqlite.Connection:
        """The connection for reads outside a transaction (committed rows only)."""
        if self._reader is None:
            raise StoreError("the store is not open")
        return self._reader

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[SQLiteConnection]:
        """One write transaction; IMMEDIATE keeps other processes' writers out from its start."""
        db = self.db
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteConnection(db)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _run(
        self, what: str, work: Callable[[Connection], Awaitable[T]], mode: Mode = Mode.READ
    ) -> T:
        if mode is Mode.WRITE:
            async with self._transaction() as conn:
                return await work(conn)
        # Reads (a SNAPSHOT too) go through the reading connection outside any transaction:
        # one held open there would pin the WAL file's old pages for as long.
        return await work(SQLiteConnection(self.reader))

    async def _execute(self, what: str, query: str, *args: Any) -> None:
        # One statement is a transaction of its own: no BEGIN and COMMIT around it.
        async with self._lock:
            await SQLiteConnection(self.db).execute(query, *args)

    async def _insert_once(self, what: str, table: str, query: str, *args: Any) -> int:
        # Likewise, and SQLite never retries: nothing to remember between attempts.
        async with self._lock:
            return int(await SQLiteConnection(self.db).fetchval(query, *args))

    # what SQLite does its own way

    async def add_images(self, images: Sequence[NewImage]) -> list[ImageRecord]:
        if not images:
            return []
        stored: list[ImageRecord] = []
        async with self._transaction() as conn:
            for img in images:
                row = (
                    img.guild_id,
                    img.channel_id,
                    img.message_id,
                    img.author_id,
                    img.slot,
                    img.posted_at,
                    to_signed(img.phash64),
                    img.phash256,
                    img.quality,
                    img.colour,
                )
                # The cursor tells the new id: no RETURNING row to fetch.
                async with conn.db.execute(INSERT_IMAGE, row) as cur:
                    if cur.rowcount != 1 or cur.lastrowid is None:
                        continue  # stored already
                    new_id = cur.lastrowid
                stored.append(image_from_row((new_id, *row)))
                if img.local_data is not None and img.local_words is not None:
                    await self._insert_local(
                        conn, img.guild_id, new_id, img.local_data, img.local_words
                    )
        return stored

    async def load_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        # In slices: a million rows as one list of tuples costs ~180 MiB at its peak.
        chunks: list[npt.NDArray[np.int64]] = []
        async with self.reader.execute(
            "SELECT id, phash64 FROM images WHERE guild_id = ? ORDER BY id", (guild_id,)
        ) as cur:
            while rows := await cur.fetchmany(LOAD_SLICE):
                chunks.append(np.array(rows, dtype=np.int64).reshape(-1, 2))
        if not chunks:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty.copy()
        table = np.concatenate(chunks)
        return np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])

    async def integrity_check(self) -> bool:
        async with self.reader.execute("PRAGMA integrity_check") as cur:
            row = await cur.fetchone()
        return bool(row and row[0] == "ok")
