"""Simplified Chinese for zh-CN readers: generated from zh-TW by OpenCC, mainland money, every surface accepts zh-CN."""

from __future__ import annotations

import io
import re
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import hanzidentifier  # type: ignore[import-untyped]
import pytest

from bot.answers.build import AnswerContext, answer, answer_error
from bot.answers.components import control_custom_id, decode
from bot.answers.core import Core
from bot.answers.formatting import fact_value, money
from bot.answers.render import Renderer
from bot.answers.requests import LANGUAGE_CHOICES, UserInputError, parse_request
from bot.console import interactive
from bot.domain.facts import ConfigError, Facts, load_facts
from bot.domain.language import lang_from_locale, parse_lang
from bot.domain.paths import config_dir
from bot.domain.simplified import Simplifier, load_overrides
from bot.store import SQLiteStore
from tests.helpers import run_cli
from tests.zh_answers import all_answers, answer_texts

B, T = Decimal("1e9"), Decimal("1e12")


def traditional_only(text: str) -> list[str]:
    """Characters that exist only in Traditional Chinese (hanzidentifier's tables are the oracle)."""
    return sorted({c for c in text if hanzidentifier.identify(c) == hanzidentifier.TRADITIONAL})


def simplified_only(text: str) -> list[str]:
    return sorted({c for c in text if hanzidentifier.identify(c) == hanzidentifier.SIMPLIFIED})


