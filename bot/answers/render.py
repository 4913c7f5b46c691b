"""jinja2 rendering into a Discord-agnostic Answer, plus Discord's size limits.

zh-CN has no templates of its own: it renders the zh-TW templates with mainland number formats, and the finished
text is converted to Simplified Chinese (bot.domain.simplified) in whole sentences, so phrases that span template and
config text convert correctly.

A template defines the blocks `title`, `description`, `fields` and `footer`. In `fields`, the shared macro
`field(name)` marks each field with control characters that cannot come from text (escape() removes them),
and render() splits on them.

Every render records which facts it used (fact ids, plus "source:", "opinion:" and "timeline:" keys) in
Answer.facts_used, so tests can prove that every language states the same facts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from bot.answers import formatting
from bot.answers.model import Answer, EmbedField
from bot.domain import language
from bot.domain.facts import Fact, Facts, Source, TimelineStep
from bot.domain.language import LANGS, Lang
from bot.domain.paths import templates_dir

FIELD_START, FIELD_BODY, INLINE_MARK = "\x1e", "\x1f", "\x1d"

# Every character str.splitlines() breaks on (so does _tidy(), and Discord shows them as new lines): \n \r \v \f,
# the file/group/record separators \x1c-\x1e, NEL \x85, and U+2028 / U+2029. They become spaces *before*
# anything else, so user text can never start a line of its own (a heading, a list, a quote). Tabs too.
_LINE_BREAKS = re.compile(r"\r\n|[\t\n\x0b\x0c\r\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# A lone surrogate (JSON allows "\ud800") is not encodable as UTF-8: Discord would refuse the whole message.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<])")
# Were a template ever to put user text at the start of a line: a heading ("# ", "-# "), a list ("- ", "1. ").
# "{{", "{%", "{#", "}}", "%}", "#}" from a user: a zero-width space keeps them from reading as template debris.
_TEMPLATE_PAIR = re.compile(r"(?<=\{)(?=[{%#])|(?<=[}%#])(?=\})")
_LINE_START = re.compile(r"^(\s*)(#+|-#|[-+]|\d+\.)(?=\s|$)")
MAX_ECHO_LENGTH = 100
# The facts one render() looked up; None outside a render.
_USED: ContextVar[set[str] | None] = ContextVar("facts_used", default=None)


def _record(key: str) -> None:
    used = _USED.get()
    if used is not None:
        used.add(key)


def _said(key: str) -> str:
    """A template states something it was handed (a reader-question fact): recorded, renders as nothing."""
    _record(key)
    return ""


def escape(text: str) -> str:
    """User text made inert: no markdown, no mentions, no line breaks or control characters, bounded length."""
    cleaned = _SURROGATE.sub("\ufffd", _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)))
    if len(cleaned) > MAX_ECHO_LENGTH:
        cleaned = cleaned[: MAX_ECHO_LENGTH - 1] + "…"
    # A zero-width space after @ stops @everyone / @here; angle brackets are escaped, so <@id> is inert too.
    escaped = _TEMPLATE_PAIR.sub("\u200b", _MARKDOWN.sub(r"\\\1", cleaned).replace("@", "@\u200b"))
    return _LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    spaces, marker = match[1], match[2]
    return f"{spaces}{marker[:-1]}\\." if marker[0].isdigit() else f"{spaces}\\{marker}"  # "1\. ", "\# ", "\- "


def _tidy(text: str) -> str:
    """Trim each line's edges and collapse runs of blank lines left by template logic."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _split_fields(text: str) -> tuple[EmbedField, ...]:
    fields = []
    for chunk in text.split(FIELD_START)[1:]:
        name, _, value = chunk.partition(FIELD_BODY)
        inline = name.startswith(INLINE_MARK)
        fields.append(EmbedField(_tidy(name.removeprefix(INLINE_MARK)), _tidy(value), inline))
    return tuple(fields)


