"""Each statement the fact-check corrected, pinned in both languages (issue 14)."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from bot.answers import formatting
from bot.answers.build import TIMELINE_STEPS_PER_PAGE, AnswerContext, answer
from bot.answers.requests import Topic, parse_request
from bot.domain.allocation import parse_allocation
from bot.domain.inflow import Pool, inflow_usd, pool_fact
from bot.domain.language import Lang
from tests.answer_matrix import CASES, ask, field, shown_text, text

# shared/ sits beside the repository (CI: beside the clone; here: beside the worktrees' parent).
_REPO = Path(__file__).resolve().parents[1]
SEED = next(
    (p for p in (_REPO.parent / "shared" / "seed", _REPO.parent.parent / "shared" / "seed") if p.is_dir()), None
)


# ---------------------------------------------------------------- what the order does


@pytest.mark.parametrize(
    ("lang", "overclaims", "title", "says"),
    [
        (
            "en",
            ("can now hold crypto", "lets 401(k) plans hold", "what the 7 Aug 2025 order changes"),
            "What the Aug 7, 2025 executive order could change for 401(k)s and crypto",
            "It changes no law or rule by itself: it directs the Department of Labor, with the SEC and the Treasury",
        ),
        (
            "zh-TW",
            ("可以投資加密貨幣了", "讓 401(k) 計畫可以持有", "改變了什麼"),
            "2025年8月7日的行政命令可能為 401(k) 與加密貨幣帶來哪些改變",
            "這道命令本身不改變任何法律或規則，而是指示勞工部會同 SEC 與財政部",
        ),
    ],
)
def test_no_headline_says_the_order_itself_opened_401ks(
    lang: Lang, overclaims: tuple[str, ...], title: str, says: str, ctx: AnswerContext
) -> None:
    overview = ask(ctx, "/401k", lang)
    assert overview.title == title
    assert says in overview.description
    everything = "\n".join(shown_text(c.render(lang, ctx)) for c in CASES)
    everything += "\n" + "\n".join(ctx.facts.label("commands", c, lang) for c in ctx.facts.labels.commands)
    for claim in overclaims:
        assert claim not in everything
    assert ("could change" if lang == "en" else "可能改變") in ctx.facts.label("commands", "401k", lang)


# ---------------------------------------------------------------- quotes vs paraphrase


def _article_quotes() -> set[str]:
    if SEED is None:
        pytest.skip("the seed article (shared/seed beside the repository) is not here")
    article = next(p for p in SEED.glob("*.txt")).read_text(encoding="utf-8")
    # Words verbatim; punctuation width is typography (the article mixes "," and "，"), so compare under NFKC.
    return {unicodedata.normalize("NFKC", q) for q in re.findall(r"「([^」]+)」", article)}


def test_every_quote_is_words_the_article_puts_in_quotation_marks(ctx: AnswerContext) -> None:
    quoted = _article_quotes()
    for opinion in ctx.facts.opinions:
        for quote in opinion.quotes:
            assert unicodedata.normalize("NFKC", quote.zh_tw) in quoted, (opinion.id, quote.zh_tw)


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_quote_blocks_hold_only_quoted_fragments_joined_by_an_ellipsis(lang: Lang, ctx: AnswerContext) -> None:
    quoted = _article_quotes()
    for opinion in ctx.facts.opinions:
        result = ask(ctx, f"/opinions analyst:{opinion.id}", lang)
        blocks = [line[2:] for line in result.description.splitlines() if line.startswith("> ")]
        if not opinion.quotes:
            assert blocks == []
            continue
        assert len(blocks) == 1
        open_, close, joiner = ("“", "”", " … ") if lang == "en" else ("「", "」", "……")
        fragments = blocks[0].split(joiner)
        assert [f[0] + f[-1] for f in fragments] == [open_ + close] * len(opinion.quotes)
        assert [f[1:-1] for f in fragments] == [q.get(lang) for q in opinion.quotes]
        if lang == "zh-TW":
            assert all(unicodedata.normalize("NFKC", f[1:-1]) in quoted for f in fragments)


@pytest.mark.parametrize(
    ("lang", "reported", "best"),
    [
        ("en", "Reported, not quoted: ", "He also said crypto has been the best-performing asset class"),
        ("zh-TW", "轉述（非原話）：", "他也認為加密貨幣是過去十年表現最佳的資產類別"),
    ],
)
def test_reported_speech_is_shown_as_paraphrase(lang: Lang, reported: str, best: str, ctx: AnswerContext) -> None:
    hougan = ask(ctx, "/opinions analyst:hougan", lang).description
    quote_line = next(line for line in hougan.splitlines() if line.startswith("> "))
    assert "best" not in quote_line and "最佳" not in quote_line
    assert reported in hougan and best in hougan


@pytest.mark.parametrize(
    ("lang", "summary_note", "counts"),
    [
        ("en", "no one is quoted, and it is not counted as an analyst", "🔴 Critical 1"),
        ("zh-TW", "沒有引述任何人的原話，也不算作分析師", "🔴 批評1位"),
    ],
)
def test_a_view_that_quotes_no_one_is_a_summary_not_an_analyst(
    lang: Lang, summary_note: str, counts: str, ctx: AnswerContext
) -> None:
    tradfi = ask(ctx, "/opinions analyst:tradfi", lang)
    assert summary_note in tradfi.description
    assert "> " not in tradfi.description
    listing = ask(ctx, "/opinions", lang).description
    assert counts in listing


@pytest.mark.parametrize(
    ("lang", "role", "marked"),
    [
        ("en", "Senior Industry Analyst, Bankrate", "(title translated from the article)"),
        ("zh-TW", "Bankrate 資深產業分析師", "（職稱依原文）"),
    ],
)
def test_titles_are_marked_as_translated_and_use_taiwan_terms(
    lang: Lang, role: str, marked: str, ctx: AnswerContext
) -> None:
    rossman = ask(ctx, "/opinions analyst:rossman", lang).description
    assert role in rossman and marked in rossman
    assert "高級" not in "\n".join(o.role.zh_tw for o in ctx.facts.opinions)


# ---------------------------------------------------------------- rules and taxes


@pytest.mark.parametrize(
    ("lang", "name", "says"),
    [
        ("en", "Hardship withdrawals", "generally owe the 10% additional tax as well as income tax"),
        ("zh-TW", "艱困提領", "一般除了所得稅，也要繳10%的額外稅"),
    ],
)
def test_hardship_withdrawals_owe_the_additional_tax_too(lang: Lang, name: str, says: str, ctx: AnswerContext) -> None:
    assert says in field(ask(ctx, "/401k topic:rules", lang), name)


@pytest.mark.parametrize(
    ("lang", "deferred", "never"),
    [("en", "tax-deferred, not tax-free", ("untaxed", "tax-exempt")), ("zh-TW", "暫不課稅", ("免稅的", "不課稅，"))],
)
def test_tax_inside_the_account_is_deferred_not_exempt(
    lang: Lang, deferred: str, never: tuple[str, ...], ctx: AnswerContext
) -> None:
    rules = text(ctx, "/401k topic:rules", lang)
    assert deferred in rules
    for word in never:
        assert word not in rules


@pytest.mark.parametrize(
    ("lang", "current"),
    [("en", "(IRC §72(t), current rule)"), ("zh-TW", "（美國國稅法§72(t)，現行規定）")],
)
def test_statutory_rules_and_conventions_are_current_not_dated_to_the_order(
    lang: Lang, current: str, ctx: AnswerContext
) -> None:
    assert current in text(ctx, "/401k topic:rules", lang)
    sources = text(ctx, "/sources", lang, page=1)
    word = "current" if lang == "en" else "現行"
    for fact_id in ("early_withdrawal_age", "early_withdrawal_additional_tax", "alt_fee_management"):
        fact = ctx.facts.fact(fact_id)
        shown = f"{fact.label.get(lang)}{': **' if lang == 'en' else '：**'}{formatting.fact_value(fact, lang)}**"
        reviewed = formatting.date(fact.reviewed, lang)
        assert (
            shown + (f" ({word}; reviewed {reviewed})" if lang == "en" else f"（{word}；查核於{reviewed}）") in sources
        )


# ---------------------------------------------------------------- how crypto gets in


@pytest.mark.parametrize(
    ("lang", "absolute", "typical", "exists"),
    [
        (
            "en",
            "cannot buy coins on an exchange",
            "Typically participants choose only",
            ("self-directed brokerage window", "Fidelity", "Apr 26, 2022"),  # announced then (issue 20)
        ),
        (
            "zh-TW",
            "不能拿 401(k) 的錢自己到交易所買幣",
            "一般而言，參與者只能",
            ("自選經紀帳戶", "Fidelity", "2022年4月26日"),
        ),
    ],
)
def test_direct_purchase_is_typical_not_absolute(
    lang: Lang, absolute: str, typical: str, exists: tuple[str, ...], ctx: AnswerContext
) -> None:
    for topic in ("rules", "channels"):
        shown = text(ctx, f"/401k topic:{topic}", lang)
        assert absolute not in shown
        assert typical in shown
        assert all(e in shown for e in exists)
        assert "2022" in shown


@pytest.mark.parametrize(
    ("lang", "before", "channels_before", "which", "vehicles"),
    [
        (
            "en",
            "Could 401(k)s hold crypto before?",
            "Could 401(k)s hold crypto before the order?",
            "Which vehicles?",
            "actively managed vehicles investing in digital assets",
        ),
        (
            "zh-TW",
            "401(k) 以前能投資加密貨幣嗎？",
            "行政命令之前，401(k) 能投資加密貨幣嗎？",
            "透過哪些工具？",
            "投資數位資產的主動管理型工具",
        ),
    ],
)
def test_overview_and_channels_answer_before_and_which_vehicles(
    lang: Lang, before: str, channels_before: str, which: str, vehicles: str, ctx: AnswerContext
) -> None:
    overview, channels = ask(ctx, "/401k", lang), ask(ctx, "/401k topic:channels", lang)
    for answered in (field(overview, before), field(channels, channels_before)):
        assert "Fidelity" in answered and "2022" in answered
    assert vehicles in field(channels, which)
    assert vehicles in overview.description


# ---------------------------------------------------------------- the figures


@pytest.mark.parametrize(
    ("lang", "press"),
    [("en", "Press reports on the order"), ("zh-TW", "行政命令相關媒體報導")],
)
def test_the_press_rounded_12_5t_is_credited_to_press_reports(lang: Lang, press: str, ctx: AnswerContext) -> None:
    sources = text(ctx, "/sources", lang, page=0)
    label = ctx.facts.fact("assets_dc_press_rounding").label.get(lang)
    line = next(line for line in sources.splitlines() if label in line)
    assert press in line and "ICI" in label
    dc = ask(ctx, "/inflow 1% pool:dc", lang).description
    assert ("press reports' rounding" if lang == "en" else "媒體對當時這個總額的約數") in dc


@pytest.mark.parametrize(
    ("lang", "caveat", "short"),
    [
        ("en", "(the federal TSP, government 457 plans, many 403(b)s)", "incl. plans outside the order"),
        ("zh-TW", "（聯邦 TSP、政府457計畫、許多 403(b) 計畫）", "含行政命令範圍外的計畫"),
    ],
)
def test_the_all_dc_pool_always_says_it_includes_plans_the_order_does_not_reach(
    lang: Lang, caveat: str, short: str, ctx: AnswerContext
) -> None:
    assert caveat in ask(ctx, "/inflow 2% pool:dc", lang).description
    assert caveat in text(ctx, "/401k", lang)
    for pool in ("401k", "retirement"):
        dc_field = field(ask(ctx, f"/inflow 2% pool:{pool}", lang), ctx.facts.label("pools", "dc", lang))
        assert short in dc_field
    assert caveat in text(ctx, "/401k topic:scale", lang)


@pytest.mark.parametrize(
    ("lang", "not_price", "over"),
    [
        (
            "en",
            "A share of the market cap is not a price move, and money like this would arrive over years",
            "more than the entire crypto market cap",
        ),
        ("zh-TW", "占總市值的比例不等於價格漲幅，而且這樣的資金會在數年間陸續進場", "比整個加密貨幣市場的總市值還多"),
    ],
)
def test_inflow_says_a_share_is_not_a_price_move_and_flags_more_than_the_market(
    lang: Lang, not_price: str, over: str, ctx: AnswerContext
) -> None:
    for line in ("/inflow 2%", "/inflow 100% pool:retirement", "/inflow 1-5% pool:dc"):
        assert not_price in ask(ctx, line, lang).description
    assert over in ask(ctx, "/inflow 100%", lang).description  # 8.7T is more than a 3.9T market
    assert over not in ask(ctx, "/inflow 2%", lang).description
    assert over in ask(ctx, "/inflow 33.3333% pool:retirement", lang).description
    # The other pools' fields flag it too: 33.3333% of all DC plans is 104% of the market.
    dc = field(ask(ctx, "/inflow 33.3333% pool:retirement", lang), ctx.facts.label("pools", "dc", lang))
    assert ("more than the whole market" if lang == "en" else "比整個市場還多") in dc
    k401 = field(ask(ctx, "/inflow 33.3333% pool:retirement", lang), ctx.facts.label("pools", "401k", lang))
    assert "more than" not in k401 and "還多" not in k401


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
@pytest.mark.parametrize("typed", ["0.0001%", "33.3333%", "0.000123%", "2.5%", "1-5%", "0.005-0.01%"])
@pytest.mark.parametrize("pool", list(Pool))
def test_the_allocation_is_shown_as_typed_and_the_formula_multiplies_out(
    lang: Lang, typed: str, pool: Pool, ctx: AnswerContext
) -> None:
    result = ask(ctx, f"/inflow {typed} pool:{pool.value}", lang)
    allocation = parse_allocation(typed)
    shown = typed.replace("-", "%–") if allocation.is_range else typed
    assert shown in result.title
    assert "<" not in result.title
    formula = result.description.splitlines()[1]
    amount = pool_fact(ctx.facts, pool).amount
    results = [formatting.money(inflow_usd(p, amount), lang) for p in allocation.values]
    product = "–".join(results)
    assert formula.startswith(f"{shown} × {formatting.fact_value(pool_fact(ctx.facts, pool), lang)} = {product}")
    mine = next(line for line in field(result, result.fields[-2].name).splitlines() if "◀" in line)
    assert f"**{allocation.low.normalize():f}%**" in mine or allocation.is_range


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "If 1% of 401(k) plan assets went into crypto"), ("zh-TW", "如果 401(k) 計畫資產的1%投入加密貨幣")],
)
def test_one_percent_means_of_the_assets_not_of_the_plans(lang: Lang, title: str, ctx: AnswerContext) -> None:
    assert ask(ctx, "/inflow 1%", lang).title == title


@pytest.mark.parametrize(
    ("lang", "article", "corrected"),
    [
        (
            "en",
            "The article: 1% of a “total” of $12.5 trillion, which it attributes to 401(k)s, = $125 billion ≈ 3% of a"
            " $3.8 trillion market. The sum holds (3.3%)",
            "1% × $8.7 trillion = **$87 billion** ≈ **2.23%** of $3.9 trillion",
        ),
        (
            "zh-TW",
            # issue 20: only the article's own words inside 「」
            "原文把「總資產12.5兆美元」歸於 401(k)，並算出1% = 1,250億美元，約為3.8兆美元市值的3%。算式沒錯（3.3%）",
            "1% × 8.7兆美元 = **870億美元**，約為3.9兆美元的 **2.23%**",
        ),
    ],
)
def test_the_articles_headline_check_is_shown_with_its_correction(
    lang: Lang, article: str, corrected: str, ctx: AnswerContext
) -> None:
    scale = text(ctx, "/401k topic:scale", lang)
    assert article in scale and corrected in scale
    assert ("not 401(k)s" if lang == "en" else "並不是 401(k)") in scale
    assert round(Decimal(125) / Decimal(3800) * 100, 1) == Decimal("3.3")


# ---------------------------------------------------------------- sources and disclaimers


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_the_source_article_is_named_wherever_it_is_referred_to(lang: Lang, ctx: AnswerContext) -> None:
    word = re.compile(r"\barticle\b", re.IGNORECASE) if lang == "en" else re.compile("原文")
    referring = 0
    for case in CASES:
        shown = shown_text(case.render(lang, ctx))
        if word.search(shown):
            referring += 1
            assert "數十兆美元的資金將衝擊加密市場!" in shown and "Kai" in shown, case.name
        assert "seed" not in shown.lower()
    assert referring >= 10


@pytest.mark.parametrize(("lang", "disclaimer"), [("en", "Not investment advice"), ("zh-TW", "非投資建議")])
def test_disclaimers_in_both_languages(lang: Lang, disclaimer: str, ctx: AnswerContext) -> None:
    for topic in Topic:
        assert disclaimer in ask(ctx, f"/401k topic:{topic.value}", lang).footer
    for line in ("/inflow 2%", "/inflow 1-5% pool:dc", "/inflow 1% pool:retirement"):
        assert disclaimer.lower() in ask(ctx, line, lang).footer.lower()


# ---------------------------------------------------------------- the timeline


@pytest.mark.parametrize(
    ("lang", "as_of", "not_final", "six", "source"),
    [
        (
            "en",
            "As of Dec 6, 2026, the date these sources were last reviewed; later steps may exist",
            "a proposed rule, not a final one",
            "six factors (performance, fees, liquidity, valuation, benchmarks, complexity)",
            "Source: ",
        ),
        (
            "zh-TW",
            "資料截至2026年12月6日（這些來源最近一次查核的日期）；之後可能還有",
            "只有擬議規則，尚無最終規則",
            "六項考量因素（績效、費用、流動性、估值、比較基準、複雜度）",
            "來源：",
        ),
    ],
)
def test_timeline_lists_every_dated_step_with_its_source_and_review_date(
    lang: Lang, as_of: str, not_final: str, six: str, source: str, ctx: AnswerContext
) -> None:
    result = ask(ctx, "/401k topic:timeline", lang)
    assert as_of in result.description
    steps = ctx.facts.timeline.step
    # Paged (issue 20 added the verified rows of reader-questions.md): every step on some page, in order.
    pages = [
        answer(parse_request("/401k topic:timeline", ctx.facts), lang, ctx, page=p)
        for p in range(math.ceil(len(steps) / TIMELINE_STEPS_PER_PAGE))
    ]
    fields = [f for page in pages for f in page.fields if f.name not in ("Where this leaves things", "目前的狀況")]
    assert [f.name for f in fields] == [s.when.get(lang) if s.when else formatting.date(s.date, lang) for s in steps]
    for step, shown in zip(steps, fields, strict=True):
        assert step.text.get(lang) in shown.value
        assert source in shown.value and ctx.facts.sources[step.source].title.get(lang) in shown.value
    everything = "\n".join(shown_text(page) for page in pages)
    assert not_final in everything and six in everything
    for claim in ("nothing has happened", "no further step", "nothing since", "沒有其他進展", "此後沒有"):
        assert claim not in everything


def test_timeline_is_a_topic_everywhere(ctx: AnswerContext) -> None:
    assert Topic("timeline") is Topic.TIMELINE
    select = next(c for c in ask(ctx, "/401k", "zh-TW").controls if c.kind == "select")
    assert ("timeline", "時間軸") in select.options and len(select.options) <= 25
    topic = next(o for o in ctx.facts.labels.slash["401k"].options if o.name == "topic")
    assert topic.choices == "topics" and "timeline" in ctx.facts.labels.topics  # the cog's choices come from here


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_answer_in_every_language_fits_discords_limits(case: object, ctx: AnswerContext) -> None:
    from bot.answers.model import limit_violations
    from bot.domain.language import LANGS
    from tests.answer_matrix import Case

    assert isinstance(case, Case)
    for lang in LANGS:
        assert limit_violations(case.render(lang, ctx)) == []


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_the_chart_shows_the_allocation_as_typed_too(
    lang: Lang, ctx: AnswerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    from matplotlib.text import Text

    from bot.answers import chart
    from bot.domain.inflow import MarketCap, estimate

    figures: list[object] = []
    new_figure = chart._new_figure

    def capture() -> object:
        figures.append(new_figure())
        return figures[-1]

    monkeypatch.setattr(chart, "_new_figure", capture)
    est = estimate(parse_allocation("0.0001%"), Pool.K401, ctx.facts, MarketCap.from_config(ctx.facts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no CJK glyphs in DejaVu Sans; the strings are what is checked
        chart.render_inflow_chart(est, lang, cjk_font="DejaVu Sans")
    drawn = [t.get_text() for t in figures[0].findobj(Text)]  # type: ignore[attr-defined]
    assert any("0.0001%" in t for t in drawn)
    assert not any("<" in t for t in drawn)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "You asked for cautious views; Matt Hougan’s view is supportive, shown below."),
        ("zh-TW", "你要找的是「審慎」立場；Matt Hougan 的看法屬於「支持」，如下。"),
    ],
)
def test_an_analyst_outside_the_asked_stance_is_said_not_hidden(ctx: AnswerContext, lang: Lang, said: str) -> None:
    mismatched = ask(ctx, "/opinions stance:cautious analyst:hougan", lang)
    assert said in mismatched.description
    matching = ask(ctx, "/opinions stance:supportive analyst:hougan", lang)
    assert said.split("；")[0].split(";")[0] not in matching.description
