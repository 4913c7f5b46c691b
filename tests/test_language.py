"""bot.domain.language owns the language rules; zh-CN text has one converter, shared by config, answers and chart."""

from __future__ import annotations

from bot.answers import chart
from bot.domain.facts import Facts
from bot.domain.language import in_language, lang_from_locale, parse_lang, simplifier, text_lang


def test_zh_cn_renders_from_the_zh_tw_text() -> None:
    assert [text_lang(lang) for lang in ("en", "zh-TW", "zh-CN")] == ["en", "zh-TW", "zh-TW"]


def test_one_converter_for_labels_answers_and_the_chart(facts: Facts) -> None:
    assert facts.simplify is simplifier()  # what the config labels and every rendered answer use
    assert chart._simplifier("zh-CN") is facts.simplify  # the chart's labels: the same converter, not a second one
    assert in_language("歲", "zh-CN") == "岁" and in_language("歲", "zh-TW") == "歲"
    assert facts.label("pools", "dc", "zh-CN") == facts.simplify(facts.label("pools", "dc", "zh-TW"))


def test_locales_and_codes() -> None:
    assert lang_from_locale("zh-TW") == "zh-TW" and lang_from_locale("zh_CN.UTF-8") == "zh-CN"
    assert lang_from_locale("ja") == "en" and parse_lang(" ZH_cn ") == "zh-CN" and parse_lang("auto") is None
