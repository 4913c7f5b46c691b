"""Operations: settings reference, token handling, logs, health and backup."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.health import HEARTBEAT_KEY, backup, check_health
from bot.logs import REDACTED, JsonFormatter, RedactSecrets
from bot.settings import Settings
from bot.store import Store

REPO = Path(__file__).resolve().parents[1]
FAKE_TOKEN = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.known-fake-token-to-grep-for-xxxxxx"
ALIASES = sorted(f.alias for f in Settings.model_fields.values() if f.alias)


def test_readme_configuration_reference_lists_every_setting_with_its_default() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M)
    assert sorted(documented) == ALIASES


def test_env_example_has_every_setting_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for alias in ALIASES:  # the file alone decides
        monkeypatch.delenv(alias, raising=False)
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert sorted(re.findall(r"^([A-Z_]+)=", example, flags=re.M)) == ALIASES
    settings = Settings(_env_file=REPO / ".env.example")  # type: ignore[call-arg]
    assert not settings.has_token and settings.market_enabled and settings.dev_guild_id is None


def test_token_file_for_docker_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text(FAKE_TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(secret))
    settings = Settings()
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == FAKE_TOKEN
    assert FAKE_TOKEN not in repr(settings) and FAKE_TOKEN not in str(settings.model_dump())
    monkeypatch.setenv("DISCORD_TOKEN", "from-the-environment-wins-xxxxxxxx")
    assert Settings().discord_token.get_secret_value() == "from-the-environment-wins-xxxxxxxx"  # type: ignore[union-attr]


def test_unreadable_token_file_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "DISCORD_TOKEN_FILE": str(tmp_path / "missing")}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip() == "settings error: DISCORD_TOKEN_FILE cannot be read: No such file or directory"


def test_redaction_filter_scrubs_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login with %s failed", (FAKE_TOKEN,), None)
    try:
        raise RuntimeError(f"bad token {FAKE_TOKEN}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactSecrets([FAKE_TOKEN]).filter(record)
    text = logging.Formatter().format(record)
    assert FAKE_TOKEN not in text
    assert text.count(REDACTED) == 2


def test_token_never_reaches_output_or_logs_of_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "DISCORD_TOKEN": FAKE_TOKEN, "LOG_LEVEL": "DEBUG", "BOT_DB_PATH": str(tmp_path / "t.db")}
    for args in (["ask", "/inflow 2%", "--json"], ["ask", "/sources"], ["health"], ["check-config"]):
        result = subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=REPO)
        assert FAKE_TOKEN not in result.stdout + result.stderr, args


def test_json_log_lines_carry_the_interaction_fields() -> None:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "/inflow", (), None)
    record.fields = {"command": "inflow", "latency_ms": 3.2, "cache": "hit"}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "INFO" and entry["command"] == "inflow" and entry["cache"] == "hit"


# ---------------------------------------------------------------- health


def _settings(path: Path, token: str | None = None) -> Settings:
    return Settings(BOT_DB_PATH=path, DISCORD_TOKEN=token)


async def test_health(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    assert check_health(_settings(path)) == (False, f"store {path} does not exist (has the bot started?)")
    async with Store(path) as store:
        assert check_health(_settings(path))[0]  # console mode: a readable store is enough
        assert check_health(_settings(path, FAKE_TOKEN)) == (False, "the gateway has not been seen yet")
        now = time.time()
        await store.set_meta(HEARTBEAT_KEY, str(now - 30))
        assert check_health(_settings(path, FAKE_TOKEN), now=now) == (True, "ok: gateway seen 30 s ago")
        healthy, reason = check_health(_settings(path, FAKE_TOKEN), now=now + 600)
        assert not healthy and "last seen 630 s ago" in reason
    path.write_bytes(b"garbage" * 1000)
    healthy, reason = check_health(_settings(path))
    assert not healthy and reason.startswith(f"no store: BOT_DB_PATH {path} is not a SQLite database")


def test_health_command_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_DB_PATH": str(tmp_path / "none.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "bot", "health"], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 1 and "does not exist" in result.stdout


async def test_backup_and_restore(tmp_path: Path) -> None:
    live = tmp_path / "bot.sqlite3"
    async with Store(live) as store:
        await store.set_language("user", 7, "zh-TW")
        size = backup(_settings(live), tmp_path / "backups" / "b.sqlite3")  # while the store is open
        assert size > 0
    with sqlite3.connect(tmp_path / "backups" / "b.sqlite3") as db:
        assert db.execute("SELECT language FROM preferences WHERE id = 7").fetchone() == ("zh-TW",)
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes((tmp_path / "backups" / "b.sqlite3").read_bytes())
    async with Store(restored) as store:
        assert await store.get_language("user", 7) == "zh-TW"


def test_backup_command(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_DB_PATH": str(tmp_path / "missing.sqlite3")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(tmp_path / "b.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 1 and "no store at" in result.stderr
