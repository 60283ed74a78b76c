"""Helpers to run the real ``python -m bot`` process against the fake Discord.

The fake runs in the test process; the bot is a child process aimed at it through
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY``, on a database given by ``DATABASE_URL``
(an absolute SQLite file or a PostgreSQL database). The test reads the database behind
the bot's back: :class:`Database` lists the stored rows and checks the store's integrity
for either engine. Every wait has a timeout; every child is killed on the way out of
:func:`bot_process`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.store import open_store
from tests.fakediscord import Channel, FakeDiscord, Guild, Member
from tests.support import PHOTOS, encode, photo

#: Environment variables seenit reads: none may leak in from the developer's shell.
SEENIT_VARIABLES = (
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "LOG_LEVEL",
    "HASH_WORKERS",
    "HASH_TIMEOUT",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "FETCH_TIMEOUT",
    "ALLOW_PRIVATE_URLS",
    "CATCHUP_LIMIT",
    "MAX_CACHED_GUILDS",
    "SHARD_COUNT",
    "SHARD_IDS",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY",
    "DOCS_URL",
    "ONBOARD_MESSAGES",
    "ONBOARD_DAYS",
)
CONNECT_TIMEOUT = 10.0
KILL_TIMEOUT = 5.0

#: (guild id, message id, slot) of one stored image: the store's unique key.
Row = tuple[int, int, int]


def base_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SEENIT_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


# ---------------------------------------------------------------- the database


@dataclass(frozen=True)
class Database:
    """The bot's database as the test sees it: ``sqlite:////abs/path`` or ``postgresql://``."""

    url: str

    @property
    def engine(self) -> str:
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    async def rows(self) -> list[Row]:
        """Every stored image's key; [] when the schema does not exist yet."""
        if self.engine == "sqlite":
            return self._sqlite_rows()
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(self.url)
        try:
            if await conn.fetchval("SELECT to_regclass('images')") is None:
                return []
            records = await conn.fetch("SELECT guild_id, message_id, slot FROM images")
        finally:
            await conn.close()
        return [(int(g), int(m), int(s)) for g, m, s in records]

    def _sqlite_rows(self) -> list[Row]:
        if not self.sqlite_path.exists():
            return []
        uri = f"file:{self.sqlite_path}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as db:
                cursor = db.execute("SELECT guild_id, message_id, slot FROM images")
                return [(int(g), int(m), int(s)) for g, m, s in cursor]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    async def count(self) -> int:
        return len(await self.rows())

    async def integrity(self) -> str:
        """'ok' when the store is sound; otherwise what is wrong.

        SQLite: ``PRAGMA integrity_check`` through the sqlite3 module (which also recovers
        the write-ahead log a killed writer left). PostgreSQL: the store's own check
        (schema current, every index valid) through ``bot.store.open_store``.
        """
        if self.engine == "sqlite":
            with contextlib.closing(sqlite3.connect(self.sqlite_path)) as db:
                return "\n".join(str(r[0]) for r in db.execute("PRAGMA integrity_check"))
        async with open_store(self.url) as store:
            return "ok" if await store.integrity_check() else "the store's integrity_check failed"

    async def wait_rows(
        self,
        done: Callable[[list[Row]], bool],
        *,
        wait: float,
        what: str,
        poll: float = 0.02,
    ) -> list[Row]:
        """Poll the stored rows until ``done(rows)``; TimeoutError naming ``what`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            try:
                rows: list[Row] | None = await self.rows()
            except (sqlite3.OperationalError, OSError):
                rows = None  # busy, or being created
            if rows is not None and done(rows):
                return rows
            if loop.time() > deadline:
                have = "?" if rows is None else len(rows)
                raise TimeoutError(f"waiting for {what}: {have} stored images after {wait}s")
            await asyncio.sleep(poll)

    async def wait_count(
        self,
        done: Callable[[int], bool],
        *,
        wait: float,
        what: str,
        poll: float = 0.02,
    ) -> int:
        """Poll the row count until ``done(count)``; TimeoutError naming ``what`` otherwise."""
        rows = await self.wait_rows(lambda rows: done(len(rows)), wait=wait, what=what, poll=poll)
        return len(rows)


# --------------------------------------------------------------- the process


@dataclass
class ProcWorld:
    """A guild in the fake Discord and a database, for bot processes to run on."""

    fake: FakeDiscord
    guild: Guild
    general: Channel
    memes: Channel
    alice: Member
    bob: Member
    db: Database
    workdir: Path
    logs: Path

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "DISCORD_TOKEN": "test-token",
            "DATABASE_URL": self.db.url,
            "DISCORD_API_BASE": self.fake.api_base,
            "DISCORD_GATEWAY": self.fake.ws_url,
            "HASH_WORKERS": "1",
            "LOG_LEVEL": "INFO",
        }
        settings.update(extra)
        return base_env(**settings)


def build_proc_world(fake: FakeDiscord, db: Database, root: Path) -> ProcWorld:
    workdir = root / "elsewhere"
    workdir.mkdir(exist_ok=True)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    guild = fake.add_guild("Process Town")
    category = fake.add_category(guild, "chat")
    return ProcWorld(
        fake=fake,
        guild=guild,
        general=fake.add_text_channel(guild, "general", parent_id=category),
        memes=fake.add_text_channel(guild, "memes", parent_id=category),
        alice=fake.add_member(guild, "alice"),
        bob=fake.add_member(guild, "bob"),
        db=db,
        workdir=workdir,
        logs=logs,
    )


class BotProcess:
    """One ``python -m bot`` child, leader of its own process group (with its hashing
    workers); its stdout and stderr go to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log
        self.pgid = proc.pid  # start_new_session: the child leads a new process group

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def errors(self) -> list[str]:
        return [
            line
            for line in self.output().splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]

    def group_alive(self) -> list[int]:
        """Pids of the processes still in the bot's process group (the bot and its workers)."""
        alive: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) == self.pgid:
                    alive.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
        # A zombie (exited, not yet reaped) is not running anything.
        return [p for p in alive if not _zombie(p)]

    async def stop(self, wait: float = 10.0) -> int:
        """SIGTERM, then the exit code (TimeoutError after ``wait`` seconds)."""
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), wait)

    async def sigkill(self, *, group: bool = True) -> int:
        """SIGKILL the bot; returns its exit code.

        ``group=True`` kills its hashing workers too, as ``docker kill``, systemd or a power
        cut do; ``group=False`` only the main process, as the kernel's OOM killer does.
        """
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.pgid, signal.SIGKILL)
            else:
                self.proc.send_signal(signal.SIGKILL)
        return await asyncio.wait_for(self.proc.wait(), KILL_TIMEOUT)

    async def kill(self) -> None:
        """SIGKILL whatever is left of the bot's process group, and reap the bot."""
        # While the leader is unreaped or a member lives, the group id cannot be reused.
        if self.proc.returncode is None or self.group_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)
        if self.proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), KILL_TIMEOUT)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@contextlib.asynccontextmanager
