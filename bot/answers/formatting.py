"""Numbers, money, percentages and dates the way each language writes them (Babel / CLDR).

English: $434 billion, $8.7 trillion. Traditional Chinese: 4,340億美元, 8.7兆美元 (digits grouped the way Taiwan
readers write them, no space before 億/兆). Simplified Chinese (mainland, CLDR zh_Hans as is): 4340亿美元,
8.7万亿美元 — never 兆, which a mainland reader may take for 10^6.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_compact_decimal, parse_pattern

from bot.domain.facts import Fact
from bot.domain.language import CLDR_LOCALE, Lang, in_language, text_lang

BABEL_LOCALE = CLDR_LOCALE  # bot.domain.language owns each language's CLDR locale
# Parsed once, not on every number: an /inflow answer writes ~60 of them.
_LOCALES: dict[Lang, Locale] = {lang: Locale.parse(code) for lang, code in BABEL_LOCALE.items()}
# Every function here is pure, and answers repeat the same figures (the config's, the scenario table's), so results
# are kept, bounded. The Decimal's exponent is part of each key: 2 and 2.0 are equal but need not print alike.
_MEMO = 4096
_COMPACT_FROM = Decimal(1_000_000)  # below a million, full digits read better than "12.3 thousand"
_SMALLEST_PERCENT = Decimal("0.01")
_COMPACT_PARTS = re.compile(r"^(\d+(?:\.\d+)?)(\D*)$")


def _grouped_compact(compact: str, lang: Lang) -> str:
    """CLDR's Chinese compact form has no grouping ('4340億'); Taiwan readers write '4,340億'."""
    match = _COMPACT_PARTS.match(compact)
    return compact if match is None else number(Decimal(match[1]), lang) + match[2]


@functools.cache
def _number_pattern(max_fraction_digits: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "#" * max_fraction_digits if max_fraction_digits else ""))


def number(value: Decimal, lang: Lang, *, max_fraction_digits: int = 2) -> str:
    return _number(value, _exponent(value), lang, max_fraction_digits)


def _exponent(value: Decimal) -> int | str:
    return value.as_tuple().exponent


@functools.lru_cache(maxsize=_MEMO)
def _number(value: Decimal, _exponent: int | str, lang: Lang, max_fraction_digits: int) -> str:
    return str(_number_pattern(max_fraction_digits).apply(value, _LOCALES[lang]))


def money(amount: Decimal, lang: Lang) -> str:
    """US dollars, compact for large amounts: '$434 billion' / '4,340億美元' / '4340亿美元'."""
    return _money(amount, _exponent(amount), lang)


@functools.lru_cache(maxsize=_MEMO)
def _money(amount: Decimal, _exponent: int | str, lang: Lang) -> str:
    if lang == "zh-CN":
        return _money_zh_cn(amount)
    if amount >= _COMPACT_FROM:
        digits = str(format_compact_decimal(amount, format_type="long", locale=_LOCALES[lang], fraction_digits=2))
        if lang == "zh-TW":
            digits = _grouped_compact(digits, lang)
    else:
        digits = number(amount, lang)
    return f"${digits}" if lang == "en" else f"{digits}美元"


def _money_zh_cn(amount: Decimal) -> str:
    # CLDR zh_Hans counts in 万 (10^4), 亿 (10^8) and 万亿 (10^12): 4340亿美元, 8.7万亿美元.
    if amount >= _COMPACT_FROM:
        locale = _LOCALES["zh-CN"]
        return f"{format_compact_decimal(amount, format_type='long', locale=locale, fraction_digits=2)}美元"
    return f"{number(amount, 'zh-CN')}美元"


def percent(value: Decimal, lang: Lang, *, max_fraction_digits: int = 2) -> str:
    """`value` is in percent points (2 -> '2%'); tiny non-zero shares read '<0.01%' rather than '0%'."""
    if Decimal(0) < value < _SMALLEST_PERCENT:
        return f"<{number(_SMALLEST_PERCENT, lang)}%"
    return f"{number(value, lang, max_fraction_digits=max_fraction_digits)}%"


def exact_percent(value: Decimal, lang: Lang) -> str:
    """A percentage with every digit it has (the user's allocation as typed: 0.0001%, never '<0.01%')."""
    exponent = value.as_tuple().exponent
    digits = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{number(value, lang, max_fraction_digits=digits)}%"


@functools.lru_cache(maxsize=_MEMO)
def date(value: dt.date, lang: Lang) -> str:
    """'Mar 31, 2025' / '2025年3月31日'."""
    return str(format_date(value, format="medium" if lang == "en" else "long", locale=_LOCALES[lang]))


@functools.lru_cache(maxsize=_MEMO)
def timestamp(value: dt.datetime, lang: Lang) -> str:
    """A UTC time: 'Nov 30, 2026, 02:10 UTC' / '2026年11月30日 02:10 UTC'."""
    utc = value.astimezone(dt.UTC)
    pattern = "MMM d, y, HH:mm" if lang == "en" else "y年M月d日 HH:mm"
    return f"{format_datetime(utc, pattern, locale=_LOCALES[lang])} UTC"


def fact_value(fact: Fact, lang: Lang) -> str:
    """A fact's value written with its unit."""
    if fact.unit in ("usd_trillion", "usd_billion", "usd"):
        return money(fact.amount, lang)
    if fact.unit == "percent":
        return percent(fact.value, lang)
    if fact.unit == "people_million":
        if lang == "en":
            return f"{number(fact.value, lang)} million"
        compact = str(format_compact_decimal(fact.amount, format_type="long", locale=_LOCALES[lang], fraction_digits=2))
        return f"{_grouped_compact(compact, lang) if lang == 'zh-TW' else compact}人"
    suffixes: dict[str, dict[Lang, str]] = {
        "years": {"en": " years", "zh-TW": "歲"},
        "days": {"en": " days", "zh-TW": "天"},
    }
    shown = number(fact.value, lang)
    if fact.unit == "years" and lang == "en":
        shown = shown.replace(".5", "½")  # 59½, as English writes the age
    return shown + in_language(suffixes[fact.unit][text_lang(lang)], lang)
