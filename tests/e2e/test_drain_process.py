"""Gateway mode as a real process: SIGTERM while a deferred answer is still being made finishes it, then exits 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import RUN_AGAINST_FAKE, TOKEN
from tests.fake_market import FakeMarketAPI
from tests.helpers import scrubbed_env


async def test_sigterm_drains_a_deferred_interaction(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    async with FakeMarketAPI() as market:
        market.delay = 1.0  # the answer waits on a slow market source
        env = scrubbed_env(
            DISCORD_TOKEN=TOKEN,
            BOT_DB_PATH=str(tmp_path / "run.sqlite3"),
            BOT_MARKET_ENABLED="1",
            BOT_MARKET_API_URL=market.base_url,
            LOG_LEVEL="INFO",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_AGAINST_FAKE, fake.api_base, cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await asyncio.wait_for(fake.ready.wait(), 30)
            token = await fake.command("inflow", {"allocation": "2%"})
            thinking = await fake.wait_reply(token, final=False, timeout=15)
            assert thinking.body["type"] == 5
            assert len(fake.replies[token]) == 1  # still "thinking…"
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
            await fake.close()
    log = err.decode()
    assert proc.returncode == 0, log
    final = fake.replies[token][-1]
    assert final.kind == "edit_original", log
    assert final.body["embeds"][0]["title"] == "If 2% of 401(k) plan assets went into crypto"
    assert final.body["allowed_mentions"] == {"parse": []}
    assert "waiting for 1 interaction(s) in flight" in log
    assert "Traceback" not in log
