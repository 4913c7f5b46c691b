"""The chart service: /inflow charts from the cache, or drawn (in the chart worker process) if ready in time.

A chart that is not drawn by the deadline (or would join too long a queue) is left out of the answer, and the footer
says so; it is still drawn and cached for the next ask. Identical asks arriving together share one drawing.

A serving process warms the drawing side when it starts (`warm_in_background`): the worker's cold start (a process,
matplotlib, the fonts) takes seconds on a loaded machine, past the deadline, and must not fall on a member's first ask.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.answers.cache import AnswerCache
from bot.answers.chart_worker import draw_in_worker, warm_worker
from bot.answers.requests import InflowRequest
from bot.domain.allocation import parse_allocation
from bot.domain.facts import Facts
from bot.domain.inflow import Estimate, MarketCap, Pool, estimate
from bot.domain.language import Lang

# A chart must be ready this long after the ask began, or the answer goes without it: with the market request's
# own 1.5 s timeout inside it, every /inflow answer is final within ~2 s, inside Discord's 3 s.
CHART_DEADLINE_SECONDS = 2.0
# Charts queued or drawing at once (one worker, ~75 ms each on an idle machine): a hard bound on the queue. A new
# chart is also not queued when the ones ahead of it, at the measured time per chart, would not leave it time to
# finish by the deadline: that ask is answered at once without a chart rather than at the deadline.
MAX_CHARTS_QUEUED = 16
FIRST_RENDER_ESTIMATE_SECONDS = 0.15

ChartRenderer = Callable[[Estimate, Lang], bytes]
# Blocking, on the chart thread: readies the drawing side with a sample estimate; True if it did any work.
ChartWarmer = Callable[[Estimate], bool]

log = logging.getLogger(__name__)


class ChartService:
    """Counters for metrics: `rendered`, `skipped` (of which `timed_out` missed the deadline and `refused` found the
    queue full), `failed`, and `queued` (charts queued or drawing now)."""

    def __init__(
        self,
        facts: Facts,
        cache: AnswerCache,
        *,
        renderer: ChartRenderer = draw_in_worker,
        warmer: ChartWarmer | None = None,
        deadline_seconds: float = CHART_DEADLINE_SECONDS,
        max_queued: int = MAX_CHARTS_QUEUED,
    ) -> None:
        self.facts = facts
        self.cache = cache
        self.renderer = renderer  # blocking; runs on the one chart thread
        if warmer is None and renderer is draw_in_worker:
            warmer = warm_worker  # the worker's own; another renderer has nothing to warm unless given a warmer
        self.warmer = warmer
        self.deadline = deadline_seconds
        self.max_queued = max_queued
        self.render_estimate = FIRST_RENDER_ESTIMATE_SECONDS  # seconds per chart, a moving average
        self.rendered = 0
        self.skipped = 0
        self.timed_out = 0
        self.refused = 0
        self.failed = 0
        self.warmed = False  # the warm-up finished (if it failed, the first real chart starts the worker)
        self._thread: ThreadPoolExecutor | None = None
        self._in_flight: dict[str, asyncio.Future[bytes | None]] = {}
        self._warming: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._in_flight)

    async def chart(
        self, request: InflowRequest, lang: Lang, market_cap: MarketCap, market: str, deadline: float
    ) -> tuple[bytes | None, bool]:
        """(PNG, skipped): from the cache, or drawn if it is ready by `deadline` (a monotonic time, or math.inf).

        PNG None and skipped False: it cannot be drawn. Skipped: the queue was full or the deadline passed; a chart
        that missed the deadline carries on and is cached, so the next ask gets it.
        """
        key = self.cache.chart_key(request, lang, market)
        if (cached := await self.cache.chart(key)) is not None:
            return cached, False
        pending = self._in_flight.get(key)
        if pending is None:
            if not self._fits(deadline):
                self.skipped += 1
                self.refused += 1
                log.info(
                    "chart: %d renders queued (~%.2f s each); answering without a chart",
                    len(self._in_flight),
                    self.render_estimate,
                )
                return None, True
            pending = asyncio.ensure_future(self._draw(key, request, lang, market_cap))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key, None))
        try:
            remaining = None if deadline == math.inf else max(deadline - time.monotonic(), 0.0)
            png = await asyncio.wait_for(asyncio.shield(pending), remaining)
        except TimeoutError:
            self.skipped += 1
            self.timed_out += 1
            log.info("chart: not drawn within the deadline; answering without it")
            return None, True
        return png, False

    def _fits(self, deadline: float) -> bool:
        """Whether a new chart, queued behind the ones in flight on the one chart thread, can finish in time."""
        queued = len(self._in_flight)
        if queued == 0:
            return True  # an idle worker always gets a try: if it is late, the chart is still cached for next time
        if queued >= self.max_queued:
            return False
        return (queued + 1) * self.render_estimate <= deadline - time.monotonic()

    def _timed_render(self, est: Estimate, lang: Lang) -> tuple[bytes, float]:
        started = time.perf_counter()  # on the chart thread: the drawing alone, not the wait in the queue
        return self.renderer(est, lang), time.perf_counter() - started

    def _chart_thread(self) -> ThreadPoolExecutor:
        if self._thread is None:  # one thread: one chart at a time (the worker draws one at a time anyway)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        return self._thread

    def warm_in_background(self) -> None:
        """Warm the drawing side now, without waiting (a serving process calls this once it is up)."""
        if self._warming is None and self.warmer is not None:
            self._warming = asyncio.ensure_future(self.warm())

    async def warm(self) -> None:
        """Have the warmer draw throwaway charts on the chart thread, so the first chart a member asks for is drawn
        warm. Nothing is cached, counted or measured (the cold start must not inflate the time per chart either). A
        chart asked meanwhile waits behind it, as it would have waited for the cold start anyway. A failure is only
        logged: the first real chart tries again."""
        if self.warmer is None:
            return
        est = estimate(parse_allocation("1%"), Pool.K401, self.facts, MarketCap.from_config(self.facts))
        started = time.perf_counter()
        try:
            warmed = await asyncio.get_running_loop().run_in_executor(self._chart_thread(), self.warmer, est)
        except Exception as exc:
            log.warning("chart: warming the chart worker failed (%s: %s)", type(exc).__name__, exc)
            return
        self.warmed = True
        if warmed:
            log.info("chart: worker warmed in %.1f s", time.perf_counter() - started)

    async def _draw(self, key: str, request: InflowRequest, lang: Lang, market_cap: MarketCap) -> bytes | None:
        est = estimate(request.allocation, request.pool, self.facts, market_cap)
        try:
            png, seconds = await asyncio.get_running_loop().run_in_executor(
                self._chart_thread(), self._timed_render, est, lang
            )
        except Exception:
            self.failed += 1
            log.exception("chart rendering failed; answering without a chart")
            return None
        self.render_estimate = 0.7 * self.render_estimate + 0.3 * seconds
        self.rendered += 1
        self.cache.put_chart(key, png)
        return png

    async def drain(self) -> None:
        """Wait for the warm-up and the charts still being drawn (tests and benchmarks use this)."""
        warming = [self._warming] if self._warming is not None else []
        await asyncio.gather(*warming, *self._in_flight.values(), return_exceptions=True)

    def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        for pending in list(self._in_flight.values()):
            pending.cancel()  # nobody is waiting for these any more
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
