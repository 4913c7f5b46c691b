"""The answering core shared by the console and both Discord transports: a request and a language -> an Answer.

It builds the answer context (the market cap, checked for plausibility), asks the answer cache (bot.answers.cache)
and, for /inflow, the chart service (bot.answers.charts, which draws in a worker process), and makes the error
answers. The console's line-in, answer-out entry point is bot.console.answer_line.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Protocol

from bot.answers.build import AnswerContext, answer, answer_error, answer_internal_error, answer_language
from bot.answers.cache import PNG_SIGNATURE, AnswerCache, code_version, hash_answer_code, market_key
from bot.answers.chart_worker import draw_in_worker
from bot.answers.charts import CHART_DEADLINE_SECONDS, MAX_CHARTS_QUEUED, ChartRenderer, ChartService
from bot.answers.model import Answer
from bot.answers.render import Renderer
from bot.answers.requests import InflowRequest, LanguageRequest, Request, UserInputError
from bot.domain import plausible
from bot.domain.facts import Facts, load_facts
from bot.domain.inflow import MarketCap
from bot.domain.language import Lang, in_language, text_lang
from bot.infra.background import BackgroundWrites
from bot.store import Store

__all__ = [
    "CHART_DEADLINE_SECONDS",
    "CHART_UNAVAILABLE",
    "MAX_CHARTS_QUEUED",
    "PNG_SIGNATURE",
    "ChartRenderer",
    "Core",
    "MarketCapSource",
    "Response",
    "code_version",
    "hash_answer_code",
]

CHART_FILENAME = "inflow.png"
# Said in the footer when the chart was left out; keyed by language code so a new language only adds a line.
CHART_UNAVAILABLE: dict[str, str] = {
    "en": "📊 The chart is not available right now; ask again in a moment to see it.",
    "zh-TW": "📊 圖表暫時無法提供，稍後再問一次即可看到。",  # zh-CN: converted from it, as every answer text is
}

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
    chart_skipped: bool = False  # an /inflow chart was left out to answer in time (the footer says so)


class Core:
    def __init__(
        self,
        facts: Facts,
        renderer: Renderer,
        market: MarketCapSource | None = None,
        store: Store | None = None,
        *,
        chart_renderer: ChartRenderer = draw_in_worker,
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
        self.writes = BackgroundWrites()
        self.cache = AnswerCache(store, self.data_version, self.writes)
        self.charts = ChartService(
            facts,
            self.cache,
            renderer=chart_renderer,
            deadline_seconds=chart_deadline_seconds,
            max_queued=max_charts_queued,
        )

    # Counters kept where they are counted; named here as callers have always read them.
    @property
    def charts_rendered(self) -> int:
        return self.charts.rendered

    @property
    def charts_skipped(self) -> int:
        return self.charts.skipped

    @property
    def slow_store_reads(self) -> int:
        return self.cache.slow_store_reads

    @property
    def render_estimate(self) -> float:
        return self.charts.render_estimate

    @render_estimate.setter
    def render_estimate(self, seconds: float) -> None:
        self.charts.render_estimate = seconds

    @classmethod
    def load(cls, market: MarketCapSource | None = None, store: Store | None = None) -> Core:
        facts = load_facts()
        return cls(facts, Renderer(facts), market, store)

    async def close(self) -> None:
        """Finish the background writes (bounded) and stop the chart thread; call before closing the store."""
        self.charts.close()
        await self.writes.close()

    async def drain(self) -> None:
        """Wait for the charts still being drawn and the background writes (tests and benchmarks use this)."""
        await self.charts.drain()
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

    async def respond(
        self, request: Request, lang: Lang, *, page: int = 0, chart: bool = True, wait_for_chart: bool = False
    ) -> Response:
        """The answer (and for /inflow its chart). `wait_for_chart`: no deadline (the console has no 3 s window)."""
        deadline = math.inf if wait_for_chart else time.monotonic() + self.charts.deadline
        ctx = await self.context(request)
        market = market_key(request, ctx.market_cap)
        key = self.cache.answer_key(request, lang, page, market)
        result, hit = await self.cache.answer(key, lambda: answer(request, lang, ctx, page=page))
        if chart and isinstance(request, InflowRequest):
            png, skipped = await self.charts.chart(request, lang, ctx.market_cap, market, deadline)
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
            source = self.market
            market_cap = source.fresh_market_cap() if source is not None else MarketCap.from_config(self.facts)
            if market_cap is None:
                return None
            market = market_key(request, market_cap)
        else:  # no other answer depends on the market cap (respond() keys them by "-" too): don't build one
            market = "-"
        key = self.cache.answer_key(request, lang, page, market)
        result = self.cache.remembered(key)
        if result is None:
            return None
        if not isinstance(request, InflowRequest):
            self.cache.hits += 1
            return Response(result, cache_hit=True, key=key)
        png = self.cache.remembered_chart(self.cache.chart_key(request, lang, market))
        if png is None:
            return None
        self.cache.hits += 1
        return Response(self._with_image(key, result), png, True, key + ":chart")

    def _with_image(self, key: str, result: Answer) -> Answer:
        return self.cache.variant(key + ":chart", lambda: replace(result, image=CHART_FILENAME))

    def _without_chart(self, key: str, result: Answer) -> Answer:
        def make() -> Answer:
            note = in_language(CHART_UNAVAILABLE[text_lang(result.lang)], result.lang, self.facts.simplify)
            return replace(result, footer=f"{result.footer}\n{note}" if result.footer else note)

        return self.cache.variant(key + ":nochart", make)

    async def answer(self, request: Request, lang: Lang, *, page: int = 0) -> Answer:
        return (await self.respond(request, lang, page=page, chart=False)).answer

    def language_answer(self, request: LanguageRequest, lang: Lang, current: str) -> Answer:
        """The answer after the store saved (or was asked for) the member's choice."""
        return answer_language(request, lang, self._config_ctx, current, saved=True)

    def error(self, error: UserInputError, lang: Lang) -> Answer:
        return answer_error(error, lang, self._config_ctx)

    def internal_error(self, lang: Lang, error_id: str | None = None) -> Answer:
        return answer_internal_error(lang, self._config_ctx, error_id)


def _checked(mc: MarketCap) -> MarketCap:
    """Any market source's figures pass the same plausibility bands before they reach a template."""
    if mc.kind == "config":
        return mc
    plausible.market_cap(mc.usd)
    for coin, usd in (("bitcoin", mc.btc_usd), ("ethereum", mc.eth_usd)):
        if usd is not None:
            plausible.price(coin, usd, mc.usd)
    return mc
