from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers import formatting
from bot.domain.facts import Facts

D = Decimal


@pytest.mark.parametrize(
    ("amount", "en", "zh"),
    [
        ("434e9", "$434 billion", "4,340億美元"),
        ("8.7e12", "$8.7 trillion", "8.7兆美元"),
        ("125e9", "$125 billion", "1,250億美元"),
        ("87e9", "$87 billion", "870億美元"),
        ("4.35e9", "$4.35 billion", "43.5億美元"),
        ("2.17e12", "$2.17 trillion", "2.17兆美元"),
        ("8.7e6", "$8.7 million", "870萬美元"),
        ("116000", "$116,000", "116,000美元"),
        ("0.5", "$0.5", "0.5美元"),
    ],
)
def test_money_is_written_the_way_each_language_writes_it(amount: str, en: str, zh: str) -> None:
    assert formatting.money(D(amount), "en") == en
    assert formatting.money(D(amount), "zh-TW") == zh


@pytest.mark.parametrize(
    ("value", "en", "zh"),
    [
        ("2", "2%", "2%"),
        ("3.2894", "3.29%", "3.29%"),
        ("0.004", "<0.01%", "<0.01%"),
        ("1234.5", "1,234.5%", "1,234.5%"),
    ],
)
def test_percent(value: str, en: str, zh: str) -> None:
    assert formatting.percent(D(value), "en") == en
    assert formatting.percent(D(value), "zh-TW") == zh


def test_dates() -> None:
    assert formatting.date(dt.date(2025, 3, 31), "en") == "Mar 31, 2025"
    assert formatting.date(dt.date(2025, 3, 31), "zh-TW") == "2025年3月31日"
    moment = dt.datetime(2026, 11, 30, 2, 10, tzinfo=dt.UTC)
    assert formatting.timestamp(moment, "en") == "Nov 30, 2026, 02:10 UTC"
    assert formatting.timestamp(moment, "zh-TW") == "2026年11月30日 02:10 UTC"


def test_fact_values_with_units(facts: Facts) -> None:
    assert formatting.fact_value(facts.fact("participants_401k_active"), "en") == "72.2 million"
    assert formatting.fact_value(facts.fact("participants_401k_active"), "zh-TW") == "7,220萬人"
    assert formatting.fact_value(facts.fact("early_withdrawal_age"), "en") == "59½ years"
    assert formatting.fact_value(facts.fact("early_withdrawal_age"), "zh-TW") == "59.5歲"
    assert formatting.fact_value(facts.fact("expense_ratio_401k_equity"), "en") == "0.26%"
    assert formatting.fact_value(facts.fact("assets_457_2025q1"), "zh-TW") == "4,770億美元"


amounts = st.decimals(min_value=D("1e8"), max_value=D("9.99e13"), places=0)


@given(amounts)
def test_chinese_money_uses_yi_or_zhao_and_never_western_words(amount: Decimal) -> None:
    text = formatting.money(amount, "zh-TW")
    assert text.endswith("美元")
    assert ("億" in text) != ("兆" in text)
    assert not any(word in text for word in ("billion", "trillion", "None", "$"))


@given(amounts)
def test_english_money_is_dollars_with_a_scale_word(amount: Decimal) -> None:
    text = formatting.money(amount, "en")
    assert text.startswith("$")
    assert text.split()[-1] in ("million", "billion", "trillion")


@given(st.decimals(min_value=D("1e12"), max_value=D("9.99e13"), places=0))
def test_compact_money_reads_back_within_rounding(amount: Decimal) -> None:
    # "$8.7 trillion" must mean 8.7e12 (to the 2 fraction digits shown), in both languages.
    en = D(formatting.money(amount, "en").removeprefix("$").removesuffix(" trillion").replace(",", ""))
    zh = D(formatting.money(amount, "zh-TW").removesuffix("兆美元").replace(",", ""))
    assert abs(en * D("1e12") - amount) <= D("0.005e12")
    assert en == zh


@given(st.decimals(min_value=D("0.01"), max_value=D(100), places=4))
def test_percent_never_rounds_a_nonzero_share_to_zero(value: Decimal) -> None:
    text = formatting.percent(value, "en")
    assert text.endswith("%")
    assert text not in ("0%", "0.00%")
