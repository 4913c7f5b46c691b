"""Every value a user types, echoed by any template in any language, stays inert text.

Each hostile value goes into every option of every command (and the command name itself); whatever answer comes
back (an answer or an error) may show it only escaped: no live masked link, no mention, no @everyone/@here, no
markdown that takes effect, no line of its own. A template that echoes a value without `|user` fails here.
"""

from __future__ import annotations

import re

import pytest

from bot.answers.build import AnswerContext, answer, answer_error
from bot.answers.model import Answer
from bot.answers.render import escape
from bot.answers.requests import Command, UserInputError, build_request
from bot.domain.facts import load_labels
from bot.domain.language import LANGS

HOSTILE = (
    "@everyone",
    "@here hi",
    "<@123456789012345678>",
    "<@&123456789012345678>",
    "<#123456789012345678>",
    "[click me](https://evil.example/x)",
    "**bold** __under__ ~~gone~~ ||spoiler||",
    "`code` ```block```",
    "2%\n# heading",
    "x\n> quote\n- list",
    "<https://evil.example>",
    "*2%*",
)
# Every text option of every slash command, as config/commands.toml declares them: a new command is covered as is.
OPTIONS: dict[Command, tuple[str, ...]] = {
    Command(name): tuple(o.name for o in declared.options if o.type == "string")
    for name, declared in load_labels().slash.items()
}
MENTION = re.compile(r"<(?:@[!&]?|#)\d+>")
EVERYONE = re.compile(r"@(?:everyone|here)")
# A live link to the hostile URL: masked ([text](url)) or in angle brackets (the template's own links go elsewhere).
EVIL_LINK = re.compile(r"(?<!\\)\]\(https://evil|(?<!\\)<https://evil")
# The hostile emphasis, code and spoiler marks, unescaped.
LIVE_MARKDOWN = re.compile(r"(?<!\\)(\*\*bold|__under|~~gone|\|\|spoiler|`code|\*2%)")
# A hostile line that became a line of its own (a heading, a quote, a list).
OWN_LINE = re.compile(r"^\s*(# heading|> quote|- list)", re.M)


def texts(result: Answer) -> list[str]:
    found = [result.title, result.description, result.footer, result.content or ""]
    return found + [f.name for f in result.fields] + [f.value for f in result.fields]


def reply(command: Command, options: dict[str, str], lang: str, ctx: AnswerContext) -> Answer:
    try:
        return answer(build_request(command, options, ctx.facts), lang, ctx)  # type: ignore[arg-type]
    except UserInputError as exc:
        return answer_error(exc, lang, ctx)  # type: ignore[arg-type]


def cases() -> list[tuple[str, Command | None, str]]:
    found: list[tuple[str, Command | None, str]] = [(h, None, "command") for h in HOSTILE]
    found += [(h, c, o) for h in HOSTILE for c, names in OPTIONS.items() for o in names]
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("value", "command", "option"), cases(), ids=lambda v: str(v)[:24])
def test_an_echoed_value_is_inert(
    value: str, command: Command | None, option: str, lang: str, ctx: AnswerContext
) -> None:
    if command is None:
        result = answer_error(UserInputError("unknown_command", command=value), lang, ctx)  # type: ignore[arg-type]
    else:
        options = {"allocation": "2%"} if command is Command.INFLOW else {}
        result = reply(command, {**options, option: value}, lang, ctx)
    shown = "\n".join(texts(result))
    assert not MENTION.search(shown), shown
    assert not EVERYONE.search(shown), shown
    assert not EVIL_LINK.search(shown), shown
    assert not LIVE_MARKDOWN.search(shown), shown
    assert not OWN_LINE.search(shown), shown
    raw = value.replace("\n", " ")
    if escape(value) != raw:  # the value has something to escape: it must never appear as typed
        assert raw not in shown, shown


def test_every_text_option_is_tried() -> None:
    assert OPTIONS[Command.INFLOW] == ("allocation", "pool") and OPTIONS[Command.OPINIONS] == ("stance", "analyst")


def test_the_hostile_values_do_reach_the_answers(ctx: AnswerContext) -> None:
    """The test above is only as good as its echoes: most errors do repeat what was typed, escaped."""
    echoed = 0
    for value, command, option in cases():
        if command is None:
            result = answer_error(UserInputError("unknown_command", command=value), "zh-TW", ctx)
        else:
            options = {"allocation": "2%"} if command is Command.INFLOW else {}
            result = reply(command, {**options, option: value}, "zh-TW", ctx)
        echoed += escape(value) in "\n".join(texts(result))
    assert echoed >= len(HOSTILE) * 5
