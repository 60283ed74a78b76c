"""Settings read from the environment (or a ``.env`` file): the only module that reads them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///data/seenit.db"
DEFAULT_DOCS_URL = "https://github.com/seenit-bot/seenit#using-seenit-in-a-server"


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
    """Parse KEY=VALUE lines; blank lines and # comments are skipped, quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


@dataclass(frozen=True, slots=True)
class Config:
    """Everything seenit reads from its environment."""

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    #: Processes that decode and hash images (0: threads in this process).
    hash_workers: int = 2
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
        """Read settings: the process environment wins over the ``.env`` file."""
        env: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
        env.update(os.environ if environ is None else environ)

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        def number(name: str, default: int) -> int:
            value = text(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, not {value!r}") from None

        def decimal(name: str, default: float) -> float:
            value = text(name)
            if value is None:
                return default
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {value!r}") from None

        def flag(name: str) -> bool:
            return (text(name) or "").lower() in ("1", "true", "yes", "on")

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
            discord_token=Secret(text("DISCORD_TOKEN", "") or ""),
            database_url=text("DATABASE_URL", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL,
            log_level=(text("LOG_LEVEL", "INFO") or "INFO").upper(),
            hash_workers=number("HASH_WORKERS", min(2, os.cpu_count() or 1)),
            max_image_bytes=number("MAX_IMAGE_BYTES", 25 * 1024 * 1024),
            max_image_pixels=number("MAX_IMAGE_PIXELS", 50_000_000),
            fetch_timeout=decimal("FETCH_TIMEOUT", 15.0),
            allow_private_urls=flag("ALLOW_PRIVATE_URLS"),
            catchup_limit=number("CATCHUP_LIMIT", 1000),
            max_cached_guilds=number("MAX_CACHED_GUILDS", 10_000),
            guild_data_grace_days=decimal("GUILD_DATA_GRACE_DAYS", 7.0),
            shard_count=shard_count,
            shard_ids=shard_ids,
            discord_api_base=text("DISCORD_API_BASE"),
            discord_gateway=text("DISCORD_GATEWAY"),
            docs_url=text("DOCS_URL", DEFAULT_DOCS_URL) or DEFAULT_DOCS_URL,
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
