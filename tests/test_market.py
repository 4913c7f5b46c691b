"""Live market data against a fake CoinGecko on 127.0.0.1, through the real aiohttp client."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers.render import Renderer
from bot.answers.requests import Command, build_request
from bot.console import answer_line
from bot.domain import plausible
from bot.domain.facts import Facts
from bot.domain.inflow import MarketCap
from bot.domain.plausible import ImplausibleValue
from bot.infra import market as market_module
from bot.infra.market import (
    MAX_BODY_BYTES,
    RETRY_AFTER_FAILURE_SECONDS,
    MarketData,
    MarketDataError,
    MarketSnapshot,
    snapshot_from,
)
from bot.infra.services import open_services
from bot.infra.settings import Settings
from bot.store import SQLiteStore, Store
from tests.fake_market import FakeMarketAPI
from tests.fakes import FakeClock, open_core
from tests.helpers import scrubbed_env

NOW = 1_764_468_600.0  # 2025-11-30 02:10 UTC


@pytest.fixture
async def api() -> AsyncIterator[FakeMarketAPI]:
    async with FakeMarketAPI() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make_market(
    session: aiohttp.ClientSession, api: FakeMarketAPI, facts: Facts, clock: FakeClock, store: Store | None = None
) -> MarketData:
    return MarketData(
        session, api.base_url, facts, store=store, api_key="demo-key", timeout_seconds=0.5, ttl_seconds=600, clock=clock
    )


async def test_fresh_fetch_is_live_with_its_time(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock(NOW)
    market = make_market(session, api, facts, clock)
    cap = await market.market_cap()
    assert cap.kind == "live"
    assert cap.usd == Decimal("3123456789012.5")  # parsed as an exact decimal, no float detour
    assert cap.as_of == dt.datetime(2025, 11, 30, 2, 10, tzinfo=dt.UTC)
    assert (cap.btc_usd, cap.eth_usd) == (Decimal("91234.5"), Decimal("3012.25"))
    assert api.api_keys == ["demo-key", "demo-key"]  # /global and /simple/price


async def test_served_from_cache_within_the_ttl_then_refreshed(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock(NOW)
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
    market = make_market(session, api, facts, FakeClock(NOW))
    caps = await asyncio.gather(*(market.market_cap() for _ in range(50)))
    assert {c.kind for c in caps} == {"live"}
    assert api.hits["global"] == 1 and api.hits["prices"] == 1  # timings: benchmarks/timings.py


@pytest.mark.parametrize(
    "mode",
    [
        "slow",
        "429",
        "500",
        "garbage",
        "zero",
        "negative",
        "huge",
        "shape",
        "nan",
        "deep",
        "redirect",
        "trickle",
        "huge_header",
    ],
)
async def test_failure_without_history_falls_back_to_the_config_figure(
    mode: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    api.mode = mode
    # "slow" answers after 5 s: a config figure here means the 0.5 s timeout fired (timings: benchmarks/timings.py).
    cap = await make_market(session, api, facts, FakeClock(NOW)).market_cap()
    assert cap.kind == "config"
    assert cap.usd == Decimal("3.9e12")
    assert cap.as_of == dt.date(2025, 8, 7)


@pytest.mark.parametrize("mode", ["slow", "429", "500", "garbage", "zero"])
async def test_failure_after_a_good_fetch_uses_the_last_snapshot_with_its_age(
    mode: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock(NOW)
    market = make_market(session, api, facts, clock)
    await market.market_cap()
    api.mode = mode
    clock.now += 25 * 60
    cap = await market.market_cap()
    assert cap.kind == "cached"
    assert cap.age_minutes == 25
    assert cap.usd == Decimal("3123456789012.5")


async def test_a_failing_api_is_not_hammered(api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts) -> None:
    clock = FakeClock(NOW)
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
    clock = FakeClock(NOW)
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        market = make_market(session, api, facts, clock, store)
        await market.market_cap()
        await market.close()  # the snapshot is written in the background; close() lets it finish
    api.mode = "500"
    clock.now += 3600
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        cap = await make_market(session, api, facts, clock, store).market_cap()
    assert (cap.kind, cap.age_minutes, cap.usd) == ("cached", 60, Decimal("3123456789012.5"))


async def test_a_fresh_stored_snapshot_saves_the_request(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, tmp_path: Path
) -> None:
    clock = FakeClock(NOW)
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        first = make_market(session, api, facts, clock, store)
        await first.market_cap()
        await first.close()
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
    assert "about **6.4%** of the total crypto market cap" in out  # 200e9 / 3.1235e12


async def test_console_labels_the_fallback_when_the_api_is_down(api: FakeMarketAPI, tmp_path: Path) -> None:
    api.mode = "500"
    out = await _console_ask(api.base_url, tmp_path)
    assert "$3.9 trillion — as of Aug 7, 2025 (Fortune, Aug 7, 2025, citing CoinGecko; no live data)" in out


async def test_offline_flag_makes_no_request(api: FakeMarketAPI, tmp_path: Path) -> None:
    out = await _console_ask(api.base_url, tmp_path, "--offline")
    assert "no live data" in out
    assert api.hits["global"] == 0


# ---------------------------------------------------------------- hostile figures


POISONED_PRICES = {
    "btc astronomically large": '{"bitcoin": {"usd": 1e300}, "ethereum": {"usd": 3012.25}}',
    "btc beyond Decimal's context": '{"bitcoin": {"usd": 1E+999999}, "ethereum": {"usd": 3012.25}}',
    "btc worth more than the market": '{"bitcoin": {"usd": 5000000}, "ethereum": {"usd": 3012.25}}',
    "btc zero": '{"bitcoin": {"usd": 0}, "ethereum": {"usd": 3012.25}}',
    "btc a string": '{"bitcoin": {"usd": "to the moon"}, "ethereum": {"usd": 3012.25}}',
    "btc Infinity": '{"bitcoin": {"usd": "Infinity"}, "ethereum": {"usd": 3012.25}}',
    "eth negative": '{"bitcoin": {"usd": 91234.5}, "ethereum": {"usd": -3}}',
    "eth tiny": '{"bitcoin": {"usd": 91234.5}, "ethereum": {"usd": 1e-30}}',
}


@pytest.mark.parametrize("prices", POISONED_PRICES.values(), ids=POISONED_PRICES.keys())
async def test_an_implausible_price_drops_the_response_and_the_last_good_one_is_used(
    prices: str,
    api: FakeMarketAPI,
    session: aiohttp.ClientSession,
    facts: Facts,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(NOW)
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:
        market = make_market(session, api, facts, clock, store)
        await market.market_cap()
        api.prices = prices
        clock.now += 11 * 60
        cap = await market.market_cap()
        await market.close()
        # the answer: the last good figures, labelled as cached with their age
        assert (cap.kind, cap.age_minutes, cap.usd) == ("cached", 11, Decimal("3123456789012.5"))
        assert (cap.btc_usd, cap.eth_usd) == (Decimal("91234.5"), Decimal("3012.25"))
        assert "market: dropped an implausible response" in caplog.text or "not JSON" in caplog.text
        # never stored: the newest stored snapshot is still the good one
        latest = await store.latest_snapshot()
        assert latest is not None and latest[0] == FakeClock(NOW).now
    assert api.hits["prices"] == 2


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
async def test_inflow_with_an_absurd_btc_price_answers_with_the_labelled_config_figure(
    lang: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, renderer: Renderer
) -> None:
    api.prices = POISONED_PRICES["btc beyond Decimal's context"]
    async with open_core(facts, renderer, market=make_market(session, api, facts, FakeClock(NOW))) as core:
        outcome = await answer_line(core, "/inflow 2%", lang)  # type: ignore[arg-type]
        assert outcome.status == 0
        market = outcome.answer.fields[-1].value
        assert (
            market
            == {
                "en": "$3.9 trillion — as of Aug 7, 2025 (Fortune, Aug 7, 2025, citing CoinGecko; no live data)",
                "zh-TW": "3.9兆美元——截至2025年8月7日（Fortune（2025年8月7日報導），引用 CoinGecko；無即時數據）",
            }[lang]
        )


class AbsurdSource:
    """A market source (not ours) that hands the core nonsense: the core's own check must catch it."""

    def __init__(self, **figures: Decimal) -> None:
        self.figures = {"usd": Decimal("3e12"), **figures}

    async def market_cap(self) -> MarketCap:
        live = MarketCap(usd=self.figures["usd"], as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), kind="live", source="x")
        return dataclasses.replace(live, btc_usd=self.figures.get("btc_usd"), eth_usd=self.figures.get("eth_usd"))

    def fresh_market_cap(self) -> MarketCap | None:
        return None


