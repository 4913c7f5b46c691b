"""The product's figures and opinions: pydantic models and the loader for config/*.toml.

A broken file stops start-up with one message naming the file, the entry and the field.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.domain.language import Lang, simplifier
from bot.domain.paths import config_dir
from bot.domain.simplified import OVERRIDES_FILE, OverridesError, Simplifier, load_overrides

Stance = Literal["supportive", "cautious", "critical"]
STANCES: tuple[Stance, ...] = ("supportive", "cautious", "critical")
Unit = Literal["usd_trillion", "usd_billion", "usd", "percent", "people_million", "years", "days"]
Group = Literal["assets", "participation", "fees", "rules", "scenarios", "market", "order"]

M = TypeVar("M", bound=BaseModel)

FACTS_FILE = "facts.toml"
OPINIONS_FILE = "opinions.toml"
LABELS_FILE = "commands.toml"
FAQ_FILE = "faq.toml"
# A fact whose last review is older than this is listed by `check-config` (a warning: it may have changed since).
REVIEW_MAX_AGE_DAYS = 180
# Grades of a reader-question fact (see ../shared/reader-questions.md): primary source, two independent secondary
# sources, one secondary source (shown only attributed).
Tag = Literal["P", "S2", "S1"]
# Related-question buttons share one row of five with the language toggle (at most two buttons).
MAX_RELATED = 3

_UNIT_SCALE: dict[str, Decimal] = {
    "usd_trillion": Decimal("1e12"),
    "usd_billion": Decimal("1e9"),
    "people_million": Decimal("1e6"),
}


class ConfigError(Exception):
    """A config file is unusable; the message names file, entry and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _not_in_future(value: dt.date | str | None, info: ValidationInfo) -> dt.date | str | None:
    today: dt.date = (info.context or {}).get("today") or dt.date.today()
    if isinstance(value, dt.date) and value > today:
        raise ValueError(f"date {value.isoformat()} is in the future (today is {today.isoformat()})")
    return value


class Localized(_Strict):
    """A text in English and Traditional Chinese; the Simplified form is generated from zh_tw when facts load."""

    en: str = Field(min_length=1)
    zh_tw: str = Field(min_length=1, alias="zh-TW")
    _zh_cn: str | None = PrivateAttr(default=None)

    def get(self, lang: Lang) -> str:
        if lang == "en":
            return self.en
        return self._zh_cn if lang == "zh-CN" and self._zh_cn is not None else self.zh_tw


def _same_in_every_language(value: Any) -> Any:
    """A plain string in the config (a proper name such as "Bitwise") reads the same in every language."""
    return {"en": value, "zh-TW": value} if isinstance(value, str) else value


# Text shown to people: a table with one entry per language, or one string for a name that is never translated.
Text = Annotated[Localized, BeforeValidator(_same_in_every_language)]


class Source(_Strict):
    publisher: Localized
    title: Localized
    url: HttpUrl | None = None
    published: dt.date | None = None

    _published_not_future = field_validator("published")(_not_in_future)


