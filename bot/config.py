"""Settings read from the environment (or a ``.env`` file): the only module that reads them."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv.parser import parse_stream

DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def _shown_url(url: str) -> str:
    """A URL fit for an error message: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def read_dotenv(path: Path) -> dict[str, str]:
    """Read a ``.env`` file the way python-dotenv (and Docker Compose) do.

    Comments after values, single and double quotes, ``export`` and quoted multi-line values
    all work; values are taken literally (no ``${VAR}`` expansion). A line that is not
    ``KEY=VALUE`` is refused with its line number (never its text: it may hold a secret).
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path} line {binding.original.line} is not KEY=VALUE"
                " (quote values that hold spaces or #)"
            )
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values


#: Reads one setting's text (stripped, never empty) for the variable named; raises ConfigError.
Parse = Callable[[str, str], Any]


def reads(parse: Parse) -> dict[str, Parse]:
    """A Config field's metadata: how to read its variable."""
    return {"parse": parse}


def whole(minimum: int = 0) -> Parse:
    def parse(name: str, value: str) -> int:
        try:
            parsed = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
        if parsed < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {parsed}")
        return parsed

    return parse


def number(*, positive: bool = False) -> Parse:
    def parse(name: str, value: str) -> float:
        try:
            parsed = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {value!r}") from None
        if not math.isfinite(parsed) or parsed < 0 or (positive and parsed == 0):
            bound = "above 0" if positive else "0 or more"
            raise ConfigError(f"{name} must be a number {bound}, not {value!r}")
        return parsed

    return parse


def flag(name: str, value: str) -> bool:
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {value.lower()!r}")


def web_url(*schemes: str) -> Parse:
    def parse(name: str, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ConfigError(
                f"{name} must be a {' or '.join(schemes)} URL, not {_shown_url(value)!r}"
            )
        return value

    return parse


def read_token(name: str, value: str) -> Secret:
    if any(c.isspace() for c in value):
        raise ConfigError(
            f"{name} holds spaces or line breaks: copy the token alone"
            " (quote nothing else on its line)"
        )
    return Secret(value)


def read_database_url(name: str, value: str) -> str:
    if not value.startswith(DATABASE_SCHEMES) or value in DATABASE_SCHEMES:
        raise ConfigError(
            f"{name} must be sqlite:///path or postgresql://user:password@host/db,"
            f" not {_shown_url(value)!r}"
        )
    return value


def read_log_level(name: str, value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value.upper()


def read_shard_count(name: str, value: str) -> int | None:
    return whole()(name, value) or None  # 0: no sharding, as if unset


def read_shard_ids(name: str, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated numbers, not {value!r}") from None


@dataclass(frozen=True, slots=True)
class Config:
    """Everything seenit reads from its environment: each field is the variable of its name
    in capitals, and an unset or empty variable means the default written here."""

    discord_token: Secret = field(default=Secret(""), metadata=reads(read_token))
    database_url: str = field(default="sqlite:///data/seenit.db", metadata=reads(read_database_url))
    log_level: str = field(default="INFO", metadata=reads(read_log_level))
    #: Processes that decode and hash images (0: threads in this process).
    hash_workers: int = field(
        default_factory=lambda: min(2, os.cpu_count() or 1), metadata=reads(whole())
    )
    #: Seconds one image may take to fingerprint before it is refused and its worker replaced.
    hash_timeout: float = field(default=30.0, metadata=reads(number(positive=True)))
    max_image_bytes: int = field(default=25 * 1024 * 1024, metadata=reads(whole(minimum=1)))
    max_image_pixels: int = field(default=50_000_000, metadata=reads(whole(minimum=1)))
    fetch_timeout: float = field(default=15.0, metadata=reads(number(positive=True)))
    #: Only for tests against local servers: let /findsimilar fetch private addresses.
    allow_private_urls: bool = field(default=False, metadata=reads(flag))
    #: Messages read per channel when catching up at start-up (0: no catch-up).
    catchup_limit: int = field(default=1000, metadata=reads(whole()))
    #: Days a guild's data is kept after the bot leaves it (0: deleted at once).
    guild_data_grace_days: float = field(default=7.0, metadata=reads(number()))
    #: Guild indexes kept in memory at once (least recently used are dropped).
    max_cached_guilds: int = field(default=10_000, metadata=reads(whole(minimum=1)))
    shard_count: int | None = field(default=None, metadata=reads(read_shard_count))
    shard_ids: tuple[int, ...] | None = field(default=None, metadata=reads(read_shard_ids))
    #: Point the client at a Discord-compatible server other than discord.com (testing).
    discord_api_base: str | None = field(default=None, metadata=reads(web_url("http", "https")))
    discord_gateway: str | None = field(default=None, metadata=reads(web_url("ws", "wss")))
    #: Where /help and the welcome message send people for the full guide.
    docs_url: str = field(
        default="https://github.com/seenit-bot/seenit#using-seenit-in-a-server",
        metadata=reads(web_url("http", "https")),
    )
    #: When seenit joins a server it indexes each watched channel's recent history: the
    #: newest messages up to this many per channel (0: no indexing on join)...
    onboard_messages: int = field(default=1000, metadata=reads(whole()))
    #: ...and no older than this many days, whichever stops first.
    onboard_days: int = field(default=30, metadata=reads(whole()))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Config:
        """Read and check every setting: the process environment wins over the ``.env`` file.

        A malformed setting raises :class:`ConfigError` with one line naming it.
        """
        env: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
        env.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.name.upper()
            if value := env.get(name, "").strip():
                values[f.name] = f.metadata["parse"](name, value)
        config = cls(**values)
        if config.shard_ids is not None and config.shard_count is None:
            raise ConfigError("SHARD_IDS needs SHARD_COUNT")
        if config.shard_ids and any(
            not 0 <= s < (config.shard_count or 0) for s in config.shard_ids
        ):
            raise ConfigError("every SHARD_IDS entry must be below SHARD_COUNT")
        return config

    def require_token(self) -> str:
        token = self.discord_token.get()
        if not token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: put it in the environment or in .env (see .env.example)"
            )
        return token


#: Every setting at its default: what code outside the bot (the CLI, worker processes) uses.
DEFAULTS = Config()
