"""PostgreSQL store through asyncpg: the engine for sharded deployments.

Several bot processes (one per group of shards) share one database. What makes that safe:

* Images are unique on (guild_id, message_id, slot) and inserted with ``ON CONFLICT DO
  NOTHING``, so two processes writing the same guild never lose or duplicate a row; each
  batch is inserted in key order, so concurrent batches take their row locks in one order
  and cannot deadlock.
* The schema is migrated under ``pg_advisory_xact_lock``: processes starting together
  migrate once, the others wait and then find the schema current.
* Connection loss (a restart, a failover, a dropped socket) is retried once on a fresh
  connection; asyncpg's pool reconnects on the next acquire. Every write runs in an
  explicit transaction and remembers the row ids its statements returned before the
  commit, so when the answer to a COMMIT is lost (the commit may or may not have happened)
  the retry still reports exactly the rows this call inserted or deleted. When the retry
  fails too, :class:`StoreUnavailable` is raised: the caller logs and carries on.

Hashes are stored as signed ``bigint`` (the same bits as the unsigned 64-bit hash) and the
256-bit hash as ``bytea``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
import numpy.typing as npt

from bot.index import to_signed
from bot.records import ImageRecord, NewImage
from bot.store.base import IMAGE_COLUMNS, StoreError, image_from_row
from bot.store.schema import POSTGRES, SCHEMA_VERSION, TABLES, migrate, migrations
from bot.store.sql import Mode, SQLStore

log = logging.getLogger(__name__)

T = TypeVar("T")
#: An asyncpg connection (asyncpg ships no type information).
Connection = Any

#: Key of the advisory lock taken while migrating ("seenit01" as a big-endian integer).
MIGRATION_LOCK = int.from_bytes(b"seenit01", "big")
#: First key of the advisory locks that serialise updates of one meta key ("seen").
META_LOCK = int.from_bytes(b"seen", "big") & 0x7FFFFFFF

#: The schema's migrations in PostgreSQL's words (see bot.store.schema).
MIGRATIONS = migrations(POSTGRES)

#: A batch of images in one statement, one array a column.
INSERT_IMAGES = f"""
    INSERT INTO images (guild_id, channel_id, message_id, author_id, slot, posted_at,
                        phash64, phash256, quality, colour)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::int[],
                         $6::bigint[], $7::bigint[], $8::bytea[], $9::int[], $10::bytea[])
    ON CONFLICT (guild_id, message_id, slot) DO NOTHING
    RETURNING {IMAGE_COLUMNS}
"""

#: Local features of a batch of images: (image id, guild id, words) and (image id, features).
INSERT_LOCAL_WORDS = """
    INSERT INTO local_words (image_id, guild_id, words)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
    ON CONFLICT (image_id) DO NOTHING
"""
INSERT_LOCAL_FEATURES = """
    INSERT INTO local_features (image_id, data)
    SELECT * FROM unnest($1::bigint[], $2::bytea[])
    ON CONFLICT (image_id) DO UPDATE SET data = excluded.data
