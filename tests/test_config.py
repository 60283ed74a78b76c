"""Settings come from the environment and a .env file; secrets never show."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from bot.config import DEFAULTS, Config, ConfigError, read_dotenv


def test_defaults_and_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nDISCORD_TOKEN="abc.def"\nDATABASE_URL=sqlite:///x.db\n')
    config = Config.from_env({}, dotenv)
    assert config.require_token() == "abc.def"
    assert config.database_url == "sqlite:///x.db"
    assert "abc" not in repr(config)
    assert (
        Config.from_env({}, None).database_url
        == DEFAULTS.database_url
        == "sqlite:///data/seenit.db"
    )


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("DISCORD_TOKEN=from-file\n")
    assert Config.from_env({"DISCORD_TOKEN": "from-env"}, dotenv).require_token() == "from-env"


def test_missing_token_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({}, None).require_token()
    assert "DISCORD_TOKEN" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "env",
    [{"HASH_WORKERS": "many"}, {"SHARD_IDS": "0,1"}, {"SHARD_COUNT": "2", "SHARD_IDS": "0,5"}],
)
def test_malformed_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Config.from_env(env, None)


def test_onboarding_history_and_guide_link() -> None:
    default = Config.from_env({}, None)
    assert (default.onboard_messages, default.onboard_days) == (1000, 30)
    config = Config.from_env(
        {"ONBOARD_MESSAGES": "200", "ONBOARD_DAYS": "7", "DOCS_URL": "https://x.example/g"}, None
    )
    assert (config.onboard_messages, config.onboard_days) == (200, 7)
    assert config.docs_url == "https://x.example/g"
    with pytest.raises(ConfigError):
        Config.from_env({"ONBOARD_DAYS": "a month"}, None)


def test_dotenv_reads_comments_quotes_export_and_multiline_values(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "LOG_LEVEL=info  # more detail later\n"
        'export DISCORD_TOKEN="abc.def" # the bot token\n'
        "DATABASE_URL='sqlite:///with # hash.db'\n"
        'DISCORD_API_BASE="http://127.0.0.1:9/api/v10"\n'
        'UNUSED_NOTE="first line\nsecond line"\n'
        "HASH_WORKERS=1\n"
    )
    config = Config.from_env({}, dotenv)
    assert config.log_level == "INFO"
    assert config.require_token() == "abc.def"
    assert config.database_url == "sqlite:///with # hash.db"
    assert config.discord_api_base == "http://127.0.0.1:9/api/v10"
    assert config.hash_workers == 1


def test_a_line_dotenv_cannot_read_is_named_by_number_not_content(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=INFO\nDISCORD_TOKEN secret-token-text\n")
    with pytest.raises(ConfigError) as info:
        Config.from_env({}, dotenv)
    message = str(info.value)
    assert "line 2" in message and "secret-token-text" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"LOG_LEVEL": "info # more"}, "LOG_LEVEL"),
        ({"HASH_WORKERS": "-1"}, "HASH_WORKERS"),
        ({"HASH_TIMEOUT": "0"}, "HASH_TIMEOUT"),
        ({"MAX_IMAGE_BYTES": "0"}, "MAX_IMAGE_BYTES"),
        ({"MAX_IMAGE_PIXELS": "lots"}, "MAX_IMAGE_PIXELS"),
        ({"FETCH_TIMEOUT": "0"}, "FETCH_TIMEOUT"),
        ({"FETCH_TIMEOUT": "nan"}, "FETCH_TIMEOUT"),
        ({"CATCHUP_LIMIT": "-5"}, "CATCHUP_LIMIT"),
        ({"GUILD_DATA_GRACE_DAYS": "-1"}, "GUILD_DATA_GRACE_DAYS"),
        ({"MAX_CACHED_GUILDS": "0"}, "MAX_CACHED_GUILDS"),
        ({"ALLOW_PRIVATE_URLS": "maybe"}, "ALLOW_PRIVATE_URLS"),
        ({"DATABASE_URL": "mysql://u:hunter2@h/db"}, "DATABASE_URL"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "DISCORD_API_BASE"),
        ({"DISCORD_GATEWAY": "http://gateway"}, "DISCORD_GATEWAY"),
        ({"DISCORD_TOKEN": 'abc" # x'}, "DISCORD_TOKEN"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT"),
        ({"ONBOARD_DAYS": "-1"}, "ONBOARD_DAYS"),
        ({"DOCS_URL": "see the wiki"}, "DOCS_URL"),
    ],
)
def test_every_setting_is_checked_with_one_line_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env(env, None)
    message = str(info.value)
    assert message.startswith(named) and "\n" not in message
    assert "hunter2" not in message


def test_env_example_names_every_setting_at_its_default() -> None:
    example = Path(__file__).parent.parent / ".env.example"
    names = set(read_dotenv(example))
    assert {f.name.upper() for f in fields(Config)} <= names
    assert replace(Config.from_env({}, example), hash_workers=2) == replace(
        DEFAULTS, hash_workers=2
    )
