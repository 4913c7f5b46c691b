"""Gateway mode: `python -m bot run` with BOT_METRICS_PORT serves /metrics on 127.0.0.1 (unset: no listener); the
counters move by exactly the interactions sent; the shards are reported. Parsed with prometheus-client's parser."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import RUN_AGAINST_FAKE, TOKEN
from tests.helpers import scrubbed_env
from tests.http.test_metrics_serve import moved, scrape, series


async def _run(tmp_path: Path, fake: FakeDiscord, **settings: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    env = scrubbed_env(DISCORD_TOKEN=TOKEN, BOT_DB_PATH=str(tmp_path / "run.sqlite3"), LOG_LEVEL="INFO", **settings)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN_AGAINST_FAKE, fake.api_base, cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    lines: list[str] = []
    assert proc.stderr is not None
    while b"ready: " not in (line := await asyncio.wait_for(proc.stderr.readline(), 30)):
        assert line, "".join(lines)
        lines.append(line.decode())
    lines.append(line.decode())
    return proc, lines


async def _stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode is not None
    return proc.returncode


async def test_gateway_metrics_count_exactly_the_interactions_sent(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    proc, lines = await _run(tmp_path, fake, BOT_METRICS_PORT="0")
    try:
        found = re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", "".join(lines))
        assert found, "".join(lines)
        async with aiohttp.ClientSession() as session:
            before = await scrape(session, found.group(1))
            for name, options, locale in [
                ("401k", {}, "zh-TW"),
                ("401k", {}, "zh-TW"),
                ("opinions", {}, "en-US"),
                ("inflow", {"allocation": "abc"}, "zh-CN"),
            ]:
                await fake.wait_reply(await fake.command(name, options, locale=locale), timeout=15)
            await fake.wait_reply(await fake.autocomplete("inflow", {"allocation": "2"}, "allocation"))
            after = await scrape(session, found.group(1))
    finally:
        code = await _stop(proc)
        await fake.close()
    assert code == 0
    assert moved(before, after, "k401_interactions_total") == {
        series("401k", "zh-TW", "answered"): 2,
        series("opinions", "en", "answered"): 1,
        series("inflow", "zh-CN", "input_error"): 1,
    }
    assert after[("k401_gateway_connected_shards", ())] == 1
    assert 0 <= after[("k401_gateway_shard_latency_seconds", (("shard", "0"),))] < 5


async def test_without_bot_metrics_port_there_is_no_metrics_listener(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    proc, lines = await _run(tmp_path, fake)
    try:
        await fake.wait_reply(await fake.command("sources", {}), timeout=15)
    finally:
        code = await _stop(proc)
        await fake.close()
    assert code == 0
    assert "metrics on" not in "".join(lines)
