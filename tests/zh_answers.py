"""Every answer the bot can give, for tests that read all of them in one language (zh-CN / zh-TW checks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

from bot.answers.build import ERROR_CODES, AnswerContext, answer, answer_error, answer_language, source_pages
from bot.answers.model import Answer
from bot.answers.requests import (
    LANGUAGE_CHOICES,
    FaqRequest,
    HelpRequest,
    LanguageRequest,
    OpinionsRequest,
    SourcesRequest,
    Topic,
    UserInputError,
    parse_request,
)
from bot.domain.facts import STANCES
from bot.domain.inflow import MarketCap
from bot.domain.language import Lang

INFLOW_LINES = ("/inflow 1% pool:retirement", "/inflow 2%", "/inflow 1-5% pool:dc", "/inflow 0.5%", "/inflow 37.5%")
_ERROR_PARAMS = {
    "text": "abc",
    "value": "abc",
    "choices": ("overview", "rules"),
    "command": "/frob",
    "limit": 300,
    "seconds": 12,
    "error_id": "deadbeef",
}


def error_codes() -> list[str]:
    return sorted(ERROR_CODES)


def market_caps(ctx: AnswerContext) -> list[MarketCap]:
    config = ctx.market_cap
    now = dt.datetime(2026, 11, 30, 2, 10, tzinfo=dt.UTC)
    live = MarketCap(Decimal("3.87e12"), now, "live", "CoinGecko", btc_usd=Decimal(91234), eth_usd=Decimal(3012))
    return [config, live, replace(live, kind="cached", age_minutes=25)]


def all_answers(ctx: AnswerContext, lang: Lang) -> Iterator[tuple[str, Answer]]:
    facts = ctx.facts
    for topic in Topic:
        yield f"401k {topic}", answer(parse_request(f"/401k topic:{topic.value}", facts), lang, ctx)
    for page in range(1, 3):
        yield f"401k timeline p{page}", answer(parse_request("/401k topic:timeline", facts), lang, ctx, page=page)
    for mc in market_caps(ctx):
        for line in INFLOW_LINES:
            yield f"{line} ({mc.kind})", answer(parse_request(line, facts), lang, replace(ctx, market_cap=mc))
    for page in range(3):
        yield f"opinions p{page}", answer(OpinionsRequest(), lang, ctx, page=page)
    for stance in STANCES:
        yield f"opinions {stance}", answer(OpinionsRequest(stance), lang, ctx)
    for opinion in facts.opinions:
        yield f"opinions {opinion.id}", answer(OpinionsRequest(None, opinion.id), lang, ctx)
    for page in range(len(source_pages(facts))):
        yield f"sources p{page}", answer(SourcesRequest(), lang, ctx, page=page)
    yield "faq", answer(FaqRequest(), lang, ctx)
    for question in facts.faq.question:
        yield f"faq {question.id}", answer(FaqRequest(question.id), lang, ctx)
    yield "help", answer(HelpRequest(), lang, ctx)
    for choice in LANGUAGE_CHOICES:
        yield f"language {choice}", answer_language(LanguageRequest(choice), lang, ctx, choice)
        yield f"language shows {choice}", answer_language(LanguageRequest(None), lang, ctx, choice)
    for code in error_codes():
        yield f"error {code}", answer_error(UserInputError(code, **_ERROR_PARAMS), lang, ctx)


def answer_texts(result: Answer) -> list[str]:
    """Everything a reader sees: embed text, button labels, menu options."""
    texts = [result.title, result.description, result.footer, result.content or ""]
    texts += [t for f in result.fields for t in (f.name, f.value)]
    for control in result.controls:
        texts.append(control.label)
        texts += [label for _, label in control.options]
    return texts
