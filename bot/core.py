"""The answering core shared by the console, the Discord cogs and the tests: data + services -> Answer."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from bot.answers import AnswerContext, answer, answer_error, answer_internal_error, answer_language, new_error_id
from bot.facts import Facts, Lang, load_facts
from bot.inflow import MarketCap, estimate
from bot.memo import LruCache
from bot.render import Answer, Renderer, answer_from_json, answer_to_json
from bot.requests import InflowRequest, LanguageRequest, Request, UserInputError, parse_request
from bot.store import Store

ANSWER_CACHE_TTL_SECONDS = 3600.0
CHART_CACHE_TTL_SECONDS = 86400.0
CHART_FILENAME = "inflow.png"
MEMORY_ANSWERS = 512
MEMORY_CHARTS = 64  # about 60 KB each

log = logging.getLogger(__name__)


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
    ) -> None:
        self.facts = facts
        self.renderer = renderer
        self.market = market
        self.store = store
        # Config and templates together: editing either changes every cache key.
        self.data_version = f"{facts.version}-{renderer.version}"
        # Everything but /inflow answers from the config alone: one context, built once.
        self._config_ctx = AnswerContext(facts, renderer, MarketCap.from_config(facts))
        self.charts_rendered = 0
        self._charts: ThreadPoolExecutor | None = None
        self._charts_in_flight: dict[str, asyncio.Future[bytes | None]] = {}
        self._memory: LruCache[str, Answer] = LruCache(MEMORY_ANSWERS, ANSWER_CACHE_TTL_SECONDS)
        self._chart_memory: LruCache[str, bytes] = LruCache(MEMORY_CHARTS, CHART_CACHE_TTL_SECONDS)

    @classmethod
    def load(cls, market: MarketCapSource | None = None, store: Store | None = None) -> Core:
        facts = load_facts()
        return cls(facts, Renderer(facts), market, store)

    async def market_cap(self) -> MarketCap:
        if self.market is None:
            return MarketCap.from_config(self.facts)
        try:
            return await self.market.market_cap()
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

    async def respond(self, request: Request, lang: Lang, *, page: int = 0, chart: bool = True) -> Response:
        ctx = await self.context(request)
        market_key = self._market_key(request, ctx.market_cap)
        key = f"answer:{self.data_version}:{lang}:{page}:{request!r}:{market_key}"
        result, hit = await self._cached_answer(key, request, lang, page, ctx)
        if chart and isinstance(request, InflowRequest):
            png = await self._chart(request, lang, ctx.market_cap, market_key)
            if png is not None:
                return Response(self._with_image(key, result), png, hit, key + ":chart")
        return Response(result, cache_hit=hit, key=key)

    def peek(self, request: Request, lang: Lang, *, page: int = 0) -> Response | None:
        """The complete response if it is already in memory (answer and, for /inflow, chart), else None.

        Lets the Discord layer answer at once instead of deferring when nothing slow is left to do.
        """
        market_cap = self.market.fresh_market_cap() if self.market is not None else MarketCap.from_config(self.facts)
        if market_cap is None or self.store is None:
            return None
        market_key = self._market_key(request, market_cap)
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
        cached = await self.store.cache_get(key)
        if cached is not None:
            result = answer_from_json(cached)
            self._memory.put(key, result)
            return result, True
        result = answer(request, lang, ctx, page=page)
        self._memory.put(key, result)
        await self.store.cache_put(key, answer_to_json(result), ANSWER_CACHE_TTL_SECONDS)
        return result, False

    async def _chart(self, request: InflowRequest, lang: Lang, market_cap: MarketCap, market_key: str) -> bytes | None:
        """The chart PNG from the cache, or rendered off the event loop; None if it cannot be drawn.

        Identical asks arriving together share one render (single flight), so a burst costs one chart.
        """
        key = f"chart:{self.data_version}:{lang}:{request!r}:{market_key}"
        if (remembered := self._chart_memory.get(key)) is not None:
            return remembered
        if self.store is not None and (cached := await self.store.cache_get(key)) is not None:
            self._chart_memory.put(key, cached)
            return cached
        if (pending := self._charts_in_flight.get(key)) is not None:
            return await asyncio.shield(pending)
        task = asyncio.ensure_future(self._render_chart(key, request, lang, market_cap))
        self._charts_in_flight[key] = task
        task.add_done_callback(lambda _: self._charts_in_flight.pop(key, None))
        return await asyncio.shield(task)

    async def _render_chart(self, key: str, request: InflowRequest, lang: Lang, market_cap: MarketCap) -> bytes | None:
        from bot.chart import render_inflow_chart  # matplotlib only when the first chart is drawn

        est = estimate(request.allocation, request.pool, self.facts, market_cap)
        loop = asyncio.get_running_loop()
        try:
            drawn = await loop.run_in_executor(self._chart_executor(), render_inflow_chart, est, lang)
        except Exception:
            log.exception("chart rendering failed; answering without a chart")
            return None
        self.charts_rendered += 1
        if self.store is not None:
            self._chart_memory.put(key, drawn.png)
            await self.store.cache_put(key, drawn.png, CHART_CACHE_TTL_SECONDS)
        return drawn.png

    def language_answer(self, request: LanguageRequest, lang: Lang, current: str) -> Answer:
        return answer_language(request, lang, self._config_ctx, current)

    def error(self, error: UserInputError, lang: Lang) -> Answer:
        return answer_error(error, lang, self._config_ctx)

    def internal_error(self, lang: Lang, error_id: str | None = None) -> Answer:
        return answer_internal_error(lang, self._config_ctx, error_id)

    async def answer_line(self, line: str, lang: Lang, *, page: int = 0, chart: bool = False) -> Outcome:
        """A console line to an answer; never raises."""
        try:
            request = parse_request(line, self.facts)
            response = await self.respond(request, lang, page=page, chart=chart)
            return Outcome(response.answer, 0, response.image)
        except UserInputError as exc:
            return Outcome(self.error(exc, lang), 2)
        except Exception:
            error_id = new_error_id()
            log.exception("internal error %s answering %r", error_id, line)
            return Outcome(self.internal_error(lang, error_id), 1)
