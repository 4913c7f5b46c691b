"""User text can never start a line of its own: every Unicode line/paragraph separator is normalised before escaping."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers.core import Core
from bot.answers.model import Answer, limit_violations
from bot.answers.render import escape
from bot.answers.requests import UserInputError
from bot.domain.language import Lang

# Everything str.splitlines() (and so the renderer's _tidy) breaks a line on, plus tab.
SEPARATORS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\t"]
MARKERS = ["# ", "## ", "### ", "-# ", "- ", "+ ", "* ", "1. ", "10) ", "> ", ">>> ", "```", "@everyone", " ", "\u3000"]
# What Discord reads as a block at the start of a line: heading, subtext, list, ordered list, quote, code block.
BLOCK_START = re.compile(r"\s*(#{1,3}\s|-#\s|[-+*]\s|\d+[.)]\s|>|```)")

hostile_text = st.lists(
    st.one_of(st.sampled_from(SEPARATORS), st.sampled_from(MARKERS), st.text(max_size=5)), max_size=12
).map("".join)


@given(hostile_text)
def test_escaped_text_is_always_one_line(text: str) -> None:
    escaped = escape(text)
    assert len(f"«{escaped}»".splitlines()) == 1, repr(escaped)


@given(hostile_text)
def test_escaped_text_cannot_open_a_block_even_at_the_start_of_a_line(text: str) -> None:
    escaped = escape(text)
    for line in f"\n{escaped}".splitlines():  # as if a template put it first on a line
        assert not BLOCK_START.match(line), repr(escaped)


@pytest.mark.parametrize("separator", SEPARATORS)
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_a_separator_in_an_echoed_value_does_not_break_the_error_answer(separator: str, lang: Lang, core: Core) -> None:
    harmless = core.error(UserInputError("allocation_not_a_number", text="abc heading"), lang)
    typed = f"abc{separator}# heading"
    result = core.error(UserInputError("allocation_not_a_number", text=typed), lang)
    assert len(result.description.splitlines()) == len(harmless.description.splitlines())
    assert not any(line.lstrip().startswith("#") for line in result.description.splitlines())
    assert "abc # heading" in result.description


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("- item", "\\- item"), ("1. first", "1\\. first"), ("# title", "\\# title"), ("-# small", "\\-# small")],
)
def test_line_start_markers_are_escaped(typed: str, shown: str) -> None:
    assert escape(typed) == shown


@pytest.mark.parametrize("typed", ["2%", "1-5%", "-5%", "3.5", "#5", "abc"])
def test_ordinary_input_is_echoed_unchanged(typed: str) -> None:
    assert escape(typed) == typed


@pytest.mark.parametrize("typed", ["\ud800", "x\udfffy", "\ud83d"])
def test_lone_surrogates_become_replacement_characters(typed: str) -> None:
    escaped = escape(typed)
    escaped.encode("utf-8")  # a Discord payload must be valid UTF-8
    assert "\ufffd" in escaped


@pytest.mark.parametrize("typed", ["{{ x }}", "{% if %}", "{# c #}", "a}}b", "%}", "#}"])
def test_user_text_never_reads_as_template_debris(typed: str) -> None:
    answer = Answer(lang="en", title="t", description=f"Unknown topic “{escape(typed)}”.")
    assert limit_violations(answer) == []
    assert escape(typed).replace("\u200b", "") == typed  # shown as typed: only invisible breaks were added
