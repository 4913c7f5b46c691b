"""Plausibility bands for market figures from an outside API: a number outside them is a broken or hostile source.

The bands are wide on purpose (they must never reject a real market, only nonsense):

- total crypto market cap: $100 billion .. $100 trillion. It has not been below ~$120 billion since 2017; $100
  trillion is ~25x the order-day figure (3.9T, 7 Aug 2025) and about the whole world's stock market.
- BTC: $1,000 .. $10 million per coin (under $1,000 last in early 2017; $10M is ~100x the 2025 price).
- ETH: $10 .. $1 million per coin (under $10 last in early 2017; $1M is ~250x the 2025 price).
- one coin cannot be worth more than all coins together: price x a floor on its supply (BTC 19 million, mined by
  2023 and only growing; ETH 100 million, above that since 2018) must stay within the total market cap.

Every bound is also small enough that formatting the figure can never overflow Decimal's default context.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MIN_MARKET_CAP = Decimal("1e11")
MAX_MARKET_CAP = Decimal("1e14")
PRICE_BANDS: dict[str, tuple[Decimal, Decimal]] = {
    "bitcoin": (Decimal("1e3"), Decimal("1e7")),
    "ethereum": (Decimal("1e1"), Decimal("1e6")),
}
SUPPLY_FLOORS: dict[str, Decimal] = {"bitcoin": Decimal("19e6"), "ethereum": Decimal("100e6")}


class ImplausibleValue(ValueError):
    """A figure that is a number but cannot be a real market (or not a finite number at all)."""


def finite_number(value: object) -> Decimal:
    """A finite Decimal from a JSON number or numeric string; anything else raises ImplausibleValue."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ImplausibleValue(f"not a number: {value!r:.60}")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ImplausibleValue(f"not a number: {value!r:.60}") from None
    if not number.is_finite():
        raise ImplausibleValue(f"not finite: {value!r:.60}")
    return number


def _within(number: Decimal, low: Decimal, high: Decimal, what: str) -> Decimal:
    if not low <= number <= high:
        # %.6g keeps a 10,000-digit number from turning into a 10,000-character log line
        raise ImplausibleValue(f"implausible {what}: {float(number):.6g} (plausible: {low:,.0f} .. {high:,.0f})")
    return number


def market_cap(value: object) -> Decimal:
    return _within(finite_number(value), MIN_MARKET_CAP, MAX_MARKET_CAP, "total crypto market cap")


def price(coin: str, value: object, total_market_cap: Decimal) -> Decimal:
    """A coin's USD price, checked against its band and against the total market cap it belongs to."""
    low, high = PRICE_BANDS[coin]
    number = _within(finite_number(value), low, high, f"{coin} price")
    if number * SUPPLY_FLOORS[coin] > total_market_cap:
        raise ImplausibleValue(f"{coin} at {number:,.0f} would be worth more than the whole market")
    return number
