"""Stateless component ids: everything needed to re-render an answer lives in the custom_id.

Format: ``k4|command|lang|page|a|b`` (at most 100 characters, Discord's limit), where a/b are the
command's options: 401k topic; inflow allocation, pool; opinions stance, analyst; faq question. Selects start with
``k4s`` so that a button's handler and a select's handler never both match one id.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers.model import Answer, Control
from bot.answers.requests import Command
from bot.domain.language import Lang, parse_lang

PREFIX = "k4"
SELECT_PREFIX = "k4s"
MAX_CUSTOM_ID = 100
_ARGS: dict[str, tuple[str, str]] = {
    "401k": ("topic", ""),
    "inflow": ("allocation", "pool"),
    "opinions": ("stance", "analyst"),
    "faq": ("question", ""),
}
# The option a select's chosen value fills, per command (the value arrives with the click, not in the id).
SELECT_OPTION: dict[Command, str] = {Command.K401: "topic", Command.FAQ: "question"}


@dataclass(frozen=True)
class ComponentState:
    command: Command
    lang: Lang
    page: int
    options: dict[str, str]


class ComponentIdTooLong(ValueError):
    """The state does not fit Discord's 100-character custom_id; a cut id would re-render a different answer."""


def encode(state: dict[str, str], lang: Lang, page: int, *, prefix: str = PREFIX) -> str:
    """The custom_id for an answer's state; raises ValueError rather than cut it (decode must give the state back)."""
    command = state.get("command")
    if not command:
        raise ValueError(f"answer state names no command: {state!r}")
    first, second = _ARGS.get(command, ("", ""))
    parts = [
        prefix,
        command,
        lang,
        str(page),
        state.get(first, "") if first else "",
        state.get(second, "") if second else "",
    ]
    custom_id = "|".join(p.replace("|", "") for p in parts)
    if len(custom_id) > MAX_CUSTOM_ID:
        raise ComponentIdTooLong(f"custom_id of {len(custom_id)} characters > {MAX_CUSTOM_ID}: {custom_id[:40]}…")
    return custom_id


def decode(custom_id: str) -> ComponentState | None:
    """The state in a custom_id, or None if it is not one of ours (or is malformed)."""
    parts = custom_id.split("|")
    lang = parse_lang(parts[2]) if len(parts) == 6 else None
    if lang is None or parts[2] != lang or parts[0] not in (PREFIX, SELECT_PREFIX):
        return None
    try:
        command, page = Command(parts[1]), int(parts[3])
    except ValueError:
        return None
    first, second = _ARGS.get(command.value, ("", ""))
    options = {k: v for k, v in ((first, parts[4]), (second, parts[5])) if k and v}
    return ComponentState(command, lang, page, options)


def control_custom_id(answer: Answer, control: Control) -> str:
    page = int(answer.state.get("page", "0") or 0)
    if control.action == "lang":
        return encode(answer.state, parse_lang(control.value) or "en", page)
    if control.action == "page":
        return encode(answer.state, answer.lang, int(control.value))
    if control.action in ("topic", "question"):
        # The chosen topic or question arrives in the interaction's values, so the id carries none.
        return encode({**answer.state, control.action: ""}, answer.lang, 0, prefix=SELECT_PREFIX)
    if control.action == "faq":  # a related question: the id names it
        return encode({**answer.state, "question": control.value}, answer.lang, 0)
    raise ValueError(f"unknown control action {control.action!r}")
