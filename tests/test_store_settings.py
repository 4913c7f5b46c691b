"""Settings for the shared store and gateway clusters: validated at start with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.infra.settings import Settings, parse_shard_ids
from tests.helpers import scrubbed_env

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "count", "ids"),
    [("0-3", 4, [0, 1, 2, 3]), ("0,2", 4, [0, 2]), ("1", 2, [1]), (" 3, 0-1 ", 8, [0, 1, 3])],
)
def test_shard_ids_ranges_and_lists(text: str, count: int, ids: list[int]) -> None:
    assert parse_shard_ids(text, count) == ids


@pytest.mark.parametrize("text", ["4", "0-4", "0,0", "a", "1-", "", "3-1", "-1"])
def test_bad_shard_ids_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="BOT_SHARD_IDS"):
        parse_shard_ids(text, 4)


def test_shards_in_settings() -> None:
    settings = Settings(BOT_SHARD_COUNT=4, BOT_SHARD_IDS="2-3")
    assert (settings.shard_count, settings.shard_ids) == (4, [2, 3])
    assert Settings().shard_ids is None and Settings().shard_count is None
    assert Settings(BOT_SHARD_COUNT=2).shard_ids is None  # all shards of the count in this process
    with pytest.raises(ValidationError, match="BOT_SHARD_IDS needs BOT_SHARD_COUNT"):
        Settings(BOT_SHARD_IDS="0")
    with pytest.raises(ValidationError):
        Settings(BOT_SHARD_COUNT=0)


def test_database_url_is_a_secret_and_must_be_postgresql() -> None:
    url = "postgresql://bot:s3cret-pass-word@db:5432/bot"
    settings = Settings(BOT_DATABASE_URL=url, BOT_DATABASE_POOL_MAX=5)
    assert settings.database_pool_max == 5
    assert "s3cret-pass-word" not in repr(settings) and "s3cret-pass-word" not in str(settings.model_dump())
    assert {url, "s3cret-pass-word"} <= set(settings.secrets())  # redacted from every log record
    with pytest.raises(ValidationError, match="must start with postgresql://"):
        Settings(BOT_DATABASE_URL="mysql://bot@db/bot")
    with pytest.raises(ValidationError):
        Settings(BOT_DATABASE_POOL_MAX=0)


def test_a_bad_shard_setting_is_one_line_at_start(tmp_path: Path) -> None:
    env = scrubbed_env(BOT_SHARD_COUNT="2", BOT_SHARD_IDS="0-2")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "settings error: BOT_SHARD_IDS '0-2': each shard once, each below BOT_SHARD_COUNT=2"
    )
