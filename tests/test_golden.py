"""Every answer (every command × topic/option × language, errors included) is exactly its golden file.

A changed word in any template or config text, in any language, fails here with the file that differs; so does a
changed slash-command declaration (tests/golden/commands.json). After a deliberate change: `python -m tests.golden
--update`, and review the diff.
"""

from __future__ import annotations

import difflib

from bot.answers.build import AnswerContext
from tests.golden import expected_files, stored_files

UPDATE = "python -m tests.golden --update"


def test_every_answer_matches_its_golden_file(ctx: AnswerContext) -> None:
    expected, stored = expected_files(ctx), stored_files()
    assert sorted(set(expected) - set(stored)) == [], f"answers without a golden file: run {UPDATE}"
    assert sorted(set(stored) - set(expected)) == [], f"golden files no case makes: run {UPDATE}"
    differing = [path for path in expected if stored[path] != expected[path]]
    if differing:
        first = differing[0]
        diff = "".join(
            difflib.unified_diff(stored[first].splitlines(True), expected[first].splitlines(True), first, "now", n=1)
        )
        raise AssertionError(f"{len(differing)} answer(s) changed, e.g.:\n{diff}\nIf deliberate: {UPDATE}")


def test_golden_files_cover_every_language_and_command(ctx: AnswerContext) -> None:
    stored = stored_files()
    for lang in ("en", "zh-TW", "zh-CN"):
        names = [p for p in stored if p.startswith(lang + "/")]
        for command in ("401k", "inflow", "opinions", "language", "help", "sources"):
            assert any(command in p for p in names), (lang, command)
