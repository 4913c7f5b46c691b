from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from bot.answers import formatting
from bot.answers.build import AnswerContext, answer, answer_error, answer_internal_error, source_pages
from bot.answers.model import Answer, limit_violations
from bot.answers.render import Renderer, escape
from bot.answers.requests import UserInputError, parse_request
from bot.domain.facts import Facts
from bot.domain.language import LANGS, Lang

LINES = [
    "/401k",
    *(f"/401k topic:{t}" for t in ("overview", "rules", "scale", "order", "channels", "impact", "risks", "timeline")),
    "/inflow 2%",
    "/inflow 1-5%",
    "/inflow 0.0001%",
    "/inflow 100%",
    "/inflow ２％ pool:dc",
    "/inflow allocation:1% pool:retirement",
    "/inflow 33.3333% pool:retirement",
    "/opinions",
    "/opinions stance:supportive",
    "/opinions stance:cautious",
    "/opinions stance:critical",
    *(f"/opinions analyst:{a}" for a in ("hougan", "kim", "rossman", "bailey", "hanson", "tradfi")),
    "/sources",
    "/language",
    "/language zh-TW",
    "/help",
]
BAD_LINES = [
    "/inflow",
    "/inflow abc",
    "/inflow -2%",
    "/inflow 0",
    "/inflow 101%",
    "/inflow nan",
    "/inflow " + "9" * 40,
    "/inflow 5-1%",
    "/inflow @everyone",
    "/inflow 2% pool:ira",
    "/401k topic:@here",
    "/opinions stance:bullish",
    "/opinions analyst:<@123456789012345678>",
    "/language fr",
    "/nonsense",
    '/inflow "2%',
]


def _render(line: str, lang: Lang, ctx: AnswerContext) -> Answer:
    try:
        return answer(parse_request(line, ctx.facts), lang, ctx)
    except UserInputError as exc:
        return answer_error(exc, lang, ctx)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("line", LINES + BAD_LINES)
def test_every_answer_fits_discords_limits(line: str, lang: Lang, ctx: AnswerContext) -> None:
    result = _render(line, lang, ctx)
    assert limit_violations(result) == []
    assert result.lang == lang


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", range(4))
def test_every_sources_page_fits(page: int, lang: Lang, ctx: AnswerContext) -> None:
    result = answer(parse_request("/sources", ctx.facts), lang, ctx, page=page)
    assert limit_violations(result) == []


def test_sources_pages_together_list_every_fact_and_source(ctx: AnswerContext) -> None:
    pages = len(source_pages(ctx.facts))
    text = "\n".join(
        f"{f.name}\n{f.value}"
        for page in range(pages)
        for f in answer(parse_request("/sources", ctx.facts), "en", ctx, page=page).fields
    )
    for fact in ctx.facts.facts:
        assert f"{fact.label.en}: **" in text
        assert f"reviewed {formatting.date(fact.reviewed, 'en')})" in text
    for source in ctx.facts.sources.values():
        assert source.title.en in text
    for question in ctx.facts.faq.question:  # the reader-question facts, with their review date
        assert question.short.en in text
        for f in question.fact:
            assert ctx.facts.faq.sources[f.source].publisher.en in text


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_input_is_an_ephemeral_localised_error(line: str, ctx: AnswerContext) -> None:
    en, zh = _render(line, "en", ctx), _render(line, "zh-TW", ctx)
    assert en.is_error and en.ephemeral and zh.is_error
    assert en.description and zh.description and en.description != zh.description


def test_limit_checker_catches_every_kind_of_violation() -> None:
    from bot.answers.model import EmbedField

    bad = Answer(
        lang="en",
        title="x" * 257,
        description="None of {{ this }}",
        fields=(*tuple(EmbedField("n", "v" * 1025) for _ in range(26)), EmbedField(" ", "v")),
        footer="f" * 2049,
        content="c" * 2001,
    )
    problems = "\n".join(limit_violations(bad))
    for expected in (
        "title is 257",
        "27 fields",
        "field 0 value is 1025",
        "field 26 is empty",
        "footer is 2049",
        "content is 2001",
        "embed text",
        "template debris",
    ):
        assert expected in problems


@pytest.mark.parametrize(
    ("typed", "forbidden"),
    [
        ("@everyone", "@everyone"),
        ("@here", "@here"),
        ("<@123456789012345678>", "<@123"),
        ("<@&123456789012345678>", "<@&"),
        ("**bold** __under__ ~~strike~~", "**bold**"),
        ("`code`", "`code`"),
        ("[link](https://example.invalid)", "[link]("),
        ("line\nbreak", "\n"),
        ("\u202eevil", "\u202e"),
    ],
)
def test_escape_makes_user_text_inert(typed: str, forbidden: str) -> None:
    assert forbidden not in escape(typed)


def test_escape_bounds_length() -> None:
    assert len(escape("9" * 500)) <= 100


def test_echoed_input_in_an_error_pings_nobody(ctx: AnswerContext) -> None:
    result = _render("/inflow @everyone", "en", ctx)
    assert "@everyone" not in result.description
    assert "@\u200beveryone" in result.description
    assert result.description.startswith("“@\u200beveryone” is not a percentage")


