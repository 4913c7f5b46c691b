"""Everything about which language an answer is in, in one place.

- `Lang`, `LANGS`: the answer languages. English and Traditional Chinese (zh-TW) are written by people (templates,
  config); Simplified Chinese (zh-CN) is generated from the zh-TW text, never written by hand.
- `parse_lang` (a saved or typed language code) and `lang_from_locale` (a Discord or console locale).
- `text_lang`: the rule "zh-CN renders from the zh-TW text" — which written language a language's text comes from.
- `CLDR_LOCALE`: the Babel/CLDR locale that formats numbers, money and dates for each language.
- `simplifier` / `in_language`: the one zh-TW -> zh-CN conversion (bot.domain.simplified: OpenCC tw2sp plus the
  reviewed overrides), one converter per override set, used by the config labels, the rendered answers and the chart.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from bot.domain.simplified import OVERRIDES_FILE, Simplifier, load_overrides

Lang = Literal["en", "zh-TW", "zh-CN"]
LANGS: tuple[Lang, ...] = ("en", "zh-TW", "zh-CN")

CLDR_LOCALE: dict[Lang, str] = {"en": "en_US", "zh-TW": "zh_Hant_TW", "zh-CN": "zh_Hans_CN"}

# Locale regions and scripts that read Simplified characters.
_SIMPLIFIED_REGIONS = ("cn", "sg", "hans", "my")


def parse_lang(text: str | None) -> Lang | None:
    """'en' / 'zh-TW' / 'zh-CN' (any case, '_' or '-') as a Lang; None for anything else ('auto', '', junk)."""
    wanted = (text or "").strip().replace("_", "-").lower()
    return next((lang for lang in LANGS if lang.lower() == wanted), None)


def lang_from_locale(locale: str | None) -> Lang:
    """Discord/console locale -> answer language.

    zh-CN (and Singapore, Malaysia, zh-Hans) read Simplified; zh-TW, zh-HK, zh-MO, zh-Hant and a bare `zh` read
    Traditional (Hong Kong and Macau write Traditional characters); anything else reads English.
    """
    tag = (locale or "").split(".")[0].replace("_", "-").lower()  # "zh_CN.UTF-8" -> "zh-cn"
    if tag != "zh" and not tag.startswith("zh-"):
        return "en"
    return "zh-CN" if any(part in _SIMPLIFIED_REGIONS for part in tag.split("-")[1:]) else "zh-TW"


def text_lang(lang: Lang) -> Lang:
    """The language whose written text `lang` is made from: zh-CN renders from the zh-TW text."""
    return "zh-TW" if lang == "zh-CN" else lang


@functools.cache
def _converter(overrides: tuple[tuple[str, str], ...]) -> Simplifier:
    return Simplifier(overrides)


def simplifier(overrides: tuple[tuple[str, str], ...] | None = None, *, config: Path | None = None) -> Simplifier:
    """The zh-TW -> zh-CN converter for a set of reviewed overrides (default: those in the config directory).

    One instance per override set: the config's labels, every rendered answer and the chart share it.
    """
    if overrides is None:
        from bot.domain.paths import config_dir

        overrides = load_overrides((config or config_dir()) / OVERRIDES_FILE)
    return _converter(overrides)


def in_language(zh_tw: str, lang: Lang, convert: Simplifier | None = None) -> str:
    """A Chinese text written in zh-TW, as `lang` reads it (zh-CN: converted; zh-TW: as written)."""
    return (convert or simplifier())(zh_tw) if lang == "zh-CN" else zh_tw
