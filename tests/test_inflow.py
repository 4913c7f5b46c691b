from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.answers.build import AnswerContext, answer
from bot.answers.requests import parse_request
from bot.domain.allocation import Allocation, parse_allocation
from bot.domain.facts import Facts
from bot.domain.inflow import MarketCap, Pool, estimate, inflow_usd, pool_fact, share_of_market

D = Decimal
T = D("1e12")
B = D("1e9")


def test_seed_arithmetic_one_percent_of_all_retirement_assets_is_434_billion() -> None:
    # 「超過 4,300 億美元」
    assert inflow_usd(D(1), D("43.4") * T) == D(434) * B


def test_seed_arithmetic_one_percent_of_12_5t_is_125b_about_3_percent_of_3_8t() -> None:
    amount = inflow_usd(D(1), D("12.5") * T)
    assert amount == D(125) * B
    share = share_of_market(amount, D("3.8") * T)
    assert share.quantize(D("0.01")) == D("3.29")


def test_decimal_arithmetic_has_no_float_drift() -> None:
    allocation = parse_allocation("0.3%")
    assert inflow_usd(allocation.low, D("8.7") * T) == D("26100000000")
    assert inflow_usd(D("0.1") + D("0.2"), D(100)) == D("0.3")


def test_default_pools_are_the_labelled_figures(facts: Facts) -> None:
    # ICI Q3 2025, the latest verified quarter (issue 20)
    assert pool_fact(facts, Pool.K401).amount == D("10.0") * T
    assert pool_fact(facts, Pool.DC).amount == D("13.9") * T
    assert pool_fact(facts, Pool.RETIREMENT).amount == D("48.1") * T
    assert {pool_fact(facts, p).as_of for p in Pool} == {dt.date(2025, 9, 30)}


def test_estimate_for_two_percent_of_401k(facts: Facts) -> None:
    est = estimate(Allocation(D(2), D(2)), Pool.K401, facts, MarketCap.from_config(facts))
    assert est.result.low_usd == D(200) * B
    assert est.result.high_usd == D(200) * B
    assert est.result.low_share.quantize(D("0.0001")) == D("5.1282")  # 200 / 3900
    assert est.other_pools[Pool.DC].low_usd == D(278) * B
    assert est.other_pools[Pool.RETIREMENT].low_usd == D(962) * B
    assert Pool.K401 not in est.other_pools
    assert est.market_cap.usd == D("3.9") * T
    assert est.market_cap.as_of == dt.date(2025, 8, 7)
    assert est.market_cap.kind == "config"


def test_range_gives_low_and_high(facts: Facts) -> None:
    est = estimate(Allocation(D(1), D(5)), Pool.K401, facts, MarketCap.from_config(facts))
    assert (est.result.low_usd, est.result.high_usd) == (D(100) * B, D(500) * B)
    assert est.result.is_range


def test_scenarios_are_1_2_5_10_plus_the_users_own(facts: Facts) -> None:
    est = estimate(Allocation(D(3), D(3)), Pool.DC, facts, MarketCap.from_config(facts))
    assert [row.percent for row in est.scenarios] == [D(1), D(2), D(3), D(5), D(10)]
    assert [row.is_users for row in est.scenarios] == [False, False, True, False, False]
    ten = est.scenarios[-1]
    assert ten.by_pool[Pool.RETIREMENT].low_usd == D("4.81") * T


def test_users_value_already_in_the_scenarios_is_not_repeated(facts: Facts) -> None:
    est = estimate(Allocation(D(1), D(5)), Pool.K401, facts, MarketCap.from_config(facts))
    assert [row.percent for row in est.scenarios] == [D(1), D(2), D(5), D(10)]
    assert [row.is_users for row in est.scenarios] == [True, False, True, False]


@given(st.decimals(min_value=D("0.01"), max_value=D(100), places=2))
def test_inflow_is_linear_and_bounded_by_the_pool(percent: Decimal) -> None:
    pool = D("8.7") * T
    amount = inflow_usd(percent, pool)
    assert D(0) < amount <= pool
    assert inflow_usd(percent * 2, pool) == amount * 2 or percent * 2 > 100


def test_a_range_ending_between_the_fixed_scenarios_gets_both_its_own_rows(facts: Facts) -> None:
    # 1 is a fixed scenario, 7 is not: the table must still gain a 7% row, marked as the user's, in order.
    est = estimate(Allocation(D(1), D(7)), Pool.K401, facts, MarketCap.from_config(facts))
    assert [row.percent for row in est.scenarios] == [D(1), D(2), D(5), D(7), D(10)]
    assert [row.is_users for row in est.scenarios] == [True, False, False, True, False]
    assert est.scenarios[3].by_pool[Pool.K401].low_usd == D(700) * B
    both_new = estimate(Allocation(D(3), D("7.5")), Pool.DC, facts, MarketCap.from_config(facts))
    assert [(row.percent, row.is_users) for row in both_new.scenarios] == [
        (D(1), False),
        (D(2), False),
        (D(3), True),
        (D(5), False),
        (D("7.5"), True),
        (D(10), False),
    ]


def test_the_rendered_table_shows_a_ranges_upper_end_as_the_users_row(ctx: AnswerContext) -> None:
    result = answer(parse_request("/inflow 1-7%", ctx.facts), "en", ctx)
    table = next(f for f in result.fields if f.name.startswith("Scenarios")).value.splitlines()
    assert table == [
        "**1%** ◀ yours: $100 billion · $139 billion · $481 billion",
        "2%: $200 billion · $278 billion · $962 billion",
        "5%: $500 billion · $695 billion · $2.4 trillion",
        "**7%** ◀ yours: $700 billion · $973 billion · $3.37 trillion",
        "10%: $1 trillion · $1.39 trillion · $4.81 trillion",
    ]
