"""Every answer states the same facts in every language, and Chinese answers are Chinese.

- Fact parity: for every request, each language's answer used the same fact ids (plus source, opinion and
  timeline keys), so no figure can appear in one language and not another. A new language in bot.facts.LANGS
  (zh-CN) joins the comparison by itself.
- zh-TW: no Latin word outside a short allow-list, no Simplified-only character (hanzidentifier is the oracle),
  Taiwan typography, and command hints a Chinese reader can type as shown.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import hanzidentifier  # type: ignore[import-untyped]
import pytest

from bot import chart
from bot.allocation import parse_allocation
from bot.answers import AnswerContext, answer
from bot.facts import LANGS, Facts, Lang
from bot.inflow import MarketCap, Pool, estimate
from bot.render import Renderer
from bot.requests import InflowRequest, K401Request, LanguageRequest, OpinionsRequest, Topic, parse_request
from tests.answer_matrix import CASES, Case, shown_text

# Every Chinese answer language gets the no-English check; the Traditional script checks are for zh-TW (a
# Simplified zh-CN brings its own mirror-image check).
CHINESE: tuple[Lang, ...] = tuple(lang for lang in LANGS if lang.startswith("zh"))


def wrong_script(text: str, lang: Lang) -> list[str]:
    return simplified_only(text) if lang == "zh-TW" else []


# ---------------------------------------------------------------- fact parity


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_language_states_the_same_facts(case: Case, ctx: AnswerContext) -> None:
    used = {lang: case.render(lang, ctx).facts_used for lang in LANGS}
    first = used[LANGS[0]]
    for lang, facts_used in used.items():
        assert set(facts_used) == set(first), f"{lang} differs: {set(facts_used) ^ set(first)}"


@pytest.mark.parametrize("case", [c for c in CASES if not c.name.startswith(("error", "/language"))], ids=str)
def test_content_answers_record_their_facts(case: Case, ctx: AnswerContext) -> None:
    result = case.render("en", ctx)
    if not result.is_error and not case.name.startswith("/help"):
        assert result.facts_used, "an answer with figures must record which facts it used"


def test_parity_catches_a_figure_shown_in_one_language_only(facts: Facts, tmp_path: Path) -> None:
    # One language's template looks up a fact the other does not: the recorded sets differ.
    for lang in LANGS:
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "words.j2").write_text("", encoding="utf-8")
        body = "{{ fact('assets_ira_2025q1')|fv }}" if lang == "en" else "{{ order.signed|date }}"
        (tmp_path / lang / "t.j2").write_text("{% block title %}" + body + "{% endblock %}", encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "macros.j2").write_text("", encoding="utf-8")
    renderer = Renderer(facts, tmp_path)
    used = {lang: set(renderer.render("t", lang, uses=["opinion:kim"]).facts_used) for lang in LANGS}
    assert used["en"] == {"assets_ira_2025q1", "opinion:kim"}
    assert used["zh-TW"] == {"opinion:kim"}


def test_facts_used_survive_the_answer_cache_round_trip(ctx: AnswerContext) -> None:
    from bot.render import answer_from_json, answer_to_json

    result = answer(parse_request("/inflow 2%", ctx.facts), "zh-TW", ctx)
    assert answer_from_json(answer_to_json(result)) == result
    assert {"assets_401k_2025q1", "assets_dc_2025q1", "assets_retirement_2025q1"} <= set(result.facts_used)


# ---------------------------------------------------------------- no English in Chinese answers

# Latin-script words a Chinese reader expects: acronyms, proper names of people, firms and products.
ALLOWED_WORDS = {
    "ETF", "ERISA", "ICI", "SEC", "DOL", "IRA", "TSP", "BTC", "ETH", "UTC",
    "CoinGecko", "CoinMarketCap", "Discord", "Fidelity", "CNN", "Bitwise", "Bankrate", "Kai",
    "Matt", "Hougan", "Ji", "Hun", "Kim", "Ted", "Rossman", "Christopher", "Bailey", "Philitsa", "Hanson",
}  # fmt: skip
# Multi-word proper names (firms, the order's official title) and plan names like 401(k).
ALLOWED_PHRASES = (
    "Democratizing Access to Alternative Assets for 401(k) Investors",
    "Crypto Council for Innovation",
    "Cerulli Associates",
    "Allvue Systems",
    "Eversheds Sutherland",
    "J.P. Morgan",
    "Morgan Lewis",
    "CoinGecko API",
)
_PLAN_NAME = re.compile(r"\d{3}\([a-z]\)|§?72\(t\)")
_URL = re.compile(r"\]\(https?://[^)\s]+\)|https?://\S+")
_CODE_ID = re.compile(r"`[0-9a-f]{8,16}`")
_COMMAND = re.compile(r"/(?:401k|inflow|opinions|sources|language|help)\b")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z.']*")


def latin_leaks(text: str, echo: str = "") -> list[str]:
    """Latin-script words in `text` that are not on the allow-list (user text, URLs and commands excepted)."""
    if echo:
        text = text.replace(echo, " ")
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " ")
    for pattern in (_URL, _CODE_ID, _COMMAND, _PLAN_NAME):
        text = pattern.sub(" ", text)
    return [w for w in _LATIN_WORD.findall(text) if w.rstrip(".") not in ALLOWED_WORDS]


def simplified_only(text: str) -> list[str]:
    return sorted({c for c in text if hanzidentifier.identify(c) == hanzidentifier.SIMPLIFIED})


def test_the_checks_can_fail() -> None:
    assert latin_leaks("資料來源：Press reports citing CoinGecko") == ["Press", "reports", "citing"]
    assert latin_leaks("401(k) 計畫、ETF 與 Matt Hougan；`/401k 主題:時間軸`") == []
    assert simplified_only("退休资产") == ["产", "资"]
    assert simplified_only("退休資產") == []


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_chinese_answers_have_no_english_and_no_simplified_only_characters(
    case: Case, lang: Lang, ctx: AnswerContext
) -> None:
    text = shown_text(case.render(lang, ctx))
    assert latin_leaks(text, case.echo) == []
    assert wrong_script(text, lang) == []


@pytest.mark.parametrize("kind", ["live", "cached"])
def test_live_market_source_line_is_chinese_too(kind: str, ctx: AnswerContext) -> None:
    import datetime as dt

    live = MarketCap(
        usd=Decimal("3.5e12"),
        as_of=dt.datetime(2026, 11, 30, 2, 10, tzinfo=dt.UTC),
        kind=kind,  # type: ignore[arg-type]
        source="CoinGecko API",
        age_minutes=None if kind == "live" else 25,
        btc_usd=Decimal(91000),
        eth_usd=Decimal(3000),
    )
    live_ctx = AnswerContext(ctx.facts, ctx.renderer, live)
    for lang in CHINESE:
        text = shown_text(answer(parse_request("/inflow 2%", ctx.facts), lang, live_ctx))
        assert latin_leaks(text) == [] and wrong_script(text, lang) == []
        assert "比特幣：91,000美元・以太幣：3,000美元" in text or lang != "zh-TW"


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("pool", list(Pool))
def test_chart_labels_are_chinese(lang: Lang, pool: Pool, ctx: AnswerContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every string the chart draws, captured from the real figure (a font is forced so the Chinese path runs).
    figures = []
    new_figure = chart._new_figure

    def capture() -> object:
        figures.append(new_figure())
        return figures[-1]

    monkeypatch.setattr(chart, "_new_figure", capture)
    est = estimate(parse_allocation("1-5%"), pool, ctx.facts, MarketCap.from_config(ctx.facts))
    import warnings

    from matplotlib.text import Text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DejaVu Sans has no CJK glyphs; the strings are what is checked
        drawn = chart.render_inflow_chart(est, lang, cjk_font="DejaVu Sans")
    assert drawn.label_lang == lang
    text = "\n".join(t.get_text() for t in figures[0].findobj(Text))
    assert "投入加密貨幣" in text or lang != "zh-TW"
    assert latin_leaks(text) == []
    assert wrong_script(text, lang) == []
    if lang == "zh-TW":
        assert typography_problems(text, ctx.facts.article.title) == []


# ---------------------------------------------------------------- Taiwan typography

_CJK = "\u4e00-\u9fff"
_HALF_WIDTH_NEXT_TO_CJK = re.compile(rf"[{_CJK}][,;:!?()]|[,;:!?(][{_CJK}]")
_SPACE_BY_NUMBER = re.compile(rf"[{_CJK}] \d|\d%? [{_CJK}]")
_PLAN_NAME_TOUCHING_CJK = re.compile(rf"[{_CJK}]\d{{3}}\([a-z]\)|\d{{3}}\([a-z]\)[{_CJK}]")
_UNGROUPED = re.compile(r"(?<![\d,.])\d{4,}(?:\.\d+)?[萬億兆]")


def typography_problems(text: str, article_title: str) -> list[str]:
    text = re.sub(r"`[^`]*`", " ", text)  # commands are typed as shown
    text = _URL.sub(" ", text).replace(article_title, "X")
    problems = [f"no space around {m[0]!r}" for m in _PLAN_NAME_TOUCHING_CJK.finditer(text)]
    text = _PLAN_NAME.sub("X", text)  # 401(k) is a Latin-script term: a space sets it off from Chinese
    problems += [f"half-width punctuation: {m[0]!r}" for m in _HALF_WIDTH_NEXT_TO_CJK.finditer(text)]
    problems += [f"space next to a number: {m[0]!r}" for m in _SPACE_BY_NUMBER.finditer(text)]
    problems += [f"ungrouped amount: {m[0]!r}" for m in _UNGROUPED.finditer(text)]
    depth = 0
    for char in text:
        if char == "「":
            if depth:
                problems.append("「」 inside 「」: the inner pair must be 『』")
            depth += 1
        elif char == "」":
            depth = max(0, depth - 1)
    if "高級" in text:
        problems.append("高級 for a senior title: Taiwan usage is 資深")
    return problems


def test_typography_check_can_fail() -> None:
    problems = typography_problems("原文「超過「4,300 億美元」」(約)，高級分析師", "x")
    assert "space next to a number: '0 億'" in problems
    assert "「」 inside 「」: the inner pair must be 『』" in problems
    assert "half-width punctuation: '(約'" in problems
    assert "高級 for a senior title: Taiwan usage is 資深" in problems
    assert typography_problems("新增買盤4340億美元", "x") == ["ungrouped amount: '4340億'"]
    assert typography_problems("開放401(k)投資人", "x") == ["no space around '放401(k)'"]
    assert typography_problems("新增買盤 **4,340億美元**，截至2025年3月31日。`/opinions 立場:審慎`", "x") == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_zh_tw_answers_follow_taiwan_typography(case: Case, ctx: AnswerContext) -> None:
    text = shown_text(case.render("zh-TW", ctx))
    if case.echo:
        text = text.replace(case.echo, "")
    assert typography_problems(text, ctx.facts.article.title) == []


# ---------------------------------------------------------------- what people see, they can type


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/opinions stance:支持", OpinionsRequest("supportive")),
        ("/opinions 立場:審慎", OpinionsRequest("cautious")),
        ("/opinions 立場：批評", OpinionsRequest("critical")),
        ("/opinions 支持", OpinionsRequest("supportive")),
        ("/opinions 分析師:傳統金融", OpinionsRequest(None, "tradfi")),
        ("/opinions 分析師:Rossman", OpinionsRequest(None, "rossman")),
        ("/401k 主題:時間軸", K401Request(Topic.TIMELINE)),
        ("/401k topic:運作規則", K401Request(Topic.RULES)),
        ("/401k topic:Timeline: before and after the order", K401Request(Topic.TIMELINE)),
        ("/401k 主題:How a 401(k) works", K401Request(Topic.RULES)),
        ("/language 語言:繁體中文", LanguageRequest("zh-TW")),
        ("/language 語言:自動（依 Discord 語言）", LanguageRequest("auto")),
    ],
)
def test_console_accepts_the_labels_it_displays(line: str, expected: object, ctx: AnswerContext) -> None:
    assert parse_request(line, ctx.facts) == expected


@pytest.mark.parametrize(
    ("line", "pool", "allocation"),
    [
        ("/inflow 2% 資金池:全部確定提撥制計畫", Pool.DC, "2%"),
        ("/inflow 配置比例:1-5% 資金池:401(k) 計畫", Pool.K401, "1-5%"),
        ("/inflow 資金池:全美退休資產 配置比例:3%", Pool.RETIREMENT, "3%"),
        ("/inflow 2% pool:All US retirement assets", Pool.RETIREMENT, "2%"),
    ],
)
def test_console_accepts_chinese_option_names_and_pool_labels(
    line: str, pool: Pool, allocation: str, ctx: AnswerContext
) -> None:
    request = parse_request(line, ctx.facts)
    assert isinstance(request, InflowRequest)
    assert request.pool is pool and request.allocation_text == allocation


_HINT = re.compile(r"`(/[^`]+)`")


@pytest.mark.parametrize("lang", LANGS)
def test_every_command_hint_can_be_typed_as_shown(lang: Lang, ctx: AnswerContext) -> None:
    hints: set[str] = set()
    for case in CASES:
        hints.update(_HINT.findall(shown_text(case.render(lang, ctx))))
    assert len(hints) >= 8
    for hint in hints:
        parse_request(hint, ctx.facts)  # raises UserInputError if a reader could not type it


def test_chinese_hints_use_the_names_a_chinese_discord_client_shows(ctx: AnswerContext) -> None:
    labels = ctx.facts.labels
    text = "\n".join(shown_text(c.render("zh-TW", ctx)) for c in CASES)
    assert f"`/401k {labels.option_names['topic'].zh_tw}:{labels.topics['timeline'].zh_tw}`" in text
    assert f"`/opinions {labels.option_names['stance'].zh_tw}:{labels.stances['cautious'].zh_tw}`" in text
    assert f"`/opinions {labels.option_names['analyst'].zh_tw}:Rossman`" in text
    assert f"`/inflow {labels.option_names['allocation'].zh_tw}:2%`" in text
    assert "topic:" not in text and "stance:" not in text and "analyst:" not in text and "pool:" not in text
