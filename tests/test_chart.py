from __future__ import annotations

import io
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot.answers.chart import HEIGHT, WIDTH, chart_texts, find_cjk_font, render_inflow_chart
from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.allocation import parse_allocation
from bot.domain.facts import Facts
from bot.domain.inflow import Estimate, MarketCap, Pool, estimate
from bot.store import SQLiteStore
from tests.fakes import open_core

B = Decimal("1e9")


def _estimate(facts: Facts, text: str = "2%", pool: Pool = Pool.K401) -> Estimate:
    return estimate(parse_allocation(text), pool, facts, MarketCap.from_config(facts))


def test_png_size_dimensions_and_plotted_data(facts: Facts) -> None:
    chart = render_inflow_chart(_estimate(facts), "en")
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG"
    assert image.size == (WIDTH, HEIGHT) == (1200, 675)
    assert len(chart.png) < 300_000
    series = chart.series
    assert series.percents == (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
    assert series.values_usd == (100 * B, 200 * B, 500 * B, 1000 * B)  # the calculation module's numbers
    assert series.highlighted == (False, True, False, False)
    assert series.market_cap_usd == Decimal("3.9e12")


def test_range_highlights_both_ends_of_the_chosen_pool(facts: Facts) -> None:
    chart = render_inflow_chart(_estimate(facts, "1-5%", Pool.DC), "en")
    assert chart.series.values_usd == (139 * B, 278 * B, 695 * B, 1390 * B)
    assert chart.series.highlighted == (True, False, True, False)


def test_users_own_value_gets_its_own_bar(facts: Facts) -> None:
    chart = render_inflow_chart(_estimate(facts, "3%", Pool.RETIREMENT), "en")
    assert chart.series.percents == tuple(Decimal(p) for p in (1, 2, 3, 5, 10))
    assert chart.series.values_usd[2] == Decimal("1443") * B


def test_chinese_labels_use_a_font_that_has_every_glyph(facts: Facts) -> None:
    font_name = find_cjk_font()  # an installed font, else the package's own subset: never None, never a skip
    assert font_name is not None
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    chart = render_inflow_chart(_estimate(facts), "zh-TW")
    assert chart.label_lang == "zh-TW"
    path = font_manager.findfont(font_manager.FontProperties(family=font_name), fallback_to_default=False)
    font = FT2Font(path)
    drawn = "".join(chart_texts()) + "億兆美元"
    missing = [ch for ch in set(drawn) if ord(ch) > 0x2E80 and font.get_char_index(ord(ch)) == 0]
    assert missing == []


def test_without_a_cjk_font_the_chart_falls_back_to_english_and_says_so(
    facts: Facts, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.answers.chart"):
        chart = render_inflow_chart(_estimate(facts), "zh-TW", detect_font=False)
    assert chart.label_lang == "en"
    assert "no CJK font installed" in caplog.text
    assert Image.open(io.BytesIO(chart.png)).size == (WIDTH, HEIGHT)


async def test_second_identical_ask_does_not_render_again(tmp_path: Path, facts: Facts, renderer: Renderer) -> None:
    request = parse_request("/inflow 2%", facts)
    async with SQLiteStore(tmp_path / "c.sqlite3") as store, open_core(facts, renderer, store=store) as core:
        first = await core.respond(request, "en", wait_for_chart=True)  # a cold worker may miss the 2 s deadline
        assert core.charts_rendered == 1
        second = await core.respond(request, "en")
        assert core.charts_rendered == 1
        assert first.image == second.image and first.image is not None
        assert second.answer.image == "inflow.png"
        await core.respond(request, "zh-TW", wait_for_chart=True)
        assert core.charts_rendered == 2
        # A restarted bot (a new Core on the same store) still finds it.
        assert (await Core(facts, renderer, store=store).respond(request, "en")).image == first.image


async def test_answers_without_a_chart_when_drawing_fails(facts: Facts, renderer: Renderer) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("no canvas")

    response = await Core(facts, renderer, chart_renderer=broken).respond(parse_request("/inflow 2%", facts), "en")
    assert response.image is None and response.answer.image is None
    assert response.answer.description.startswith("**$200 billion**")