def test_inflow_one_percent_of_retirement_in_chinese_says_4810_yi(ctx: AnswerContext) -> None:
    result = _render("/inflow 1% pool:retirement", "zh-TW", ctx)
    assert result.title == "如果全美退休資產總額的1%投入加密貨幣"
    assert result.description.startswith("新增買盤 **4,810億美元**，約為加密貨幣總市值的 **12.33%**。")
    assert "1% × 48.1兆美元 = 4,810億美元（全美退休資產總額，截至2025年9月30日）" in result.description
    assert "不在行政命令範圍內" in result.description


def test_inflow_states_which_401k_figure_and_date_it_used(ctx: AnswerContext) -> None:
    result = _render("/inflow 1%", "en", ctx)
    # The latest verified ICI quarter by default (issue 20), dated.
    assert "1% × $10 trillion = $100 billion (401(k) plan assets, as of Sep 30, 2025)" in result.description
    assert result.description.startswith("**$100 billion** of new buying — about **2.56%**")
    market = next(f for f in result.fields if f.name == "Crypto market cap used")
    assert market.value == "$3.9 trillion — as of Aug 7, 2025 (Fortune, Aug 7, 2025, citing CoinGecko; no live data)"


def test_dc_pool_explains_the_articles_mislabel(ctx: AnswerContext) -> None:
    result = _render("/inflow 1% pool:dc", "en", ctx)
    assert "$139 billion" in result.description
    rounding = (
        "The article's “total” of $12.5 trillion, which it attributes to 401(k)s, is press reports' rounding of this"
        " total at the time (ICI: $12.2 trillion at Mar 31, 2025)."
    )
    assert rounding in result.description


def test_scenario_table_marks_the_users_row(ctx: AnswerContext) -> None:
    result = _render("/inflow 3%", "en", ctx)
    table = next(f for f in result.fields if f.name.startswith("Scenarios")).value.splitlines()
    assert table == [
        "1%: $100 billion · $139 billion · $481 billion",
        "2%: $200 billion · $278 billion · $962 billion",
        "**3%** ◀ yours: $300 billion · $417 billion · $1.44 trillion",
        "5%: $500 billion · $695 billion · $2.4 trillion",
        "10%: $1 trillion · $1.39 trillion · $4.81 trillion",
    ]


def test_opinion_with_analyst_shows_the_full_quote_marked_as_translation(ctx: AnswerContext) -> None:
    en = _render("/opinions analyst:Bankrate", "en", ctx)
    assert en.title == "Ted Rossman on the 401(k) order"
    assert (
        "> “This will be a slow process. Most plan providers won't want to go first.” … "
        "“keep it simple: track the market and keep fees low”"
    ) in en.description
    assert "translated by us" in en.description
    zh = _render("/opinions analyst:rossman", "zh-TW", ctx)
    quote = "> 「這將是個緩慢的過程。多數計畫提供者不願率先接受。」……「保持簡單，追蹤市場、保持低費用」"
    assert quote in zh.description


def test_opinions_filter_by_stance(ctx: AnswerContext) -> None:
    result = _render("/opinions stance:critical", "en", ctx)
    assert [f.name for f in result.fields] == [
        "🔴 Philitsa Hanson — Allvue Systems",
        "🔴 Traditional finance — Traditional financial institutions (summary of views)",
    ]


def test_paraphrased_view_is_not_presented_as_a_quote(ctx: AnswerContext) -> None:
    result = _render("/opinions analyst:tradfi", "en", ctx)
    assert "no one is quoted" in result.description


def test_401k_rules_cover_the_59_and_a_half_rule(ctx: AnswerContext) -> None:
    result = _render("/401k topic:rules", "en", ctx)
    names = [f.name for f in result.fields]
    assert "The 59½ rule" in names  # issue 20: 59½ in English, not 59.5
    rule = result.fields[names.index("The 59½ rule")].value
    assert "Withdrawals before age 59½ usually" in rule
    assert "**10% additional tax**" in rule and "§72(t)" in rule
    zh = _render("/401k topic:rules", "zh-TW", ctx)
    assert "59.5歲規則" in [f.name for f in zh.fields]


def test_internal_error_has_an_error_id(ctx: AnswerContext) -> None:
    result = answer_internal_error("zh-TW", ctx, "abc12345")
    assert "`abc12345`" in result.description and result.ephemeral


def test_strict_undefined_fails_loudly(facts: Facts, tmp_path: Path) -> None:
    for lang in LANGS:
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "broken.j2").write_text("{% block title %}{{ missing }}{% endblock %}", encoding="utf-8")
        (tmp_path / lang / "words.j2").write_text("", encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "macros.j2").write_text("", encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError):
        Renderer(facts, tmp_path).render("broken", "en")


def test_every_template_exists_in_both_languages() -> None:
    from bot.domain.paths import templates_dir

    en = {p.name for p in (templates_dir() / "en").glob("*.j2")}
    zh = {p.name for p in (templates_dir() / "zh-TW").glob("*.j2")}
    assert en == zh
    assert {"401k.j2", "inflow.j2", "opinions.j2", "sources.j2", "language.j2", "help.j2", "error.j2", "words.j2"} <= en
