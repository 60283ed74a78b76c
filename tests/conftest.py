"""Shared fixtures: the committed photographs, a fake Discord world, a database of each
engine, no logged errors.

The photographs and their edits themselves live in tests/support.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

# Re-exported for tests that import them from here; new code imports tests.support.
from tests.support import DATA, PHOTOS, VARIANTS, encode, photo

__all__ = ["DATA", "PHOTOS", "VARIANTS", "encode", "photo"]


@pytest.fixture
def photo_bytes() -> Callable[[str], bytes]:
    return lambda name: (DATA / name).read_bytes()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each engine in turn: a SQLite file in a directory not made yet,
    then a PostgreSQL database on the session's server (modules using this load the server's
    fixtures with ``pytest_plugins = ("tests.pgserver",)``; it starts on first use)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'seenit.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """discord.py logs errors in handlers instead of raising: any of them fails the test."""
    from tests.fakediscord import logged_errors

    caplog.set_level(logging.WARNING)
    yield
    assert logged_errors(caplog) == []


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[object]:
    """A guild in the fake Discord, with a SQLite file for seenit (see tests/botworld.py)."""
    from tests.botworld import build_world
    from tests.fakediscord import FakeDiscord

    async with FakeDiscord() as fake:
        yield build_world(fake, f"sqlite:///{tmp_path / 'seenit.db'}")
