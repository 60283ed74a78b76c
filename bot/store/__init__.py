"""Persistent storage: one module per database engine, all behind :class:`Store`."""

from __future__ import annotations

from bot.store.base import SCHEMA_VERSION, Store, StoreError
from bot.store.sqlite import SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """The store for a ``DATABASE_URL``; use it as ``async with open_store(url) as store``."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url)
    raise StoreError(f"DATABASE_URL must start with sqlite:///, not {url.split(':', 1)[0]!r}")
