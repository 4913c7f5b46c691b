"""Commands as typed requests: from a console line, or from Discord's option values, to the same objects."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.allocation import Allocation, AllocationError, parse_allocation
from bot.facts import STANCES, Facts, Lang, Stance
from bot.inflow import Pool

MAX_LINE_LENGTH = 300


class Command(StrEnum):
    K401 = "401k"
    INFLOW = "inflow"
    OPINIONS = "opinions"
    SOURCES = "sources"
    LANGUAGE = "language"
    HELP = "help"


class Topic(StrEnum):
    OVERVIEW = "overview"
    RULES = "rules"
    SCALE = "scale"
    ORDER = "order"
    CHANNELS = "channels"
    IMPACT = "impact"
    RISKS = "risks"


LANGUAGE_CHOICES = ("en", "zh-TW", "zh-CN", "auto")
# Options in the order a bare (unnamed) value fills them, per command.
OPTIONS: dict[Command, tuple[str, ...]] = {
    Command.K401: ("topic",),
    Command.INFLOW: ("allocation", "pool"),
    Command.OPINIONS: ("stance", "analyst"),
    Command.SOURCES: (),
    Command.LANGUAGE: ("language",),
    Command.HELP: (),
}
_ALIASES = {"401(k)": Command.K401, "k401": Command.K401}


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


Request = K401Request | InflowRequest | OpinionsRequest | SourcesRequest | LanguageRequest | HelpRequest


@dataclass
class ParsedLine:
    command: Command
    options: dict[str, str] = field(default_factory=dict)


def parse_line(line: str) -> ParsedLine:
    """'/inflow 2% pool:dc' -> ParsedLine(INFLOW, {'allocation': '2%', 'pool': 'dc'})."""
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
    named: dict[str, str] = {}
    positional: list[str] = []
    for token in tokens[1:]:
        key, sep, value = token.partition(":")
        if sep and key.lower() in known:
            named[key.lower()] = value
        else:
            positional.append(token)
    if positional:
        free = [opt for opt in known if opt not in named]
        if not free:
            raise UserInputError("unexpected_text", text=" ".join(positional))
        if command is Command.OPINIONS and free[0] == "stance" and positional[0].lower() not in STANCES:
            free = [opt for opt in free if opt != "stance"] or free
        # Everything unnamed goes to the first free option, so "1 to 5%" stays one allocation.
        named[free[0]] = " ".join(positional)
    return ParsedLine(command, named)


def _choice(value: str, allowed: tuple[str, ...], code: str) -> str:
    for choice in allowed:
        if value.strip().lower() == choice.lower():
            return choice
    raise UserInputError(code, value=value, choices=allowed)


def find_analyst(facts: Facts, text: str) -> str:
    """An opinion id from an id, a name or an organisation, case-insensitively ('rossman', 'Bankrate')."""
    needle = text.strip().lower()
    if needle:
        for opinion in facts.opinions:
            if needle == opinion.id:
                return opinion.id
        for opinion in facts.opinions:
            if needle in opinion.name.lower() or needle in opinion.organisation.lower():
                return opinion.id
    raise UserInputError("unknown_analyst", value=text, choices=tuple(o.name for o in facts.opinions))


def build_request(command: Command, options: Mapping[str, str | None], facts: Facts) -> Request:
    """Typed request from option values (console or Discord); raises UserInputError."""
    opts = {k: v for k, v in options.items() if v is not None}
    match command:
        case Command.K401:
            topic = opts.get("topic")
            return K401Request(Topic(_choice(topic, tuple(Topic), "unknown_topic")) if topic else Topic.OVERVIEW)
        case Command.INFLOW:
            text = opts.get("allocation", "")
            try:
                allocation = parse_allocation(text)
            except AllocationError as exc:
                raise UserInputError(f"allocation_{exc.reason.value}", text=text) from None
            pool = opts.get("pool")
            return InflowRequest(
                allocation, text, Pool(_choice(pool, tuple(Pool), "unknown_pool")) if pool else Pool.K401
            )
        case Command.OPINIONS:
            stance_text, analyst_text = opts.get("stance"), opts.get("analyst")
            stance: Stance | None = None
            if stance_text:
                stance = next(s for s in STANCES if s == _choice(stance_text, STANCES, "unknown_stance"))
            return OpinionsRequest(stance, find_analyst(facts, analyst_text) if analyst_text else None)
        case Command.SOURCES:
            return SourcesRequest()
        case Command.LANGUAGE:
            language = opts.get("language")
            return LanguageRequest(_choice(language, LANGUAGE_CHOICES, "unknown_language") if language else None)
        case Command.HELP:
            return HelpRequest()


def parse_request(line: str, facts: Facts) -> Request:
    parsed = parse_line(line)
    return build_request(parsed.command, parsed.options, facts)


_SIMPLIFIED_REGIONS = ("cn", "sg", "hans", "my")


def lang_from_locale(locale: str | None) -> Lang:
    """Discord/console locale -> answer language.

    zh-CN (and Singapore, Malaysia, zh-Hans) read Simplified; zh-TW, zh-HK, zh-MO, zh-Hant and a bare `zh` read
    Traditional (Hong Kong and Macau write Traditional characters); anything else reads English.
    """
    tag = (locale or "").split(".")[0].replace("_", "-").lower()  # "zh_CN.UTF-8" -> "zh-cn"
    if tag != "zh" and not tag.startswith("zh-"):
        return "en"
    return "zh-CN" if any(part in _SIMPLIFIED_REGIONS for part in tag.split("-")[1:]) else "zh-TW"
