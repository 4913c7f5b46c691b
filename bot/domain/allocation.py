"""Parse an allocation the way people type it in chat: 2%, 2, 0.5%, ２％, 1-5%, 1 to 5%.

A bare number means percent ("2" is 2%, never 200% or 0.02%).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

MAX_INPUT_LENGTH = 32
_HUNDRED = Decimal(100)

_NUMBER = r"[+-]?\s*(?:\d+(?:\.\d+)?|\.\d+|nan|inf(?:inity)?)"
_SINGLE = re.compile(rf"(?P<low>{_NUMBER})\s*%?")
_RANGE = re.compile(rf"(?P<low>{_NUMBER})\s*%?\s*(?:-|~|to|至|到)\s*(?P<high>{_NUMBER})\s*%?")
# NFKC folds full-width digits and ％ / ～; dashes and the wave dash it leaves alone.
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "〜": "~", "‒": "-"})


class AllocationErrorReason(StrEnum):
    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    ZERO = "zero"
    OVER_100 = "over_100"
    NAN_INF = "nan_inf"
    TOO_LONG = "too_long"
    RANGE_REVERSED = "range_reversed"


class AllocationError(ValueError):
    """The text is not a usable allocation; `reason` is what the renderer localises."""

    def __init__(self, reason: AllocationErrorReason, text: str) -> None:
        super().__init__(f"{reason.value}: {text!r}")
        self.reason = reason
        self.text = text


@dataclass(frozen=True)
class Allocation:
    """A percentage (2 means 2%), or a range of them."""

    low: Decimal
    high: Decimal

    @property
    def is_range(self) -> bool:
        return self.low != self.high

    @property
    def values(self) -> tuple[Decimal, ...]:
        return (self.low, self.high) if self.is_range else (self.low,)

    @property
    def text(self) -> str:
        """The canonical spelling ("2%", "0.5-2%"), which parses back to this allocation. Component ids carry it
        rather than what was typed (padding, full-width digits), so they stay short enough for Discord."""
        return f"{self.low:f}-{self.high:f}%" if self.is_range else f"{self.low:f}%"


def _to_percent(raw: str, text: str) -> Decimal:
    try:
        value = Decimal(raw.replace(" ", ""))
    except InvalidOperation:
        raise AllocationError(AllocationErrorReason.NOT_A_NUMBER, text) from None
    if not value.is_finite():
        raise AllocationError(AllocationErrorReason.NAN_INF, text)
    if value < 0:
        raise AllocationError(AllocationErrorReason.NEGATIVE, text)
    if value == 0:
        raise AllocationError(AllocationErrorReason.ZERO, text)
    if value > _HUNDRED:
        raise AllocationError(AllocationErrorReason.OVER_100, text)
    # 2.0 -> 2, 2.50 -> 2.5 (normalize() alone would turn 10 into 1E+1)
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def parse_allocation(text: str) -> Allocation:
    """Turn what a user typed into an Allocation, or raise AllocationError."""
    normalized = unicodedata.normalize("NFKC", text).translate(_DASHES).strip().lower()
    if not normalized:
        raise AllocationError(AllocationErrorReason.EMPTY, text)
    if len(normalized) > MAX_INPUT_LENGTH:
        raise AllocationError(AllocationErrorReason.TOO_LONG, text)

    if match := _SINGLE.fullmatch(normalized):
        value = _to_percent(match["low"], text)
        return Allocation(value, value)
    if match := _RANGE.fullmatch(normalized):
        low, high = _to_percent(match["low"], text), _to_percent(match["high"], text)
        if low > high:
            raise AllocationError(AllocationErrorReason.RANGE_REVERSED, text)
        return Allocation(low, high)
    raise AllocationError(AllocationErrorReason.NOT_A_NUMBER, text)