# ---------------------------------------------------------------- which language


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("zh-CN", "zh-CN"),
        ("zh-TW", "zh-TW"),
        ("zh-HK", "zh-TW"),  # Hong Kong writes Traditional characters
        ("zh-SG", "zh-CN"),
        ("zh_CN.UTF-8", "zh-CN"),
        ("zh_TW.UTF-8", "zh-TW"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hant-HK", "zh-TW"),
        ("zh", "zh-TW"),
        ("en-US", "en"),
        ("ja", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_locale_picks_the_chinese_script(locale: str | None, lang: str) -> None:
    assert lang_from_locale(locale) == lang


def test_parse_lang_accepts_the_three_languages_only() -> None:
    assert [parse_lang(t) for t in ("en", "zh-TW", "zh-CN", "zh_cn", " ZH-tw ")] == [
        "en",
        "zh-TW",
        "zh-CN",
        "zh-CN",
        "zh-TW",
    ]
    assert [parse_lang(t) for t in ("auto", "", None, "zh", "zh-HK", "fr")] == [None] * 6
    assert LANGUAGE_CHOICES == ("en", "zh-TW", "zh-CN", "auto")


# ---------------------------------------------------------------- money the mainland way


@pytest.mark.parametrize(
    ("amount", "zh_cn", "zh_tw"),
    [
        (Decimal(434) * B, "4340亿美元", "4,340億美元"),
        (Decimal("8.7") * T, "8.7万亿美元", "8.7兆美元"),
        (Decimal("43.4") * T, "43.4万亿美元", "43.4兆美元"),
        (Decimal(87) * B, "870亿美元", "870億美元"),
        (Decimal("2.17") * T, "2.17万亿美元", "2.17兆美元"),
        (Decimal(1_500_000), "150万美元", "150萬美元"),
        (Decimal(116_000), "116,000美元", "116,000美元"),
    ],
)
def test_money_in_yi_and_wan_yi_never_zhao(amount: Decimal, zh_cn: str, zh_tw: str) -> None:
    assert money(amount, "zh-CN") == zh_cn
    assert money(amount, "zh-TW") == zh_tw


def test_fact_values_in_simplified(facts: Facts) -> None:
    assert fact_value(facts.fact(facts.defaults.pool_401k), "zh-CN") == "10万亿美元"
    assert fact_value(facts.fact("assets_401k_2025q1"), "zh-CN") == "8.7万亿美元"
    assert fact_value(facts.fact("early_withdrawal_age"), "zh-CN") == "59.5岁"


def test_inflow_answer_exact_figures(ctx: AnswerContext) -> None:
    result = answer(parse_request("/inflow 1% pool:retirement", ctx.facts), "zh-CN", ctx)
    assert result.lang == "zh-CN"
    assert result.title == "如果全美退休资产总额的1%投入加密货币"
    assert result.description.startswith("新增买盘 **4810亿美元**，约为加密货币总市值的 **12.33%**。")
    assert "1% × 48.1万亿美元 = 4810亿美元（全美退休资产总额，截至2025年9月30日）" in result.description
    scenarios = next(f.value for f in result.fields if f.name.startswith("情景"))
    assert "10%：1万亿美元·1.39万亿美元·4.81万亿美元" in scenarios
    overview = answer(parse_request("/401k", ctx.facts), "zh-CN", ctx)
    assert "**10万亿美元**" in overview.fields[1].value


# ---------------------------------------------------------------- every answer


def test_every_zh_cn_answer_is_simplified_and_never_says_zhao(ctx: AnswerContext) -> None:
    seen = 0
    for name, result in all_answers(ctx, "zh-CN"):
        text = "\n".join(answer_texts(result))
        assert result.lang == "zh-CN", name
        assert traditional_only(text) == [], f"{name}: Traditional-only characters in {text!r}"
        # 兆 stays only as a word of the article's title (数十兆), never as the unit of an amount.
        assert "兆" not in text.replace(TITLE_ZH_CN, ""), f"{name}: {text!r}"
        assert not set("「」『』") & set(text), f"{name}: Taiwan corner quotes in {text!r}"
        seen += 1
    assert seen > 60


TITLE_ZH_CN = "数十兆美元的资金将冲击加密市场!"


def test_quoted_words_change_script_only(facts: Facts) -> None:
    # Issue 20: the phrase overrides rewrote quotes marked as the article's words (追踪 -> 跟踪, 卖压 -> 抛压,
    # 劳工 -> 劳动者) and the title's 兆; inside 「」 only the script changes (and an amount's unit).
    assert facts.simplify("原文：「約有60%的美國勞工參與」") == "原文（已转为简体）：“约有60%的美国劳工参与”"
    assert facts.simplify("「保持簡單，追蹤市場、保持低費用」") == "“保持简单，追踪市场、保持低费用”"
    assert facts.simplify("「尚未經歷市場震盪或長期賣壓的壓力測試」") == "“尚未经历市场震荡或长期卖压的压力测试”"
    assert facts.simplify("Kai 的文章「數十兆美元的資金將衝擊加密市場!」") == f"Kai 的文章“{TITLE_ZH_CN}”"
    # Outside quotes the mainland wording still applies.
    assert facts.simplify("追蹤市場的賣壓") == "跟踪市场的抛压"
    assert facts.simplify("原文「總資產12.5兆美元」") == "原文“总资产12.5万亿美元”"


def test_zh_cn_article_title_keeps_its_words(ctx: AnswerContext) -> None:
    text = "\n".join(answer_texts(answer(parse_request("/401k", ctx.facts), "zh-CN", ctx)))
    assert f"Kai“{TITLE_ZH_CN}”（2025年8月）" in text


def test_zh_cn_is_the_zh_tw_answer_converted(ctx: AnswerContext) -> None:
    """Same structure and figures as zh-TW, different script: generated, not a second copy that can drift."""
    pairs = zip(all_answers(ctx, "zh-TW"), all_answers(ctx, "zh-CN"), strict=True)
    converted = 0
    for (name, tw), (_, cn) in pairs:
        assert len(tw.fields) == len(cn.fields), name
        assert [c.value for c in tw.controls] == [c.value for c in cn.controls], name
        assert re.findall(r"\d+(?:\.\d+)?%", tw.description) == re.findall(r"\d+(?:\.\d+)?%", cn.description), name
        if tw.description != cn.description:
            converted += 1
        assert simplified_only("\n".join(answer_texts(tw))) == [], name  # the source side stays Traditional
    assert converted > 50


def test_overrides_fix_what_the_converter_gets_wrong(ctx: AnswerContext, facts: Facts) -> None:
    plain = Simplifier()  # OpenCC alone
    assert plain("新增買盤") == "添加买盘"  # tw2sp's choice, wrong for a market: the override file fixes it
    assert facts.simplify("新增買盤") == "新增买盘"
    assert facts.simplify("確定提撥制") == "确定缴费型"
    assert facts.simplify("川普") == "特朗普"
    overview = "\n".join(answer_texts(answer(parse_request("/401k", facts), "zh-CN", ctx)))
    assert "特朗普" in overview and "川普" not in overview
    rules = "\n".join(answer_texts(answer(parse_request("/401k topic:rules", facts), "zh-CN", ctx)))
    assert "确定缴费型" in rules and "提拨" not in rules and "帐户" not in rules


def test_taiwan_zhao_and_corner_quotes_become_mainland_usage(facts: Facts) -> None:
    assert facts.simplify("「謹慎義務」『原文』") == "“谨慎义务”‘原文’"
    assert facts.simplify("原文「401(k) 總資產 12.5 兆美元」") == "原文“401(k) 总资产 12.5 万亿美元”"
    assert facts.simplify("43.4兆") == "43.4万亿"


def test_what_a_user_typed_is_echoed_in_simplified_too(ctx: AnswerContext) -> None:
    error = answer_error(UserInputError("unknown_analyst", value="資金 **x**", choices=("a",)), "zh-CN", ctx)
    assert error.description.startswith("找不到“资金 \\*\\*x\\*\\*”这位分析师")  # still escaped, now Simplified


def test_override_file_errors_name_the_file(tmp_path: Path) -> None:
    shutil.copytree(config_dir(), tmp_path, dirs_exist_ok=True)
    overrides = tmp_path / "zh-CN-overrides.toml"
    overrides.write_text('[phrases]\n"添加" = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zh-CN-overrides\.toml: entry phrases\.'添加'"):
        load_facts(tmp_path)
    overrides.write_text("[phrase]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown table"):
        load_facts(tmp_path)
    overrides.unlink()
    assert load_facts(tmp_path).simplify("新增買盤") == "添加买盘"  # no file: OpenCC alone
    assert load_overrides(tmp_path / "missing.toml") == ()


def test_editing_the_overrides_changes_the_data_version(tmp_path: Path, facts: Facts) -> None:
    shutil.copytree(config_dir(), tmp_path, dirs_exist_ok=True)
    with (tmp_path / "zh-CN-overrides.toml").open("a", encoding="utf-8") as fh:
        fh.write('"资金池" = "资金盘"\n')
    edited = load_facts(tmp_path)
    assert edited.version != facts.version
    assert edited.label("pools", "401k", "zh-CN") == "401(k) 计划"
    assert edited.simplify("資金池") == "资金盘"


# ---------------------------------------------------------------- controls and component ids


def test_language_buttons(ctx: AnswerContext) -> None:
    request = parse_request("/inflow 2% pool:dc", ctx.facts)
    english = answer(request, "en", ctx)
    buttons = [(c.label, control_custom_id(english, c)) for c in english.controls if c.action == "lang"]
    assert buttons == [("繁體中文", "k4|inflow|zh-TW|0|2%|dc"), ("简体中文", "k4|inflow|zh-CN|0|2%|dc")]
    for lang in ("zh-TW", "zh-CN"):
        chinese = answer(request, lang, ctx)
        back = [(c.label, control_custom_id(chinese, c)) for c in chinese.controls if c.action == "lang"]
        assert back == [("English", "k4|inflow|en|0|2%|dc")]


def test_zh_cn_component_ids_decode() -> None:
    state = decode("k4|opinions|zh-CN|1|cautious|")
    assert state is not None and state.lang == "zh-CN" and state.page == 1
    assert state.options == {"stance": "cautious"}
    assert decode("k4|opinions|zh-cn|1|cautious|") is None  # ids are exact, as we wrote them
    assert decode("k4|opinions|zh-HK|1|cautious|") is None


def test_topic_menu_and_pager_are_simplified(ctx: AnswerContext) -> None:
    menu = answer(parse_request("/401k", ctx.facts), "zh-CN", ctx).controls[0]
    assert menu.label == "选择主题"
    assert dict(menu.options)["scale"] == "资金规模"
    pager = answer(parse_request("/opinions", ctx.facts), "zh-CN", ctx).controls
    assert [c.label for c in pager] == ["上一页", "下一页", "English"]


# ---------------------------------------------------------------- console and store


def test_ask_lang_zh_cn(tmp_path: Path) -> None:
    result = run_cli("ask", "/inflow 1% pool:retirement", "--lang", "zh-CN", "--offline", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "新增买盘 **4810亿美元**" in result.stdout
    assert "兆" not in result.stdout.replace(TITLE_ZH_CN, "") and traditional_only(result.stdout) == []
    bad = run_cli("ask", "/inflow 200%", "--lang", "zh-CN", cwd=tmp_path)
    assert bad.returncode == 2 and "“200%”超过100%" in bad.stdout


async def test_console_switches_to_simplified(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    out = io.StringIO()
    lines = "/language zh-CN\n/inflow 1% pool:retirement\n/language auto\n/sources\n"
    assert await interactive(core, "en", stdin=io.StringIO(lines), out=out) == 0
    text = out.getvalue()
    assert "仅限本次控制台会话：之后会用 **简体中文** 回复（Discord 以外不会保存）。" in text
    assert "4810亿美元" in text
    assert "━━ Where every figure comes from ━━" in text  # auto: back to the system's language (English here)


async def test_store_keeps_a_zh_cn_choice_and_upgrades_an_old_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # a store written before zh-CN existed (schema version 1)
        db.executescript(
            (Path(__file__).parent.parent / "bot" / "store" / "migrations" / "001_init.sql").read_text(encoding="utf-8")
        )
        db.execute("INSERT INTO preferences VALUES ('user', 7, 'zh-TW', 1.0)")
        db.execute("PRAGMA user_version = 1")
    async with SQLiteStore(path) as store:
        assert await store.get_language("user", 7) == "zh-TW"  # kept through the table rebuild
        await store.set_language("guild", 9, "zh-CN")
    async with SQLiteStore(path) as store:
        assert await store.get_language("guild", 9) == "zh-CN"
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO preferences VALUES ('user', 8, 'zh-HK', 1.0)")


def test_check_config_renders_zh_cn_too(facts: Facts, tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Renderer(facts).render("language", "zh-CN", choice="zh-CN", changed=True, saved=True).title == "回复语言"


def test_the_articles_words_in_zh_cn_say_they_were_converted(ctx: AnswerContext) -> None:
    """The article is Traditional Chinese: a Simplified rendering of its words is labelled as converted."""
    texts = "\n".join(answer_texts(answer(parse_request("/sources", ctx.facts), "zh-CN", ctx)))
    assert "原文（已转为简体）：“约为8.7万亿美元”" in texts
    assert "原文：“" not in texts
