"""Live crypto market cap (CoinGecko-compatible API) with a TTL, one request in flight, and honest fallbacks.

However many people ask, at most one outside request per TTL; on any failure the last good snapshot (with its
age) is used, else the config figure. Nothing the API returns can break an answer, stall the event loop or end up
in the store: the API is a stranger. Its bodies are capped in size and parsed off the loop, every figure must be
plausible (bot/plausible.py) or the whole response is dropped, redirects are refused (so the API key only ever
goes to the configured origin), and a stored snapshot is checked again when it is loaded.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from bot.domain import plausible
from bot.domain.facts import Facts
from bot.domain.inflow import MarketCap
from bot.domain.plausible import ImplausibleValue
from bot.infra.background import BackgroundWrites
from bot.store import MarketSnapshots

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0
RETRY_AFTER_FAILURE_SECONDS = 60.0  # do not hammer an API that is down or rate-limiting us
REQUEST_TIMEOUT_SECONDS = 1.5  # well inside Discord's 3-second window
# A real /global body is ~5 KB and /simple/price ~100 bytes; 256 KiB is 50x that and parses in a few ms.
MAX_BODY_BYTES = 256 * 1024
READ_CHUNK_BYTES = 16 * 1024
STORE_READ_SECONDS = 0.5  # the stored snapshot is a fallback: never worth more of the reply's time than this
MAX_STORED_SNAPSHOT_CHARS = 4096
MAX_CLOCK_SKEW_SECONDS = 300.0  # a snapshot "from the future" would otherwise stay fresh forever
SOURCE_NAME = "CoinGecko API"
COINS = ("bitcoin", "ethereum")
MARKET_LEASE = "market_fetch"
# A process that loses the lease waits this long (polling the store) for the winner's snapshot instead of answering
# with the config figure: the winner's request is bounded by REQUEST_TIMEOUT_SECONDS, and its write follows at once.
WINNER_WAIT_SECONDS = REQUEST_TIMEOUT_SECONDS + 0.5
WINNER_POLL_SECONDS = 0.1


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
    def from_json(cls, text: str, now: float) -> MarketSnapshot:
        """A stored snapshot, checked exactly like a fresh response: an older version may have stored nonsense."""
        if len(text) > MAX_STORED_SNAPSHOT_CHARS:  # ours are ~150 characters; parsing megabytes would stall the loop
            raise ImplausibleValue(f"a stored snapshot of {len(text)} characters")
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ImplausibleValue("a stored snapshot is not an object")
        fetched_at = float(data["fetched_at"])
        if not 0 < fetched_at <= now + MAX_CLOCK_SKEW_SECONDS:  # also false for NaN
            raise ImplausibleValue(f"a stored snapshot has an impossible time: {fetched_at}")
        cap = plausible.market_cap(data["market_cap_usd"])
        btc, eth = (data.get(k) for k in ("btc_usd", "eth_usd"))
        return cls(
            market_cap_usd=cap,
            btc_usd=None if btc is None else plausible.price("bitcoin", btc, cap),
            eth_usd=None if eth is None else plausible.price("ethereum", eth, cap),
            fetched_at=fetched_at,
        )


def _price(prices: Any, coin: str, market_cap: Decimal) -> Decimal | None:
    """A coin's price if the response has one; a price that is there but implausible spoils the whole response."""
    entry = prices.get(coin) if isinstance(prices, dict) else None
    value = entry.get("usd") if isinstance(entry, dict) else None
    return None if value is None else plausible.price(coin, value, market_cap)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")  # Python's json would otherwise turn NaN/Infinity into floats