"""

#: One row of ``COPY (SELECT id, phash64 ...) TO STDOUT (FORMAT binary)``: the field
#: count, then each field's length and big-endian value.
_COPY_ROW = np.dtype(
    [("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("hash_len", ">i4"), ("hash", ">i8")]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


class StoreUnavailable(StoreError):
    """The database could not be reached, even after a retry; the operation may be retried."""


def _transient(exc: BaseException) -> bool:
    """Whether an error means the connection (not the request) failed: worth one retry."""
    if isinstance(exc, ValueError):  # a bad argument, refused before sending (DataError)
        return False
    return isinstance(
        exc,
        OSError  # refused, reset, timed out (TimeoutError is an OSError)
        | asyncpg.PostgresConnectionError  # class 08, and the connection closing under us
        | asyncpg.InterfaceError  # "connection is closed" and the like
        | asyncpg.InternalClientError  # a connection caught mid-shutdown by the server
        | asyncpg.AdminShutdownError  # the server is stopping
        | asyncpg.CannotConnectNowError  # ... or starting
        | asyncpg.CrashShutdownError
        | asyncpg.TransactionRollbackError,  # deadlock or serialization failure: rolled back
    )


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def parse_binary_copy(
    data: bytes | bytearray,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Two bigint columns in PostgreSQL's binary COPY format -> two native int64 arrays."""
    if not data.startswith(_COPY_SIGNATURE) or len(data) < len(_COPY_SIGNATURE) + 10:
        raise StoreError("unexpected COPY output from PostgreSQL")
    (extension,) = struct.unpack_from(">I", data, len(_COPY_SIGNATURE) + 4)
    start = len(_COPY_SIGNATURE) + 8 + extension
    body = len(data) - start - 2  # the trailer is a field count of -1
    if body % _COPY_ROW.itemsize or data[-2:] != b"\xff\xff":
        raise StoreError("unexpected COPY output from PostgreSQL")
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=body // _COPY_ROW.itemsize, offset=start)
    if len(rows) and not (
        (rows["fields"] == 2).all()
        and (rows["id_len"] == 8).all()
        and (rows["hash_len"] == 8).all()
    ):
        raise StoreError("unexpected COPY output from PostgreSQL")
    return rows["id"].astype(np.int64), rows["hash"].astype(np.int64)


