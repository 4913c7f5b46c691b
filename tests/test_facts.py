from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.facts import ConfigError, Facts, load_facts
from bot.domain.paths import config_dir

# Every row of ../shared/facts-verified.md: (fact id, value, unit, as-of).
VERIFIED = [
    ("assets_401k_2025q1", "8.7", "usd_trillion", "2025-03-31"),
    ("assets_401k_2025q2", "9.3", "usd_trillion", "2025-06-30"),
    ("assets_401k_2025q3", "10.0", "usd_trillion", "2025-09-30"),
    ("assets_retirement_2025q1", "43.4", "usd_trillion", "2025-03-31"),
    ("assets_ira_2025q1", "16.8", "usd_trillion", "2025-03-31"),
    ("assets_gov_db_2025q1", "8.9", "usd_trillion", "2025-03-31"),
    ("assets_private_db_2025q1", "3.2", "usd_trillion", "2025-03-31"),
    ("assets_annuities_2025q1", "2.4", "usd_trillion", "2025-03-31"),
    ("assets_dc_2025q1", "12.2", "usd_trillion", "2025-03-31"),
    ("assets_dc_press_rounding", "12.5", "usd_trillion", "2025-03-31"),
    ("assets_403b_2025q1", "1.4", "usd_trillion", "2025-03-31"),
    ("assets_457_2025q1", "0.477", "usd_trillion", "2025-03-31"),
    ("assets_tsp_2025q1", "0.936", "usd_trillion", "2025-03-31"),
    ("assets_other_dc_2025q1", "0.735", "usd_trillion", "2025-03-31"),
    # reader-questions.md Q11 [P]: ICI's Q3 2025 release (issue 20), the defaults
    ("assets_retirement_2025q3", "48.1", "usd_trillion", "2025-09-30"),
    ("assets_dc_2025q3", "13.9", "usd_trillion", "2025-09-30"),
    ("assets_ira_2025q3", "18.9", "usd_trillion", "2025-09-30"),
    ("assets_403b_2025q3", "1.5", "usd_trillion", "2025-09-30"),
    ("assets_457_2025q3", "532", "usd_billion", "2025-09-30"),
    ("assets_other_dc_2025q3", "875", "usd_billion", "2025-09-30"),
    ("assets_gov_db_2025q3", "9.5", "usd_trillion", "2025-09-30"),
    ("assets_private_db_2025q3", "3.1", "usd_trillion", "2025-09-30"),
    ("assets_annuities_2025q3", "2.6", "usd_trillion", "2025-09-30"),
    ("participants_401k_active", "72.2", "people_million", "2019-12-31"),
    ("participants_dc_order", "90", "people_million", "2025-08-07"),
    ("workers_participating", "56", "percent", "2025-03-31"),
    ("workers_private_access", "72", "percent", "2025-03-31"),
    ("expense_ratio_401k_equity", "0.26", "percent", "2024-12-31"),
    ("expense_ratio_industry_equity", "0.40", "percent", "2024-12-31"),
    ("alt_fee_management", "2", "percent", "current"),
    ("alt_fee_performance", "20", "percent", "current"),
    ("early_withdrawal_age", "59.5", "years", "current"),
    ("early_withdrawal_additional_tax", "10", "percent", "current"),
    ("crypto_mcap_2025_08_07", "3.9", "usd_trillion", "2025-08-07"),
    ("crypto_mcap_2025_08_14", "4.18", "usd_trillion", "2025-08-14"),
    ("crypto_mcap_article", "3.8", "usd_trillion", "2025-08-07"),
    ("btc_change_2025_08_07", "2", "percent", "2025-08-07"),
    ("btc_price_2025_08_07", "116000", "usd", "2025-08-07"),
    ("btc_price_2025_08_08", "117500", "usd", "2025-08-08"),
    ("btc_price_2025_08_14", "120000", "usd", "2025-08-14"),
    ("btc_record_aug_2025", "124000", "usd", "2025-08-14"),
    ("eth_change_2025_08_07", "7", "percent", "2025-08-07"),
    ("eth_price_2025_08_07", "3800", "usd", "2025-08-07"),
    ("eth_price_2025_08_08", "4012", "usd", "2025-08-08"),
    ("eth_price_2025_08_09", "4200", "usd", "2025-08-09"),
    ("eth_price_2025_08_14", "4780", "usd", "2025-08-14"),
    ("allocation_scenario_low", "1", "percent", "2025-08-07"),
    ("allocation_scenario_high", "5", "percent", "2025-08-07"),
    ("allocation_scenario_young", "10", "percent", "2025-08-07"),
    ("order_dol_deadline", "180", "days", "2025-08-07"),
]


