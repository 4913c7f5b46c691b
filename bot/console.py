"""The offline console: the same slash commands answered in a terminal, no Discord token needed."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.answers.build import new_error_id
from bot.answers.core import Core
from bot.answers.model import Answer
from bot.answers.requests import LanguageRequest, UserInputError, parse_request
from bot.answers.textout import answer_text
from bot.domain.language import Lang, lang_from_locale, parse_lang

PROMPT = "401k> "

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    status: int  # 0 answered, 2 user-input error, 1 internal failure (the CLI's exit codes)
    image: bytes | None = None


async def answer_line(core: Core, line: str, lang: Lang, *, page: int = 0, chart: bool = False) -> Outcome:
    """A console line to an answer, the chart waited for (no 3 s window here); never raises."""
    try:
        request = parse_request(line, core.facts)
        response = await core.respond(request, lang, page=page, chart=chart, wait_for_chart=True)
        return Outcome(response.answer, 0, response.image)
    except UserInputError as exc:
        return Outcome(core.error(exc, lang), 2)
    except Exception:
        error_id = new_error_id()
        log.exception("internal error %s answering %r", error_id, line)
        return Outcome(core.internal_error(lang, error_id), 1)


def system_lang() -> Lang:
    return lang_from_locale(os.environ.get("LC_ALL") or os.environ.get("LANG"))


async def ask(core: Core, line: str, lang: Lang, *, as_json: bool, out: TextIO, chart_dir: Path | None = None) -> int:
    """Answer one line; returns the exit status (0 answer, 2 user error, 1 internal failure).

    A chart is drawn only when it has somewhere to go: --chart-dir, or the --json payload's attachment.
    """
    outcome = await answer_line(core, line, lang, chart=as_json or chart_dir is not None)
    if as_json:
        from bot.discord_wire.message import message_payload

        payload = message_payload(outcome.answer, outcome.image)
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return outcome.status
    out.write(answer_text(outcome.answer) + "\n")
    if outcome.image is not None and outcome.answer.image and chart_dir is not None:
        chart_dir.mkdir(parents=True, exist_ok=True)
        path = chart_dir / f"{outcome.answer.lang}-{outcome.answer.image}"
        path.write_bytes(outcome.image)
        out.write(f"chart: {path}\n")
    # A terminal has no buttons: print the remaining pages too.
    page = 1
    while outcome.status == 0 and any(
        c.action == "page" and c.value == str(page) and not c.disabled for c in outcome.answer.controls
    ):
        outcome = await answer_line(core, line, lang, page=page)
        out.write("\n" + answer_text(outcome.answer) + "\n")
        page += 1
    return outcome.status


async def interactive(
    core: Core,
    lang: Lang,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    chart_dir: Path | None = None,
) -> int:
    """Answer lines until EOF. `/language zh-TW` switches the console's language."""
    # Looked up at call time (not bound as defaults at import), so a redirected sys.stdin/stdout is honoured.
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if out is None else out
    tty = stdin.isatty()
    if tty:
        out.write(
            "Offline console (no DISCORD_TOKEN set). Try /inflow 2%, /401k, /opinions, /sources, /help. Ctrl-D quits.\n"
        )
    while True:
        if tty:
            out.write(PROMPT)
            out.flush()
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("exit", "quit", "/exit", "/quit"):
            break
        try:
            request = parse_request(line, core.facts)
        except UserInputError:
            request = None
        if isinstance(request, LanguageRequest) and request.language:
            lang = parse_lang(request.language) or system_lang()  # "auto": back to the system's language
        await ask(core, line, lang, as_json=False, out=out, chart_dir=chart_dir)
        out.write("\n")
        out.flush()
    return 0
