"""One function per command: (request, language, context) -> Answer. No Discord here."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass

from bot.answers.model import COLORS, Answer, Control
from bot.answers.render import Renderer
from bot.answers.requests import (
    FaqRequest,
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
TIMELINE_STEPS_PER_PAGE = 8
# /sources pages: groups of figures that fit one embed together; then the reader-question facts, then the documents.
SOURCE_PAGES: tuple[tuple[str, ...], ...] = (
    ("assets",),
    ("participation", "fees", "rules", "scenarios"),
    ("market", "order"),
)
FAQ_QUESTIONS_PER_SOURCE_PAGE = 5
DOCUMENTS_PER_PAGE = 12


def _chunks(items: tuple[str, ...], size: int) -> tuple[tuple[str, ...], ...]:
    return tuple(items[i : i + size] for i in range(0, len(items), size))


def source_pages(facts: Facts) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every /sources page as (kind, keys): "figures" with fact groups, "faq" with question ids, "documents" with
    source keys."""
    questions = tuple(q.id for q in facts.faq.question)
    return (
        *(("figures", groups) for groups in SOURCE_PAGES),
        *(("faq", chunk) for chunk in _chunks(questions, FAQ_QUESTIONS_PER_SOURCE_PAGE)),
        *(("documents", chunk) for chunk in _chunks(tuple(facts.sources), DOCUMENTS_PER_PAGE)),
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


def answer_401k(req: K401Request, lang: Lang, ctx: AnswerContext, page: int = 0) -> Answer:
    facts = ctx.facts
    select = Control(
        "select",
        "topic",
        facts.label("controls", "choose_topic", lang),
        value=req.topic.value,
        options=tuple((t.value, facts.label("topics", t.value, lang)) for t in Topic),
    )
    # The timeline is too long for one embed: it is paged, every other topic is one page.
    all_steps = facts.timeline.step if req.topic is Topic.TIMELINE else ()
    pages = max(1, math.ceil(len(all_steps) / TIMELINE_STEPS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    steps = all_steps[page * TIMELINE_STEPS_PER_PAGE : (page + 1) * TIMELINE_STEPS_PER_PAGE]
    uses = [f"timeline:{s.id}" for s in steps] + [f"source:{s.source}" for s in steps]
    return ctx.renderer.render(
        "401k",
        lang,
        uses=uses,
        topic=req.topic.value,
        steps=steps,
        page=page,
        pages=pages,
        reviewed=facts.timeline.reviewed,
        check=headline_check(facts),
        color=COLORS["info"],
        controls=(select, *_pager(facts, lang, "page", page, pages), *language_toggle(facts, lang)),
        state={"command": "401k", "topic": req.topic.value, "page": str(page)},
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
    all_pages = source_pages(facts)
    pages = len(all_pages)
    page = min(max(page, 0), pages - 1)
    kind, keys = all_pages[page]
    groups: list[tuple[str, list[Fact]]] = (
        [(g, [f for f in facts.facts if f.group == g]) for g in keys] if kind == "figures" else []
    )
    documents: list[Source] = [facts.sources[key] for key in keys] if kind == "documents" else []
    questions = [facts.faq.get(key) for key in keys] if kind == "faq" else []
    uses = [f"source:{key}" for key in keys] if documents else []
    uses += [f"faq_source:{f.source}" for q in questions for f in q.fact]
    return ctx.renderer.render(
        "sources",
        lang,
        uses=uses,
        groups=groups,
        documents=documents,
        questions=questions,
        faq_sources=facts.faq.sources,
        faq_reviewed=facts.faq.reviewed,
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


def answer_faq(req: FaqRequest, lang: Lang, ctx: AnswerContext) -> Answer:
    """One reader question with its dated facts and related-question buttons; without one, the list and a menu."""
    facts, faq = ctx.facts, ctx.facts.faq
    if req.question is None:
        menu = Control(
            "select",
            "question",
            facts.label("controls", "choose_question", lang),
            options=tuple((q.id, q.short.get(lang)) for q in faq.question),
        )
        return ctx.renderer.render(
            "faq",
            lang,
            question=None,
            questions=faq.question,
            reviewed=faq.reviewed,
            color=COLORS["faq"],
            controls=(menu, *language_toggle(facts, lang)),
            state={"command": "faq", "question": ""},
        )
    question = faq.get(req.question)
    related = tuple(Control("button", "faq", faq.get(r).short.get(lang), value=r) for r in question.related)
    return ctx.renderer.render(
        "faq",
        lang,
        uses=[f"faq_source:{f.source}" for f in question.fact],
        question=question,
        sources=faq.sources,
        reviewed=faq.reviewed,
        color=COLORS["faq"],
        controls=(*related, *language_toggle(facts, lang)),
        state={"command": "faq", "question": question.id},
    )


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
        "unknown_question",
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
            return answer_401k(request, lang, ctx, page)
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
        case FaqRequest():
            return answer_faq(request, lang, ctx)