@pytest.mark.parametrize(
    "figures",
    [{"btc_usd": Decimal("1e30")}, {"eth_usd": Decimal("1E+999999")}, {"usd": Decimal("1e30")}, {"usd": Decimal(0)}],
)
async def test_the_core_checks_any_market_source(figures: dict[str, Decimal], facts: Facts, renderer: Renderer) -> None:
    async with open_core(facts, renderer, market=AbsurdSource(**figures)) as core:
        outcome = await answer_line(core, "/inflow 2%", "en")
        assert outcome.status == 0
        assert outcome.answer.fields[-1].value.endswith("(Fortune, Aug 7, 2025, citing CoinGecko; no live data)")


POISONED_STORED = {
    "btc 1e300": {"market_cap_usd": "3e12", "btc_usd": "1e300", "eth_usd": None},
    "market cap 1e30": {"market_cap_usd": "1e30", "btc_usd": None, "eth_usd": None},
    "market cap NaN": {"market_cap_usd": "NaN", "btc_usd": None, "eth_usd": None},
    "eth Infinity": {"market_cap_usd": "3e12", "btc_usd": "90000", "eth_usd": "Infinity"},
    "time in the future": {"market_cap_usd": "3e12", "btc_usd": None, "eth_usd": None, "fetched_at": 4e9},
    "time NaN": {"market_cap_usd": "3e12", "btc_usd": None, "eth_usd": None, "fetched_at": float("nan")},
    "not an object": [1, 2, 3],
    "megabytes of padding": {"market_cap_usd": "3e12", "btc_usd": None, "eth_usd": None, "pad": [1.5] * 1_000_000},
}


