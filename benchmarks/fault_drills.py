"""Timings behind docs/reliability.md (the tests assert behaviour; how long things took is measured here).

Run by hand:  .venv/bin/python benchmarks/fault_drills.py
- a hostile market API sending a 32 MiB body (chunked; with Content-Length; as a gzip bomb): the event loop's worst
  stall while the bot fetches it (a 5 ms ticker), and what it answered with;
- another process holding SQLite's write lock on the bot's file: how long each answer took (Discord's window: 3 s).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from bot.answers.core import Core  # noqa: E402
from bot.answers.render import Renderer  # noqa: E402
from bot.answers.requests import parse_request  # noqa: E402
from bot.domain.facts import load_facts  # noqa: E402
from bot.domain.language import Lang  # noqa: E402
from bot.infra.market import MarketData  # noqa: E402
from bot.store import SQLiteStore  # noqa: E402
from tests.fake_market import FakeMarketAPI, gzip_bomb  # noqa: E402
from tests.test_reply_path import write_lock_held_by_another_process  # noqa: E402


class LoopWatch:
    """A ticker on the event loop: the longest the loop kept it waiting (up to the moment the watch ends)."""

    def __init__(self) -> None:
        self.worst_gap = 0.0
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_gap = max(self.worst_gap, now - self._last)
        self._last = now

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self._tick()

    async def __aenter__(self) -> LoopWatch:
        self._last = time.perf_counter()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._tick()  # a freeze just before the end counts too
        assert self._task is not None
        self._task.cancel()


async def huge_bodies() -> None:
    facts = load_facts()
    print("market API body of 32 MiB -> worst event-loop stall while fetching, answer")
    async with FakeMarketAPI() as api, aiohttp.ClientSession() as session:
        api.delay = 0
        await asyncio.to_thread(gzip_bomb, api.flood_bytes)  # the fake's own compression stays out of the figure
        for mode in ("flood", "flood_declared", "gzip_bomb"):
            api.mode, api.flood_sent = mode, 0
            market = MarketData(session, api.base_url, facts, timeout_seconds=20)
            async with LoopWatch() as watch:
                cap = await market.market_cap()
            print(
                f"  {mode:<15} stall {watch.worst_gap * 1000:6.1f} ms, {api.flood_sent / 2**10:6.0f} KiB sent "
                f"before the client hung up, answer: {cap.kind} figure"
            )


async def locked_store() -> None:
    facts = load_facts()
    print("another process holds the SQLite write lock -> time to each answer (the /inflow draws a real chart)")
    asks: list[tuple[str, Lang]] = [
        ("/401k topic:risks", "en"),
        ("/inflow 3%", "zh-TW"),
        ("/opinions", "en"),
        ("/sources", "zh-TW"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "locked.sqlite3"
        async with SQLiteStore(path) as store:
            core = Core(facts, Renderer(facts), store=store)
            async with write_lock_held_by_another_process(path):
                for line, lang in asks:
                    started = time.perf_counter()
                    await core.respond(parse_request(line, facts), lang)
                    print(f"  {line:<18} {lang:<6} {(time.perf_counter() - started) * 1000:7.1f} ms")
                pending = core.writes.pending
            await core.close()
            print(
                f"  {pending} writes were still waiting for the lock; after it was released the cache holds "
                f"{await store.cache_count()} entries"
            )


async def main() -> None:
    await huge_bodies()
    await locked_store()


if __name__ == "__main__":
    asyncio.run(main())
