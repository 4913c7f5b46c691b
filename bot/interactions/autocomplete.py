"""Autocomplete choices as (name, value) pairs: at most 25, names at most 100 characters (Discord's limits)."""

from __future__ import annotations

from bot.answers.formatting import money, percent
from bot.domain.allocation import AllocationError, parse_allocation
from bot.domain.facts import Facts
from bot.domain.faq import find_questions
from bot.domain.inflow import Pool, inflow_usd, pool_fact
from bot.domain.language import Lang

ALLOCATION_SUGGESTIONS = ("1%", "2%", "5%", "10%", "1-5%", "0.5%")
MAX_CHOICES = 25
MAX_NAME = 100

Choices = tuple[tuple[str, str], ...]


def allocation_choices(facts: Facts, current: str, language: Lang) -> Choices:
    """What the user typed, if it parses, with a preview of the 401(k) figure; then well-formed examples."""
    values: list[str] = []
    typed = current.strip()[:32]
    if typed:
        try:
            parse_allocation(typed)
            values.append(typed)
        except AllocationError:
            pass
    values += [s for s in ALLOCATION_SUGGESTIONS if s not in values and (not typed or s.startswith(typed[:1]))]
    if len(values) < 2:
        values += [s for s in ALLOCATION_SUGGESTIONS if s not in values]
    pool = pool_fact(facts, Pool.K401).amount
    choices = []
    for value in values[:MAX_CHOICES]:
        allocation = parse_allocation(value)
        low, high = (money(inflow_usd(p, pool), language) for p in (allocation.low, allocation.high))
        amount = low if low == high else f"{low}–{high}"
        shown = value if allocation.is_range else percent(allocation.low, language, max_fraction_digits=4)
        choices.append((f"{shown} → {amount} (401(k))"[:MAX_NAME], value))
    return tuple(choices)


def analyst_choices(facts: Facts, current: str) -> Choices:
    needle = current.strip().lower()
    return tuple(
        (f"{o.name.en} — {o.organisation.en}"[:MAX_NAME], o.id)
        for o in facts.opinions
        if not needle or needle in o.name.en.lower() or needle in o.organisation.en.lower() or needle in o.id
    )[:MAX_CHOICES]


def question_choices(facts: Facts, current: str, language: Lang) -> Choices:
    """Reader questions matching what was typed (English words, Traditional or Simplified characters), best first,
    each named in the reader's language; every question while nothing is typed."""
    return tuple((q.short.get(language)[:MAX_NAME], q.id) for q in find_questions(facts, current[:MAX_NAME]))[
        :MAX_CHOICES
    ]