async def bot_process(world: ProcWorld, name: str, **env: str) -> AsyncIterator[BotProcess]:
    """``python -m bot`` connected to the fake (IDENTIFY received); killed on the way out."""
    identifies = len(world.fake.gateway.identifies)
    log = world.logs / f"{name}.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=world.workdir,
            env=world.env(**env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # its own process group: the workers die with it
        )
    bot = BotProcess(proc, log)
    try:
        exited = asyncio.create_task(proc.wait())
        connected = asyncio.create_task(
            world.fake.wait_until(
                lambda: (
                    len(world.fake.gateway.identifies) > identifies and world.fake.gateway.connected
                ),
                timeout=CONNECT_TIMEOUT,
                what="the bot process to IDENTIFY",
            )
        )
        done, _ = await asyncio.wait({exited, connected}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if connected not in done:
            connected.cancel()
            raise AssertionError(f"bot exited with {proc.returncode}:\n{bot.tail()}")
        connected.result()
        yield bot
    finally:
        await bot.kill()


# ------------------------------------------------------------------ pictures


def distinct_images(count: int, prefix: str = "img") -> list[tuple[str, bytes]]:
    """``count`` (filename, JPEG bytes) pictures, none a repost of another.

    Tiles of a 3x2 grid and of a 4x3 grid over each committed photo (90 at most), small
    enough to hash quickly; no tile is an edit of another, so they raise no alerts.
    """
    cells = [
        (cols, rows, col, row)
        for cols, rows in ((3, 2), (4, 3))
        for row in range(rows)
        for col in range(cols)
    ]
    combos = [(name, cell) for cell in cells for name in PHOTOS]
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} distinct images")
    images: list[tuple[str, bytes]] = []
    for n, (name, (cols, rows, col, row)) in enumerate(combos[:count]):
        im = photo(name)
        w, h = im.width // cols, im.height // rows
        tile = im.crop((col * w, row * h, (col + 1) * w, (row + 1) * h)).resize((192, 192))
        images.append((f"{prefix}-{n:03d}.jpg", encode(tile, quality=85)))
    return images