@pytest.mark.parametrize(("fact_id", "value", "unit", "as_of"), VERIFIED)
def test_verified_figures_are_in_the_facts_file(facts: Facts, fact_id: str, value: str, unit: str, as_of: str) -> None:
    fact = facts.fact(fact_id)
    assert fact.value == Decimal(value)
    assert fact.unit == unit
    # Statutory rules and conventions are "current", not dated to the order.
    assert fact.as_of == (as_of if as_of == "current" else dt.date.fromisoformat(as_of))
    assert facts.source_of(fact).publisher.en and facts.source_of(fact).publisher.zh_tw


def test_the_press_rounded_dc_total_is_credited_to_press_reports_not_ici(facts: Facts) -> None:
    source = facts.source_of(facts.fact("assets_dc_press_rounding"))
    assert source.publisher.en == "Press reports on the order"
    assert "ICI" not in source.publisher.en
    assert facts.source_of(facts.fact("assets_dc_2025q1")).publisher.en == "Investment Company Institute (ICI)"


def test_timeline_rows_are_the_verified_steps_in_order(facts: Facts) -> None:
    steps = facts.timeline.step
    assert [(s.date.isoformat(), s.id) for s in steps] == [
        ("2022-03-10", "dol_caution_2022"),
        ("2022-04-26", "fidelity_2022"),
        ("2025-05-28", "dol_rescission_2025"),
        ("2025-08-07", "order_signed"),
        ("2025-08-12", "pe_statement_rescinded"),
        # reader-questions.md's "Timeline additions" graded [P] or [S2] (issue 20)
        ("2025-08-12", "cea_paper"),
        ("2025-08-15", "sec_adi"),
        ("2025-09-23", "dol_ao_2025_04a"),
        ("2025-10-01", "shutdown"),
        ("2025-10-14", "rica"),
        ("2025-10-29", "senators_letter"),
        ("2025-12-02", "vanguard"),
        ("2026-01-07", "sonderling"),
        ("2026-01-12", "warren_sec"),
        ("2026-01-13", "omb_review"),
        ("2026-01-14", "empower_blackstone"),
        ("2026-01-16", "intel_cert"),
        ("2026-01-28", "atkins_cnbc"),
        ("2026-02-03", "deadline"),
        ("2026-03-30", "rule_released"),
        ("2026-03-31", "proposed_rule"),
        ("2026-06-01", "comment_period"),
        ("2026-07-09", "still_proposed"),
    ]
    assert facts.timeline.reviewed == dt.date(2026, 12, 6)
    assert all(s.source in facts.sources for s in steps)


def test_timeline_rows_state_the_same_numbers_in_both_languages(facts: Facts) -> None:
    # A figure written into a row's text cannot drift between languages.
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    def numbers(text: str) -> list[str]:
        text = re.sub(r"\b(" + "|".join(months) + r")\b", lambda m: str(months.index(m[1]) + 1), text)
        return sorted(re.findall(r"\d+(?:[.,]\d+)*", text))

    for step in facts.timeline.step:
        assert numbers(step.text.en) == numbers(step.text.zh_tw), step.id


def test_timeline_out_of_date_order_is_refused(config_copy: Path) -> None:
    _edit(config_copy / "facts.toml", "date = 2022-03-10", "date = 2025-12-10")
    assert "timeline steps must be in date order" in _error(config_copy)


def test_values_stay_exact_decimals(facts: Facts) -> None:
    assert facts.fact("assets_401k_2025q1").amount == Decimal("8700000000000")
    assert facts.fact("assets_457_2025q1").amount == Decimal("477000000000")


def test_article_labels_are_kept_where_it_differs(facts: Facts) -> None:
    assert facts.fact("assets_dc_2025q1").article_says == "總資產12.5兆美元"  # the article's own words only
    assert "attributed to 401(k)s, is a press rounding" in facts.fact("assets_dc_2025q1").note.en
    assert "60%" in (facts.fact("workers_participating").article_says or "")
    assert "not an all-in" in facts.fact("expense_ratio_401k_equity").note.en
    assert facts.fact("crypto_mcap_2025_08_14").article_says == "4.2兆美元上下"
    assert facts.fact("crypto_mcap_2025_08_07").article_says == "約3.8兆美元"


def test_defaults_pick_the_401k_pool_and_the_order_day_market_cap(facts: Facts) -> None:
    # The latest verified ICI quarter (Q3 2025, issue 20); the article's Q1 figures stay for its correction.
    assert (facts.defaults.pool_401k, facts.defaults.pool_dc, facts.defaults.pool_retirement) == (
        "assets_401k_2025q3",
        "assets_dc_2025q3",
        "assets_retirement_2025q3",
    )
    assert facts.defaults.market_cap == "crypto_mcap_2025_08_07"


