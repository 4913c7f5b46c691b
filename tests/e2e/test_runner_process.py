"""`python -m bot run` as a real process against the fake Discord: starts, answers, exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import RUN_AGAINST_FAKE, TOKEN
from tests.helpers import scrubbed_env


async def test_run_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    env = scrubbed_env(DISCORD_TOKEN=TOKEN, BOT_DB_PATH=str(tmp_path / "run.sqlite3"), LOG_LEVEL="INFO")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN_AGAINST_FAKE,
        fake.api_base,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(fake.ready.wait(), 30)
        assert fake.sync_calls == 1
        # The bot logs "ready:" once READY and GUILD_CREATE are processed: wait for that line, not a fixed time.
        assert proc.stderr is not None
        early = await asyncio.wait_for(_read_until(proc.stderr, b"ready: "), 30)
        reply = await fake.wait_reply(await fake.command("inflow", {"allocation": "1%"}), timeout=15)
        assert reply.embed["description"].startswith("**$100 billion** of new buying")
        if b"chart: worker warmed" not in early:  # the runner warms the chart worker at start
            early += await asyncio.wait_for(_read_until(proc.stderr, b"chart: worker warmed"), 60)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
        await fake.close()
    log = (early + err).decode()
    assert proc.returncode == 0, log
    assert "shutting down" in log
    assert TOKEN not in log  # the token is never logged
    assert "Traceback" not in log


async def _read_until(stream: asyncio.StreamReader, marker: bytes) -> bytes:
    """Lines from the stream up to and including the first one containing marker (EOF first is an error)."""
    seen = b""
    while True:
        line = await stream.readline()
        if not line:
            raise AssertionError(f"process ended before logging {marker!r}:\n{seen.decode()}")
        seen += line
        if marker in line:
            return seen


async def test_run_without_a_token_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    env = scrubbed_env()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in the environment or .env"
    ]
