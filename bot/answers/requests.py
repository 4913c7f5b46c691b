"""Commands as typed requests: from a console line, or from Discord's option values, to the same objects.

Option names and choices are accepted as values (`stance:cautious`) or as the labels people see in either language
(`立場:審慎`, `pool:全部確定提撥制計畫`, `topic:Timeline: before and after the order`), so a reader can type what an
answer's command hint or a Chinese Discord client shows.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.domain.allocation import Allocation, AllocationError, parse_allocation
from bot.domain.facts import STANCES, Facts, Localized, Stance
from bot.domain.faq import find_questions
from bot.domain.inflow import Pool
from bot.domain.language import LANGS

MAX_LINE_LENGTH = 300


class Command(StrEnum):
    K401 = "401k"
    INFLOW = "inflow"
    OPINIONS = "opinions"
    SOURCES = "sources"
    LANGUAGE = "language"
    HELP = "help"
    FAQ = "faq"


class Topic(StrEnum):
    OVERVIEW = "overview"
    RULES = "rules"
    SCALE = "scale"
    ORDER = "order"
    CHANNELS = "channels"
    IMPACT = "impact"
    RISKS = "risks"
    TIMELINE = "timeline"


LANGUAGE_CHOICES = ("en", "zh-TW", "zh-CN", "auto")
# Options in the order a bare (unnamed) value fills them, per command.
OPTIONS: dict[Command, tuple[str, ...]] = {
    Command.K401: ("topic",),
    Command.INFLOW: ("allocation", "pool"),
    Command.OPINIONS: ("stance", "analyst"),
    Command.SOURCES: (),
    Command.LANGUAGE: ("language",),
    Command.HELP: (),
    Command.FAQ: ("question",),
}
_ALIASES = {"401(k)": Command.K401, "k401": Command.K401}
# Which labels group in config/commands.toml names each choice option's values.
CHOICE_GROUPS = {"topic": "topics", "pool": "pools", "stance": "stances", "language": "languages"}
_NAMED = re.compile(r"^([^:：]+)[:：](.*)$", re.DOTALL)


class UserInputError(Exception):
    """Something the user typed is unusable. `code` selects the localised message; `params` fill it."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class K401Request:
    topic: Topic = Topic.OVERVIEW


@dataclass(frozen=True)
class InflowRequest:
    allocation: Allocation
    allocation_text: str
    pool: Pool = Pool.K401


@dataclass(frozen=True)
class OpinionsRequest:
    stance: Stance | None = None
    analyst: str | None = None  # an opinion id


@dataclass(frozen=True)
class SourcesRequest:
    pass


@dataclass(frozen=True)
class LanguageRequest:
    language: str | None = None  # en, zh-TW, zh-CN, auto; None shows the current setting


@dataclass(frozen=True)
class HelpRequest:
    pass


@dataclass(frozen=True)
class FaqRequest:
    question: str | None = None  # a question id (config/faq.toml); None lists the questions


Request = K401Request | InflowRequest | OpinionsRequest | SourcesRequest | LanguageRequest | HelpRequest | FaqRequest


@dataclass
class ParsedLine:
    command: Command
    options: dict[str, str] = field(default_factory=dict)


def _norm(text: str) -> str:
    """Labels compare without case, width or spaces: '401(k) 計畫' == '401(k)計畫', 'ＤＣ' == 'dc'."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def option_aliases(facts: Facts | None) -> dict[str, str]:
    """Every option's name as people see it (English or Chinese), normalised -> the option's identifier."""
    if facts is None:
        return {}
    return {_norm(loc.get(lang)): name for name, loc in facts.labels.option_names.items() for lang in LANGS}


def choice_aliases(facts: Facts | None, option: str) -> dict[str, str]:
    """A choice option's values and labels in every language, normalised -> the value."""
    if facts is not None and option == "question":  # the reader questions' ids and short labels (config/faq.toml)
        questions = facts.faq.question
        return {_norm(text): q.id for q in questions for text in (q.id, *(q.short.get(lang) for lang in LANGS))}
    group = CHOICE_GROUPS.get(option)
    if facts is None or group is None:
        return {}
    labels: dict[str, Localized] = getattr(facts.labels, group)
    aliases = {_norm(loc.get(lang)): value for value, loc in labels.items() for lang in LANGS}
    aliases.update({_norm(value): value for value in labels})
    return aliases


