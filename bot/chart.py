"""The /inflow chart: scenario bars of the chosen pool against the crypto market cap, as a PNG.

matplotlib (Agg) is imported on the first chart only, so start-up and idle memory never pay for it; callers run
render_inflow_chart() in an executor because it is CPU work. Chinese labels need a CJK font: without one the
chart falls back to English labels (and says so in the log) rather than drawing empty boxes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot import formatting
from bot.facts import Lang
from bot.inflow import Estimate

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1200, 675, 100
CJK_FONT_CANDIDATES = (
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans TC",
    "Source Han Sans TW",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "AR PL UMing TW",
    "Droid Sans Fallback",
)
# The y axis counts in the unit each language thinks in: US$ billions, or 億 (100 million) US dollars.
_AXIS_UNIT: dict[Lang, Decimal] = {"en": Decimal("1e9"), "zh-TW": Decimal("1e8")}
_HIGHLIGHT, _BAR, _LINE = "#2F855A", "#A0AEC0", "#C53030"

_TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "If {pct} of {pool} went into crypto",
        "ylabel": "New buying (US$ billions)",
        "xlabel": "Share of the pool moved into crypto",
        "market": "Total crypto market cap {value}",
        "pool_note": "{pool}: {value} (as of {date})",
        "yours": " (yours)",
        "source": "{note} · {source}, {date}",
    },
    "zh-TW": {
        "title": "{pool}：若{pct}投入加密貨幣",
        "ylabel": "新增買盤（億美元）",
        "xlabel": "資金池投入加密貨幣的比例",
        "market": "加密貨幣總市值：{value}",
        "pool_note": "{pool}：{value}（截至{date}）",
        "yours": "（你的）",
        "source": "{note}・{source}，{date}",
    },
}
_POOL_NAMES: dict[Lang, dict[str, str]] = {
    "en": {"401k": "401(k) plan assets", "dc": "all DC plan assets", "retirement": "all US retirement assets"},
    "zh-TW": {"401k": "401(k) 計畫資產", "dc": "全部確定提撥制計畫資產", "retirement": "全美退休資產"},
}


@dataclass(frozen=True)
class ChartSeries:
    """Exactly what is plotted: one bar per scenario percentage, in US dollars."""

    percents: tuple[Decimal, ...]
    values_usd: tuple[Decimal, ...]
    highlighted: tuple[bool, ...]
    market_cap_usd: Decimal


@dataclass(frozen=True)
class Chart:
    png: bytes
    series: ChartSeries
    label_lang: Lang  # the language the labels were drawn in (English when no CJK font exists)


def chart_series(est: Estimate) -> ChartSeries:
    rows = est.scenarios
    return ChartSeries(
        percents=tuple(r.percent for r in rows),
        values_usd=tuple(r.by_pool[est.pool].low_usd for r in rows),
        highlighted=tuple(r.is_users for r in rows),
        market_cap_usd=est.market_cap.usd,
    )


@functools.cache
def find_cjk_font() -> str | None:
    """The first installed font that can draw Traditional Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONT_CANDIDATES if name in installed), None)


def _new_figure() -> Any:
    # The object API with the Agg canvas: no pyplot, no GUI backend, no global list of open figures.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _palette_png(png: bytes) -> bytes:
    """A flat chart needs few colours: a 64-colour palette PNG is ~3.5x smaller (every answer uploads it)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        palette = image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        palette.save(out, format="PNG")
    return out.getvalue()


def render_inflow_chart(est: Estimate, lang: Lang, *, cjk_font: str | None = None, detect_font: bool = True) -> Chart:
    """Draw the chart. `detect_font=False` with no `cjk_font` forces the no-CJK-font path (for tests)."""
    from matplotlib import rc_context

    label_lang: Lang = lang
    font = cjk_font
    if lang == "zh-TW" and font is None and detect_font:
        font = find_cjk_font()
    if lang == "zh-TW" and font is None:
        log.warning("chart: no CJK font installed (e.g. fonts-noto-cjk); drawing this chart with English labels")
        label_lang = "en"

    series = chart_series(est)
    text = _TEXT[label_lang]
    pool_name = _POOL_NAMES[label_lang][est.pool.value]
    allocation = est.allocation
    pct = formatting.exact_percent(allocation.low, label_lang)  # the allocation exactly as typed
    if allocation.is_range:
        pct += "–" + formatting.exact_percent(allocation.high, label_lang)

    with rc_context({"font.family": [font or "DejaVu Sans", "DejaVu Sans"]}):
        fig = _new_figure()
        ax = fig.add_subplot()
        labels = [formatting.exact_percent(p, label_lang) for p in series.percents]
        unit = _AXIS_UNIT[label_lang]
        heights = [float(v / unit) for v in series.values_usd]
        colors = [_HIGHLIGHT if h else _BAR for h in series.highlighted]
        bars = ax.bar(labels, heights, color=colors, width=0.6)
        for bar, value, mine in zip(bars, series.values_usd, series.highlighted, strict=True):
            caption = formatting.money(value, label_lang) + (text["yours"] if mine else "")
            ax.annotate(
                caption,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=11,
                xytext=(0, 4),
                textcoords="offset points",
                fontweight="bold" if mine and label_lang == "en" else "normal",
            )
        market_b = float(series.market_cap_usd / unit)
        ax.axhline(market_b, color=_LINE, linestyle="--", linewidth=1.5)
        ax.annotate(
            text["market"].format(value=formatting.money(series.market_cap_usd, label_lang)),
            (0.01, market_b),
            xycoords=("axes fraction", "data"),
            va="bottom",
            color=_LINE,
            fontsize=11,
            xytext=(0, 3),
            textcoords="offset points",
        )
        ax.set_ylim(0, max([*heights, market_b]) * 1.12)
        ax.set_title(text["title"].format(pct=pct, pool=pool_name), fontsize=16, loc="left")
        ax.set_ylabel(text["ylabel"])
        ax.yaxis.set_major_formatter(lambda y, _pos: f"{y:,.0f}")
        ax.set_xlabel(text["xlabel"])
        ax.spines[["top", "right"]].set_visible(False)
        mc = est.market_cap
        note = text["pool_note"].format(
            pool=pool_name,
            value=formatting.fact_value(est.pool_fact, label_lang),
            date=formatting.date(est.pool_as_of, label_lang),
        )
        market_date = (
            formatting.timestamp(mc.as_of, label_lang)
            if isinstance(mc.as_of, dt.datetime)
            else formatting.date(mc.as_of, label_lang)
        )
        footnote = text["source"].format(note=note, source=mc.source_in(label_lang), date=market_date)
        fig.text(0.01, 0.01, footnote, fontsize=9, color="#4A5568")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
    return Chart(_palette_png(buffer.getvalue()), series, label_lang)
