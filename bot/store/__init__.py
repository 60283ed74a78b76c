"""Persistent storage: one module per database engine, all behind :class:`Store`."""

from __future__ import annotations

from bot.store.base import Store, StoreError
from bot.store.schema import SCHEMA_VERSION
from bot.store.sqlite import SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "Store", "StoreError", "open_store"]

#: URL prefixes open_store understands, for the error message.
SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def open_store(url: str) -> Store:
    """The store for a ``DATABASE_URL``; use it as ``async with open_store(url) as store``.

    ``sqlite:///path`` opens a SQLite file; ``postgresql://user:password@host/db`` (or
    ``postgres://``) a PostgreSQL database, shared by any number of bot processes.
    """
    if url.startswith("sqlite:///"):
        return SQLiteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here: SQLite users never load asyncpg.
        from bot.store.postgres import PostgresStore

        return PostgresStore(url)
    scheme = url.split(":", 1)[0]
    raise StoreError(
        f"DATABASE_URL must start with {', '.join(SCHEMES[:-1])} or {SCHEMES[-1]}, not {scheme!r}"
    )
