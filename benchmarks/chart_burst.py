"""A burst of N concurrent, all different /inflow asks through the core: how long until each answer is final?

Run by hand (not part of the test suite):  .venv/bin/python benchmarks/chart_burst.py [--n 10 25 50] [--repeats 3]

Each ask is a new allocation (so each needs its own chart), half in English and half in Chinese, against a real
SQLite store in a temporary folder and the real matplotlib renderer (warmed up by one chart first, as in a running
bot). "before" is the old behaviour (every answer waits for its chart: no deadline, no queue bound); "after" is the
default Core (chart deadline and render-queue bound). Also printed: the event loop's worst stall during the burst
(a 5 ms ticker), since the chart thread competes with the loop for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.answers.core import CHART_DEADLINE_SECONDS, MAX_CHARTS_QUEUED, Core  # noqa: E402
from bot.answers.render import Renderer  # noqa: E402
from bot.answers.requests import parse_request  # noqa: E402
from bot.domain.facts import load_facts  # noqa: E402
from bot.domain.language import Lang  # noqa: E402
from bot.store import SQLiteStore  # noqa: E402


@dataclass
class Burst:
    times: list[float]
    skipped: int
    drawn_in_time: int
    drawn_later: int
    worst_loop_gap: float


async def _ticker(gaps: list[float]) -> None:
    last = time.perf_counter()
    while True:
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def burst(n: int, *, deadline: float, queue: int, offset: int) -> Burst:
    facts = load_facts()
    with tempfile.TemporaryDirectory() as folder:
        async with SQLiteStore(Path(folder) / "burst.sqlite3") as store:
            core = Core(facts, Renderer(facts), store=store, chart_deadline_seconds=deadline, max_charts_queued=queue)
            await core.respond(parse_request("/inflow 0.5%", facts), "en")  # warm: matplotlib loaded, font found
            await core.drain()
            rendered_before = core.charts_rendered
            langs: tuple[Lang, Lang] = ("en", "zh-TW")
            asks = [(parse_request(f"/inflow {1 + (offset + i) / 100:.2f}%", facts), langs[i % 2]) for i in range(n)]

            async def one(index: int) -> tuple[float, bool]:
                request, lang = asks[index]
                started = time.perf_counter()
                response = await core.respond(request, lang)
                return time.perf_counter() - started, response.chart_skipped

            gaps: list[float] = []
            ticker = asyncio.create_task(_ticker(gaps))
            results = await asyncio.gather(*(one(i) for i in range(n)))
            ticker.cancel()
            in_time = core.charts_rendered - rendered_before
            await core.drain()  # renders that missed the deadline finish and are cached for the next ask
            later = core.charts_rendered - rendered_before - in_time
            await core.close()
    return Burst(
        times=[t for t, _ in results],
        skipped=sum(1 for _, s in results if s),
        drawn_in_time=in_time,
        drawn_later=later,
        worst_loop_gap=max(gaps, default=0.0),
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # no "no CJK font" or "answering without a chart" lines in the table
    print(f"chart deadline {CHART_DEADLINE_SECONDS} s, render queue {MAX_CHARTS_QUEUED}; median of {args.repeats} runs")
    print()
    print(
        "| behaviour | N asks | p50 s | p99 s | max s | charts in the answer | answered without | drawn after | "
        "worst loop stall ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    behaviours = (("before", math.inf, 10**9), ("after", CHART_DEADLINE_SECONDS, MAX_CHARTS_QUEUED))
    for n in args.n:
        for name, deadline, queue in behaviours:
            runs = [await burst(n, deadline=deadline, queue=queue, offset=r * n) for r in range(args.repeats)]

            def med(values: list[float]) -> float:
                return statistics.median(values)

            print(
                f"| {name} | {n} | {med([percentile(b.times, 0.5) for b in runs]):.2f} "
                f"| {med([percentile(b.times, 0.99) for b in runs]):.2f} | {med([max(b.times) for b in runs]):.2f} "
                f"| {med([n - b.skipped for b in runs]):.0f} | {med([b.skipped for b in runs]):.0f} "
                f"| {med([b.drawn_later for b in runs]):.0f} | {med([b.worst_loop_gap for b in runs]) * 1000:.0f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
