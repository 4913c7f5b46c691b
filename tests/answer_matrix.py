"""Every request the bot answers, for tests that compare or inspect all answers in every language.

A third language (zh-CN) joins every comparison by being in bot.domain.facts.LANGS: nothing here names a language.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers.build import AnswerContext, answer, answer_error, source_pages
from bot.answers.model import Answer
from bot.answers.requests import Topic, UserInputError, parse_request
from bot.domain.facts import load_facts
from bot.domain.language import Lang

ALLOCATIONS = ("2%", "1-5%", "0.0001%", "33.3333%", "100%", "10%")
POOLS = ("401k", "dc", "retirement")
_FACTS = load_facts()
FAQ_IDS = tuple(q.id for q in _FACTS.faq.question)

LINES: tuple[str, ...] = (
    "/401k",
    *(f"/401k topic:{t.value}" for t in Topic),
    *(f"/inflow {a} pool:{p}" for a in ALLOCATIONS for p in POOLS),
    "/opinions",
    *(f"/opinions stance:{s}" for s in ("supportive", "cautious", "critical")),
    *(f"/opinions analyst:{a}" for a in ("hougan", "kim", "rossman", "bailey", "hanson", "tradfi")),
    "/language",
    "/language zh-TW",
    "/language en",
    "/language auto",
    "/help",
    "/faq",
    *(f"/faq question:{q}" for q in FAQ_IDS),
)
# Bad input, with the text the error echoes back (user text is the one thing a language cannot control).
BAD_LINES: tuple[tuple[str, str], ...] = (
    ("/inflow", ""),
    ("/inflow 抱歉", "抱歉"),
    ("/inflow -2%", ""),
    ("/inflow 0", ""),
    ("/inflow 101%", ""),
    ("/inflow nan", "nan"),
    ("/inflow " + "9" * 40, ""),
    ("/inflow 5-1%", ""),
    ("/inflow 2% pool:個人", "個人"),
    ("/401k topic:天氣", "天氣"),
    ("/opinions stance:看多", "看多"),
    ("/opinions analyst:無名氏", "無名氏"),
    ("/language 法文", "法文"),
    ("/faq question:天氣預報", "天氣預報"),
    ("/不存在", "/不存在"),
    ('/inflow "2%', ""),
)
# Errors raised outside parsing (Discord layer, rate limiter, store).
OTHER_ERRORS = (
    UserInputError("cooldown", seconds=12),
    UserInputError("settings_unavailable"),
    UserInputError("not_allowed"),
    UserInputError("internal", error_id="0a1b2c3d"),
    UserInputError("line_too_long", limit=300),
)


@dataclass(frozen=True)
class Case:
    name: str
    echo: str = ""  # user text the answer may repeat

    def render(self, lang: Lang, ctx: AnswerContext) -> Answer:
        kind, _, rest = self.name.partition(" ")
        if kind == "page":  # "page 2 /sources"
            number, _, line = rest.partition(" ")
            return answer(parse_request(line, ctx.facts), lang, ctx, page=int(number))
        if kind == "error":
            error = next(e for e in OTHER_ERRORS if e.code == rest)
            return answer_error(error, lang, ctx)
        try:
            return answer(parse_request(self.name, ctx.facts), lang, ctx)
        except UserInputError as exc:
            return answer_error(exc, lang, ctx)


CASES: tuple[Case, ...] = (
    *(Case(line) for line in LINES),
    *(Case(f"page {p} /sources") for p in range(len(source_pages(_FACTS)))),
    *(Case(f"page {p} /401k topic:timeline") for p in range(1, 3)),
    *(Case(f"page {p} /opinions") for p in range(2)),
    *(Case(line, echo) for line, echo in BAD_LINES),
    *(Case(f"error {e.code}") for e in OTHER_ERRORS),
)


def shown_text(result: Answer, *, with_controls: bool = True) -> str:
    """Everything a reader sees in an answer. The language toggle is left out: it is deliberately in the other
    language, so that a reader of that language can find it."""
    parts = [result.title, result.description, result.footer, result.content or ""]
    parts += [f"{f.name}\n{f.value}" for f in result.fields]
    if with_controls:
        for control in result.controls:
            if control.action == "lang":
                continue
            parts.append(control.label)
            parts += [label for _, label in control.options]
    return "\n".join(parts)


def ask(ctx: AnswerContext, line: str, lang: Lang, page: int = 0) -> Answer:
    """The answer to one command line, as a transport would get it."""
    return answer(parse_request(line, ctx.facts), lang, ctx, page=page)


def text(ctx: AnswerContext, line: str, lang: Lang, page: int = 0) -> str:
    return shown_text(ask(ctx, line, lang, page))


def field(result: Answer, name: str) -> str:
    return next(f.value for f in result.fields if f.name == name)
