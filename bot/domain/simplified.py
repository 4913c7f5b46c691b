"""Simplified Chinese (zh-CN) generated from the Traditional (zh-TW) text, never written by hand.

OpenCC's `tw2sp` turns Taiwan characters and phrases into mainland ones (軟體 -> 软件, 資料 -> 数据); a short
reviewed override file (config/zh-CN-overrides.toml) fixes the phrases it gets wrong for this bot; and Taiwan's 兆
(10^12) after a number becomes 万亿, since a mainland reader may take 兆 for 10^6; Taiwan's corner quotes 「」『』
become the mainland's “” ‘’.

What a user typed and the bot echoes (「abc」不是百分比) is converted with the rest: a zh-CN answer never shows a
Traditional-only character.
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


class OverridesError(Exception):
    """The override file is unusable; the message names the file and the entry."""


_OPENCC_LOCK = threading.Lock()  # answers render on the event loop, chart labels on the chart thread


@functools.cache
def _opencc() -> opencc.OpenCC:
    import opencc  # 7-10 MiB of tables: loaded when the first text is converted, not when this module is imported

    return opencc.OpenCC("tw2sp")


def _tw2sp(text: str) -> str:
    with _OPENCC_LOCK:
        return str(_opencc().convert(text))


class Simplifier:
    """Traditional (Taiwan) text -> Simplified (mainland) text, with the reviewed overrides applied last."""

    def __init__(self, overrides: tuple[tuple[str, str], ...] = ()) -> None:
        self.overrides = overrides
        # Memoised: config labels and answer texts repeat; the bound keeps echoed user text from growing it.
        self._cached: Callable[[str], str] = functools.lru_cache(maxsize=4096)(self._convert)

    def __call__(self, text: str) -> str:
        return text if text.isascii() else self._cached(text)

    def _convert(self, text: str) -> str:
        converted = _TRILLION.sub(r"\1\2万亿", _tw2sp(text)).translate(_MAINLAND_QUOTES)
        for wrong, right in self.overrides:
            converted = converted.replace(wrong, right)
        return converted


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