def parse_json(body: bytes) -> Any:
    """Decimals for every number (no float detour); NaN, Infinity and nesting too deep for the parser are errors."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MarketDataError(f"not JSON ({type(exc).__name__})") from None


async def read_capped(response: aiohttp.ClientResponse, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read in chunks and abandoned as soon as it passes `limit` bytes (after decompression)."""
    if response.content_length is not None and response.content_length > limit:
        raise MarketDataError(f"a {response.content_length}-byte body is over the {limit}-byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise MarketDataError(f"the body passed the {limit}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


class MarketData:
    """The live market-cap source the Core asks for /inflow."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        facts: Facts,
        *,
        store: MarketSnapshots | None = None,
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
        self._writes = BackgroundWrites()
        self._last_good: MarketSnapshot | None = None
        self._loaded_from_store = False
        self._last_attempt = float("-inf")
        self._inflight: asyncio.Task[MarketSnapshot | None] | None = None
        self.fetches: collections.Counter[str] = collections.Counter()  # by outcome, for /metrics

    # ------------------------------------------------------------------ public

    async def market_cap(self) -> MarketCap:
        snapshot = await self.snapshot()
        return MarketCap.from_config(self.facts) if snapshot is None else self._as_market_cap(snapshot)

    @property
    def last_fetched_at(self) -> float | None:
        """When the snapshot answers use now was fetched (None: none yet)."""
        return None if self._last_good is None else self._last_good.fetched_at

    async def close(self) -> None:
        """Finish (bounded) the snapshot writes still in the background."""
        await self._writes.close()

    def fresh_market_cap(self) -> MarketCap | None:
        """The live value if a fresh one is in memory (no I/O at all), else None."""
        snapshot = self._last_good
        if snapshot is None or not self._is_fresh(snapshot, self.clock()):
            return None
        return self._as_market_cap(snapshot)

    def _is_fresh(self, snapshot: MarketSnapshot, now: float) -> bool:
        # A snapshot "from the future" (the clock was set back) has an unknown age: not fresh.
        return -MAX_CLOCK_SKEW_SECONDS <= now - snapshot.fetched_at < self.ttl

    def _as_market_cap(self, snapshot: MarketSnapshot) -> MarketCap:
        """Live within the TTL; older snapshots are "cached" and carry their age."""
        now = self.clock()
        age = max(now - snapshot.fetched_at, 0.0)
        fresh = self._is_fresh(snapshot, now)
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
        if self._last_good is not None and self._is_fresh(self._last_good, now):
            return self._last_good
        if 0 <= now - self._last_attempt < RETRY_AFTER_FAILURE_SECONDS and self._inflight is None:
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
        try:
            row = await asyncio.wait_for(self.store.latest_snapshot(), STORE_READ_SECONDS)
        except TimeoutError:
            log.warning("market: no stored snapshot (the store took over %.1f s)", STORE_READ_SECONDS)
            return
        if row is None:
            return
        try:
            stored = MarketSnapshot.from_json(row[1], self.clock())
        except (KeyError, ValueError, TypeError) as exc:  # ImplausibleValue is a ValueError
            log.warning("market: ignoring an unusable stored snapshot: %s", exc)
            return
        if self._last_good is None or stored.fetched_at > self._last_good.fetched_at:  # another process's is newer
            self._last_good = stored

    async def _refresh(self) -> MarketSnapshot | None:
        # Several processes sharing a store make one outside request per TTL between them: the lease holder
        # fetches, the others read what it stored.
        if self.store is not None and not await self.store.try_lease(MARKET_LEASE, self.ttl):
            self._last_attempt = float("-inf")  # ask the store again next time, not the API
            return await self._wait_for_winner()
        try:
            snapshot = await self._fetch()
        except ImplausibleValue as exc:
            self.fetches["implausible"] += 1
            log.warning("market: dropped an implausible response (%s); using the fallback", exc)
            if self.store is not None:
                await self.store.release_lease(MARKET_LEASE)  # any process may try again after its back-off
            return self._last_good
        except Exception as exc:  # every failure ends in a fallback, never in a broken answer
            self.fetches["error"] += 1
            log.warning("market: live data unavailable (%s: %s); using fallback", type(exc).__name__, exc)
            if self.store is not None:
                await self.store.release_lease(MARKET_LEASE)  # any process may try again after its back-off
            return self._last_good
        self.fetches["ok"] += 1
        self._last_good = snapshot
        if self.store is not None:  # in the background: nobody's answer waits for the store
            self._writes.submit(self.store.save_snapshot(snapshot.fetched_at, snapshot.to_json()), "market snapshot")
        return snapshot

    async def _wait_for_winner(self) -> MarketSnapshot | None:
        """Another process holds the lease, so it is fetching (or has fetched): a short, bounded wait for its fresh
        snapshot in the store, rather than the config figure when several processes start at once."""
        deadline = time.monotonic() + WINNER_WAIT_SECONDS
        while True:
            self._loaded_from_store = False
            await self._load_from_store()
            fresh = self._last_good is not None and self._is_fresh(self._last_good, self.clock())
            if fresh or time.monotonic() >= deadline:
                return self._last_good
            await asyncio.sleep(WINNER_POLL_SECONDS)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            pro = "pro-api." in self.base_url
            headers["x-cg-pro-api-key" if pro else "x-cg-demo-api-key"] = self.api_key
        return headers

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        # No redirects: aiohttp would follow them by default and carry the key header to wherever they point.
        async with self.session.get(
            f"{self.base_url}{path}",
            params=params,
            headers=self._headers(),
            timeout=self.timeout,
            allow_redirects=False,
        ) as response:
            if 300 <= response.status < 400:
                raise MarketDataError(f"refused a redirect (HTTP {response.status}) from {path}")
            if response.status != 200:
                raise MarketDataError(f"HTTP {response.status} from {path}")
            body = await read_capped(response)
        # Off the loop: even a capped body should not hold up other answers while it is parsed.
        return await asyncio.to_thread(parse_json, body)

    async def _fetch(self) -> MarketSnapshot:
        results: tuple[Any, Any] = await asyncio.gather(
            self._get_json("/global"),
            self._get_json("/simple/price", {"ids": "bitcoin,ethereum", "vs_currencies": "usd"}),
            return_exceptions=True,
        )
        global_data, prices = results
        if isinstance(global_data, BaseException):
            raise global_data
        return snapshot_from(global_data, None if isinstance(prices, BaseException) else prices, self.clock())


def snapshot_from(global_data: Any, prices: Any, fetched_at: float) -> MarketSnapshot:
    """A snapshot from the two parsed bodies, or MarketDataError / ImplausibleValue: never a figure out of band."""
    try:
        market_cap = plausible.market_cap(global_data["data"]["total_market_cap"]["usd"])
    except (KeyError, TypeError, IndexError) as exc:
        raise MarketDataError(f"unexpected /global shape: {type(exc).__name__}") from None
    # Prices are a bonus: a failed or incomplete price request does not spoil the market cap (an implausible
    # price does: a source that sends one absurd figure is not trusted for the others).
    btc, eth = (_price(prices, coin, market_cap) for coin in COINS)
    return MarketSnapshot(market_cap, btc, eth, fetched_at)
