"""Live crypto market cap (CoinGecko-compatible API) with a TTL, one request in flight, and honest fallbacks.

However many people ask, at most one outside request per TTL; on any failure the last good snapshot (with its
age) is used, else the config figure. Nothing the API returns can break an answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from bot.facts import Facts
from bot.inflow import MarketCap
from bot.store import Store

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0
RETRY_AFTER_FAILURE_SECONDS = 60.0  # do not hammer an API that is down or rate-limiting us
REQUEST_TIMEOUT_SECONDS = 1.5  # well inside Discord's 3-second window
# Anything outside these bounds is garbage, not a market: $1 billion .. $1 quadrillion.
MIN_MARKET_CAP = Decimal("1e9")
MAX_MARKET_CAP = Decimal("1e15")
SOURCE_NAME = "CoinGecko API"
MARKET_LEASE = "market_fetch"


class MarketDataError(Exception):
    pass


@dataclass(frozen=True)
class MarketSnapshot:
    market_cap_usd: Decimal
    btc_usd: Decimal | None
    eth_usd: Decimal | None
    fetched_at: float  # unix seconds

    def to_json(self) -> str:
        return json.dumps(
            {
                "market_cap_usd": str(self.market_cap_usd),
                "btc_usd": None if self.btc_usd is None else str(self.btc_usd),
                "eth_usd": None if self.eth_usd is None else str(self.eth_usd),
                "fetched_at": self.fetched_at,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> MarketSnapshot:
        data = json.loads(text)
        return cls(
            market_cap_usd=_valid_market_cap(data["market_cap_usd"]),
            btc_usd=None if data.get("btc_usd") is None else Decimal(data["btc_usd"]),
            eth_usd=None if data.get("eth_usd") is None else Decimal(data["eth_usd"]),
            fetched_at=float(data["fetched_at"]),
        )


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MarketDataError(f"not a number: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MarketDataError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise MarketDataError(f"not finite: {value!r}")
    return number


def _valid_market_cap(value: Any) -> Decimal:
    number = _decimal(value)
    if not MIN_MARKET_CAP <= number <= MAX_MARKET_CAP:
        raise MarketDataError(f"absurd market cap: {number}")
    return number


def _valid_price(value: Any) -> Decimal | None:
    try:
        number = _decimal(value)
    except MarketDataError:
        return None
    return number if number > 0 else None


def _price(prices: Any, coin: str) -> Decimal | None:
    entry = prices.get(coin) if isinstance(prices, dict) else None
    return _valid_price(entry.get("usd")) if isinstance(entry, dict) else None


class MarketData:
    """The live market-cap source the Core asks for /inflow."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        facts: Facts,
        *,
        store: Store | None = None,
        api_key: str | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.facts = facts
        self.store = store
        self.api_key = api_key
        self.ttl = ttl_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.clock = clock
        self._last_good: MarketSnapshot | None = None
        self._loaded_from_store = False
        self._last_attempt = float("-inf")
        self._inflight: asyncio.Task[MarketSnapshot | None] | None = None

    # ------------------------------------------------------------------ public

    async def market_cap(self) -> MarketCap:
        snapshot = await self.snapshot()
        return MarketCap.from_config(self.facts) if snapshot is None else self._as_market_cap(snapshot)

    def fresh_market_cap(self) -> MarketCap | None:
        """The live value if a fresh one is in memory (no I/O at all), else None."""
        snapshot = self._last_good
        if snapshot is None or self.clock() - snapshot.fetched_at >= self.ttl:
            return None
        return self._as_market_cap(snapshot)

    def _as_market_cap(self, snapshot: MarketSnapshot) -> MarketCap:
        """Live within the TTL; older snapshots are "cached" and carry their age."""
        age = self.clock() - snapshot.fetched_at
        fresh = age < self.ttl
        return MarketCap(
            usd=snapshot.market_cap_usd,
            as_of=dt.datetime.fromtimestamp(snapshot.fetched_at, dt.UTC),
            kind="live" if fresh else "cached",
            source=SOURCE_NAME,
            age_minutes=None if fresh else int(age // 60),
            btc_usd=snapshot.btc_usd,
            eth_usd=snapshot.eth_usd,
        )

    async def snapshot(self) -> MarketSnapshot | None:
        """A fresh snapshot if possible, else the last good one (any age), else None."""
        await self._load_from_store()
        now = self.clock()
        if self._last_good is not None and now - self._last_good.fetched_at < self.ttl:
            return self._last_good
        if now - self._last_attempt < RETRY_AFTER_FAILURE_SECONDS and self._inflight is None:
            return self._last_good
        if self._inflight is None:
            self._last_attempt = now
            self._inflight = asyncio.create_task(self._refresh())
            self._inflight.add_done_callback(self._clear_inflight)
        # shield: one asker giving up (a cancelled interaction) must not cancel everybody's request
        return await asyncio.shield(self._inflight)

    # ------------------------------------------------------------------ internals

    def _clear_inflight(self, task: asyncio.Task[MarketSnapshot | None]) -> None:
        self._inflight = None

    async def _load_from_store(self) -> None:
        if self._loaded_from_store or self.store is None:
            return
        self._loaded_from_store = True
        row = await self.store.latest_snapshot()
        if row is None:
            return
        try:
            stored = MarketSnapshot.from_json(row[1])
            if self._last_good is None or stored.fetched_at > self._last_good.fetched_at:
                self._last_good = stored
        except (MarketDataError, KeyError, ValueError, TypeError) as exc:
            log.warning("market: ignoring an unreadable stored snapshot: %s", exc)

    async def _refresh(self) -> MarketSnapshot | None:
        # Several processes sharing a store make one outside request per TTL between them: the lease holder
        # fetches, the others read what it stored.
        if self.store is not None and not await self.store.try_lease(MARKET_LEASE, self.ttl):
            self._last_attempt = float("-inf")  # ask the store again next time, not the API
            self._loaded_from_store = False
            await self._load_from_store()
            return self._last_good
        try:
            snapshot = await self._fetch()
        except Exception as exc:  # every failure ends in a fallback, never in a broken answer
            log.warning("market: live data unavailable (%s: %s); using fallback", type(exc).__name__, exc)
            if self.store is not None:
                await self.store.release_lease(MARKET_LEASE)  # any process may try again after its back-off
            return self._last_good
        self._last_good = snapshot
        if self.store is not None:
            await self.store.save_snapshot(snapshot.fetched_at, snapshot.to_json())
        return snapshot

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            pro = "pro-api." in self.base_url
            headers["x-cg-pro-api-key" if pro else "x-cg-demo-api-key"] = self.api_key
        return headers

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        async with self.session.get(
            f"{self.base_url}{path}", params=params, headers=self._headers(), timeout=self.timeout
        ) as response:
            if response.status != 200:
                raise MarketDataError(f"HTTP {response.status} from {path}")
            body = await response.read()
        try:
            return json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MarketDataError(f"not JSON from {path}") from exc

    async def _fetch(self) -> MarketSnapshot:
        results: tuple[Any, Any] = await asyncio.gather(
            self._get_json("/global"),
            self._get_json("/simple/price", {"ids": "bitcoin,ethereum", "vs_currencies": "usd"}),
            return_exceptions=True,
        )
        global_data, prices = results
        if isinstance(global_data, BaseException):
            raise global_data
        try:
            market_cap = _valid_market_cap(global_data["data"]["total_market_cap"]["usd"])
        except (KeyError, TypeError) as exc:
            raise MarketDataError(f"unexpected /global shape: {exc!r}") from exc
        # Prices are a bonus: their failure does not spoil the market cap.
        return MarketSnapshot(market_cap, _price(prices, "bitcoin"), _price(prices, "ethereum"), self.clock())
