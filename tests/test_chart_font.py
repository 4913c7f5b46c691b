"""Chinese charts without any system font: the shipped Noto Sans CJK subsets (bot/fonts/) and how they are chosen."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import hanzidentifier  # type: ignore[import-untyped]
import pytest
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot.answers import chart
from bot.answers.chart import BUNDLED_FONTS, BundledFont, chart_labels, find_cjk_font, render_inflow_chart
from bot.domain.allocation import parse_allocation
from bot.domain.facts import Facts
from bot.domain.inflow import MarketCap, Pool, estimate
from bot.domain.language import Lang
from bot.infra.market import SOURCE_NAME

CHINESE: tuple[Lang, ...] = ("zh-TW", "zh-CN")
ALLOCATIONS = ("1%", "2%", "3%", "1-5%", "0.5%", "0.001%", "37.5%", "99.99%", "100%")


@pytest.fixture
def no_system_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh Linux machine: matplotlib's own DejaVu fonts and nothing that can draw Chinese."""
    monkeypatch.setattr(chart, "_installed_families", lambda: {"DejaVu Sans", "DejaVu Serif"})
    find_cjk_font.cache_clear()
    chart._register_font.cache_clear()
    yield
    find_cjk_font.cache_clear()
    chart._register_font.cache_clear()


def _market_caps(facts: Facts) -> list[MarketCap]:
    config = MarketCap.from_config(facts)
    now = dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC)
    live = MarketCap(Decimal("3.87e12"), now, "live", SOURCE_NAME)
    return [config, live, dataclasses.replace(live, kind="cached", age_minutes=125)]


def _every_label(facts: Facts, lang: Lang) -> set[str]:
    labels: set[str] = set()
    for mc in _market_caps(facts):
        for pool in Pool:
            for text in ALLOCATIONS:
                labels.update(chart_labels(estimate(parse_allocation(text), pool, facts, mc), lang).all())
    return labels


@pytest.mark.parametrize("lang", CHINESE)
def test_every_glyph_a_chart_label_can_contain_is_in_the_shipped_subset(facts: Facts, lang: Lang) -> None:
    labels = _every_label(facts, lang)
    assert len(labels) > 60
    drawn = {c for text in labels for c in text if not c.isspace()} | set("0123456789,.%–<")  # any figure
    assert any(ord(c) > 0x2E80 for c in drawn)
    font = FT2Font(str(BUNDLED_FONTS[lang].path))
    missing = sorted(c for c in drawn if font.get_char_index(ord(c)) == 0)
    assert missing == [], f"run scripts/subset_font.py: {BUNDLED_FONTS[lang].filename} lacks {''.join(missing)!r}"


def test_zh_cn_chart_labels_are_simplified_with_yi(facts: Facts) -> None:
    est = estimate(parse_allocation("1%"), Pool.RETIREMENT, facts, MarketCap.from_config(facts))
    labels = chart_labels(est, "zh-CN")
    assert labels.title == "全美退休资产：若1%投入加密货币"
    assert labels.ylabel == "新增买盘（亿美元）"
    assert labels.captions == ("4810亿美元（你的）", "9620亿美元", "2.4万亿美元", "4.81万亿美元")
    assert labels.market == "加密货币总市值：3.9万亿美元"
    assert labels.note.startswith("全美退休资产：48.1万亿美元（截至2025年9月30日）·")
    for text in _every_label(facts, "zh-CN"):
        assert "兆" not in text and "億" not in text, text
        assert not [c for c in text if hanzidentifier.identify(c) == hanzidentifier.TRADITIONAL], text
    assert chart_labels(est, "zh-TW").captions[0] == "4,810億美元（你的）"


@pytest.mark.parametrize("lang", CHINESE)
def test_chinese_chart_renders_with_the_bundled_font_and_no_system_font(
    facts: Facts, lang: Lang, no_system_fonts: None
) -> None:
    assert find_cjk_font(lang) == BUNDLED_FONTS[lang].family
    est = estimate(parse_allocation("1-5%"), Pool.DC, facts, MarketCap.from_config(facts))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawn = render_inflow_chart(est, lang)
    assert drawn.label_lang == lang
    assert [str(w.message) for w in caught if "missing from" in str(w.message)] == []  # no empty boxes
    english = render_inflow_chart(est, lang, detect_font=False)
    assert english.label_lang == "en" and english.png != drawn.png
    assert Image.open(io.BytesIO(drawn.png)).size == (chart.WIDTH, chart.HEIGHT)


def test_an_installed_font_stays_the_first_choice(monkeypatch: pytest.MonkeyPatch, no_system_fonts: None) -> None:
    installed = {"DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK TC", "Noto Sans CJK SC"}
    monkeypatch.setattr(chart, "_installed_families", lambda: installed)
    assert find_cjk_font("zh-TW") == "Noto Sans CJK TC"
    assert find_cjk_font("zh-CN") == "Noto Sans CJK SC"  # mainland glyph shapes for Simplified text
    installed.discard("Noto Sans CJK SC")
    find_cjk_font.cache_clear()
    assert find_cjk_font("zh-CN") == "WenQuanYi Micro Hei"


@pytest.mark.parametrize("damage", ["missing", "broken", "not_cjk"])
def test_a_missing_or_broken_bundled_font_falls_back_to_english(
    facts: Facts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    no_system_fonts: None,
    damage: str,
) -> None:
    path = tmp_path / "font.otf"
    if damage == "broken":
        path.write_bytes(BUNDLED_FONTS["zh-CN"].path.read_bytes()[:5000])
    elif damage == "not_cjk":
        from matplotlib import font_manager

        path = Path(font_manager.findfont("DejaVu Sans"))
    monkeypatch.setattr(chart, "FONT_DIR", path.parent)
    monkeypatch.setitem(BUNDLED_FONTS, "zh-CN", BundledFont(path.name, "K401 Test Font"))
    est = estimate(parse_allocation("2%"), Pool.K401, facts, MarketCap.from_config(facts))
    with caplog.at_level(logging.WARNING, logger="bot.answers.chart"):
        drawn = render_inflow_chart(est, "zh-CN")
    assert drawn.label_lang == "en"
    assert "bundled CJK font" in caplog.text and "English labels" in caplog.text
    assert Image.open(io.BytesIO(drawn.png)).format == "PNG"


def test_the_shipped_fonts_are_small_subsets_with_their_licence() -> None:
    for font in BUNDLED_FONTS.values():
        assert 50_000 < font.path.stat().st_size < 400_000, font.path
        assert FT2Font(str(font.path)).family_name == font.family
    licence = (chart.FONT_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence
