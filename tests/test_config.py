"""Settings come from the environment and a .env file; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, Config, ConfigError


def test_defaults_and_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nDISCORD_TOKEN="abc.def"\nDATABASE_URL=sqlite:///x.db\n')
    config = Config.from_env({}, dotenv)
    assert config.require_token() == "abc.def"
    assert config.database_url == "sqlite:///x.db"
    assert "abc" not in repr(config)
    assert Config.from_env({}, None).database_url == DEFAULT_DATABASE_URL


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
