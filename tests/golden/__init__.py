"""Golden answers: the exact Discord message JSON of every answer (tests.answer_matrix.CASES) in every language.

One file per case and language, tests/golden/<lang>/<case>.json, reviewed in the diff like code. tests/test_golden.py
fails on any difference, and on a file missing or left over. After a deliberate change of wording or data:

    python -m tests.golden --update

A chart is stood in for by CHART (its pixels are tested in tests/test_chart.py): the JSON names the attachment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.answers.build import AnswerContext
from bot.answers.model import Answer
from bot.answers.render import Renderer
from bot.discord_wire.message import message_payload
from bot.domain.facts import Facts, load_facts
from bot.domain.inflow import MarketCap
from bot.domain.language import LANGS
from tests.answer_matrix import CASES

GOLDEN_DIR = Path(__file__).resolve().parent
CHART = b"<chart>"
COMMANDS_FILE = "commands.json"  # the slash commands as Discord is sent them at sync


def case_slug(name: str) -> str:
    """A file name for a case: its ASCII words ("/inflow 2% pool:dc" -> "inflow_2pct_pool_dc"), plus a short hash
    of the name when it has characters a file name would lose (Chinese, quotes)."""
    slug = re.sub(r"[^a-z0-9.-]+", "_", name.lower().replace("%", "pct")).strip("_.") or "case"
    if not re.fullmatch(r"[A-Za-z0-9 /:%.-]+", name):
        slug += "_" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return slug


def context(facts: Facts | None = None) -> AnswerContext:
    facts = facts or load_facts()
    return AnswerContext(facts, Renderer(facts), MarketCap.from_config(facts))


def answers(ctx: AnswerContext) -> Iterator[tuple[str, str, Answer]]:
    """(golden file, case name, answer) for every case in every language."""
    for case in CASES:
        for lang in LANGS:
            yield f"{lang}/{case_slug(case.name)}.json", case.name, case.render(lang, ctx)


def payload(answer: Answer) -> dict[str, Any]:
    return message_payload(answer, CHART if answer.image else None)


def file_text(name: str, answer: Answer) -> str:
    return json.dumps({"case": name, "message": payload(answer)}, ensure_ascii=False, indent=2) + "\n"


def expected_files(ctx: AnswerContext) -> dict[str, str]:
    files: dict[str, str] = {}
    for path, name, answer in answers(ctx):
        assert path not in files, f"two cases share the golden file {path}"
        files[path] = file_text(name, answer)
    files[COMMANDS_FILE] = command_declarations(ctx.facts)
    return files


def command_declarations(facts: Facts) -> str:
    """The slash commands as a sync sends them (translations included), from the cog generated from the config."""
    import asyncio
    from pathlib import Path as _Path

    from bot.answers.core import Core
    from bot.gateway.client import K401Bot
    from bot.gateway.translator import LabelTranslator
    from bot.store.sqlite import SQLiteStore

    async def declare() -> list[dict[str, Any]]:
        bot = K401Bot(Core(facts, Renderer(facts)), SQLiteStore(_Path("unopened.sqlite3")), sync_on_start=False)
        await bot.tree.set_translator(LabelTranslator(facts))
        await bot.load_extension("bot.gateway.cog")
        return await bot.command_payload()

    return json.dumps(asyncio.run(declare()), ensure_ascii=False, indent=2) + "\n"


def stored_files() -> dict[str, str]:
    paths = [*GOLDEN_DIR.glob("*/*.json"), GOLDEN_DIR / COMMANDS_FILE]
    return {p.relative_to(GOLDEN_DIR).as_posix(): p.read_text("utf-8") for p in sorted(paths) if p.exists()}
