"""An Answer as plain terminal text (the offline console and `ask` without --json)."""

from __future__ import annotations

import re

from bot.answers.model import Answer

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")


def _plain(text: str) -> str:
    # Markdown links read better as "title <url>" in a terminal; escapes and emphasis stay as Discord shows them.
    return _LINK.sub(r"\1 <\2>", text)


def answer_text(answer: Answer) -> str:
    lines = [f"━━ {answer.title} ━━"]
    if answer.content:
        lines.append(_plain(answer.content))
    if answer.description:
        lines.append(_plain(answer.description))
    for f in answer.fields:
        lines.append("")
        lines.append(f"▸ {f.name}")
        lines.extend(f"  {line}" for line in _plain(f.value).splitlines())
    if answer.footer:
        lines.append(f"\n— {_plain(answer.footer)}")
    return "\n".join(lines)
