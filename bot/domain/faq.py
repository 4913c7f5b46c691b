"""Finding reader questions (config/faq.toml) from what a person types, in English, Traditional or Simplified Chinese.

Used by /faq's autocomplete and by the console, where `/faq roth` or `/faq 羅斯` should find the same question as
`/faq question:roth`. Pure lookups over the loaded config: no Discord, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.facts import Facts, FaqQuestion, Localized
from bot.domain.language import LANGS

# How much a hit counts, by where it is found: the id, the short question, the full question, the keywords.
_WEIGHTS = (("id", 8), ("short", 4), ("question", 3), ("keywords", 2))
_LATIN_WORD = re.compile(r"[0-9a-z$½.,()+\-']+")
_SPLIT = re.compile(r"[\s,，、;；:：?？!！/·・]+")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _is_latin(term: str) -> bool:
    return all(ord(c) < 0x2E80 for c in term)


def _texts(question: FaqQuestion, what: str) -> list[str]:
    if what == "id":
        return [question.id]
    localized: Localized = getattr(question, what)
    return [_norm(localized.get(lang)) for lang in LANGS]


def _term_hits(term: str, text: str) -> bool:
    if _is_latin(term):
        # A Latin term matches the start of a word ("ira" finds "IRA", "IRAs", not "aspiration").
        words = _LATIN_WORD.findall(text)
        stripped = term.strip("$.,()")
        return any(w.startswith(term) or (stripped and w.strip("$.,()").startswith(stripped)) for w in words)
    return term in text


def _score(question: FaqQuestion, terms: list[str]) -> int:
    score = 0
    for term in terms:
        best = max(
            (weight for what, weight in _WEIGHTS if any(_term_hits(term, t) for t in _texts(question, what))), default=0
        )
        if not best and not _is_latin(term) and len(term) > 2:
            # A longer Chinese phrase that appears nowhere whole: count its two-character pieces, at a lower weight.
            pieces = {term[i : i + 2] for i in range(len(term) - 1)}
            hits = sum(any(p in t for what, _ in _WEIGHTS for t in _texts(question, what)) for p in pieces)
            best = 1 if hits * 2 >= len(pieces) else 0
        score += best
    return score


def find_questions(facts: Facts, text: str) -> tuple[FaqQuestion, ...]:
    """The questions that match `text`, best first (ties keep the config's order); every question for empty text."""
    questions = facts.faq.question
    terms = [t for t in _SPLIT.split(_norm(text).strip()) if t]
    if not terms:
        return tuple(questions)
    scored = [(_score(q, terms), index, q) for index, q in enumerate(questions)]
    return tuple(q for score, _, q in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0)