@pytest.mark.parametrize("payload", POISONED_STORED.values(), ids=POISONED_STORED.keys())
async def test_a_poisoned_snapshot_already_in_the_store_is_never_reused(
    payload: Any, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, tmp_path: Path
) -> None:
    clock = FakeClock(NOW)
    if isinstance(payload, dict):
        payload = {"fetched_at": clock.now - 60, **payload}
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:  # as an older version left it
        await store.save_snapshot(clock.now - 60, json.dumps(payload))
    async with SQLiteStore(tmp_path / "m.sqlite3", clock=clock) as store:  # restart, with the API down
        api.mode = "500"
        cap = await make_market(session, api, facts, clock, store).market_cap()
        assert cap.kind == "config" and cap.usd == Decimal("3.9e12")
        assert api.hits["global"] == 1  # it was not taken as a fresh snapshot either
        api.mode = "ok"
        clock.now += RETRY_AFTER_FAILURE_SECONDS + 1
        assert (await make_market(session, api, facts, clock, store).market_cap()).kind == "live"


# ---------------------------------------------------------------- hostile bodies


@pytest.mark.parametrize("mode", ["flood", "flood_declared", "gzip_bomb"])
async def test_a_huge_body_is_cut_at_the_cap_and_never_parsed(
    mode: str, api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    real_parse = market_module.parse_json

    def recording_parse(body: bytes) -> Any:
        parsed.append(len(body))
        return real_parse(body)

    monkeypatch.setattr(market_module, "parse_json", recording_parse)
    api.mode = mode
    api.delay = 0
    # A generous timeout: the size cap, not the clock, must be what ends this.
    cap = await MarketData(session, api.base_url, facts, timeout_seconds=20, clock=FakeClock(NOW)).market_cap()
    assert cap.kind == "config"
    # Only /simple/price's few bytes were parsed: the 32 MiB never reached the parser (before: read whole, then
    # parsed on the loop).
    assert all(size < 1024 for size in parsed), parsed
    assert api.flood_sent < api.flood_bytes // 4  # the client hung up long before the end
    # how long the loop stalls meanwhile (a few ms; before: 4.1 s): benchmarks/fault_drills.py


async def test_the_body_is_parsed_off_the_event_loop(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real_parse = market_module.parse_json

    def recording_parse(body: bytes) -> Any:
        threads.append(threading.current_thread())
        return real_parse(body)

    monkeypatch.setattr(market_module, "parse_json", recording_parse)
    assert (await make_market(session, api, facts, FakeClock(NOW)).market_cap()).kind == "live"
    assert len(threads) == 2 and threading.current_thread() not in threads  # /global and /simple/price


async def test_a_body_under_the_cap_is_still_read(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    api.mode = "flood"
    api.flood_bytes = MAX_BODY_BYTES - 1024  # large, but allowed: the cap is not cutting real answers short
    cap = await make_market(session, api, facts, FakeClock(NOW)).market_cap()
    assert (cap.kind, cap.usd) == ("live", Decimal("3e12"))


async def test_the_api_key_never_follows_a_redirect_to_another_origin(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    async with FakeMarketAPI() as elsewhere:
        api.mode = "redirect"
        api.redirect_to = elsewhere.base_url
        cap = await make_market(session, api, facts, FakeClock(NOW)).market_cap()
        assert cap.kind == "config"
        assert api.api_keys == ["demo-key", "demo-key"]  # the configured origin got it, as it should
        assert sum(elsewhere.hits.values()) == 0 and elsewhere.api_keys == []


async def test_the_market_api_cannot_make_the_bot_keep_cookies(
    api: FakeMarketAPI, facts: Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "localhost", not 127.0.0.1: a cookie jar refuses cookies from bare IP addresses, and hosts are what count.
    monkeypatch.setenv("BOT_MARKET_ENABLED", "1")
    monkeypatch.setenv("BOT_MARKET_API_URL", api.base_url.replace("127.0.0.1", "localhost"))
    api.mode = "cookies"
    async with open_services(Settings()) as services:
        assert services.market is not None
        clock = services.market.clock = FakeClock(NOW)
        assert (await services.market.market_cap()).kind == "live"
        clock.now += 3600
        assert (await services.market.market_cap()).kind == "live"
    assert api.hits["global"] == 2
    assert api.cookies_received == 0  # 60 cookies of 3 KB each were offered on every response


async def test_a_clock_set_back_does_not_freeze_the_figure(
    api: FakeMarketAPI, session: aiohttp.ClientSession, facts: Facts
) -> None:
    clock = FakeClock(NOW)
    market = make_market(session, api, facts, clock)
    await market.market_cap()
    clock.now -= 86_400  # NTP or an operator sets the clock back a day: the snapshot's age is unknown
    assert (await market.market_cap()).kind == "live"
    assert api.hits["global"] == 2  # refetched, not served as "fresh" for the next 24 hours
    api.mode = "500"
    clock.now += 3600
    await market.market_cap()  # fails: the retry pause starts
    clock.now -= 86_400
    await market.market_cap()
    assert api.hits["global"] == 4  # the pause after a failure does not last a day either


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text(max_size=20)
    | st.sampled_from([Decimal("3e12"), Decimal("1e300"), "NaN", "-0", "1E+999999", 91234.5, 3012.25, 0]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# A plausible market cap half the time, so the prices' checks are reached as often as the cap's.
caps = st.one_of(json_values, st.sampled_from([3e12, Decimal("3123456789012.5"), "3.9e12", 10**14]))
shaped = st.fixed_dictionaries(
    {"data": st.fixed_dictionaries({"total_market_cap": st.fixed_dictionaries({"usd": caps})})}
)
prices_shaped = st.fixed_dictionaries(
    {"bitcoin": st.fixed_dictionaries({"usd": json_values}), "ethereum": st.fixed_dictionaries({"usd": json_values})}
)


@given(st.one_of(json_values, shaped), st.one_of(json_values, prices_shaped))
def test_any_parsed_body_gives_a_plausible_snapshot_or_a_handled_error(global_data: Any, prices: Any) -> None:
    try:
        snapshot = snapshot_from(global_data, prices, 1.0)
    except (MarketDataError, ImplausibleValue):
        return
    assert plausible.MIN_MARKET_CAP <= snapshot.market_cap_usd <= plausible.MAX_MARKET_CAP
    for coin, usd in (("bitcoin", snapshot.btc_usd), ("ethereum", snapshot.eth_usd)):
        if usd is not None:
            low, high = plausible.PRICE_BANDS[coin]
            assert low <= usd <= high
    assert MarketSnapshot.from_json(snapshot.to_json(), 1.0) == snapshot  # what is stored reads back the same


async def test_an_answer_that_uses_no_market_figure_is_peeked_even_when_the_market_value_is_not_fresh(
    facts: Facts, renderer: Renderer, tmp_path: Path
) -> None:
    """Core.peek: /401k answers from memory at once without a fresh market value (it never shows one); /inflow,
    whose answer does depend on it, still goes the slow way."""
    async with (
        SQLiteStore(tmp_path / "p.sqlite3") as store,
        open_core(facts, renderer, market=AbsurdSource(), store=store) as core,
    ):
        k401 = build_request(Command.K401, {}, facts)
        inflow = build_request(Command.INFLOW, {"allocation": "2%"}, facts)
        assert core.peek(k401, "en") is None  # nothing in memory yet
        answered = await core.respond(k401, "en")
        await core.respond(inflow, "en", chart=False)
        peeked = core.peek(k401, "en")
        assert peeked is not None and peeked.cache_hit
        assert (peeked.key, peeked.answer) == (answered.key, answered.answer)
        assert core.peek(k401, "zh-TW") is None  # another language is another answer
        assert core.peek(inflow, "en") is None
