"""One function per command: (request, language, context) -> Answer. No Discord here."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass

from bot.answers.model import COLORS, Answer, Control
from bot.answers.render import Renderer
from bot.answers.requests import (
    HelpRequest,
    InflowRequest,
    K401Request,
    LanguageRequest,
    OpinionsRequest,
    Request,
    SourcesRequest,
    Topic,
    UserInputError,
)
from bot.domain.allocation import AllocationErrorReason
from bot.domain.facts import STANCES, Fact, Facts, Source
from bot.domain.inflow import MarketCap, Pool, estimate, headline_check, pool_fact
from bot.domain.language import Lang

OPINIONS_PER_PAGE = 3
# /sources pages: groups that fit one embed together; the last page lists the documents.
SOURCE_PAGES: tuple[tuple[str, ...], ...] = (
    ("assets",),
    ("participation", "fees", "rules", "scenarios"),
    ("market", "order"),
    (),
)


@dataclass(frozen=True)
class AnswerContext:
    """What an answer may depend on besides the request: loaded data and the market snapshot."""

    facts: Facts
    renderer: Renderer
    market_cap: MarketCap


def language_toggle(facts: Facts, lang: Lang) -> tuple[Control, ...]:
    """A Chinese answer switches to English; an English one offers both Chinese scripts, each named in itself.

    The answer is cached per language, not per reader, so it cannot know which Chinese its reader wants: the reader
    picks 繁體中文 or 简体中文.
    """
    if lang != "en":
        return (Control("button", "lang", facts.label("controls", "switch_language", lang), value="en"),)
    chinese: tuple[Lang, ...] = ("zh-TW", "zh-CN")
    return tuple(Control("button", "lang", facts.label("languages", c, c), value=c) for c in chinese)


def _pager(facts: Facts, lang: Lang, action: str, page: int, pages: int) -> tuple[Control, ...]:
    if pages <= 1:
        return ()
    return (
        Control("button", action, facts.label("controls", "previous", lang), str(page - 1), disabled=page <= 0),
        Control("button", action, facts.label("controls", "next", lang), str(page + 1), disabled=page >= pages - 1),
    )


def answer_401k(req: K401Request, lang: Lang, ctx: AnswerContext) -> Answer:
    facts = ctx.facts
    select = Control(
        "select",
        "topic",
        facts.label("controls", "choose_topic", lang),
        value=req.topic.value,
        options=tuple((t.value, facts.label("topics", t.value, lang)) for t in Topic),
    )
    steps = facts.timeline.step if req.topic is Topic.TIMELINE else ()
    uses = [f"timeline:{s.id}" for s in steps] + [f"source:{s.source}" for s in steps]
    return ctx.renderer.render(
        "401k",
        lang,
        uses=uses,
        topic=req.topic.value,
        steps=steps,
        reviewed=facts.timeline.reviewed,
        check=headline_check(facts),
        color=COLORS["info"],
        controls=(select, *language_toggle(facts, lang)),
        state={"command": "401k", "topic": req.topic.value},
    )


def answer_inflow(req: InflowRequest, lang: Lang, ctx: AnswerContext) -> Answer:
    est = estimate(req.allocation, req.pool, ctx.facts, ctx.market_cap)
    # Every pool appears in the comparison and the scenario table, whichever one the user picked.
    uses = [pool_fact(ctx.facts, p).id for p in Pool]
    if ctx.market_cap.fact_id is not None:
        uses.append(ctx.market_cap.fact_id)
    return ctx.renderer.render(
        "inflow",
        lang,
        uses=uses,
        est=est,
        color=COLORS["inflow"],
        controls=language_toggle(ctx.facts, lang),
        state={"command": "inflow", "allocation": req.allocation.text, "pool": req.pool.value},
    )


def answer_opinions(req: OpinionsRequest, lang: Lang, ctx: AnswerContext, page: int = 0) -> Answer:
    facts = ctx.facts
    analyst = facts.opinion(req.analyst) if req.analyst else None
    matching = [o for o in facts.opinions if req.stance is None or o.stance == req.stance]
    pages = max(1, math.ceil(len(matching) / OPINIONS_PER_PAGE)) if analyst is None else 1
    page = min(max(page, 0), pages - 1)
    shown = matching[page * OPINIONS_PER_PAGE : (page + 1) * OPINIONS_PER_PAGE]
    # A summary of views quotes no one: it is not counted as an analyst.
    counts = Counter(o.stance for o in facts.opinions if o.is_analyst)
    summaries = [o for o in facts.opinions if not o.is_analyst]
    uses = [f"opinion:{o.id}" for o in ([analyst] if analyst else shown)]
    return ctx.renderer.render(
        "opinions",
        lang,
        uses=uses,
        summaries=summaries,
        analyst=analyst,
        stance=req.stance,
        shown=shown,
        counts={s: counts[s] for s in STANCES},
        page=page,
        pages=pages,
        color=COLORS["opinions"],
        controls=(*_pager(facts, lang, "page", page, pages), *language_toggle(facts, lang)),
        state={
            "command": "opinions",
            "stance": req.stance or "",
            "analyst": req.analyst or "",
            "page": str(page),
        },
    )


def answer_sources(req: SourcesRequest, lang: Lang, ctx: AnswerContext, page: int = 0) -> Answer:
    facts = ctx.facts
    pages = len(SOURCE_PAGES)
    page = min(max(page, 0), pages - 1)
    groups: list[tuple[str, list[Fact]]] = [(g, [f for f in facts.facts if f.group == g]) for g in SOURCE_PAGES[page]]
    documents: list[Source] = list(facts.sources.values()) if not SOURCE_PAGES[page] else []
    uses = [f"source:{key}" for key in facts.sources] if documents else []
    return ctx.renderer.render(
        "sources",
        lang,
        uses=uses,
        groups=groups,
        documents=documents,
        page=page,
        pages=pages,
        color=COLORS["sources"],
        controls=(*_pager(facts, lang, "page", page, pages), *language_toggle(facts, lang)),
        state={"command": "sources", "page": str(page)},
    )


def answer_language(
    req: LanguageRequest, lang: Lang, ctx: AnswerContext, current: str = "auto", *, saved: bool = False
) -> Answer:
    """`saved`: the choice was stored (Discord); the console and `ask` only switch their own session."""
    choice = req.language or current
    changed = req.language is not None
    return ctx.renderer.render("language", lang, choice=choice, changed=changed, saved=saved, ephemeral=True)


def answer_help(req: HelpRequest, lang: Lang, ctx: AnswerContext) -> Answer:
    return ctx.renderer.render("help", lang, controls=language_toggle(ctx.facts, lang), state={"command": "help"})


# Every UserInputError code; templates/<lang>/error.j2 has a message for each (tests render every code in every
# language and require distinct messages, so a misspelled code in one template cannot hide behind the fallback).
ERROR_CODES: frozenset[str] = frozenset(
    {
        *(f"allocation_{reason.value}" for reason in AllocationErrorReason),
        "unknown_topic",
        "unknown_pool",
        "unknown_stance",
        "unknown_analyst",
        "unknown_language",
        "unknown_command",
        "unexpected_text",
        "unbalanced_quotes",
        "empty_command",
        "line_too_long",
        "cooldown",
        "settings_unavailable",
        "not_allowed",
        "stale_component",  # a component id that no longer decodes, or belongs to another kind of answer
        "internal",
    }
)


def answer_error(error: UserInputError, lang: Lang, ctx: AnswerContext) -> Answer:
    if error.code not in ERROR_CODES:  # a typo in the code would otherwise show the generic "sorry" message
        raise ValueError(f"unknown error code {error.code!r}: add it to ERROR_CODES and every error template")
    return ctx.renderer.render(
        "error",
        lang,
        code=error.code,
        params=error.params,
        color=COLORS["error"],
        ephemeral=True,
        is_error=True,
    )


def answer_internal_error(lang: Lang, ctx: AnswerContext, error_id: str | None = None) -> Answer:
    error_id = error_id or new_error_id()
    return answer_error(UserInputError("internal", error_id=error_id), lang, ctx)


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]


def answer(request: Request, lang: Lang, ctx: AnswerContext, *, page: int = 0) -> Answer:
    """Dispatch a typed request to its command's answer."""
    match request:
        case K401Request():
            return answer_401k(request, lang, ctx)
        case InflowRequest():
            return answer_inflow(request, lang, ctx)
        case OpinionsRequest():
            return answer_opinions(request, lang, ctx, page)
        case SourcesRequest():
            return answer_sources(request, lang, ctx, page)
        case LanguageRequest():
            return answer_language(request, lang, ctx)
        case HelpRequest():
            return answer_help(request, lang, ctx)
