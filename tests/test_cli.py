"""The CLI as a new user runs it: real subprocesses for the happy paths, in-process for failure injection."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.console import interactive
from bot.core import Core

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "LANG", "LC_ALL")}
    env["BOT_MARKET_ENABLED"] = "0"  # no outside requests from tests
    env.setdefault("BOT_DB_PATH", str(Path(tempfile.mkdtemp()) / "bot.sqlite3"))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd or REPO,
        timeout=60,
    )


def test_ask_retirement_one_percent_in_chinese_prints_4340_yi(tmp_path: Path) -> None:
    # From an unrelated working directory: package data must not depend on the cwd.
    result = run_cli("ask", "/inflow 1% pool:retirement", "--lang", "zh-TW", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4340億美元" in result.stdout
    assert result.stdout.startswith("━━ 如果全美退休資產的 1% 投入加密貨幣 ━━\n")


def test_ask_states_the_401k_figure_and_date() -> None:
    result = run_cli("ask", "/inflow 1%", "--lang", "en")
    assert result.returncode == 0
    assert "1% × $8.7 trillion (401(k) plan assets, as of Mar 31, 2025)" in result.stdout


def test_discord_style_options() -> None:
    result = run_cli("ask", "/inflow allocation:2% pool:retirement", "--lang", "en")
    assert "**$868 billion** of new buying" in result.stdout
    result = run_cli("ask", "/opinions stance:cautious", "--lang", "en")
    assert "Ted Rossman" in result.stdout and "Christopher Bailey" in result.stdout
    assert "Matt Hougan" not in result.stdout


def test_user_input_error_exits_2_with_a_localised_message() -> None:
    result = run_cli("ask", "/inflow -5%", "--lang", "zh-TW")
    assert result.returncode == 2
    assert "是負數；配置比例必須大於 0%" in result.stdout


def test_json_prints_the_exact_discord_payload() -> None:
    result = run_cli("ask", "/inflow 2% pool:dc", "--lang", "en", "--json")
    assert result.returncode == 0
    payload = json.loads(result.stdout)
    assert set(payload) == {"tts", "content", "embeds", "components", "allowed_mentions", "attachments"}
    assert payload["attachments"] == [{"id": 0, "filename": "inflow.png"}]
    assert payload["embeds"][0]["image"] == {"url": "attachment://inflow.png"}
    assert payload["allowed_mentions"] == {"parse": []}
    embed = payload["embeds"][0]
    assert embed["title"] == "If 2% of all DC plans went into crypto"
    assert embed["description"].startswith("**$244 billion** of new buying")
    assert embed["type"] == "rich"
    toggles = payload["components"][-1]["components"]
    assert [t["label"] for t in toggles] == ["繁體中文", "简体中文"]
    assert [t["custom_id"] for t in toggles] == ["k4|inflow|zh-TW|0|2%|dc", "k4|inflow|zh-CN|0|2%|dc"]


def test_json_error_payload_is_ephemeral() -> None:
    result = run_cli("ask", "/inflow @everyone", "--json")
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert payload["flags"] == 64
    assert payload["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in json.dumps(payload, ensure_ascii=False)


def test_lang_defaults_from_the_system_locale() -> None:
    env_result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "/401k"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"},
            "LANG": "zh_TW.UTF-8",
            "LC_ALL": "",
            "BOT_MARKET_ENABLED": "0",
        },
    )
    assert env_result.stdout.startswith("━━ 401(k) 可以投資加密貨幣了")


def test_console_without_token_answers_until_eof() -> None:
    result = run_cli(stdin="/inflow 2%\n/language zh-TW\n/inflow 1% pool:retirement\n/bogus\n")
    assert result.returncode == 0, result.stderr
    assert "**$174 billion** of new buying" in result.stdout
    assert "4340億美元" in result.stdout
    assert "沒有「/bogus」這個指令" in result.stdout


def test_check_config() -> None:
    result = run_cli("check-config")
    assert result.returncode == 0
    assert result.stdout.startswith("config OK: 40 facts, 6 opinions")


def test_internal_failure_exits_1_with_an_error_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.answers.estimate", explode)
    monkeypatch.setenv("BOT_MARKET_ENABLED", "0")
    assert main(["ask", "/inflow 2%", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "Sorry — this answer failed on our side. Error id `" in out


def test_broken_config_exits_1_with_one_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "facts.toml").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr("bot.facts.config_dir", lambda: tmp_path)
    assert main(["check-config"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("configuration error:\n")
    assert "Traceback" not in err


async def test_interactive_console_in_process(core: Core) -> None:
    out = io.StringIO()
    assert await interactive(core, "en", stdin=io.StringIO("/opinions analyst:kim\n\nquit\n/401k\n"), out=out) == 0
    text = out.getvalue()
    assert "Ji Hun Kim on the 401(k) order" in text
    assert "What a 401(k) is" not in text  # stopped at quit


def test_chart_dir_writes_the_png_next_to_the_text(tmp_path: Path) -> None:
    result = run_cli("ask", "/inflow 1-5% pool:dc", "--lang", "zh-TW", "--chart-dir", str(tmp_path / "charts"))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "charts" / "zh-TW-inflow.png"
    assert result.stdout.rstrip().endswith(f"chart: {path}")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
