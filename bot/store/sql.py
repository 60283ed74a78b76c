"""What every engine runs with the same SQL: most of the store, written once.

The queries speak PostgreSQL's dialect (``$1`` parameters, ``= ANY($1::bigint[])`` for a
list of ids); the SQLite engine translates those two forms. An engine provides
:meth:`SQLStore._run`, which hands a connection to a piece of work, and what truly differs:
opening, bulk inserts, bulk loads, locks.

A write may run twice: PostgreSQL retries it once on a fresh connection when the answer to
its COMMIT is lost. So every write here remembers what its earlier attempt did (the ids its
statements returned) and reports exactly what this call stored or deleted either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from bot.clips import StoredClip, pack_frames
from bot.guild_settings import GuildSettings
from bot.index import to_signed
from bot.records import WEEK_MS, AlertRecord, AllowedImage, GuildStats, ImageRecord, MemberForgotten
from bot.store.base import (
    ALERT_COLUMNS,
    ALLOWED_COLUMNS,
    CLIP_COLUMNS,
    GUILD_TABLES,
    IMAGE_COLUMNS,
    NOBODY,
    STATS_TOP,
    alert_from_row,
    allowed_from_row,
    clip_from_row,
    clip_hashes,
    guild_stats,
    image_from_row,
    stats_start,
    without_exemption,
)
from bot.store.schema import CURRENT_VERSION, Connection

T = TypeVar("T")

INSERT_LOCAL_WORDS = (
    "INSERT INTO local_words (image_id, guild_id, words) VALUES ($1, $2, $3)"
    " ON CONFLICT (image_id) DO NOTHING RETURNING image_id"
)
INSERT_LOCAL_FEATURES = (
    "INSERT INTO local_features (image_id, data) VALUES ($1, $2)"
    " ON CONFLICT (image_id) DO UPDATE SET data = excluded.data"
)
UPGRADE_LOCAL_FEATURES = (
    "UPDATE local_features SET data = $2 WHERE image_id = $1 AND substr(data, 1, $3) = $4"
)
SET_META = (
    "INSERT INTO meta (key, value) VALUES ($1, $2)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class Mode(Enum):
    """How :meth:`SQLStore._run` wraps a piece of work."""

    #: Statements on their own (each one is atomic).
    READ = "read"
    #: One read-write transaction.
    WRITE = "write"
    #: One read-only transaction that sees a single snapshot.
    SNAPSHOT = "snapshot"


class SQLStore:
    """The store methods whose SQL is the same on every engine."""

    url: str
    #: Row locks for a read-modify-write (SQLite locks the whole file instead).
    FOR_UPDATE: ClassVar[str] = ""

    async def _run(
        self, what: str, work: Callable[[Connection], Awaitable[T]], mode: Mode = Mode.READ
    ) -> T:
        """Run ``work`` on a connection, in the way ``mode`` says."""
        raise NotImplementedError

    async def _fetch(self, what: str, query: str, *args: Any) -> list[Any]:
        """The rows of one query."""

        async def work(conn: Connection) -> list[Any]:
            return list(await conn.fetch(query, *args))

        return await self._run(what, work)

    async def _fetchval(self, what: str, query: str, *args: Any) -> Any:
        """The first column of the first row of one query (None without rows)."""

        async def work(conn: Connection) -> Any:
            return await conn.fetchval(query, *args)

        return await self._run(what, work)

    async def _execute(self, what: str, query: str, *args: Any) -> None:
        """One write statement that has the same effect however often it runs."""

        async def work(conn: Connection) -> None:
            await conn.execute(query, *args)

        await self._run(what, work, Mode.WRITE)

    async def _insert_once(self, what: str, table: str, query: str, *args: Any) -> int:
        """Run an ``INSERT ... RETURNING id`` once even if retried; returns the row's id."""
        tried: list[int] = []

        async def work(conn: Connection) -> int:
            if tried and await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)", tried[-1]
            ):
                return tried[-1]  # the earlier attempt committed
            tried.append(int(await conn.fetchval(query, *args)))
            return tried[-1]

        return await self._run(what, work, Mode.WRITE)

    async def schema_version(self) -> int:
        return int(await self._fetchval("schema_version", CURRENT_VERSION))

    # images

    async def get_images(self, image_ids: Sequence[int]) -> list[ImageRecord]:
        if not image_ids:
            return []
        rows = await self._fetch(
            "get_images",
            f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ANY($1::bigint[]) ORDER BY id",
            list(image_ids),
        )
        return [image_from_row(r) for r in rows]

    async def messages_in_channel(self, channel_id: int, before: int) -> list[int]:
        rows = await self._fetch(
            "messages_in_channel",
            "SELECT DISTINCT message_id FROM images WHERE channel_id = $1 AND message_id < $2"
            " ORDER BY message_id DESC",
            channel_id,
            before,
        )
        return [int(r[0]) for r in rows]

    async def count_images(self, guild_id: int) -> int:
        return int(
            await self._fetchval(
                "count_images", "SELECT count(*) FROM images WHERE guild_id = $1", guild_id
            )
        )

    async def images_in_message(self, guild_id: int, message_id: int) -> list[ImageRecord]:
        rows = await self._fetch(
            "images_in_message",
            f"SELECT {IMAGE_COLUMNS} FROM images WHERE guild_id = $1 AND message_id = $2"
            " ORDER BY slot",
            guild_id,
            message_id,
        )
        return [image_from_row(r) for r in rows]

    # local features

    @staticmethod
    async def _insert_local(
        conn: Connection, guild_id: int, image_id: int, data: bytes, words: bytes
    ) -> bool:
        """Give a stored image its local features; False if it had them already."""
        if await conn.fetchval(INSERT_LOCAL_WORDS, image_id, guild_id, words) is None:
            return False
        await conn.execute(INSERT_LOCAL_FEATURES, image_id, data)
        return True

    async def load_local_words(self, guild_id: int) -> tuple[list[int], list[bytes]]:
        rows = await self._fetch(
            "load_local_words",
            "SELECT image_id, words FROM local_words WHERE guild_id = $1 ORDER BY image_id",
            guild_id,
        )
        return [int(r[0]) for r in rows], [bytes(r[1]) for r in rows]

    async def local_features(self, image_ids: Sequence[int]) -> dict[int, bytes]:
        if not image_ids:
            return {}
        rows = await self._fetch(
            "local_features",
            "SELECT image_id, data FROM local_features WHERE image_id = ANY($1::bigint[])",
            list(image_ids),
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    async def add_local_features(
        self,
        guild_id: int,
        features: Sequence[tuple[int, int, bytes, bytes]],
        stale: bytes = b"",
    ) -> list[int]:
        if not features:
            return []
        # Ids an earlier attempt gave words: they have them now if, and only if, it committed.
        tried: list[int] = []

        async def work(conn: Connection) -> list[int]:
            added: set[int] = set()
            for message_id, slot, data, words in features:
                image_id = await conn.fetchval(
                    "SELECT id FROM images WHERE guild_id = $1 AND message_id = $2 AND slot = $3",
                    guild_id,
                    message_id,
                    slot,
                )
                if image_id is None:
                    continue
                if await self._insert_local(conn, guild_id, int(image_id), data, words):
                    added.add(int(image_id))
                elif stale:
                    await conn.execute(
                        UPGRADE_LOCAL_FEATURES, int(image_id), data, len(stale), stale
                    )
            if tried:
                earlier = await conn.fetch(
                    "SELECT image_id FROM local_words WHERE image_id = ANY($1::bigint[])", tried
                )
                added.update(int(r[0]) for r in earlier)
            tried.extend(added)
            return sorted(added)

        return await self._run("add_local_features", work, Mode.WRITE)

    async def add_colour(self, guild_id: int, message_id: int, slot: int, colour: bytes) -> bool:
        # Only a NULL colour is set: running it again changes nothing, so a retry is safe.
        return await self._set_in_slot(
            "add_colour", "colour", "colour IS NULL", guild_id, message_id, slot, colour
        )

    async def requalify(self, guild_id: int, message_id: int, slot: int, quality: int) -> bool:
        return await self._set_in_slot(
            "requalify", "quality", "quality <> $4", guild_id, message_id, slot, quality
        )

    async def _set_in_slot(
        self,
        what: str,
        column: str,
        where: str,
        guild_id: int,
        message_id: int,
        slot: int,
        value: Any,
    ) -> bool:
        """Set ``column`` of the image stored for a message's slot to ``value`` ($4) where
        ``where`` holds; whether this call changed it (the returned id tells)."""

        async def work(conn: Connection) -> bool:
            changed = await conn.fetchval(
                f"UPDATE images SET {column} = $4 WHERE guild_id = $1 AND message_id = $2"
                f" AND slot = $3 AND {where} RETURNING id",
                guild_id,
                message_id,
                slot,
                value,
            )
            return changed is not None

        return await self._run(what, work, Mode.WRITE)

    # clips

    async def add_clip(self, guild_id: int, clip: StoredClip) -> bool:
        frames = pack_frames(clip.frames)
        inserted: list[bool] = []

        async def work(conn: Connection) -> bool:
            row = await conn.fetchrow(
                f"INSERT INTO clips ({CLIP_COLUMNS}, guild_id)"
                " SELECT $1, $2, $3, $4, $5, $6, $7, guild_id FROM images"
                " WHERE id = $1 AND guild_id = $8 ON CONFLICT (image_id) DO NOTHING"
                " RETURNING image_id",
                clip.image_id,
                clip.kind,
                clip.container,
                clip.duration_ms,
                clip.width,
                clip.height,
                frames,
                guild_id,
            )
            # Retried after a lost commit, the row may be this call's own: look, don't count.
            if row is None and any(inserted):
                return bool(
                    await conn.fetchval(
                        "SELECT EXISTS (SELECT 1 FROM clips WHERE image_id = $1)", clip.image_id
                    )
                )
            inserted.append(row is not None)
            return row is not None

        return await self._run("add_clip", work, Mode.WRITE)

    async def clips(self, image_ids: Sequence[int]) -> dict[int, StoredClip]:
        if not image_ids:
            return {}
        rows = await self._fetch(
            "clips",
            f"SELECT {CLIP_COLUMNS} FROM clips WHERE image_id = ANY($1::bigint[])",
            list(image_ids),
        )
        return {int(r[0]): clip_from_row(r) for r in rows}

    async def load_clip_hashes(
        self, guild_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        rows = await self._fetch(
            "load_clip_hashes",
            "SELECT image_id, frames FROM clips WHERE guild_id = $1 ORDER BY image_id",
            guild_id,
        )
        return clip_hashes([(int(r[0]), bytes(r[1])) for r in rows])

    # deletions

    async def _delete_images(
        self, what: str, where: str, params: Sequence[Any], *also: tuple[str, Sequence[Any]]
    ) -> list[int]:
        """Delete the images matching ``where`` (then run ``also``); returns their ids."""
        tried: list[int] = []

        async def work(conn: Connection) -> list[int]:
            rows = await conn.fetch(f"DELETE FROM images WHERE {where} RETURNING id", *params)
            deleted = [int(r[0]) for r in rows]
            if tried:
                # An earlier attempt's deletions are gone now if, and only if, it committed.
                left = await conn.fetch("SELECT id FROM images WHERE id = ANY($1::bigint[])", tried)
                still = {int(r[0]) for r in left}
                deleted = list(dict.fromkeys([*deleted, *(i for i in tried if i not in still)]))
            tried.extend(deleted)
            for sql, args in also:
                await conn.execute(sql, *args)
            return sorted(deleted)

        return await self._run(what, work, Mode.WRITE)

    async def delete_messages(self, guild_id: int | None, message_ids: Sequence[int]) -> list[int]:
        if not message_ids:
            return []
        return await self._delete_images(
            "delete_messages",
            "message_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR guild_id = $2)",
            (list(message_ids), guild_id),
        )

    async def edit_images(
        self, guild_id: int, gone: Sequence[int], moved: Mapping[int, int]
    ) -> list[int]:
        # Through negative slots first, so two images trading places never collide; the
        # statements give the same end state when a retry runs them again.
        return await self._delete_images(
            "edit_images",
            "guild_id = $1 AND id = ANY($2::bigint[])",
            (guild_id, list(gone)),
            (
                "UPDATE images SET slot = -1 - abs(slot) WHERE guild_id = $1"
                " AND id = ANY($2::bigint[])",
                (guild_id, list(moved)),
            ),
            *(
                ("UPDATE images SET slot = $1 WHERE guild_id = $2 AND id = $3", (s, guild_id, i))
                for i, s in moved.items()
            ),
        )

    async def delete_channel(self, channel_id: int) -> list[int]:
        return await self._delete_images(
            "delete_channel",
            "channel_id = $1",
            (channel_id,),
            ("DELETE FROM channel_cursors WHERE channel_id = $1", (channel_id,)),
        )

    async def delete_author(self, guild_id: int, author_id: int) -> list[int]:
        return await self._delete_images(
            "delete_author", "guild_id = $1 AND author_id = $2", (guild_id, author_id)
        )

    async def forget_member(self, guild_id: int | None, user_id: int) -> MemberForgotten:
        in_guild = "($2::bigint IS NULL OR guild_id = $2)"
        theirs = f"SELECT id FROM images WHERE author_id = $1 AND {in_guild}"
        alerts_where = f"(author_id = $1 OR original_image_id IN ({theirs})) AND {in_guild}"
        # What an earlier attempt did: if its images are gone, it committed (a transaction
        # commits whole) and its report still stands.
        earlier: list[MemberForgotten] = []

        async def work(conn: Connection) -> MemberForgotten:
            carried = MemberForgotten()
            if (
                earlier
                and earlier[-1].images
                and not await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM images WHERE id = $1)", earlier[-1].images[0]
                )
            ):
                carried = earlier[-1]
            rows = await conn.fetch(
                f"DELETE FROM alerts WHERE {alerts_where} RETURNING id, {ALERT_COLUMNS}",
                user_id,
                guild_id,
            )
            alerts = tuple(alert_from_row(r[1:]) for r in sorted(rows, key=lambda r: int(r[0])))
            # Feedback about their images means nothing once the images are gone.
            await conn.execute(
                f"DELETE FROM not_reposts WHERE image_id IN ({theirs}) AND {in_guild}",
                user_id,
                guild_id,
            )
            rows = await conn.fetch(
                f"DELETE FROM images WHERE author_id = $1 AND {in_guild} RETURNING id",
                user_id,
                guild_id,
            )
            images = tuple(sorted(int(r[0]) for r in rows))
            cleared = await self._clear_added_by(conn, guild_id, user_id)
            exemptions = await self._drop_exemptions(conn, guild_id, user_id)
            report = MemberForgotten(images, alerts, cleared, exemptions)
            earlier.append(report)
            return MemberForgotten(
                carried.images + images,
                carried.alerts + alerts,
                carried.added_by_cleared + cleared,
                carried.exemptions + exemptions,
            )

        return await self._run("forget_member", work, Mode.WRITE)

    async def _clear_added_by(self, conn: Connection, guild_id: int | None, user_id: int) -> int:
        """Forget who added allowlist and feedback rows; how many rows named the member."""
        cleared = 0
        for table in ("allowed_images", "not_reposts"):
            rows = await conn.fetch(
                f"UPDATE {table} SET added_by = $3 WHERE added_by = $1"
                " AND ($2::bigint IS NULL OR guild_id = $2) RETURNING id",
                user_id,
                guild_id,
                NOBODY,
            )
            cleared += len(rows)
        return cleared

    async def _drop_exemptions(self, conn: Connection, guild_id: int | None, user_id: int) -> int:
        """Remove the member from the exempt lists; how many guilds' settings changed."""
        changed = 0
        for row in await conn.fetch(
            "SELECT guild_id, data FROM guild_settings"
            f" WHERE ($1::bigint IS NULL OR guild_id = $1){self.FOR_UPDATE}",
            guild_id,
        ):
            updated = without_exemption(row[1], user_id)
            if updated is not None:
                changed += 1
                await conn.execute(
                    "UPDATE guild_settings SET data = $1 WHERE guild_id = $2", updated, row[0]
                )
        return changed

    async def delete_guild(self, guild_id: int) -> int:
        """Delete everything stored for a guild; returns how many images went."""
        # (count, one of the ids) an earlier attempt deleted: whether that id is still
        # there tells whether the attempt committed, since a transaction commits whole.
        earlier: list[tuple[int, int]] = []

        async def work(conn: Connection) -> int:
            carried = 0
            if earlier:
                count, probe = earlier[-1]
                if not await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM images WHERE id = $1)", probe
                ):
                    carried = count
            # Counted first, not returned by the DELETE: a large guild has millions of ids.
            row = await conn.fetchrow(
                "SELECT count(*), min(id) FROM images WHERE guild_id = $1", guild_id
            )
            count, probe = int(row[0]), row[1]
            await conn.execute("DELETE FROM images WHERE guild_id = $1", guild_id)
            if probe is not None:
                earlier.append((count, int(probe)))
            for table in GUILD_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE guild_id = $1", guild_id)
            return count + carried

        return await self._run("delete_guild", work, Mode.WRITE)

    # settings and bookkeeping

    async def get_settings(self, guild_id: int) -> GuildSettings:
        data = await self._fetchval(
            "get_settings", "SELECT data FROM guild_settings WHERE guild_id = $1", guild_id
        )
        return GuildSettings.from_json(data) if data is not None else GuildSettings()

    async def save_settings(self, guild_id: int, settings: GuildSettings) -> None:
        await self._execute(
            "save_settings",
            "INSERT INTO guild_settings (guild_id, data) VALUES ($1, $2)"
            " ON CONFLICT (guild_id) DO UPDATE SET data = excluded.data",
            guild_id,
            settings.to_json(),
        )

    async def get_meta(self, key: str) -> str | None:
        value = await self._fetchval("get_meta", "SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        await self._execute("set_meta", SET_META, key, value)

    async def _lock_meta(self, conn: Connection, key: str) -> None:
        """Keep every other update of ``key`` out until this transaction ends."""

    async def update_meta(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        async def work(conn: Connection) -> str | None:
            await self._lock_meta(conn, key)
            old = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
            value = change(None if old is None else str(old))
            if value is None:
                await conn.execute("DELETE FROM meta WHERE key = $1", key)
            else:
                await conn.execute(SET_META, key, value)
            return value

        return await self._run("update_meta", work, Mode.WRITE)

    async def get_cursor(self, channel_id: int) -> int | None:
        value = await self._fetchval(
            "get_cursor",
            "SELECT last_message_id FROM channel_cursors WHERE channel_id = $1",
            channel_id,
        )
        return None if value is None else int(value)

    async def advance_cursor(self, guild_id: int, channel_id: int, message_id: int) -> None:
        await self._execute(
            "advance_cursor",
            "INSERT INTO channel_cursors (channel_id, guild_id, last_message_id)"
            " VALUES ($1, $2, $3) ON CONFLICT (channel_id) DO UPDATE"
            " SET last_message_id = excluded.last_message_id"
            " WHERE excluded.last_message_id > channel_cursors.last_message_id",
            channel_id,
            guild_id,
            message_id,
        )

    async def cursors(self, guild_id: int) -> dict[int, int]:
        rows = await self._fetch(
            "cursors",
            "SELECT channel_id, last_message_id FROM channel_cursors WHERE guild_id = $1",
            guild_id,
        )
        return {int(r[0]): int(r[1]) for r in rows}

    # alerts

    async def record_alert(self, alert: AlertRecord) -> int:
        return await self._insert_once(
            "record_alert",
            "alerts",
            f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " RETURNING id",
            alert.guild_id,
            alert.channel_id,
            alert.message_id,
            alert.author_id,
            alert.original_image_id,
            alert.alert_channel_id,
            alert.alert_message_id,
            alert.created_at,
        )

    async def alert_posted(self, alert_id: int, channel_id: int, message_id: int) -> bool:
        async def work(conn: Connection) -> bool:
            updated = await conn.fetchval(
                "UPDATE alerts SET alert_channel_id = $2, alert_message_id = $3 WHERE id = $1"
                " RETURNING id",
                alert_id,
                channel_id,
                message_id,
            )
            return updated is not None

        return await self._run("alert_posted", work, Mode.WRITE)

    async def alerts_for_message(self, message_id: int) -> list[AlertRecord]:
        rows = await self._fetch(
            "alerts_for_message",
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE message_id = $1 ORDER BY id",
            message_id,
        )
        return [alert_from_row(r) for r in rows]

    async def stats(self, guild_id: int, now_ms: int) -> GuildStats:
        start = stats_start(now_ms)

        async def work(conn: Connection) -> GuildStats:
            images = await conn.fetchval(
                "SELECT count(*) FROM images WHERE guild_id = $1", guild_id
            )
            alerts = await conn.fetchval(
                "SELECT count(*) FROM alerts WHERE guild_id = $1", guild_id
            )
            reposters = await conn.fetch(
                "SELECT author_id, count(*) AS n FROM alerts WHERE guild_id = $1"
                " GROUP BY author_id ORDER BY n DESC, author_id LIMIT $2",
                guild_id,
                STATS_TOP,
            )
            reposted = await conn.fetch(
                "SELECT original_image_id, count(*) AS n FROM alerts WHERE guild_id = $1"
                " GROUP BY original_image_id ORDER BY n DESC, original_image_id LIMIT $2",
                guild_id,
                STATS_TOP,
            )
            originals = await conn.fetch(
                f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ANY($1::bigint[])",
                [int(r[0]) for r in reposted],
            )
            weeks = await conn.fetch(
                "SELECT (created_at - $1) / $2 AS week, count(*) FROM alerts"
                " WHERE guild_id = $3 AND created_at >= $1 GROUP BY week",
                start,
                WEEK_MS,
                guild_id,
            )
            return guild_stats(
                images=int(images),
                alerts=int(alerts),
                reposters=reposters,
                reposted=reposted,
                originals=[image_from_row(r) for r in originals],
                weeks=weeks,
                start=start,
            )

        return await self._run("stats", work, Mode.SNAPSHOT)

    # allowlist

    async def allow_image(
        self, guild_id: int, phash64: int, phash256: bytes, added_by: int
    ) -> AllowedImage:
        new_id = await self._insert_once(
            "allow_image",
            "allowed_images",
            "INSERT INTO allowed_images (guild_id, phash64, phash256, added_by)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            guild_id,
            to_signed(phash64),
            phash256,
            added_by,
        )
        return AllowedImage(new_id, guild_id, phash64, phash256, added_by)

    async def allowed_images(self, guild_id: int) -> list[AllowedImage]:
        rows = await self._fetch(
            "allowed_images",
            f"SELECT {ALLOWED_COLUMNS} FROM allowed_images WHERE guild_id = $1 ORDER BY id",
            guild_id,
        )
        return [allowed_from_row(r) for r in rows]

    async def disallow_image(self, guild_id: int, allowed_id: int) -> bool:
        deleted_before: list[bool] = []

        async def work(conn: Connection) -> bool:
            row = await conn.fetchrow(
                "DELETE FROM allowed_images WHERE guild_id = $1 AND id = $2 RETURNING id",
                guild_id,
                allowed_id,
            )
            # If an earlier attempt deleted the row, it is gone either way now.
            deleted_before.append(row is not None)
            return any(deleted_before)

        return await self._run("disallow_image", work, Mode.WRITE)

    # feedback

    async def add_not_repost(
        self, guild_id: int, image_id: int, phash256: bytes, added_by: int
    ) -> None:
        await self._insert_once(
            "add_not_repost",
            "not_reposts",
            "INSERT INTO not_reposts (guild_id, image_id, phash256, added_by)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            guild_id,
            image_id,
            phash256,
            added_by,
        )

    async def not_reposts(self, guild_id: int) -> list[tuple[int, bytes]]:
        rows = await self._fetch(
            "not_reposts",
            "SELECT image_id, phash256 FROM not_reposts WHERE guild_id = $1 ORDER BY id",
            guild_id,
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]
