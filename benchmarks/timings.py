"""Timings that used to be wall-clock asserts inside tests (flaky on a shared machine): measured and printed here.

Run by hand:  .venv/bin/python benchmarks/timings.py
- market data: how long an answer waits when the market API fails in each way (hard timeout 0.5 s here);
- a burst of 200 mixed interactions through the loopback fake Discord: first-response latency (Discord's window
  is 3 s), as tests/e2e/test_hardening.py drives it.
Figures belong in docs/performance.md.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import discord.http  # noqa: E402

from bot.answers.core import Core  # noqa: E402
from bot.answers.render import Renderer  # noqa: E402
from bot.domain.facts import load_facts  # noqa: E402
from bot.infra.market import MarketData  # noqa: E402
from bot.store import SQLiteStore  # noqa: E402
from tests.e2e.fake_discord import FakeDiscord  # noqa: E402
from tests.e2e.helpers import burst_requests, start_bot, stop_bot  # noqa: E402
from tests.fake_market import FakeMarketAPI  # noqa: E402

FAULTS = ("slow", "429", "500", "garbage", "zero", "negative", "huge", "shape")


async def market_faults() -> None:
    facts = load_facts()
    print("market fault -> answer with the config figure after (ms)")
    async with FakeMarketAPI() as api, aiohttp.ClientSession() as session:
        for mode in FAULTS:
            api.mode = mode
            market = MarketData(session, api.base_url, facts, timeout_seconds=0.5)
            started = time.perf_counter()
            cap = await market.market_cap()
            print(f"  {mode:<9} {(time.perf_counter() - started) * 1000:7.1f}  ({cap.kind})")
        api.mode = "ok"
        market = MarketData(session, api.base_url, facts, timeout_seconds=0.5)
        started = time.perf_counter()
        await asyncio.gather(*(market.market_cap() for _ in range(50)))
        print(f"  50 concurrent asks, one request: {(time.perf_counter() - started) * 1000:.1f} ms")


async def burst() -> None:
    facts = load_facts()
    fake = FakeDiscord()
    await fake.start()
    discord.http.Route.BASE = fake.api_base
    with tempfile.TemporaryDirectory() as folder:
        async with SQLiteStore(Path(folder) / "bench.sqlite3") as store:
            bot, task = await start_bot(fake, Core(facts, Renderer(facts), store=store), store)
            try:
                users = iter(range(5_000_000_000_000_000_000, 5_000_000_000_000_001_000))
                tokens = await asyncio.gather(
                    *(fake.command(n, o, locale=loc, user_id=next(users)) for n, o, loc in burst_requests())
                )
                firsts = await asyncio.gather(*(fake.wait_reply(t, final=False, timeout=60) for t in tokens))
                await asyncio.gather(*(fake.wait_reply(t, timeout=120) for t in tokens))
                latencies = sorted(fake.latency(t, r) * 1000 for t, r in zip(tokens, firsts, strict=True))
            finally:
                await stop_bot(bot, task)
                await fake.close()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"200-interaction burst, first response (ms): median {statistics.median(latencies):.0f}, "
        f"p95 {p95:.0f}, max {latencies[-1]:.0f} (Discord's window: 3000)"
    )


async def main() -> None:
    await market_faults()
    await burst()


if __name__ == "__main__":
    asyncio.run(main())
