"""The /inflow chart: scenario bars of the chosen pool against the crypto market cap, as a PNG.

matplotlib (Agg) is imported on the first chart only, so start-up and idle memory never pay for it; callers run
render_inflow_chart() in an executor because it is CPU work. Chinese labels need a CJK font: an installed one is
the first choice; otherwise the package's own subset of Noto Sans CJK (bot/fonts/, made by scripts/subset_font.py)
draws them. Only when that file is missing or broken does the chart fall back to English labels (and say so in the
log) rather than draw empty boxes. zh-CN labels are the zh-TW ones converted to Simplified (bot.domain.simplified).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.answers import formatting
from bot.domain import language
from bot.domain.facts import load_labels
from bot.domain.inflow import Estimate
from bot.domain.language import Lang
from bot.domain.language import simplifier as default_simplifier  # the one zh-TW -> zh-CN converter

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1200, 675, 100
# Installed fonts to prefer, per script (mainland glyph shapes for zh-CN, Taiwan's for zh-TW).
CJK_FONT_CANDIDATES: dict[Lang, tuple[str, ...]] = {
    "zh-TW": (
        "Noto Sans CJK TC",
        "Noto Sans TC",
        "Source Han Sans TW",
        "Noto Sans CJK JP",
        "Noto Sans CJK SC",
        "WenQuanYi Micro Hei",
        "WenQuanYi Zen Hei",
        "AR PL UMing TW",
        "Droid Sans Fallback",
    ),
    "zh-CN": (
        "Noto Sans CJK SC",
        "Noto Sans SC",
        "Source Han Sans CN",
        "Source Han Sans SC",
        "WenQuanYi Micro Hei",
        "WenQuanYi Zen Hei",
        "Noto Sans CJK TC",
        "Noto Sans CJK JP",
        "Droid Sans Fallback",
    ),
}
FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"


@dataclass(frozen=True)
class BundledFont:
    """A subset font shipped in the package; its family name is our own so it never shadows an installed one."""

    filename: str
    family: str

    @property
    def path(self) -> Path:
        return FONT_DIR / self.filename


BUNDLED_FONTS: dict[Lang, BundledFont] = {
    "zh-TW": BundledFont("k401-chart-sans-tc.otf", "K401 Chart Sans TC"),
    "zh-CN": BundledFont("k401-chart-sans-sc.otf", "K401 Chart Sans SC"),
}
# The y axis counts in the unit each language thinks in: US$ billions, or 億/亿 (100 million) US dollars.
_AXIS_UNIT: dict[Lang, Decimal] = {"en": Decimal("1e9"), "zh-TW": Decimal("1e8"), "zh-CN": Decimal("1e8")}
_HIGHLIGHT, _BAR, _LINE = "#2F855A", "#A0AEC0", "#C53030"
# A fixed layout (tight_layout measured every text on every chart: a third of the drawing time). These are the widest
# margins tight_layout chose over every pool x allocation up to 100% x language, so no label is ever cut off.
_LAYOUT = {"left": 0.082, "right": 0.9875, "top": 0.936, "bottom": 0.1167}

# English and Traditional Chinese; Simplified is converted from the Traditional text.
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
        "source": "{note}·{source}，{date}",
    },
}


def _pool_name(pool: str, lang: Lang) -> str:
    return load_labels().pool_assets[pool].get(lang)  # config/commands.toml, as the answer's own text names it


def chart_texts() -> list[str]:
    """Every fixed label text in Traditional Chinese (scripts/subset_font.py puts their glyphs in the subset)."""
    return [*_TEXT["zh-TW"].values(), *(name.zh_tw for name in load_labels().pool_assets.values())]


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


def _installed_families() -> set[str]:
    from matplotlib import font_manager

    return {f.name for f in font_manager.fontManager.ttflist}


def bundled_font(lang: Lang) -> str | None:
    """Register the package's subset font for `lang` with matplotlib; its family name, or None if it is unusable."""
    font = BUNDLED_FONTS[lang]
    return _register_font(font.path, font.family)


@functools.cache
def _register_font(path: Path, family: str) -> str | None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    try:
        # Open it first: addfont() would accept a broken file and fail only when the chart is drawn.
        if FT2Font(str(path)).get_char_index(ord("億")) == 0:
            raise ValueError("no CJK glyphs")
        font_manager.fontManager.addfont(str(path))
    except Exception as exc:
        log.warning("chart: the bundled CJK font %s is unusable (%s)", path, exc)
        return None
    return family


@functools.cache
def find_cjk_font(lang: Lang = "zh-TW") -> str | None:
    """An installed font that can draw `lang` (the first choice), else the bundled subset, else None."""
    installed = _installed_families()
    system = next((name for name in CJK_FONT_CANDIDATES[lang] if name in installed), None)
    return system or bundled_font(lang)


