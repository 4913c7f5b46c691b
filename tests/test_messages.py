"""Every user-facing message exists in every language: error codes (no silent fallback) and the disclaimers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.answers.build import ERROR_CODES, AnswerContext, answer, answer_error
from bot.answers.model import limit_violations
from bot.answers.requests import Topic, UserInputError, parse_request
from bot.domain.language import LANGS, Lang

BOT = Path(__file__).resolve().parents[1] / "bot"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Parameters every message may use; ASCII only, so any Chinese in a message comes from the template.
PARAMS = {
    "text": "abc",
    "value": "abc",
    "choices": ("one", "two"),
    "command": "/abc",
    "limit": 300,
    "seconds": 5,
    "error_id": "abc12345",
}
# The disclaimer every figure-bearing answer carries, per language (zh-CN: 情境 is 情景 on the mainland).
NOT_ADVICE = {"en": "not investment advice", "zh-TW": "非投資建議", "zh-CN": "非投资建议"}
NOT_A_FORECAST = {"en": "A scenario, not a forecast", "zh-TW": "僅為情境，不是預測", "zh-CN": "仅为情景，不是预测"}


def _codes_raised_in_the_source() -> set[str]:
    """String codes given to UserInputError(...) or to requests._choice(..., code) anywhere under bot/."""
    codes: set[str] = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            position = {"UserInputError": 0, "_choice": 2}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
    return codes


def test_every_code_the_code_raises_is_registered() -> None:
    raised = _codes_raised_in_the_source()
    assert {"unknown_topic", "line_too_long", "cooldown", "internal"} <= raised  # the scan itself works
    assert raised <= ERROR_CODES, sorted(raised - ERROR_CODES)


@pytest.mark.parametrize("lang", LANGS)
def test_every_error_code_has_its_own_message_in_every_language(lang: Lang, ctx: AnswerContext) -> None:
    messages: dict[str, str] = {}
    for code in sorted(ERROR_CODES):
        result = answer_error(UserInputError(code, **PARAMS), lang, ctx)
        assert result.is_error and result.ephemeral and result.lang == lang
        assert limit_violations(result) == [], code
        assert bool(CJK.search(result.title + result.description)) == (lang != "en"), (code, result.description)
        messages[code] = result.description
    # A code missing from a template renders the fallback: two codes would then share one message.
    by_message: dict[str, list[str]] = {}
    for code, message in messages.items():
        by_message.setdefault(message, []).append(code)
    assert [codes for codes in by_message.values() if len(codes) > 1] == []
    assert "abc12345" in messages["internal"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_error_code_is_an_error_not_a_silent_sorry(lang: Lang, ctx: AnswerContext) -> None:
    with pytest.raises(ValueError, match="unknown error code 'allocation_zeor'"):
        answer_error(UserInputError("allocation_zeor", text="0"), lang, ctx)


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_bearing_answer_carries_the_disclaimer(lang: Lang, ctx: AnswerContext) -> None:
    for line in [
        *(f"/401k topic:{t.value}" for t in Topic),
        "/inflow 2%",
        "/inflow 1-5% pool:dc",
        "/inflow 1% pool:retirement",
    ]:
        footer = answer(parse_request(line, ctx.facts), lang, ctx).footer
        assert NOT_ADVICE[lang].lower() in footer.lower(), (line, footer)
        if line.startswith("/inflow"):
            assert NOT_A_FORECAST[lang] in footer, (line, footer)