class Renderer:
    """One jinja2 environment per language over templates/<lang>/ and templates/shared/."""

    def __init__(self, facts: Facts, directory: Path | None = None) -> None:
        self.facts = facts
        directory = directory or templates_dir()
        self._envs = {lang: self._make_env(directory, lang) for lang in LANGS}
        self.version = _tree_hash(directory)

    def _make_env(self, directory: Path, lang: Lang) -> jinja2.Environment:
        text_lang = language.text_lang(lang)  # the language the templates' own text is in (zh-CN: zh-TW)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([directory / text_lang, directory / "shared"]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # output is Discord markdown, not HTML; user text goes through |user
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.do"],
        )
        filters: dict[str, Callable[..., str]] = {
            "money": lambda v: formatting.money(Decimal(v), lang),
            "pct": lambda v, digits=2: formatting.percent(Decimal(v), lang, max_fraction_digits=digits),
            "alloc": lambda v: formatting.exact_percent(Decimal(v), lang),
            "num": lambda v, digits=2: formatting.number(Decimal(v), lang, max_fraction_digits=digits),
            "date": lambda v: (
                self.facts.label("terms", "current", text_lang) if v == "current" else formatting.date(v, lang)
            ),
            "timestamp": lambda v: formatting.timestamp(v, lang),
            "fv": lambda f: self._fact_value(f, lang),
            "l": lambda text: text.get(text_lang),  # a Localized config text in this language
            "nest": _nest_quotes,
            "user": escape,
        }
        env.filters.update(filters)
        env.globals.update(
            lang=lang,
            facts=self.facts,
            order=self.facts.order,
            article=self.facts.article,
            fact=self._fact,
            step=self._step,
            source=self._source_of,
            said=_said,
            # Chinese text stays Traditional until the whole zh-CN answer is converted once, in render().
            label=lambda group, key: self.facts.label(group, key, text_lang),
            choice_name=lambda group, key: self._choice_name(group, key, text_lang),
            FIELD_START=FIELD_START,
            FIELD_BODY=FIELD_BODY,
            INLINE_MARK=INLINE_MARK,
        )
        env.globals["m"] = env.get_template("macros.j2").module
        # Per-language building blocks (command hints with the names a client in that language shows, ...).
        env.globals["w"] = env.get_template("words.j2").module
        return env

    def _fact(self, fact_id: str) -> Fact:
        _record(fact_id)
        return self.facts.fact(fact_id)

    def _choice_name(self, group: str, key: str, lang: Lang) -> str:
        """How a choice reads in `lang` (an analyst's name, a topic's label); unknown keys read as themselves."""
        if group == "analysts":
            return next((o.name.get(lang) for o in self.facts.opinions if o.id == key), key)
        if group == "questions":  # a reader question's short label (config/faq.toml)
            return next((q.short.get(lang) for q in self.facts.faq.question if q.id == key), key)
        labels = getattr(self.facts.labels, group, {})
        return labels[key].get(lang) if key in labels else key

    def _step(self, step_id: str) -> TimelineStep:
        _record("timeline:" + step_id)
        return next(s for s in self.facts.timeline.step if s.id == step_id)

    def _fact_value(self, fact: Fact, lang: Lang) -> str:
        _record(fact.id)
        return formatting.fact_value(fact, lang)

    def _source_of(self, fact: Fact) -> Source:
        _record("source:" + fact.source)
        return self.facts.source_of(fact)

    def _block(self, template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
        block = template.blocks.get(name)
        if block is None:
            return ""
        return "".join(block(template.new_context(context)))

    def render(self, name: str, lang: Lang, *, uses: Iterable[str] = (), **context: Any) -> Answer:
        """Render templates/<lang>/<name>.j2; extra Answer attributes (color, controls...) come from context.

        `uses`: keys of facts handed to the template in `context` (the lookups it makes itself are recorded).
        """
        template = self._envs[lang].get_template(f"{name}.j2")
        answer_kwargs = {k: context.pop(k) for k in list(context) if k in _ANSWER_EXTRAS}
        used: set[str] = set(uses)
        token = _USED.set(used)
        text: Callable[[str], str] = str if lang != "zh-CN" else self.facts.simplify
        try:
            return Answer(
                lang=lang,
                title=text(_tidy(self._block(template, "title", context))),
                description=text(_tidy(self._block(template, "description", context))),
                fields=tuple(
                    EmbedField(text(f.name), text(f.value), f.inline)
                    for f in _split_fields(self._block(template, "fields", context))
                ),
                footer=text(_tidy(self._block(template, "footer", context))),
                content=text(_tidy(self._block(template, "content", context))) or None,
                facts_used=tuple(sorted(used)),
                **answer_kwargs,
            )
        finally:
            _USED.reset(token)


def _nest_quotes(text: str) -> str:
    """Text going inside 「」: its own 「」 become 『』 (Taiwan usage for quotes within quotes)."""
    return text.replace("「", "『").replace("」", "』")


def _tree_hash(directory: Path) -> str:
    """A hash of every template, so a template edit changes cache keys."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.j2")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


_ANSWER_EXTRAS = {"color", "url", "image", "controls", "ephemeral", "is_error", "state"}