def _simplifier(lang: Lang) -> Callable[[str], str]:
    return default_simplifier() if lang == "zh-CN" else str


@dataclass(frozen=True)
class ChartLabels:
    """Every text the chart draws, in the language it is drawn in."""

    title: str
    ylabel: str
    xlabel: str
    ticks: tuple[str, ...]
    captions: tuple[str, ...]
    market: str
    note: str

    def all(self) -> tuple[str, ...]:
        return (self.title, self.ylabel, self.xlabel, *self.ticks, *self.captions, self.market, self.note)


def chart_labels(est: Estimate, lang: Lang) -> ChartLabels:
    series = chart_series(est)
    text_lang = language.text_lang(lang)
    text, pool_name = _TEXT[text_lang], _pool_name(est.pool.value, text_lang)
    allocation = est.allocation
    pct = formatting.exact_percent(allocation.low, lang)  # the allocation exactly as typed
    if allocation.is_range:
        pct += "–" + formatting.exact_percent(allocation.high, lang)
    captions = tuple(
        formatting.money(value, lang) + (text["yours"] if mine else "")
        for value, mine in zip(series.values_usd, series.highlighted, strict=True)
    )
    mc = est.market_cap
    note = text["pool_note"].format(
        pool=pool_name,
        value=formatting.fact_value(est.pool_fact, lang),
        date=formatting.date(est.pool_as_of, lang),
    )
    market_date = (
        formatting.timestamp(mc.as_of, lang) if isinstance(mc.as_of, dt.datetime) else formatting.date(mc.as_of, lang)
    )
    convert = _simplifier(lang)
    footnote = text["source"].format(note=note, source=mc.source_in(text_lang), date=market_date)
    return ChartLabels(
        title=convert(text["title"].format(pct=pct, pool=pool_name)),
        ylabel=convert(text["ylabel"]),
        xlabel=convert(text["xlabel"]),
        ticks=tuple(formatting.exact_percent(p, lang) for p in series.percents),
        captions=tuple(convert(c) for c in captions),
        market=convert(text["market"].format(value=formatting.money(series.market_cap_usd, lang))),
        note=convert(footnote),
    )


def _new_figure() -> Any:
    # The object API with the Agg canvas: no pyplot, no GUI backend, no global list of open figures.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _palette_png(fig: Any) -> bytes:
    """The drawn canvas as a 64-colour palette PNG, encoded once: a flat chart needs few colours, and the palette
    file is ~3.5x smaller than full colour (every answer uploads it)."""
    from PIL import Image

    canvas = fig.canvas
    canvas.draw()
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    palette = image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    palette.save(out, format="PNG")
    return out.getvalue()


def render_inflow_chart(est: Estimate, lang: Lang, *, cjk_font: str | None = None, detect_font: bool = True) -> Chart:
    """Draw the chart. `detect_font=False` with no `cjk_font` forces the no-CJK-font path (for tests)."""
    from matplotlib import rc_context

    label_lang: Lang = lang
    font = cjk_font
    if lang != "en" and font is None and detect_font:
        font = find_cjk_font(lang)
    if lang != "en" and font is None:
        log.warning(
            "chart: no CJK font installed and the bundled one is unusable; drawing this chart with English labels"
        )
        label_lang = "en"

    series = chart_series(est)
    labels = chart_labels(est, label_lang)
    with rc_context({"font.family": [font or "DejaVu Sans", "DejaVu Sans"]}):
        fig = _new_figure()
        ax = fig.add_subplot()
        unit = _AXIS_UNIT[label_lang]
        heights = [float(v / unit) for v in series.values_usd]
        colors = [_HIGHLIGHT if h else _BAR for h in series.highlighted]
        bars = ax.bar(labels.ticks, heights, color=colors, width=0.6)
        for bar, caption, mine in zip(bars, labels.captions, series.highlighted, strict=True):
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
            labels.market,
            (0.01, market_b),
            xycoords=("axes fraction", "data"),
            va="bottom",
            color=_LINE,
            fontsize=11,
            xytext=(0, 3),
            textcoords="offset points",
        )
        ax.set_ylim(0, max([*heights, market_b]) * 1.12)
        ax.set_title(labels.title, fontsize=16, loc="left", y=1.0)  # placed, not measured against the axes
        ax.set_ylabel(labels.ylabel)
        ax.yaxis.set_major_formatter(lambda y, _pos: f"{y:,.0f}")
        ax.set_xlabel(labels.xlabel)
        ax.spines[["top", "right"]].set_visible(False)
        fig.text(0.01, 0.01, labels.note, fontsize=9, color="#4A5568")
        fig.subplots_adjust(**_LAYOUT)
        png = _palette_png(fig)
    return Chart(png, series, label_lang)
