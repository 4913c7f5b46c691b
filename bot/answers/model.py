"""The answer as plain data: what every front end shows (title, description, fields, footer, chart, controls).

Built by bot.answers.render, carried by the interaction handler, turned into Discord's message JSON by
bot.discord_wire and into text by bot.answers.textout. No jinja2 and no Discord here (ruff bans both).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from bot.domain.language import Lang

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

COLORS = {
    "info": 0x2B6CB0,
    "inflow": 0x2F855A,
    "opinions": 0x6B46C1,
    "sources": 0x4A5568,
    "error": 0xC53030,
    "faq": 0xB7791F,
}


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
    facts_used: tuple[str, ...] = ()  # sorted fact ids / "source:…" / "opinion:…" / "timeline:…" keys it stated

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


def answer_to_json(answer: Answer) -> bytes:
    return json.dumps(asdict(answer), ensure_ascii=False).encode()


def answer_from_json(data: bytes) -> Answer:
    raw = json.loads(data)
    raw["fields"] = tuple(EmbedField(**f) for f in raw["fields"])
    raw["controls"] = tuple(Control(**{**c, "options": tuple(tuple(o) for o in c["options"])}) for c in raw["controls"])
    raw["facts_used"] = tuple(raw.get("facts_used", ()))
    return Answer(**raw)