def parse_line(line: str, facts: Facts | None = None) -> ParsedLine:
    """'/inflow 2% pool:dc' -> ParsedLine(INFLOW, {'allocation': '2%', 'pool': 'dc'}).

    With `facts`, Chinese option names and multi-word choice labels are understood ('/inflow 2% 資金池:401(k) 計畫').
    """
    if len(line) > MAX_LINE_LENGTH:
        raise UserInputError("line_too_long", limit=MAX_LINE_LENGTH)
    try:
        tokens = shlex.split(line.strip())
    except ValueError:
        raise UserInputError("unbalanced_quotes") from None
    if not tokens:
        raise UserInputError("empty_command")
    name = tokens[0].removeprefix("/").lower()
    try:
        command = _ALIASES.get(name) or Command(name)
    except ValueError:
        raise UserInputError("unknown_command", command=tokens[0]) from None

    known = OPTIONS[command]
    names = option_aliases(facts)
    named: dict[str, str] = {}
    positional: list[str] = []
    rest = tokens[1:]
    index = 0
    while index < len(rest):
        token = rest[index]
        match = _NAMED.match(token)
        option = names.get(_norm(match[1]), _norm(match[1])) if match else None
        if match and option in known:
            value = match[2]
            # A label with spaces ("401(k) 計畫") arrives as several tokens: take the longest run that is a label.
            labels = choice_aliases(facts, option)
            for end in range(len(rest), index + 1, -1):
                joined = " ".join([value, *rest[index + 1 : end]])
                if _norm(joined) in labels:
                    value, index = joined, end - 1
                    break
            named[option] = value
        else:
            positional.append(token)
        index += 1
    if positional:
        free = [opt for opt in known if opt not in named]
        if not free:
            raise UserInputError("unexpected_text", text=" ".join(positional))
        stances = choice_aliases(facts, "stance") or {s: s for s in STANCES}
        if command is Command.OPINIONS and free[0] == "stance" and _norm(" ".join(positional)) not in stances:
            free = [opt for opt in free if opt != "stance"] or free
        # Everything unnamed goes to the first free option, so "1 to 5%" stays one allocation.
        named[free[0]] = " ".join(positional)
    return ParsedLine(command, named)


def _choice(value: str, allowed: tuple[str, ...], code: str, facts: Facts | None = None, option: str = "") -> str:
    """The choice a value or a label (any language) stands for; UserInputError lists the values otherwise."""
    aliases = choice_aliases(facts, option) if option else {}
    aliases.update({_norm(choice): choice for choice in allowed})
    found = aliases.get(_norm(value))
    if found is not None and found in allowed:
        return found
    raise UserInputError(code, value=value, choices=allowed)


def find_analyst(facts: Facts, text: str) -> str:
    """An opinion id from an id, a name or an organisation in either language ('rossman', 'Bankrate', '傳統金融')."""
    needle = _norm(text)
    if needle:
        for opinion in facts.opinions:
            if needle == opinion.id:
                return opinion.id
        for opinion in facts.opinions:
            names = [opinion.name.get(lang) for lang in LANGS] + [opinion.organisation.get(lang) for lang in LANGS]
            if any(needle in _norm(name) for name in names):
                return opinion.id
    raise UserInputError("unknown_analyst", value=text, choices=tuple(o.id for o in facts.opinions))


def find_question(facts: Facts, text: str) -> str:
    """A question id from an id, a short label in any language, or words that match one question best."""
    exact = choice_aliases(facts, "question").get(_norm(text))
    if exact is not None:
        return exact
    found = find_questions(facts, text)
    if not found:
        raise UserInputError("unknown_question", value=text, choices=tuple(q.id for q in facts.faq.question))
    return found[0].id


def build_request(command: Command, options: Mapping[str, str | None], facts: Facts) -> Request:
    """Typed request from option values (console or Discord); raises UserInputError."""
    opts = {k: v for k, v in options.items() if v is not None}
    match command:
        case Command.K401:
            topic = opts.get("topic")
            return K401Request(
                Topic(_choice(topic, tuple(Topic), "unknown_topic", facts, "topic")) if topic else Topic.OVERVIEW
            )
        case Command.INFLOW:
            text = opts.get("allocation", "")
            try:
                allocation = parse_allocation(text)
            except AllocationError as exc:
                raise UserInputError(f"allocation_{exc.reason.value}", text=text) from None
            pool = opts.get("pool")
            return InflowRequest(
                allocation, text, Pool(_choice(pool, tuple(Pool), "unknown_pool", facts, "pool")) if pool else Pool.K401
            )
        case Command.OPINIONS:
            stance_text, analyst_text = opts.get("stance"), opts.get("analyst")
            stance: Stance | None = None
            if stance_text:
                stance = next(
                    s for s in STANCES if s == _choice(stance_text, STANCES, "unknown_stance", facts, "stance")
                )
            return OpinionsRequest(stance, find_analyst(facts, analyst_text) if analyst_text else None)
        case Command.SOURCES:
            return SourcesRequest()
        case Command.LANGUAGE:
            language = opts.get("language")
            choice = _choice(language, LANGUAGE_CHOICES, "unknown_language", facts, "language") if language else None
            return LanguageRequest(choice)
        case Command.HELP:
            return HelpRequest()
        case Command.FAQ:
            question = opts.get("question")
            return FaqRequest(find_question(facts, question) if question else None)


def parse_request(line: str, facts: Facts) -> Request:
    parsed = parse_line(line, facts)
    return build_request(parsed.command, parsed.options, facts)
