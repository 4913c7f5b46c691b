"""The answering core shared by the console, the Discord cogs and the tests: data + services -> Answer.

Nothing slow sits on the reply path: cache writes go to the background, store reads have a short deadline (a miss
after it, and then no reads for a moment), and a chart that is not drawn in time (or would join too long a render
queue) is left out of the answer with a line saying so, while it is still drawn and cached for the next ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import importlib.metadata
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from bot.answers.build import AnswerContext, answer, answer_error, answer_internal_error, answer_language, new_error_id
from bot.answers.model import Answer, answer_from_json, answer_to_json
from bot.answers.render import Renderer
from bot.answers.requests import InflowRequest, LanguageRequest, Request, UserInputError, parse_request
from bot.domain import plausible
from bot.domain.facts import Facts, Lang, load_facts
from bot.domain.inflow import Estimate, MarketCap, estimate
from bot.infra.background import BackgroundWrites
from bot.infra.memo import LruCache
from bot.store import Store

ANSWER_CACHE_TTL_SECONDS = 3600.0
CHART_CACHE_TTL_SECONDS = 86400.0
CHART_FILENAME = "inflow.png"
MEMORY_ANSWERS = 512
MEMORY_CHARTS = 64  # about 60 KB each
STORE_READ_SECONDS = 0.25  # a cache read slower than this (a locked or busy store) counts as a miss
STORE_BACKOFF_SECONDS = 2.0  # after such a read, the cache is not read at all for this long (one probe, not every ask)
# A chart must be ready this long after the ask began, or the answer goes without it: with the market request's
# own 1.5 s timeout inside it, every /inflow answer is final within ~2 s, inside Discord's 3 s.
CHART_DEADLINE_SECONDS = 2.0
# Renders queued or running at once (one thread, ~110 ms each on an idle machine): a hard bound on the queue. A new
# render is also not queued when the renders ahead of it, at the measured time per chart, would not leave it time
# to finish by the deadline: that ask is answered at once without a chart rather than at the deadline.
MAX_CHARTS_QUEUED = 16
FIRST_RENDER_ESTIMATE_SECONDS = 0.15
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Said in the footer when the chart was left out; keyed by language code so a new language only adds a line.
CHART_UNAVAILABLE: dict[str, str] = {
    "en": "📊 The chart is not available right now; ask again in a moment to see it.",
    "zh-TW": "📊 圖表暫時無法提供，稍後再問一次即可看到。",
    "zh-CN": "📊 图表暂时无法提供，稍后再问一次即可看到。",
}

log = logging.getLogger(__name__)

# Modules whose code shapes an answer or chart: an upgrade that edits them must not serve answers cached by the old
# code (a shared PostgreSQL cache sees both versions during a rolling deploy).
_PACKAGE = Path(__file__).resolve().parent.parent  # bot/
_ANSWER_CODE = (
    "answers/build",
    "answers/model",
    "answers/render",
    "answers/formatting",
    "answers/requests",
    "answers/chart",
    "domain/simplified",
    "domain/inflow",
    "domain/allocation",
)


@functools.cache
def code_version() -> str:
    return hash_answer_code(_PACKAGE)


def hash_answer_code(package: Path) -> str:
    digest = hashlib.sha256()
    for name in _ANSWER_CODE:
        digest.update((package / f"{name}.py").read_bytes())
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        digest.update(importlib.metadata.version("opencc").encode())  # the converter's own tables change zh-CN text
    return digest.hexdigest()[:12]


ChartRenderer = Callable[[Estimate, Lang], bytes]


def draw_chart(est: Estimate, lang: Lang) -> bytes:
    """The production renderer (runs on the chart thread)."""
    from bot.answers.chart import render_inflow_chart  # matplotlib only when the first chart is drawn

    return render_inflow_chart(est, lang).png


class MarketCapSource(Protocol):
    async def market_cap(self) -> MarketCap: ...

    def fresh_market_cap(self) -> MarketCap | None:
        """The current value if it is known without any I/O, else None."""
        ...


@dataclass(frozen=True)
class Response:
    """An answer and, for /inflow, its chart (PNG bytes named by answer.image)."""

    answer: Answer
    image: bytes | None = None
    cache_hit: bool = False
    key: str | None = None  # identifies this exact response (for caching what is built from it)
    chart_skipped: bool = False  # an /inflow chart was left out to answer in time (the footer says so)


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    status: int  # 0 answered, 2 user-input error, 1 internal failure (the CLI's exit codes)
    image: bytes | None = None


class Core:
    def __init__(
        self,
        facts: Facts,
        renderer: Renderer,
        market: MarketCapSource | None = None,
        store: Store | None = None,
        *,
        chart_renderer: ChartRenderer = draw_chart,
        chart_deadline_seconds: float = CHART_DEADLINE_SECONDS,
        max_charts_queued: int = MAX_CHARTS_QUEUED,
    ) -> None:
        self.facts = facts
        self.renderer = renderer
        self.market = market
        self.store = store
        # Config and templates together: editing either changes every cache key.
        self.data_version = f"{facts.version}-{renderer.version}-{code_version()}"
        # Everything but /inflow answers from the config alone: one context, built once.
        self._config_ctx = AnswerContext(facts, renderer, MarketCap.from_config(facts))
        self.chart_renderer = chart_renderer
        self.chart_deadline = chart_deadline_seconds
        self.max_charts_queued = max_charts_queued
        self.charts_rendered = 0
        self.charts_skipped = 0
        self.charts_timed_out = 0  # of the skipped: queued, but not drawn by the deadline
        self.slow_store_reads = 0  # cache reads given up on (a locked or busy store)
        self._store_slow_until = 0.0  # monotonic time until which cache reads are skipped
        self.render_estimate = FIRST_RENDER_ESTIMATE_SECONDS  # seconds per chart, a moving average
        self.writes = BackgroundWrites()
        self._charts: ThreadPoolExecutor | None = None
        self._charts_in_flight: dict[str, asyncio.Future[bytes | None]] = {}
        self._memory: LruCache[str, Answer] = LruCache(MEMORY_ANSWERS, ANSWER_CACHE_TTL_SECONDS)
        self._chart_memory: LruCache[str, bytes] = LruCache(MEMORY_CHARTS, CHART_CACHE_TTL_SECONDS)

    @classmethod
    def load(cls, market: MarketCapSource | None = None, store: Store | None = None) -> Core:
        facts = load_facts()
        return cls(facts, Renderer(facts), market, store)

    async def close(self) -> None:
        """Finish the background writes (bounded) and stop the chart thread; call before closing the store."""
        for render in list(self._charts_in_flight.values()):
            render.cancel()  # nobody is waiting for these any more
        await self.writes.close()
        if self._charts is not None:
            self._charts.shutdown(wait=False, cancel_futures=True)
            self._charts = None

    async def drain(self) -> None:
        """Wait for the charts still being drawn and the background writes (tests and benchmarks use this)."""
        await asyncio.gather(*self._charts_in_flight.values(), return_exceptions=True)
        await self.writes.drain()

    async def market_cap(self) -> MarketCap:
        if self.market is None:
            return MarketCap.from_config(self.facts)
        try:
            return _checked(await self.market.market_cap())
        except plausible.ImplausibleValue as exc:
            log.warning("market data source gave an implausible figure (%s); using the config figure", exc)
        except Exception:  # the market source must never break an answer
            log.exception("market data source failed; using the config figure")
        return MarketCap.from_config(self.facts)

    async def context(self, request: Request | None = None) -> AnswerContext:
        if not isinstance(request, InflowRequest):
            return self._config_ctx
        return AnswerContext(self.facts, self.renderer, await self.market_cap())

    def _chart_executor(self) -> ThreadPoolExecutor:
        # One thread: matplotlib's global state (rcParams, font cache) is not safe to share between threads.
        if self._charts is None:
            self._charts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        return self._charts

    @staticmethod
    def _market_key(request: Request, mc: MarketCap) -> str:
        # An /inflow answer depends on the market cap it used; nothing else does.
        return f"{mc.kind}:{mc.usd}:{mc.as_of}:{mc.age_minutes}" if isinstance(request, InflowRequest) else "-"

    async def respond(
        self, request: Request, lang: Lang, *, page: int = 0, chart: bool = True, wait_for_chart: bool = False
    ) -> Response:
        """The answer (and for /inflow its chart). `wait_for_chart`: no deadline (the console has no 3 s window)."""
        deadline = math.inf if wait_for_chart else time.monotonic() + self.chart_deadline
        ctx = await self.context(request)
        market_key = self._market_key(request, ctx.market_cap)
        key = f"answer:{self.data_version}:{lang}:{page}:{request!r}:{market_key}"
        result, hit = await self._cached_answer(key, request, lang, page, ctx)
        if chart and isinstance(request, InflowRequest):
            png, skipped = await self._chart(request, lang, ctx.market_cap, market_key, deadline)
            if png is not None:
                return Response(self._with_image(key, result), png, hit, key + ":chart")
            if skipped:
                without = self._without_chart(key, result)
                return Response(without, cache_hit=hit, key=key + ":nochart", chart_skipped=True)
        return Response(result, cache_hit=hit, key=key)

    def peek(self, request: Request, lang: Lang, *, page: int = 0) -> Response | None:
        """The complete response if it is already in memory (answer and, for /inflow, chart), else None.

        Lets the Discord layer answer at once instead of deferring when nothing slow is left to do.
        """
        if self.store is None:
            return None
        if isinstance(request, InflowRequest):
            market = self.market
            market_cap = market.fresh_market_cap() if market is not None else MarketCap.from_config(self.facts)
            if market_cap is None:
                return None
            market_key = self._market_key(request, market_cap)
        else:  # no other answer depends on the market cap (respond() keys them by "-" too): don't build one
            market_key = "-"
        key = f"answer:{self.data_version}:{lang}:{page}:{request!r}:{market_key}"
        result = self._memory.get(key)
        if result is None:
            return None
        if not isinstance(request, InflowRequest):
            return Response(result, cache_hit=True, key=key)
        png = self._chart_memory.get(f"chart:{self.data_version}:{lang}:{request!r}:{market_key}")
        if png is None:
            return None
        return Response(self._with_image(key, result), png, True, key + ":chart")

    def _with_image(self, key: str, result: Answer) -> Answer:
        # One Answer object per key (not a copy per ask), so what is built from it can be reused.
        with_image = self._memory.get(key + ":chart")
        if with_image is None:
            with_image = replace(result, image=CHART_FILENAME)
            self._memory.put(key + ":chart", with_image)
        return with_image

    def _without_chart(self, key: str, result: Answer) -> Answer:
        without = self._memory.get(key + ":nochart")
        if without is None:
            note = CHART_UNAVAILABLE.get(result.lang, CHART_UNAVAILABLE["en"])
            without = replace(result, footer=f"{result.footer}\n{note}" if result.footer else note)
            self._memory.put(key + ":nochart", without)
        return without

    async def _store_read(self, key: str) -> bytes | None:
        """A store cache read that gives up after STORE_READ_SECONDS: a locked store must not hold up an answer."""
        if self.store is None or time.monotonic() < self._store_slow_until:
            return None
        try:
            return await asyncio.wait_for(self.store.cache_get(key), STORE_READ_SECONDS)
        except TimeoutError:
            self._store_slow_until = time.monotonic() + STORE_BACKOFF_SECONDS
            self.slow_store_reads += 1
            if self.slow_store_reads == 1 or self.slow_store_reads % 100 == 0:  # not a line per ask in a burst
                log.warning(
                    "store: a cache read took over %.2f s (%d so far); answering without the cache",
                    STORE_READ_SECONDS,
                    self.slow_store_reads,
                )
            return None
        except Exception as exc:  # a cache is never worth an error: an odd entry is a miss
            log.warning("store: cache read failed (%s: %s); answering without the cache", type(exc).__name__, exc)
            return None

    async def answer(self, request: Request, lang: Lang, *, page: int = 0) -> Answer:
        return (await self.respond(request, lang, page=page, chart=False)).answer

    async def _cached_answer(
        self, key: str, request: Request, lang: Lang, page: int, ctx: AnswerContext
    ) -> tuple[Answer, bool]:
        """The answer and whether it came from a cache (memory first, then the store)."""
        if self.store is None:  # no store: no caching at all (benchmarks use this for the uncached path)
            return answer(request, lang, ctx, page=page), False
        if (remembered := self._memory.get(key)) is not None:
            return remembered, True
        if (cached := await self._store_read(key)) is not None:
            try:
                result = answer_from_json(cached)
            except Exception as exc:  # an entry from another version, or scribbled over: rebuild it
                log.warning("store: ignoring an unreadable cached answer (%s)", type(exc).__name__)
            else:
                self._memory.put(key, result)
                return result, True
        result = answer(request, lang, ctx, page=page)
        self._memory.put(key, result)
        self.writes.submit(self._cache_answer(self.store, key, result), "answer cache")
        return result, False

    @staticmethod
    async def _cache_answer(store: Store, key: str, result: Answer) -> None:
        # Serialised in the background too: the reply does not pay for it, and a failure is only logged.
        await store.cache_put(key, answer_to_json(result), ANSWER_CACHE_TTL_SECONDS)

    async def _chart(
        self, request: InflowRequest, lang: Lang, market_cap: MarketCap, market_key: str, deadline: float
    ) -> tuple[bytes | None, bool]:
        """(PNG, skipped): from the cache, or rendered off the event loop if it is ready by `deadline`.

        PNG None and skipped False: it cannot be drawn. Skipped: the render queue was full or the deadline passed;
        a render that missed the deadline carries on and is cached, so the next ask gets the chart. Identical asks
        arriving together share one render (single flight), so a burst of one ask costs one chart.
        """
        key = f"chart:{self.data_version}:{lang}:{request!r}:{market_key}"
        if (remembered := self._chart_memory.get(key)) is not None:
            return remembered, False
        if (cached := await self._store_read(key)) is not None and cached.startswith(PNG_SIGNATURE):
            self._chart_memory.put(key, cached)
            return cached, False
        pending = self._charts_in_flight.get(key)
        if pending is None:
            if not self._chart_fits(deadline):
                self.charts_skipped += 1
                log.info(
                    "chart: %d renders queued (~%.2f s each); answering without a chart",
                    len(self._charts_in_flight),
                    self.render_estimate,
                )
                return None, True
            pending = asyncio.ensure_future(self._render_chart(key, request, lang, market_cap))
            self._charts_in_flight[key] = pending
            pending.add_done_callback(lambda _: self._charts_in_flight.pop(key, None))
        try:
            remaining = None if deadline == math.inf else max(deadline - time.monotonic(), 0.0)
            png = await asyncio.wait_for(asyncio.shield(pending), remaining)
        except TimeoutError:
            self.charts_skipped += 1
            self.charts_timed_out += 1
            log.info("chart: not drawn within the deadline; answering without it")
            return None, True
        return png, False

    def _chart_fits(self, deadline: float) -> bool:
        """Whether a new render, queued behind the ones in flight on the one chart thread, can finish in time."""
        queued = len(self._charts_in_flight)
        if queued == 0:
            return True  # an idle thread always gets a try: if it is late, the chart is still cached for next time
        if queued >= self.max_charts_queued:
            return False
        return (queued + 1) * self.render_estimate <= deadline - time.monotonic()

    def _timed_render(self, est: Estimate, lang: Lang) -> tuple[bytes, float]:
        started = time.perf_counter()  # on the chart thread: the drawing alone, not the wait in the queue
        return self.chart_renderer(est, lang), time.perf_counter() - started

    async def _render_chart(self, key: str, request: InflowRequest, lang: Lang, market_cap: MarketCap) -> bytes | None:
        est = estimate(request.allocation, request.pool, self.facts, market_cap)
        loop = asyncio.get_running_loop()
        try:
            png, seconds = await loop.run_in_executor(self._chart_executor(), self._timed_render, est, lang)
        except Exception:
            log.exception("chart rendering failed; answering without a chart")
            return None
        self.render_estimate = 0.7 * self.render_estimate + 0.3 * seconds
        self.charts_rendered += 1
        if self.store is not None:
            self._chart_memory.put(key, png)
            self.writes.submit(self.store.cache_put(key, png, CHART_CACHE_TTL_SECONDS), "chart cache")
        return png

    def language_answer(self, request: LanguageRequest, lang: Lang, current: str) -> Answer:
        """The answer after the store saved (or was asked for) the member's choice."""
        return answer_language(request, lang, self._config_ctx, current, saved=True)

    def error(self, error: UserInputError, lang: Lang) -> Answer:
        return answer_error(error, lang, self._config_ctx)

    def internal_error(self, lang: Lang, error_id: str | None = None) -> Answer:
        return answer_internal_error(lang, self._config_ctx, error_id)

    async def answer_line(self, line: str, lang: Lang, *, page: int = 0, chart: bool = False) -> Outcome:
        """A console line to an answer; never raises."""
        try:
            request = parse_request(line, self.facts)
            response = await self.respond(request, lang, page=page, chart=chart, wait_for_chart=True)
            return Outcome(response.answer, 0, response.image)
        except UserInputError as exc:
            return Outcome(self.error(exc, lang), 2)
        except Exception:
            error_id = new_error_id()
            log.exception("internal error %s answering %r", error_id, line)
            return Outcome(self.internal_error(lang, error_id), 1)


def _checked(mc: MarketCap) -> MarketCap:
    """Any market source's figures pass the same plausibility bands before they reach a template."""
    if mc.kind == "config":
        return mc
    plausible.market_cap(mc.usd)
    for coin, usd in (("bitcoin", mc.btc_usd), ("ethereum", mc.eth_usd)):
        if usd is not None:
            plausible.price(coin, usd, mc.usd)
    return mc
