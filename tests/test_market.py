"""Live market data against a fake CoinGecko on 127.0.0.1, through the real aiohttp client."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from bot.facts import Facts
from bot.market import RETRY_AFTER_FAILURE_SECONDS, MarketData
from bot.store import SQLiteStore
from tests.fake_market import FakeMarketAPI
from tests.helpers import scrubbed_env


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_764_468_600.0  # 2025-11-30 02:10 UTC

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def api() -> AsyncIterator[FakeMarketAPI]:
    async with FakeMarketAPI() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make_market(
    session: aiohttp.ClientSession, api: FakeMarketAPI, facts: Facts, clock: FakeClock, store: SQLiteStore | None = None
) -> MarketData:
    return MarketData(
        session, api.base_url, facts, store=store, api_key="demo-key", timeout_seconds=0.5, ttl_seconds=600, clock=clock
    )


async def test_fresh_fetch_is_live_with_its_time(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock()
    market = make_market(session, api, facts, clock)
    cap = await market.market_cap()
    assert cap.kind == "live"
    assert cap.usd == Decimal("3123456789012.5")  # parsed as an exact decimal, no float detour
    assert cap.as_of == dt.datetime(2025, 11, 30, 2, 10, tzinfo=dt.UTC)
    assert (cap.btc_usd, cap.eth_usd) == (Decimal("91234.5"), Decimal("3012.25"))
    assert api.api_keys == ["demo-key"]


async def test_served_from_cache_within_the_ttl_then_refreshed(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock()
    market = make_market(session, api, facts, clock)
    await market.market_cap()
    clock.now += 599
    for _ in range(10):
        assert (await market.market_cap()).kind == "live"
    assert api.hits["global"] == 1
    clock.now += 2  # past the TTL
    await market.market_cap()
    assert api.hits["global"] == 2


async def test_fifty_simultaneous_asks_make_one_request(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    market = make_market(session, api, facts, FakeClock())
    caps = await asyncio.gather(*(market.market_cap() for _ in range(50)))
    assert {c.kind for c in caps} == {"live"}
    assert api.hits["global"] == 1 and api.hits["prices"] == 1  # timings: benchmarks/timings.py


@pytest.mark.parametrize("mode", ["slow", "429", "500", "garbage", "zero", "negative", "huge", "shape"])
async def test_failure_without_history_falls_back_to_the_config_figure(
    mode: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    api.mode = mode
    # "slow" answers after 5 s: a config figure here means the 0.5 s timeout fired (timings: benchmarks/timings.py).
    cap = await make_market(session, api, facts, FakeClock()).market_cap()
    assert cap.kind == "config"
    assert cap.usd == Decimal("3.9e12")
    assert cap.as_of == dt.date(2025, 8, 7)


@pytest.mark.parametrize("mode", ["slow", "429", "500", "garbage", "zero"])
async def test_failure_after_a_good_fetch_uses_the_last_snapshot_with_its_age(
    mode: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock()
    market = make_market(session, api, facts, clock)
    await market.market_cap()
    api.mode = mode
    clock.now += 25 * 60
    cap = await market.market_cap()
    assert cap.kind == "cached"
    assert cap.age_minutes == 25
    assert cap.usd == Decimal("3123456789012.5")


async def test_a_failing_api_is_not_hammered(api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts) -> None:
    clock = FakeClock()
    market = make_market(session, api, facts, clock)
    api.mode = "500"
    for _ in range(20):
        await market.market_cap()
    assert api.hits["global"] == 1
    clock.now += RETRY_AFTER_FAILURE_SECONDS + 1
    api.mode = "ok"
    assert (await market.market_cap()).kind == "live"
    assert api.hits["global"] == 2


async def test_snapshot_survives_a_restart_through_the_store(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        await make_market(session, api, facts, clock, store).market_cap()
    api.mode = "500"
    clock.now += 3600
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        cap = await make_market(session, api, facts, clock, store).market_cap()
    assert (cap.kind, cap.age_minutes, cap.usd) == ("cached", 60, Decimal("3123456789012.5"))


async def test_a_fresh_stored_snapshot_saves_the_request(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        await make_market(session, api, facts, clock, store).market_cap()
        clock.now += 60
        assert (await make_market(session, api, facts, clock, store).market_cap()).kind == "live"
    assert api.hits["global"] == 1


async def _console_ask(api_url: str, tmp_path: Path, *extra: str) -> str:
    db = str(tmp_path / "console.sqlite3")
    env = scrubbed_env(BOT_MARKET_ENABLED="1", BOT_MARKET_API_URL=api_url, LOG_LEVEL="ERROR", BOT_DB_PATH=db)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "ask",
        "/inflow 2%",
        "--lang",
        "en",
        *extra,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_console_shows_the_live_figure_and_its_time(api: FakeMarketAPI, tmp_path: Path) -> None:
    out = await _console_ask(api.base_url, tmp_path)
    assert "▸ Crypto market cap used\n  $3.12 trillion — live, " in out
    assert "(CoinGecko API)" in out
    assert "BTC $91,234.5 · ETH $3,012.25" in out
    assert "about **5.57%** of the total crypto market cap" in out  # 174e9 / 3.1235e12


async def test_console_labels_the_fallback_when_the_api_is_down(api: FakeMarketAPI, tmp_path: Path) -> None:
    api.mode = "500"
    out = await _console_ask(api.base_url, tmp_path)
    assert "$3.9 trillion — as of Aug 7, 2025 (Press reports citing CoinGecko; no live data)" in out


async def test_offline_flag_makes_no_request(api: FakeMarketAPI, tmp_path: Path) -> None:
    out = await _console_ask(api.base_url, tmp_path, "--offline")
    assert "no live data" in out
    assert api.hits["global"] == 0
