"""The answering core shared by the console, the Discord cogs and the tests: data + services -> Answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.answers import AnswerContext, answer, answer_error, answer_internal_error, answer_language, new_error_id
from bot.facts import Facts, Lang, load_facts
from bot.inflow import MarketCap
from bot.render import Answer, Renderer, answer_from_json, answer_to_json
from bot.requests import InflowRequest, LanguageRequest, Request, UserInputError, parse_request
from bot.store import Store

ANSWER_CACHE_TTL_SECONDS = 3600.0

log = logging.getLogger(__name__)


class MarketCapSource(Protocol):
    async def market_cap(self) -> MarketCap: ...


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    status: int  # 0 answered, 2 user-input error, 1 internal failure (the CLI's exit codes)


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
        needs_market = isinstance(request, InflowRequest)
        market_cap = await self.market_cap() if needs_market else MarketCap.from_config(self.facts)
        return AnswerContext(self.facts, self.renderer, market_cap)

    async def answer(self, request: Request, lang: Lang, *, page: int = 0) -> Answer:
        ctx = await self.context(request)
        if self.store is None:
            return answer(request, lang, ctx, page=page)
        mc = ctx.market_cap
        market_key = f"{mc.kind}:{mc.usd}:{mc.as_of}:{mc.age_minutes}" if isinstance(request, InflowRequest) else "-"
        key = f"answer:{self.data_version}:{lang}:{page}:{request!r}:{market_key}"
        cached = await self.store.cache_get(key)
        if cached is not None:
            return answer_from_json(cached)
        result = answer(request, lang, ctx, page=page)
        await self.store.cache_put(key, answer_to_json(result), ANSWER_CACHE_TTL_SECONDS)
        return result

    def language_answer(self, request: LanguageRequest, lang: Lang, current: str) -> Answer:
        ctx = AnswerContext(self.facts, self.renderer, MarketCap.from_config(self.facts))
        return answer_language(request, lang, ctx, current)

    def error(self, error: UserInputError, lang: Lang) -> Answer:
        return answer_error(error, lang, AnswerContext(self.facts, self.renderer, MarketCap.from_config(self.facts)))

    def internal_error(self, lang: Lang, error_id: str | None = None) -> Answer:
        ctx = AnswerContext(self.facts, self.renderer, MarketCap.from_config(self.facts))
        return answer_internal_error(lang, ctx, error_id)

    async def answer_line(self, line: str, lang: Lang, *, page: int = 0) -> Outcome:
        """A console line to an answer; never raises."""
        try:
            request = parse_request(line, self.facts)
            return Outcome(await self.answer(request, lang, page=page), 0)
        except UserInputError as exc:
            return Outcome(self.error(exc, lang), 2)
        except Exception:
            error_id = new_error_id()
            log.exception("internal error %s answering %r", error_id, line)
            return Outcome(self.internal_error(lang, error_id), 1)
