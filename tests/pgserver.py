"""A real, throwaway PostgreSQL server for tests and benchmarks, plus its pytest fixtures.

The server runs from the installed binaries (``pg_config --bindir``, ``PATH``, or
``/usr/lib/postgresql/*/bin``) in a fresh temporary directory, listening on a free port of
127.0.0.1 with trust authentication; its unix socket stays inside that directory.

PostgreSQL refuses to run as root. When the tests run as root (as CI does), the server
runs as an unprivileged system user instead: ``postgres`` when it exists (Debian's
packages create it), else ``seenit-pg``, created with useradd. The temporary directory is
given to that user and every server command is run through ``runuser``.

Without the binaries the tests are skipped, except under CI (``CI`` set), where that is
an error.

Use in a test module (registering this module as a plugin shares one server between
modules and keeps linters from mistaking the fixture arguments for redefinitions)::

    pytest_plugins = ("tests.pgserver",)

``postgres_url`` gives each test a new, empty database (created from template0 and
dropped afterwards); the server is started once per test session and stopped at its end.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

T = TypeVar("T")

SUPERUSER = "seenit"
FALLBACK_USER = "seenit-pg"


def find_bindir() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres, or None when PostgreSQL is absent."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    candidates.extend(Path(p) for p in reversed(versions))
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_user() -> str | None:
    """The unprivileged user to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return FALLBACK_USER


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private event loop in a helper thread."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; ``durable=False`` skips fsync."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.user = server_user()
        # Under /tmp, which the server user can reach (pytest's own tmp dirs are private).
        self.root = Path(tempfile.mkdtemp(prefix="seenit-pg-", dir="/tmp" if self.user else None))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.logfile = self.root / "server.log"
        self.port = 0
        self._names = itertools.count(1)

    # running server commands, as the unprivileged user when we are root

    def _command(self, *args: str | Path) -> list[str]:
        argv = [str(a) for a in args]
        if self.user is None:
            return argv
        return ["runuser", "-u", self.user, "--", *argv]

    def _run(self, *args: str | Path, timeout: float = 60) -> None:
        proc = subprocess.run(
            self._command(*args),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-3000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}\n{log}"
            )

    def start(self) -> None:
        """initdb, configure and start; waits until the server accepts connections."""
        self.sockets.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            self.bindir / "initdb",
            "-D",
            self.data,
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.sockets}'",
            "max_connections": "100",
            "log_min_messages": "warning",
        }
        if not self.durable:
            settings |= {"fsync": "off", "full_page_writes": "off"}
        for attempt in range(5):
            self.port = free_port()
            lines = [f"{k} = {v}" for k, v in {**settings, "port": str(self.port)}.items()]
            # Appending keeps the file's owner; later settings win over earlier ones.
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write("\n" + "\n".join(lines) + "\n")
            try:
                self._run(
                    self.bindir / "pg_ctl", "start", "-D", self.data, "-l", self.logfile, "-w"
                )
                return
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(0.2)  # most likely the port was taken meanwhile: pick another

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.bindir / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the data stays."""
        # -l as for start: the new server must not inherit (and hold open) our pipes.
        self._run(
            self.bindir / "pg_ctl",
            "restart",
            "-D",
            self.data,
            "-m",
            "fast",
            "-w",
            "-l",
            self.logfile,
        )

    def halt(self) -> None:
        """Stop the server but keep its data (resume() starts it again)."""
        self._run(self.bindir / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w")

    def resume(self) -> None:
        self._run(self.bindir / "pg_ctl", "start", "-D", self.data, "-l", self.logfile, "-w")

    # databases

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"

        async def create() -> None:
            conn = await asyncpg.connect(self.url())
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            finally:
                await conn.close()

        run_sync(create())
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]

        async def drop() -> None:
            conn = await asyncpg.connect(self.url())
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_sync(drop())


_server: PostgresServer | None = None


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    """The session's PostgreSQL server, started on first use and stopped when tests end.

    One server however many modules import this fixture: the instance is shared and its
    shutdown registered with the test session rather than with the fixture.
    """
    global _server
    if _server is None:
        bindir = find_bindir()
        if bindir is None:
            reason = (
                "PostgreSQL server binaries not found (pg_config --bindir, PATH,"
                " /usr/lib/postgresql/*/bin): install postgresql to run these tests"
            )
            if os.environ.get("CI"):  # CI must run them: a skip there would hide a gap
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
        server = PostgresServer(bindir)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        _server = server

        def stop() -> None:
            global _server
            server.stop()
            _server = None

        request.config.add_cleanup(stop)
    return _server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a new, empty database on the session's server, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