def test_order_name_and_date(facts: Facts) -> None:
    assert facts.order.name == "Democratizing Access to Alternative Assets for 401(k) Investors"
    assert facts.order.signed == dt.date(2025, 8, 7)
    assert facts.order.dol_deadline_days == 180


def test_opinions_cover_the_six_views_with_stances(facts: Facts) -> None:
    stances = {o.name.en: o.stance for o in facts.opinions}
    assert stances == {
        "Matt Hougan": "supportive",
        "Ji Hun Kim": "supportive",
        "Ted Rossman": "cautious",
        "Christopher Bailey": "cautious",
        "Philitsa Hanson": "critical",
        "Traditional finance": "critical",
    }
    assert "多數計畫提供者不願率先接受" in facts.opinion("rossman").quotes[0].zh_tw
    assert [o.id for o in facts.opinions if not o.is_analyst] == ["tradfi"]


# ---------------------------------------------------------------- broken files


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(config_dir(), target)
    return target


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _error(directory: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_facts(directory, today=dt.date(2026, 12, 31))
    return str(info.value)


def test_missing_field_names_file_entry_and_field(config_copy: Path) -> None:
    _edit(
        config_copy / "facts.toml",
        'unit = "usd_trillion"\nas_of = 2025-03-31\nreviewed = 2026-11-30\nsource = "ici_q1_2025"\n'
        'label = { en = "401(k) plan assets",',
        'as_of = 2025-03-31\nreviewed = 2026-11-30\nsource = "ici_q1_2025"\nlabel = { en = "401(k) plan assets",',
    )
    message = _error(config_copy)
    assert "facts.toml" in message
    assert "id='assets_401k_2025q1'" in message
    assert "field 'unit'" in message
    assert "Field required" in message
    assert message.count("\n") == 0  # one clear line, not a traceback


def test_wrong_type_names_the_field(config_copy: Path) -> None:
    _edit(config_copy / "facts.toml", 'value = "43.4"', 'value = "lots"')
    message = _error(config_copy)
    assert re.search(r"facts\.toml: entry fact #\d+ \(id='assets_retirement_2025q1'\), field 'value'", message)


def test_float_value_is_refused_to_keep_decimals_exact(config_copy: Path) -> None:
    _edit(config_copy / "facts.toml", 'value = "43.4"', "value = 43.4")
    assert "write the value as a string" in _error(config_copy)


def test_unknown_stance(config_copy: Path) -> None:
    _edit(config_copy / "opinions.toml", 'stance = "cautious"', 'stance = "bullish"')
    message = _error(config_copy)
    assert "opinions.toml" in message
    assert "id='rossman'" in message
    assert "field 'stance'" in message
    assert "'supportive', 'cautious' or 'critical'" in message


def test_duplicate_id(config_copy: Path) -> None:
    _edit(config_copy / "opinions.toml", 'id = "kim"', 'id = "hougan"')
    assert (
        _error(config_copy)
        == f"{config_copy / 'opinions.toml'}: entry opinion #2 (id='hougan'), field 'id': duplicate id"
    )


def test_date_in_the_future(config_copy: Path) -> None:
    _edit(config_copy / "facts.toml", "as_of = 2025-09-30", "as_of = 2027-09-30")
    message = _error(config_copy)
    assert "id='assets_401k_2025q3'" in message
    assert "field 'as_of'" in message
    assert "2027-09-30 is in the future" in message


def test_unknown_source_reference(config_copy: Path) -> None:
    _edit(config_copy / "facts.toml", 'source = "cmc_press"', 'source = "cmc"')
    assert "field 'source': unknown source 'cmc'" in _error(config_copy)


def test_not_toml(config_copy: Path) -> None:
    (config_copy / "opinions.toml").write_text("[[opinion]\nid = ", encoding="utf-8")
    assert "opinions.toml: not valid TOML" in _error(config_copy)


def test_missing_label(config_copy: Path) -> None:
    _edit(config_copy / "commands.toml", "[topics.risks]", "[topics.risky]")
    assert "entry topics, field 'risks': missing label" in _error(config_copy)


def test_version_changes_when_a_fact_changes(config_copy: Path) -> None:
    before = load_facts(config_copy).version
    _edit(config_copy / "facts.toml", 'value = "43.4"', 'value = "43.5"')
    assert load_facts(config_copy).version != before
