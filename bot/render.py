"""jinja2 rendering into a Discord-agnostic Answer, plus Discord's size limits.

zh-CN has no templates of its own: it renders the zh-TW templates with mainland number formats, and the finished
text is converted to Simplified Chinese (bot.simplified) in whole sentences, so phrases that span template and
config text convert correctly; what a user typed is echoed exactly as typed.

A template defines the blocks `title`, `description`, `fields` and `footer`. In `fields`, the shared macro
`field(name)` marks each field with control characters that cannot come from text (escape() removes them),
and render() splits on them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2

from bot import formatting
from bot.facts import LANGS, Facts, Lang
from bot.paths import templates_dir
from bot.simplified import VERBATIM_END, VERBATIM_START

FIELD_START, FIELD_BODY, INLINE_MARK = "\x1e", "\x1f", "\x1d"

# Discord's limits on one message (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
LIMITS = {
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "embed_total": 6000,
    "content": 2000,
}

COLORS = {"info": 0x2B6CB0, "inflow": 0x2F855A, "opinions": 0x6B46C1, "sources": 0x4A5568, "error": 0xC53030}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<])")
MAX_ECHO_LENGTH = 100


def escape(text: str) -> str:
    """User text made inert: no markdown, no mentions, no control characters, bounded length."""
    cleaned = _CONTROL.sub("", text).replace("\n", " ")
    if len(cleaned) > MAX_ECHO_LENGTH:
        cleaned = cleaned[: MAX_ECHO_LENGTH - 1] + "…"
    # A zero-width space after @ stops @everyone / @here; angle brackets are escaped, so <@id> is inert too.
    return _MARKDOWN.sub(r"\\\1", cleaned).replace("@", "@\u200b")


def _verbatim(text: str) -> str:
    """escape(), marked so that the zh-CN conversion leaves the user's own text as typed."""
    return f"{VERBATIM_START}{escape(text)}{VERBATIM_END}"


@dataclass(frozen=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Control:
    """A button or select the answer offers; the Discord layer turns it into a component."""

    kind: Literal["button", "select"]
    action: str  # e.g. "topic", "page", "lang"
    label: str
    value: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for selects
    disabled: bool = False


@dataclass(frozen=True)
class Answer:
    lang: Lang
    title: str
    description: str
    fields: tuple[EmbedField, ...] = ()
    footer: str = ""
    color: int = COLORS["info"]
    url: str | None = None
    image: str | None = None  # attachment file name, e.g. "inflow.png"
    content: str | None = None
    controls: tuple[Control, ...] = ()
    ephemeral: bool = False
    is_error: bool = False
    state: dict[str, str] = field(default_factory=dict)  # what a component needs to re-render this answer

    def embed_text_length(self) -> int:
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer)
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )


def limit_violations(answer: Answer) -> list[str]:
    """Every way the answer breaks Discord's limits or shows template debris; empty when it is fine."""
    problems: list[str] = []

    def check(name: str, text: str, limit: int) -> None:
        if len(text) > limit:
            problems.append(f"{name} is {len(text)} > {limit}")

    check("title", answer.title, LIMITS["title"])
    check("description", answer.description, LIMITS["description"])
    check("footer", answer.footer, LIMITS["footer"])
    check("content", answer.content or "", LIMITS["content"])
    if len(answer.fields) > LIMITS["fields"]:
        problems.append(f"{len(answer.fields)} fields > {LIMITS['fields']}")
    for index, f in enumerate(answer.fields):
        check(f"field {index} name", f.name, LIMITS["field_name"])
        check(f"field {index} value", f.value, LIMITS["field_value"])
        if not f.name.strip() or not f.value.strip():
            problems.append(f"field {index} is empty")
    if answer.embed_text_length() > LIMITS["embed_total"]:
        problems.append(f"embed text is {answer.embed_text_length()} > {LIMITS['embed_total']}")
    if not answer.title.strip():
        problems.append("title is empty")
    texts = [answer.title, answer.description, answer.footer, answer.content or ""]
    texts += [f.name for f in answer.fields] + [f.value for f in answer.fields]
    for text in texts:
        if "None" in text.split() or re.search(r"\{\{|\}\}|\{%|%\}|\{#|#\}", text):
            problems.append(f"template debris in {text[:60]!r}")
    return problems


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_to_limits(answer: Answer) -> Answer:
    """Last-resort guard so a long config edit can never make Discord reject an answer."""
    fields = tuple(
        EmbedField(_clip(f.name, LIMITS["field_name"]), _clip(f.value, LIMITS["field_value"]), f.inline)
        for f in answer.fields[: LIMITS["fields"]]
    )
    return replace(
        answer,
        title=_clip(answer.title, LIMITS["title"]),
        description=_clip(answer.description, LIMITS["description"]),
        footer=_clip(answer.footer, LIMITS["footer"]),
        fields=fields,
    )


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
        text_lang: Lang = "zh-TW" if lang == "zh-CN" else lang  # the language the templates' own text is in
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([directory / text_lang, directory / "shared"]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # output is Discord markdown, not HTML; user text goes through |user
            trim_blocks=True,
            lstrip_blocks=True,
        )
        filters: dict[str, Callable[..., str]] = {
            "money": lambda v: formatting.money(Decimal(v), lang),
            "pct": lambda v, digits=2: formatting.percent(Decimal(v), lang, max_fraction_digits=digits),
            "num": lambda v, digits=2: formatting.number(Decimal(v), lang, max_fraction_digits=digits),
            "date": lambda v: formatting.date(v, lang),
            "timestamp": lambda v: formatting.timestamp(v, lang),
            "fv": lambda f: formatting.fact_value(f, lang),
            "user": escape if lang != "zh-CN" else _verbatim,
        }
        env.filters.update(filters)
        env.globals.update(
            lang=lang,
            facts=self.facts,
            order=self.facts.order,
            fact=self.facts.fact,
            source=self.facts.source_of,
            label=lambda group, key: self.facts.label(group, key, text_lang),
            FIELD_START=FIELD_START,
            FIELD_BODY=FIELD_BODY,
            INLINE_MARK=INLINE_MARK,
        )
        env.globals["m"] = env.get_template("macros.j2").module
        return env

    def _block(self, template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
        block = template.blocks.get(name)
        if block is None:
            return ""
        return "".join(block(template.new_context(context)))

    def render(self, name: str, lang: Lang, **context: Any) -> Answer:
        """Render templates/<lang>/<name>.j2; extra Answer attributes (color, controls...) come from context."""
        template = self._envs[lang].get_template(f"{name}.j2")
        answer_kwargs = {k: context.pop(k) for k in list(context) if k in _ANSWER_EXTRAS}
        text: Callable[[str], str] = str if lang != "zh-CN" else self.facts.simplify
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
            **answer_kwargs,
        )


def _tree_hash(directory: Path) -> str:
    """A hash of every template, so a template edit changes cache keys."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.j2")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def answer_to_json(answer: Answer) -> bytes:
    return json.dumps(asdict(answer), ensure_ascii=False).encode()


def answer_from_json(data: bytes) -> Answer:
    raw = json.loads(data)
    raw["fields"] = tuple(EmbedField(**f) for f in raw["fields"])
    raw["controls"] = tuple(Control(**{**c, "options": tuple(tuple(o) for o in c["options"])}) for c in raw["controls"])
    return Answer(**raw)


_ANSWER_EXTRAS = {"color", "url", "image", "controls", "ephemeral", "is_error", "state"}
