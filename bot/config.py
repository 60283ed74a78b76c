"""Settings read from the environment (or a ``.env`` file): the only module that reads them."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv.parser import parse_stream

DEFAULT_DATABASE_URL = "sqlite:///data/seenit.db"
DEFAULT_DOCS_URL = "https://github.com/seenit-bot/seenit#using-seenit-in-a-server"
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


@dataclass(frozen=True, slots=True)
class Config:
    """Everything seenit reads from its environment."""

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    #: Processes that decode and hash images (0: threads in this process).
    hash_workers: int = 2
    #: Seconds one image may take to fingerprint before it is refused and its worker replaced.
    hash_timeout: float = 30.0
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    fetch_timeout: float = 15.0
    #: Only for tests against local servers: let /findsimilar fetch private addresses.
    allow_private_urls: bool = False
    #: Messages read per channel when catching up at start-up (0: no catch-up).
    catchup_limit: int = 1000
    #: Days a guild's data is kept after the bot leaves it (0: deleted at once).
    guild_data_grace_days: float = 7.0
    #: Guild indexes kept in memory at once (least recently used are dropped).
    max_cached_guilds: int = 10_000
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    #: Point the client at a Discord-compatible server other than discord.com (testing).
    discord_api_base: str | None = None
    discord_gateway: str | None = None
    #: Where /help and the welcome message send people for the full guide.
    docs_url: str = DEFAULT_DOCS_URL
    #: When seenit joins a server it indexes each watched channel's recent history: the
    #: newest messages up to this many per channel (0: no indexing on join)...
    onboard_messages: int = 1000
    #: ...and no older than this many days, whichever stops first.
    onboard_days: int = 30

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Config:
        """Read and check every setting: the process environment wins over the ``.env`` file.

        A malformed setting raises :class:`ConfigError` with one line naming it.
        """
        env: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
        env.update(os.environ if environ is None else environ)

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        def number(name: str, default: int, *, minimum: int = 0) -> int:
            value = text(name)
            if value is None:
                return default
            try:
                parsed = int(value)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
            if parsed < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, not {parsed}")
            return parsed

        def decimal(name: str, default: float, *, positive: bool = False) -> float:
            value = text(name)
            if value is None:
                return default
            try:
                parsed = float(value)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {value!r}") from None
            if not math.isfinite(parsed) or parsed < 0 or (positive and parsed == 0):
                bound = "above 0" if positive else "0 or more"
                raise ConfigError(f"{name} must be a number {bound}, not {value!r}")
            return parsed

        def flag(name: str) -> bool:
            value = (text(name) or "").lower()
            if value in TRUE_WORDS:
                return True
            if value in FALSE_WORDS:
                return False
            raise ConfigError(f"{name} must be true or false, not {value!r}")

        def url(name: str, schemes: tuple[str, ...]) -> str | None:
            value = text(name)
            if value is None:
                return None
            parts = urlsplit(value)
            if parts.scheme not in schemes or not parts.netloc:
                raise ConfigError(
                    f"{name} must be a {' or '.join(schemes)} URL, not {_shown_url(value)!r}"
                )
            return value

        token = text("DISCORD_TOKEN", "") or ""
        if any(c.isspace() for c in token):
            raise ConfigError(
                "DISCORD_TOKEN holds spaces or line breaks: copy the token alone"
                " (quote nothing else on its line)"
            )

        database_url = text("DATABASE_URL", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL
        if not database_url.startswith(DATABASE_SCHEMES) or database_url in DATABASE_SCHEMES:
            raise ConfigError(
                "DATABASE_URL must be sqlite:///path or postgresql://user:password@host/db,"
                f" not {_shown_url(database_url)!r}"
            )

        log_level = (text("LOG_LEVEL", "INFO") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {env['LOG_LEVEL']!r}"
            )

        shard_ids_text = text("SHARD_IDS")
        try:
            shard_ids = (
                tuple(int(x) for x in shard_ids_text.split(",") if x.strip())
                if shard_ids_text
                else None
            )
        except ValueError:
            raise ConfigError(
                f"SHARD_IDS must be comma-separated numbers, not {shard_ids_text!r}"
            ) from None
        shard_count = number("SHARD_COUNT", 0) or None
        if shard_ids is not None and shard_count is None:
            raise ConfigError("SHARD_IDS needs SHARD_COUNT")
        if shard_ids and shard_count and any(not 0 <= s < shard_count for s in shard_ids):
            raise ConfigError("every SHARD_IDS entry must be below SHARD_COUNT")

        return cls(
            discord_token=Secret(token),
            database_url=database_url,
            log_level=log_level,
            hash_workers=number("HASH_WORKERS", min(2, os.cpu_count() or 1)),
            hash_timeout=decimal("HASH_TIMEOUT", 30.0, positive=True),
            max_image_bytes=number("MAX_IMAGE_BYTES", 25 * 1024 * 1024, minimum=1),
            max_image_pixels=number("MAX_IMAGE_PIXELS", 50_000_000, minimum=1),
            fetch_timeout=decimal("FETCH_TIMEOUT", 15.0, positive=True),
            allow_private_urls=flag("ALLOW_PRIVATE_URLS"),
            catchup_limit=number("CATCHUP_LIMIT", 1000),
            max_cached_guilds=number("MAX_CACHED_GUILDS", 10_000, minimum=1),
            guild_data_grace_days=decimal("GUILD_DATA_GRACE_DAYS", 7.0),
            shard_count=shard_count,
            shard_ids=shard_ids,
            discord_api_base=url("DISCORD_API_BASE", ("http", "https")),
            discord_gateway=url("DISCORD_GATEWAY", ("ws", "wss")),
            docs_url=url("DOCS_URL", ("http", "https")) or DEFAULT_DOCS_URL,
            onboard_messages=number("ONBOARD_MESSAGES", 1000),
            onboard_days=number("ONBOARD_DAYS", 30),
        )

    def require_token(self) -> str:
        token = self.discord_token.get()
        if not token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: put it in the environment or in .env (see .env.example)"
            )
        return token
