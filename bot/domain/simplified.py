"""Simplified Chinese (zh-CN) generated from the Traditional (zh-TW) text, never written by hand.

OpenCC's `tw2sp` turns Taiwan characters and phrases into mainland ones (軟體 -> 软件, 資料 -> 数据); a short
reviewed override file (config/zh-CN-overrides.toml) fixes the phrases it gets wrong for this bot; and Taiwan's 兆
(10^12) after a number becomes 万亿, since a mainland reader may take 兆 for 10^6; Taiwan's corner quotes 「」『』
become the mainland's “” ‘’.

What a user typed and the bot echoes (「abc」不是百分比) is converted with the rest: a zh-CN answer never shows a
Traditional-only character.

Text inside 「」 is someone's words (the article's, an analyst's, the article's title): there only the script changes
(OpenCC `t2s`, character by character), never the wording: no mainland phrases, no overrides; 兆 stays a word (the
title's 数十兆), and only an amount in digits takes the mainland unit (12.5兆 -> 12.5万亿) so that it reads right.
"""

from __future__ import annotations

import functools
import re
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import opencc

OVERRIDES_FILE = "zh-CN-overrides.toml"
# "8.7 兆" / "43.4兆" / "数十兆": the amount stays, the unit becomes the mainland 万亿.
_TRILLION = re.compile(r"([\d一二三四五六七八九十百千数几])(\s?)兆")
_MAINLAND_QUOTES = str.maketrans({"「": "“", "」": "”", "『": "‘", "』": "’"})
# Inside a quote only an amount in digits changes its unit ("12.5兆" -> "12.5万亿"): the title's 数十兆 stays a word.
_DIGIT_TRILLION = re.compile(r"(\d)(\s?)兆")
# An outermost 「…」 (with any 『…』 inside): its words are kept, only the script is converted.
_QUOTED = re.compile(r"「([^「」]*)」")
# Private-use characters mark where a quote's words wait while the text around them is converted.
_HOLD_START, _HOLD_END = "\ue000", "\ue001"
_HELD = re.compile(_HOLD_START + r"(\d+)" + _HOLD_END)


class OverridesError(Exception):
    """The override file is unusable; the message names the file and the entry."""


_OPENCC_LOCK = threading.Lock()  # answers render on the event loop, chart labels on the chart thread


@functools.cache
def _opencc(config: str = "tw2sp") -> opencc.OpenCC:
    import opencc  # 7-10 MiB of tables: loaded when the first text is converted, not when this module is imported

    return opencc.OpenCC(config)


def _tw2sp(text: str) -> str:
    with _OPENCC_LOCK:
        return str(_opencc().convert(text))


def _t2s(text: str) -> str:
    """Script only: Traditional characters to Simplified ones, the words unchanged."""
    with _OPENCC_LOCK:
        return str(_opencc("t2s").convert(text))


class Simplifier:
    """Traditional (Taiwan) text -> Simplified (mainland) text, with the reviewed overrides applied last."""

    def __init__(self, overrides: tuple[tuple[str, str], ...] = ()) -> None:
        self.overrides = overrides
        # Memoised: config labels and answer texts repeat; the bound keeps echoed user text from growing it.
        self._cached: Callable[[str], str] = functools.lru_cache(maxsize=4096)(self._convert)

    def __call__(self, text: str) -> str:
        return text if text.isascii() else self._cached(text)

    def _convert(self, text: str) -> str:
        quotes: list[str] = []

        def hold(match: re.Match[str]) -> str:
            quotes.append(_DIGIT_TRILLION.sub(r"\1\2万亿", _t2s(match[1])).translate(_MAINLAND_QUOTES))
            return f"「{_HOLD_START}{len(quotes) - 1}{_HOLD_END}」"

        held = _QUOTED.sub(hold, text)
        converted = _TRILLION.sub(r"\1\2万亿", _tw2sp(held)).translate(_MAINLAND_QUOTES)
        for wrong, right in self.overrides:
            converted = converted.replace(wrong, right)
        return _HELD.sub(lambda m: quotes[int(m[1])], converted)


def load_overrides(path: Path) -> tuple[tuple[str, str], ...]:
    """The [phrases] table: converter output -> mainland wording. A missing file means no overrides."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return ()
    except tomllib.TOMLDecodeError as exc:
        raise OverridesError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"phrases"})
    if unknown:
        raise OverridesError(f"{path}: entry {unknown[0]!r}: unknown table (only [phrases])")
    phrases = data.get("phrases", {})
    pairs: list[tuple[str, str]] = []
    for wrong, right in phrases.items():
        if not isinstance(right, str) or not wrong or not right:
            raise OverridesError(f"{path}: entry phrases.{wrong!r}: write a non-empty string on both sides")
        pairs.append((wrong, right))
    # Longest first, so a long phrase wins over a shorter one inside it.
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))