class PostgresStore(SQLStore):
    """Store on a PostgreSQL database (14 or newer), through a pool of connections."""

    FOR_UPDATE: ClassVar[str] = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        command_timeout: float = 60.0,
        retry_delay: float = 0.5,
    ) -> None:
        self.url = url
        self.min_connections = min_connections
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        #: Pause before the one retry after a connection failure.
        self.retry_delay = retry_delay
        self._pool: Any = None

    async def __aenter__(self) -> Self:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self.min_connections,
                max_size=self.max_connections,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
                server_settings={"application_name": "seenit"},
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as exc:
            raise StoreError(f"cannot connect to {redacted(self.url)}: {exc}") from exc
        try:
            await self._migrate()
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
        await self._close()

    async def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=10)
        except (TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            pool.terminate()

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def _migrate(self) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await migrate(conn, POSTGRES, redacted(self.url))

        await self._run("migrate", work, Mode.WRITE)

    async def _commit(self, transaction: Any) -> None:
        """Commit (a method of its own so tests can lose the server's answer on purpose)."""
        await transaction.commit()

    async def _run(
        self,
        what: str,
        work: Callable[[Connection], Awaitable[T]],
        mode: Mode = Mode.READ,
    ) -> T:
        """Run ``work`` on a pooled connection, retrying once if the connection fails.

        WRITE runs it in a transaction, SNAPSHOT in a read-only repeatable-read one. A
        retried ``work`` must cope with its earlier attempt having committed or not.
        """
        for attempt in (1, 2):
            try:
                async with self.pool.acquire(timeout=self.connect_timeout) as conn:
                    if mode is Mode.READ:
                        return await work(conn)
                    if mode is Mode.WRITE:
                        transaction = conn.transaction()
                    else:
                        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
                    await transaction.start()
                    try:
                        result = await work(conn)
                    except BaseException:
                        if not conn.is_closed():
                            with contextlib.suppress(Exception):
                                await transaction.rollback()
                        raise
                    await self._commit(transaction)
                    return result
            except StoreError:
                raise
            except Exception as exc:
                if not _transient(exc):
                    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
                        raise StoreError(f"{what}: {exc}") from exc
                    raise
                if attempt == 2:
                    raise StoreUnavailable(
                        f"{what}: the database is unreachable ({type(exc).__name__}: {exc})"
                    ) from exc
                log.warning(
                    "%s: lost the database connection (%s: %s); retrying",
                    what,
                    type(exc).__name__,
                    exc,
                )
                await asyncio.sleep(self.retry_delay)
        raise AssertionError("unreachable")

    # what PostgreSQL does its own way

    async def add_images(self, images: Sequence[NewImage]) -> list[ImageRecord]:
        """Insert images; ones already stored (same guild, message, slot) are skipped.

        Returns the rows this call inserted, in the order given. Rows are inserted in key
        order, so ids ascend with (guild, message, slot) within a batch.
        """
        if not images:
            return []
        firsts: dict[tuple[int, int, int], NewImage] = {}
        for img in images:
            firsts.setdefault((img.guild_id, img.message_id, img.slot), img)
        batch = [firsts[key] for key in sorted(firsts)]
        columns = (
            [i.guild_id for i in batch],
            [i.channel_id for i in batch],
            [i.message_id for i in batch],
            [i.author_id for i in batch],
            [i.slot for i in batch],
            [i.posted_at for i in batch],
            [to_signed(i.phash64) for i in batch],
            [i.phash256 for i in batch],
            [i.quality for i in batch],
            [i.colour for i in batch],
        )
        # Ids an earlier attempt inserted: they exist now if, and only if, it committed.
        tried: list[int] = []

        async def work(conn: Connection) -> list[ImageRecord]:
            rows = list(await conn.fetch(INSERT_IMAGES, *columns))
            await self._insert_local_batch(
                conn,
                [
                    (int(r[0]), firsts[(int(r[1]), int(r[3]), int(r[5]))])
                    for r in rows
                    if firsts[(int(r[1]), int(r[3]), int(r[5]))].local_data is not None
                ],
            )
            if tried:
                rows += await conn.fetch(
                    f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ANY($1::bigint[])", tried
                )
            tried.extend(r[0] for r in rows)
            return [image_from_row(r) for r in rows]

        stored = await self._run("add_images", work, Mode.WRITE)
        by_key = {(r.guild_id, r.message_id, r.slot): r for r in stored}
        return [by_key[key] for key in firsts if key in by_key]

    @staticmethod
    async def _insert_local_batch(conn: Connection, rows: Sequence[tuple[int, NewImage]]) -> None:
        """Store the local features of images just inserted (in the same transaction)."""
        if not rows:
            return
        await conn.execute(
            INSERT_LOCAL_WORDS,
            [image_id for image_id, _ in rows],
            [img.guild_id for _, img in rows],
            [img.local_words for _, img in rows],
        )
        await conn.execute(
            INSERT_LOCAL_FEATURES,
            [image_id for image_id, _ in rows],
            [img.local_data for _, img in rows],
        )

    async def load_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(ids, signed 64-bit hashes) of a guild's images, in id order, through binary COPY."""

        async def work(conn: Connection) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
            received = bytearray()  # parsed in place: no second copy of the rows

            async def sink(chunk: bytes) -> None:
                received.extend(chunk)

            await conn.copy_from_query(
                "SELECT id, phash64 FROM images WHERE guild_id = $1 ORDER BY id",
                guild_id,
                output=sink,
                format="binary",
            )
            return parse_binary_copy(received)

        return await self._run("load_hashes", work)

    async def _lock_meta(self, conn: Connection, key: str) -> None:
        # A row lock cannot guard a key that has no row yet: an advisory lock per key
        # serialises the updates of every process sharing the database.
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", META_LOCK, key)

    async def integrity_check(self) -> bool:
        """The server answers, the schema is current, and every index is valid and ready."""

        async def work(conn: Connection) -> bool:
            if await conn.fetchval("SELECT 1") != 1:
                return False
            version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            row = await conn.fetchrow(
                "SELECT count(*) FILTER"
                " (WHERE NOT (i.indisvalid AND i.indisready AND i.indislive)),"
                " count(*) FILTER (WHERE i.indexrelid = to_regclass('images_key'))"
                " FROM pg_index i WHERE i.indrelid = ANY($1::regclass[])",
                list(TABLES),
            )
            return bool(version == SCHEMA_VERSION and row[0] == 0 and row[1] == 1)

        return await self._run("integrity_check", work)
