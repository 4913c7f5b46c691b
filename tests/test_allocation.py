from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.allocation import (
    MAX_INPUT_LENGTH,
    Allocation,
    AllocationError,
    AllocationErrorReason,
    parse_allocation,
)

D = Decimal
FULL_WIDTH = str.maketrans("0123456789.%", "０１２３４５６７８９．％")


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2%", "2", "2"),
        ("2", "2", "2"),
        ("2 %", "2", "2"),
        (" 2% ", "2", "2"),
        ("0.5%", "0.5", "0.5"),
        (".5%", "0.5", "0.5"),
        ("2.5％", "2.5", "2.5"),
        ("２％", "2", "2"),
        ("２.５％", "2.5", "2.5"),
        ("1-5%", "1", "5"),
        ("1%-5%", "1", "5"),
        ("1%–5%", "1", "5"),
        ("1 — 5 %", "1", "5"),
        ("1~5%", "1", "5"),
        ("1～5％", "1", "5"),
        ("1 to 5%", "1", "5"),
        ("1 TO 5", "1", "5"),
        ("1至5%", "1", "5"),
        ("2-2%", "2", "2"),
        ("100%", "100", "100"),
        ("10.0%", "10", "10"),
        ("0.0001%", "0.0001", "0.0001"),
        ("+3%", "3", "3"),
    ],
)
def test_accepted_inputs(text: str, low: str, high: str) -> None:
    assert parse_allocation(text) == Allocation(D(low), D(high))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", AllocationErrorReason.EMPTY),
        ("   ", AllocationErrorReason.EMPTY),
        ("abc", AllocationErrorReason.NOT_A_NUMBER),
        ("2%%", AllocationErrorReason.NOT_A_NUMBER),
        ("1,5%", AllocationErrorReason.NOT_A_NUMBER),
        ("@everyone", AllocationErrorReason.NOT_A_NUMBER),
        ("<@123456789>", AllocationErrorReason.NOT_A_NUMBER),
        ("1e3", AllocationErrorReason.NOT_A_NUMBER),
        ("-2%", AllocationErrorReason.NEGATIVE),
        ("1--5%", AllocationErrorReason.NEGATIVE),
        ("0", AllocationErrorReason.ZERO),
        ("0.000%", AllocationErrorReason.ZERO),
        ("0-5%", AllocationErrorReason.ZERO),
        ("100.01%", AllocationErrorReason.OVER_100),
        ("1-150%", AllocationErrorReason.OVER_100),
        ("nan", AllocationErrorReason.NAN_INF),
        ("inf%", AllocationErrorReason.NAN_INF),
        ("Infinity", AllocationErrorReason.NAN_INF),
        ("1" * (MAX_INPUT_LENGTH + 1), AllocationErrorReason.TOO_LONG),
        ("5-1%", AllocationErrorReason.RANGE_REVERSED),
        ("10 to 2", AllocationErrorReason.RANGE_REVERSED),
    ],
)
def test_rejected_inputs_carry_a_reason(text: str, reason: AllocationErrorReason) -> None:
    with pytest.raises(AllocationError) as info:
        parse_allocation(text)
    assert info.value.reason is reason
    assert info.value.text == text


percents = st.decimals(min_value=D("0.01"), max_value=D(100), places=2, allow_nan=False, allow_infinity=False)


@given(percents)
def test_any_percentage_written_plainly_parses_back_exactly(value: Decimal) -> None:
    assert parse_allocation(f"{value}%").low == value
    assert parse_allocation(str(value)).low == value


@given(percents)
def test_full_width_spelling_means_the_same(value: Decimal) -> None:
    assert parse_allocation(f"{value}%".translate(FULL_WIDTH)) == parse_allocation(f"{value}%")


@given(percents, percents, st.sampled_from(["-", "–", "~", " to ", "%-", "% – "]))
def test_ranges_parse_in_order_or_say_reversed(a: Decimal, b: Decimal, sep: str) -> None:
    text = f"{a}{sep}{b}%"
    if a <= b:
        assert parse_allocation(text) == Allocation(a, b)
    else:
        with pytest.raises(AllocationError) as info:
            parse_allocation(text)
        assert info.value.reason is AllocationErrorReason.RANGE_REVERSED


@given(st.text(max_size=60))
def test_arbitrary_text_either_parses_into_bounds_or_raises_a_typed_error(text: str) -> None:
    try:
        allocation = parse_allocation(text)
    except AllocationError as exc:
        assert exc.reason in AllocationErrorReason
    else:
        assert D(0) < allocation.low <= allocation.high <= D(100)
