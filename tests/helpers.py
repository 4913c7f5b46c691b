"""Shared test helpers: the repository path and a scrubbed environment for every subprocess a test starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a child process may inherit from the developer's shell: nothing that configures the bot (no token, no
# database URL, no .env-style settings), only what running Python here needs.
INHERITED = ("PATH", "HOME", "TMPDIR", "SYSTEMROOT", "LD_LIBRARY_PATH", "MPLCONFIGDIR", "PYTHONPATH")


def scrubbed_env(**settings: str) -> dict[str, str]:
    """An environment with no real token or setting in it, market data off, and the given settings."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env["BOT_MARKET_ENABLED"] = "0"  # no outside requests from tests
    env["PYTHONUTF8"] = "1"
    env.update(settings)
    return env


def run_cli(
    *args: str, cwd: Path, stdin: str = "", launcher: tuple[str, ...] = ("-m", "bot"), **settings: str
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in the test's temp folder (no .env there) with a scrubbed environment.

    `launcher` replaces `-m bot`, e.g. ("-c", code, ...) to run the CLI with discord.py pointed at a local fake.
    """
    settings.setdefault("BOT_DB_PATH", str(cwd / "bot.sqlite3"))
    return subprocess.run(
        [sys.executable, *launcher, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=scrubbed_env(**settings),
        cwd=cwd,
        timeout=60,
    )