class Fact(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    group: Group
    value: Decimal
    unit: Unit
    # Statutory rules and conventions hold today rather than on a date: they say "current".
    as_of: dt.date | Literal["current"]
    source: str
    label: Localized
    note: Localized
    reviewed: dt.date  # the day this value was last checked against its source
    article_says: str | None = None

    _as_of_not_future = field_validator("as_of", "reviewed")(_not_in_future)

    @field_validator("value", mode="before")
    @classmethod
    def _value_is_text(cls, value: Any) -> Any:
        # TOML floats are binary; demanding a string keeps 8.7 exactly 8.7.
        if isinstance(value, float):
            raise ValueError('write the value as a string (e.g. "8.7") so it stays an exact decimal')
        return value

    @field_validator("value")
    @classmethod
    def _value_is_finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value < 0:
            raise ValueError("value must be a finite, non-negative number")
        return value

    @property
    def amount(self) -> Decimal:
        """The value in base units (US dollars, people, percent points, years, days)."""
        return self.value * _UNIT_SCALE.get(self.unit, Decimal(1))


class Order(_Strict):
    name: str  # the official English title, a proper name
    number: int = Field(gt=0)
    gloss: Localized  # what the title says, for readers of each language
    signed: dt.date
    published: dt.date
    dol_deadline_days: int = Field(gt=0)
    url: HttpUrl
    scope: Localized

    _signed_not_future = field_validator("signed", "published")(_not_in_future)


class Article(_Strict):
    """The seed article the bot explains: answers name it wherever they refer to it."""

    title: str = Field(min_length=1)  # verbatim, Chinese
    title_gloss: str = Field(min_length=1)  # its meaning in English
    author: str = Field(min_length=1)
    month: Localized
    source: str


class TimelineStep(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    date: dt.date  # orders the steps; shown unless `when` says how precisely it is known
    when: Localized | None = None  # e.g. "Oct–Nov 2025" where the sources give no exact day
    source: str
    text: Localized

    _date_not_future = field_validator("date")(_not_in_future)


class Timeline(_Strict):
    reviewed: dt.date  # the sources were checked up to this day; later steps may exist
    step: tuple[TimelineStep, ...] = Field(min_length=1)

    _reviewed_not_future = field_validator("reviewed")(_not_in_future)

    @field_validator("step")
    @classmethod
    def _in_date_order(cls, steps: tuple[TimelineStep, ...]) -> tuple[TimelineStep, ...]:
        if list(steps) != sorted(steps, key=lambda s: s.date):
            raise ValueError("timeline steps must be in date order")
        return steps


class FaqFact(_Strict):
    """One dated fact behind a reader question, graded like ../shared/reader-questions.md.

    [P]/[S2] facts are stated as facts with their date; an [S1] fact is only shown attributed (`reported_by`);
    a `forecast` is shown as what someone expected, never as what happened.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    tag: Tag
    date: dt.date
    when: Localized | None = None  # shown instead of the day where the sources give no exact one
    text: Localized
    source: str
    reviewed: dt.date
    forecast: bool = False
    reported_by: Text | None = None  # who reported an [S1] item

    _dates_not_future = field_validator("date", "reviewed")(_not_in_future)

    @model_validator(mode="after")
    def _single_sources_attributed(self) -> FaqFact:
        if self.tag == "S1" and self.reported_by is None:
            raise ValueError("an [S1] fact is shown only attributed: give `reported_by`")
        return self


class FaqUnknown(_Strict):
    """Something the research could not verify: said as unknown, with the date of the last source found."""

    text: Localized
    last_source: dt.date
    when: Localized | None = None  # shown instead of the day where the sources give no exact one

    _date_not_future = field_validator("last_source")(_not_in_future)


class FaqQuestion(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    short: Localized  # a select option, a button and an autocomplete choice: at most 80 characters
    question: Localized
    keywords: Localized  # words people type, space-separated; Simplified forms come from the zh-TW ones
    answer: Localized
    fact: tuple[FaqFact, ...] = Field(min_length=1)
    unknown: tuple[FaqUnknown, ...] = ()
    related: tuple[str, ...] = Field(default=(), max_length=MAX_RELATED)
    timeline: bool = False  # the answer points to /401k topic:timeline

    @field_validator("short")
    @classmethod
    def _short_fits_a_button(cls, value: Localized) -> Localized:
        if max(len(value.en), len(value.zh_tw)) > 80:
            raise ValueError("a short question must fit a button label (80 characters)")
        return value


class FaqFile(_Strict):
    reviewed: dt.date  # the research behind every answer was checked up to this day
    sources: dict[str, Source]
    question: tuple[FaqQuestion, ...] = Field(min_length=1)

    _reviewed_not_future = field_validator("reviewed")(_not_in_future)

    def get(self, question_id: str) -> FaqQuestion:
        return next(q for q in self.question if q.id == question_id)


class Defaults(_Strict):
    pool_401k: str
    pool_dc: str
    pool_retirement: str
    market_cap: str


class FactsFile(_Strict):
    order: Order
    article: Article
    defaults: Defaults
    sources: dict[str, Source]
    fact: list[Fact] = Field(min_length=1)
    timeline: Timeline


class Opinion(_Strict):
    """One view from the article. `quotes` hold only the words it puts in 「」 (verbatim in zh-TW; the English is
    our translation); `said` is reported speech, shown as paraphrase. A "summary" quotes no one and is not an analyst.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["person", "summary"]
    name: Text
    organisation: Text
    role: Localized  # as the article gives it; the English is translated from the article
    stance: Stance
    summary: Localized
    quotes: tuple[Localized, ...] = ()
    said: Localized | None = None
    date: dt.date

    _date_not_future = field_validator("date")(_not_in_future)

    @field_validator("quotes")
    @classmethod
    def _quotes_only_for_people(cls, quotes: tuple[Localized, ...], info: ValidationInfo) -> tuple[Localized, ...]:
        if quotes and info.data.get("kind") == "summary":
            raise ValueError("a summary of views quotes no one: use `said`")
        return quotes

    @property
    def is_analyst(self) -> bool:
        return self.kind == "person"


class OpinionsFile(_Strict):
    opinion: list[Opinion] = Field(min_length=1)


class SlashOption(_Strict):
    """One option of a slash command as Discord declares it; its name and description are labels (option_names.*,
    option_descriptions.*), its choices a label group (topics, pools, ...) in that group's order."""

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    type: Literal["string", "boolean"] = "string"
    required: bool = False
    choices: str | None = None
    max_length: int | None = Field(default=None, ge=1, le=6000)
    autocomplete: bool = False


class SlashCommand(_Strict):
    options: list[SlashOption] = []


class Labels(_Strict):
    """What people see for commands, topics, pools, stances, languages and controls, in both languages, and the
    slash commands' declarations ([slash.*]): the gateway's cog is generated from them."""

    slash: dict[str, SlashCommand]

    commands: dict[str, Localized]
    topics: dict[str, Localized]
    pools: dict[str, Localized]
    pool_assets: dict[str, Localized]  # the pool's money in a sentence or on the chart
    stances: dict[str, Localized]
    languages: dict[str, Localized]
    controls: dict[str, Localized]
    option_names: dict[str, Localized]
    option_descriptions: dict[str, Localized]
    terms: dict[str, Localized]  # words answers build from data, e.g. "current" for a rule's as-of


@dataclass(frozen=True)
class Facts:
    """Everything loaded from config/, indexed for lookups."""

    order: Order
    article: Article
    defaults: Defaults
    sources: dict[str, Source]
    facts: tuple[Fact, ...]
    opinions: tuple[Opinion, ...]
    labels: Labels
    version: str
    timeline: Timeline
    faq: FaqFile
    simplify: Simplifier = field(default_factory=Simplifier, repr=False)  # zh-TW text -> zh-CN text
    _by_id: dict[str, Fact] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({f.id: f for f in self.facts})

    def fact(self, fact_id: str) -> Fact:
        return self._by_id[fact_id]

    def source_of(self, fact: Fact) -> Source:
        return self.sources[fact.source]

    def opinion(self, opinion_id: str) -> Opinion:
        return next(o for o in self.opinions if o.id == opinion_id)

    def label(self, group: str, key: str, lang: Lang) -> str:
        localized: Localized = getattr(self.labels, group)[key]
        return localized.get(lang)

    def stale(self, today: dt.date, max_age_days: int = REVIEW_MAX_AGE_DAYS) -> list[str]:
        """Every fact (figures and reader-question facts) last reviewed more than `max_age_days` before `today`."""
        limit = today - dt.timedelta(days=max_age_days)
        found = [f"{f.id} (reviewed {f.reviewed.isoformat()})" for f in self.facts if f.reviewed < limit]
        for q in self.faq.question:
            found += [f"faq {q.id}: {f.id} (reviewed {f.reviewed.isoformat()})" for f in q.fact if f.reviewed < limit]
        return found


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _describe_entry(data: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Turn a pydantic error location into ('fact #3 (id=...)', 'as_of')."""
    node: Any = data
    entry_parts: list[str] = []
    rest = list(loc)
    while rest:
        key = rest[0]
        if isinstance(key, int) and isinstance(node, list):
            node = node[key] if key < len(node) else {}
            ident = node.get("id") if isinstance(node, dict) else None
            entry_parts.append(f"#{key + 1}" + (f" (id={ident!r})" if ident else ""))
            rest.pop(0)
        elif isinstance(node, dict) and key in node and isinstance(node[key], list | dict) and len(rest) > 1:
            entry_parts.append(str(key))
            node = node[key]
            rest.pop(0)
        else:
            break
    field_name = ".".join(str(p) for p in rest) or "(whole entry)"
    return " ".join(entry_parts) or "top level", field_name


def _validate(model: type[M], path: Path, data: dict[str, Any], today: dt.date) -> M:
    try:
        return model.model_validate(data, context={"today": today})
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:5]:
            entry, field_name = _describe_entry(data, tuple(err["loc"]))
            lines.append(f"{path}: entry {entry}, field '{field_name}': {err['msg']}")
        more = exc.error_count() - len(lines)
        if more > 0:
            lines.append(f"(and {more} more problem(s) in {path.name})")
        raise ConfigError("\n".join(lines)) from None


def _check_unique(path: Path, kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for index, ident in enumerate(ids, start=1):
        if ident in seen:
            raise ConfigError(f"{path}: entry {kind} #{index} (id={ident!r}), field 'id': duplicate id")
        seen.add(ident)


def _check_references(path: Path, parsed: FactsFile) -> None:
    entries = [(f"fact #{i} (id={f.id!r})", f.source) for i, f in enumerate(parsed.fact, start=1)]
    entries += [(f"timeline.step #{i} (id={s.id!r})", s.source) for i, s in enumerate(parsed.timeline.step, start=1)]
    entries.append(("article", parsed.article.source))
    for entry, source in entries:
        if source not in parsed.sources:
            raise ConfigError(f"{path}: entry {entry}, field 'source': unknown source {source!r}")
    by_id = {f.id: f for f in parsed.fact}
    for name, fact_id in parsed.defaults.model_dump().items():
        if fact_id not in by_id:
            raise ConfigError(f"{path}: entry defaults, field '{name}': unknown fact {fact_id!r}")
        if by_id[fact_id].as_of == "current":
            raise ConfigError(f"{path}: entry defaults, field '{name}': {fact_id!r} must be a dated figure")


_OPTIONS = ("topic", "allocation", "pool", "stance", "analyst", "language", "server", "question")
_REQUIRED_LABELS: dict[str, tuple[str, ...]] = {
    "commands": ("401k", "inflow", "opinions", "sources", "language", "faq"),
    "topics": ("overview", "rules", "scale", "order", "channels", "impact", "risks", "timeline"),
    "pools": ("401k", "dc", "retirement"),
    "pool_assets": ("401k", "dc", "retirement"),
    "stances": STANCES,
    "languages": ("en", "zh-TW", "zh-CN", "auto"),
    "controls": ("switch_language", "previous", "next", "choose_topic", "choose_question"),
    "option_names": _OPTIONS,
    "option_descriptions": _OPTIONS,
    "terms": ("current",),
}


def _check_faq(path: Path, parsed: FaqFile) -> None:
    _check_unique(path, "question", (q.id for q in parsed.question))
    ids = {q.id for q in parsed.question}
    for index, q in enumerate(parsed.question, start=1):
        entry = f"question #{index} (id={q.id!r})"
        _check_unique(path, f"{entry} fact", (f.id for f in q.fact))
        for f in q.fact:
            if f.source not in parsed.sources:
                raise ConfigError(f"{path}: entry {entry} fact {f.id!r}, field 'source': unknown source {f.source!r}")
        for related in q.related:
            if related not in ids or related == q.id:
                raise ConfigError(f"{path}: entry {entry}, field 'related': unknown question {related!r}")


@functools.cache
def load_labels(directory: Path | None = None) -> Labels:
    """config/commands.toml alone (English and zh-TW texts), for code that needs a label but not the facts."""
    path = (directory or config_dir()) / LABELS_FILE
    return _validate(Labels, path, _read_toml(path), dt.date.today())


def _check_slash(path: Path, labels: Labels) -> None:
    """Every declared command and option has its labels; every choice list names a label group."""
    for name, command in labels.slash.items():
        if name not in labels.commands:
            raise ConfigError(f"{path}: entry slash.{name}: no label commands.{name}")
        for option in command.options:
            for group in ("option_names", "option_descriptions"):
                if option.name not in getattr(labels, group):
                    raise ConfigError(
                        f"{path}: entry slash.{name}, option {option.name!r}: no label {group}.{option.name}"
                    )
            if option.choices is not None and not isinstance(getattr(labels, option.choices, None), dict):
                raise ConfigError(
                    f"{path}: entry slash.{name}, option {option.name!r}: no label group {option.choices!r}"
                )
            if option.choices is not None and option.type != "string":
                raise ConfigError(f"{path}: entry slash.{name}, option {option.name!r}: choices need type 'string'")


def _add_simplified(node: Any, simplify: Simplifier) -> None:
    """Give every Localized text in the loaded config its zh-CN form, converted once, here."""
    if isinstance(node, Localized):
        node._zh_cn = simplify(node.zh_tw)
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _add_simplified(getattr(node, name), simplify)
    elif isinstance(node, dict):
        for value in node.values():
            _add_simplified(value, simplify)
    elif isinstance(node, list | tuple):
        for value in node:
            _add_simplified(value, simplify)


def load_facts(directory: Path | None = None, *, today: dt.date | None = None) -> Facts:
    """Load and validate config/facts.toml, opinions.toml, commands.toml and faq.toml."""
    directory = directory or config_dir()
    today = today or dt.date.today()
    facts_path, opinions_path = directory / FACTS_FILE, directory / OPINIONS_FILE
    facts_data, opinions_data = _read_toml(facts_path), _read_toml(opinions_path)

    parsed_facts = _validate(FactsFile, facts_path, facts_data, today)
    _check_unique(facts_path, "fact", (f.id for f in parsed_facts.fact))
    _check_unique(facts_path, "timeline.step", (s.id for s in parsed_facts.timeline.step))
    _check_references(facts_path, parsed_facts)
    parsed_opinions = _validate(OpinionsFile, opinions_path, opinions_data, today)
    _check_unique(opinions_path, "opinion", (o.id for o in parsed_opinions.opinion))

    labels_path = directory / LABELS_FILE
    labels = _validate(Labels, labels_path, _read_toml(labels_path), today)
    for group, required in _REQUIRED_LABELS.items():
        missing = sorted(set(required) - set(getattr(labels, group)))
        if missing:
            raise ConfigError(f"{labels_path}: entry {group}, field {missing[0]!r}: missing label")
    _check_slash(labels_path, labels)

    overrides_path = directory / OVERRIDES_FILE
    try:
        simplify = simplifier(load_overrides(overrides_path))
    except OverridesError as exc:
        raise ConfigError(str(exc)) from None
    faq_path = directory / FAQ_FILE
    parsed_faq = _validate(FaqFile, faq_path, _read_toml(faq_path), today)
    _check_faq(faq_path, parsed_faq)
    for model in (parsed_facts, parsed_opinions, labels, parsed_faq):
        _add_simplified(model, simplify)
    hashed = [p.read_bytes() for p in (facts_path, opinions_path, labels_path, faq_path)]
    hashed.append(overrides_path.read_bytes() if overrides_path.exists() else b"")
    digest = hashlib.sha256(b"\0".join(hashed)).hexdigest()
    return Facts(
        order=parsed_facts.order,
        article=parsed_facts.article,
        defaults=parsed_facts.defaults,
        sources=parsed_facts.sources,
        facts=tuple(parsed_facts.fact),
        opinions=tuple(parsed_opinions.opinion),
        labels=labels,
        version=digest[:16],
        timeline=parsed_facts.timeline,
        faq=parsed_faq,
        simplify=simplify,
    )
