"""The answering core shared by the console, the Discord cogs and the tests: data + services -> Answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.answers import AnswerContext, answer, answer_error, answer_internal_error, new_error_id
from bot.facts import Facts, Lang, load_facts
from bot.inflow import MarketCap
from bot.render import Answer, Renderer
from bot.requests import InflowRequest, Request, UserInputError, parse_request

log = logging.getLogger(__name__)


class MarketCapSource(Protocol):
    async def market_cap(self) -> MarketCap: ...


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    status: int  # 0 answered, 2 user-input error, 1 internal failure (the CLI's exit codes)


class Core:
    def __init__(self, facts: Facts, renderer: Renderer, market: MarketCapSource | None = None) -> None:
        self.facts = facts
        self.renderer = renderer
        self.market = market

    @classmethod
    def load(cls, market: MarketCapSource | None = None) -> Core:
        facts = load_facts()
        return cls(facts, Renderer(facts), market)

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
        return answer(request, lang, await self.context(request), page=page)

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
