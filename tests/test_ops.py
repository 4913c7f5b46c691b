"""Operations: settings reference, token handling, logs, health and backup."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.infra.health import HEARTBEAT_KEY, backup, check_health
from bot.infra.logs import REDACTED, JsonFormatter, RedactSecrets, setup_logging
from bot.infra.settings import TOKEN_FILE_MAX_BYTES, Settings
from bot.store import SQLiteStore
from tests.helpers import REPO, run_cli, scrubbed_env

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
    settings = Settings(_env_file=REPO / ".env.example")
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
    result = run_cli("run", cwd=tmp_path, DISCORD_TOKEN_FILE=str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.strip() == "settings error: DISCORD_TOKEN_FILE cannot be read: No such file or directory"


NOT_REGULAR = "DISCORD_TOKEN_FILE is not a regular file (a FIFO, device or directory?)"
# One process runs the commands that need no token, then one that does; a FIFO once hung it, /dev/zero filled memory.
TOKEN_FILE_PROBE = """
import io, sys
from bot.__main__ import main
sys.stdin = io.StringIO("")
print([main(["ask", "/401k", "--lang", "en"]), main(["check-config"]), main(["console"]), main(["run"])])
"""


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_token_file_that_is_a_fifo_or_device_is_refused_without_reading_it(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "fifo"
    if kind == "fifo":
        os.mkfifo(path)  # nobody ever writes to it: opening it for reading used to wait forever
    result = run_cli(
        cwd=tmp_path, launcher=("-c", TOKEN_FILE_PROBE), DISCORD_TOKEN_FILE=str(path if kind == "fifo" else kind)
    )
    assert result.stdout.rstrip().endswith("[0, 0, 0, 2]"), result.stderr
    assert "could change for 401(k)s and crypto" in result.stdout
    assert result.stderr.strip() == f"settings error: {NOT_REGULAR}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, NOT_REGULAR),  # a directory
        (b"x" * (TOKEN_FILE_MAX_BYTES + 1), f"DISCORD_TOKEN_FILE is larger than {TOKEN_FILE_MAX_BYTES} bytes"),
        (b" \n", "DISCORD_TOKEN_FILE is empty"),
        (b"\xff\xfe token", "DISCORD_TOKEN_FILE is not UTF-8 text"),
    ],
)
def test_a_broken_token_file_fails_only_the_commands_that_need_the_token(
    content: bytes | None,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "token"
    path.mkdir() if content is None else path.write_bytes(content)
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(path))
    monkeypatch.setattr(sys, "stdin", io.StringIO("/sources\n"))
    assert main(["ask", "/inflow 1%", "--lang", "en"]) == 0
    assert main(["check-config"]) == 0
    assert main(["console"]) == 0
    assert "**$100 billion**" in capsys.readouterr().out
    for needs_token in (["run"], ["sync"], []):  # no subcommand: a configured token file means the bot
        assert main(needs_token) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith(f"settings error: {message}"), err


def test_a_token_file_of_exactly_the_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "token"
    path.write_bytes(FAKE_TOKEN.encode() + b" " * (TOKEN_FILE_MAX_BYTES - len(FAKE_TOKEN) - 1) + b"\n")
    assert path.stat().st_size == TOKEN_FILE_MAX_BYTES
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(path))
    settings = Settings()
    assert settings.token_error is None
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == FAKE_TOKEN


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


def test_token_never_reaches_output_or_logs_of_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    for args in (["ask", "/inflow 2%", "--json"], ["ask", "/sources"], ["health"], ["check-config"]):
        main(args)
        captured = capsys.readouterr()
        assert captured.out and FAKE_TOKEN not in captured.out + captured.err, args


def test_json_log_lines_carry_the_interaction_fields() -> None:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "/inflow", (), None)
    record.fields = {"command": "inflow", "latency_ms": 3.2, "cache": "hit", "message": "not the message"}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "INFO" and entry["command"] == "inflow" and entry["cache"] == "hit"
    assert entry["message"] == "/inflow"  # a field cannot overwrite the record's own keys


def _log_a_leak(secret: str) -> None:
    """Every way a secret can ride into a record: argument, structured fields (nested), exception, stack."""
    log = logging.getLogger("bot.leak")
    try:
        raise RuntimeError(f"login failed for {secret}")
    except RuntimeError:
        log.error(
            "login with %s failed",
            secret,
            exc_info=True,
            stack_info=True,
            extra={
                "fields": {
                    "token": secret,
                    "request": {"url": f"https://discord.invalid/{secret}", "headers": [f"Bot {secret}"]},
                    "count": 3,
                    "amount": Decimal("1.5"),
                }
            },
        )


def test_json_logs_redact_secrets_in_the_message_fields_exception_and_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", "json", [FAKE_TOKEN])
    _log_a_leak(FAKE_TOKEN)
    line = capsys.readouterr().err.strip()
    assert FAKE_TOKEN not in line
    entry = json.loads(line)
    assert entry["message"] == f"login with {REDACTED} failed"
    assert entry["token"] == REDACTED
    assert entry["request"] == {"url": f"https://discord.invalid/{REDACTED}", "headers": [f"Bot {REDACTED}"]}
    assert (entry["count"], entry["amount"]) == (3, "1.5")
    assert f"RuntimeError: login failed for {REDACTED}" in entry["exception"]
    assert "_log_a_leak" in entry["stack"]


def test_text_logs_redact_secrets_and_use_discord_pys_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [FAKE_TOKEN])
    _log_a_leak(FAKE_TOKEN)
    text = capsys.readouterr().err
    assert FAKE_TOKEN not in text
    assert re.match(
        r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \[ERROR   \] bot.leak: login with \[redacted\] failed\n", text
    )
    assert f"RuntimeError: login failed for {REDACTED}" in text


# ---------------------------------------------------------------- health


def _settings(path: Path, token: str | None = None) -> Settings:
    return Settings(BOT_DB_PATH=path, DISCORD_TOKEN=token)


async def test_health(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    assert await asyncio.to_thread(check_health, _settings(path)) == (
        False,
        f"store {path} does not exist (has the bot started?)",
    )
    async with SQLiteStore(path) as store:
        assert (await asyncio.to_thread(check_health, _settings(path)))[0]  # console mode: a readable store is enough
        assert await asyncio.to_thread(check_health, _settings(path, FAKE_TOKEN)) == (
            False,
            "the gateway has not been seen yet",
        )
        now = time.time()
        await store.set_meta(HEARTBEAT_KEY, str(now - 30))
        assert await asyncio.to_thread(check_health, _settings(path, FAKE_TOKEN), now=now) == (
            True,
            "ok: gateway seen 30 s ago",
        )
        healthy, reason = await asyncio.to_thread(check_health, _settings(path, FAKE_TOKEN), now=now + 600)
        assert not healthy and "last seen 630 s ago" in reason
    path.write_bytes(b"garbage" * 1000)
    healthy, reason = await asyncio.to_thread(check_health, _settings(path))
    assert not healthy and reason.startswith(f"no store: BOT_DB_PATH {path} is not a SQLite database")


def test_health_command_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "none.sqlite3"))
    assert main(["health"]) == 1
    assert "does not exist" in capsys.readouterr().out


async def test_backup_and_restore(tmp_path: Path) -> None:
    live = tmp_path / "bot.sqlite3"
    async with SQLiteStore(live) as store:
        await store.set_language("user", 7, "zh-TW")
        size = backup(_settings(live), tmp_path / "backups" / "b.sqlite3")  # while the store is open
        assert size > 0
    with sqlite3.connect(tmp_path / "backups" / "b.sqlite3") as db:
        assert db.execute("SELECT language FROM preferences WHERE id = 7").fetchone() == ("zh-TW",)
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes((tmp_path / "backups" / "b.sqlite3").read_bytes())
    async with SQLiteStore(restored) as store:
        assert await store.get_language("user", 7) == "zh-TW"


def test_backup_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "missing.sqlite3"))
    assert main(["backup", str(tmp_path / "b.db")]) == 1
    assert "no store at" in capsys.readouterr().err


# ---------------------------------------------------------------- CI: no silent skips

SKIPPING_TEST = """
import pytest

def test_runs():
    pass

def test_needs_a_font():
    pytest.skip("no CJK font installed")
"""


@pytest.mark.parametrize("no_skips", ["", "1"])
def test_bot_no_skips_turns_a_skip_into_a_failing_run(no_skips: str, tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SKIPPING_TEST, encoding="utf-8")
    env = scrubbed_env(PYTHONPATH=str(REPO), BOT_NO_SKIPS=no_skips)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.no_skips", "-p", "no:cacheprovider", "test_sample.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert "1 passed, 1 skipped" in result.stdout
    if no_skips:
        assert result.returncode == 1, result.stdout
        assert "SKIPPED test_sample.py::test_needs_a_font: no CJK font installed" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
