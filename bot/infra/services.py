"""Long-lived services (store, HTTP session, market data) opened and closed around a run of the console or bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.domain.facts import load_facts
from bot.infra.market import MarketData
from bot.infra.metrics import Metrics
from bot.infra.settings import Settings
from bot.store import Store, open_store

log = logging.getLogger(__name__)


class SharedStoreUnreachable(Exception):
    """BOT_DATABASE_URL is set but the database cannot be used: processes must not run on divergent state."""


@dataclass
class Services:
    core: Core
    store: Store
    session: aiohttp.ClientSession
    market: MarketData | None
    metrics: Metrics


@asynccontextmanager
async def open_services(
    settings: Settings, *, offline: bool = False, require_shared_store: bool = False
) -> AsyncIterator[Services]:
    """Everything an answer may use; offline (or BOT_MARKET_ENABLED=0) means no outside request at all.

    require_shared_store: with BOT_DATABASE_URL set and the database unusable, or a store whose schema is newer than
    this code, raise SharedStoreUnreachable (one line naming host and port, or the two versions) instead of
    answering from a private, empty state.
    """
    facts = load_facts()
    # No cookie jar: the market API may not make us keep (and grow, and send back) state for it.
    async with open_store(settings) as store, aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        if store.refuses_this_code or (store.shared and not store.available):
            # a schema newer than this code: `run` and `serve` refuse to start (one line), `ask` answers without it
            if require_shared_store:
                raise SharedStoreUnreachable(store.problem or f"{store.description} is not available")
            log.warning("store: %s; answering without it", store.problem)
        market = None
        if settings.market_enabled and not offline:
            key = settings.market_api_key.get_secret_value() if settings.market_api_key else None
            market = MarketData(session, str(settings.market_api_url), facts, store=store, api_key=key)
        core = Core(facts, Renderer(facts), market, store)
        metrics = watched(Metrics(), core, store, market)
        try:
            yield Services(core, store, session, market, metrics)
        finally:  # background writes finish (bounded) while the store is still open
            metrics.close()
            await core.close()
            if market is not None:
                await market.close()


def watched(metrics: Metrics, core: Core, store: Store, market: MarketData | None) -> Metrics:
    """The process's metrics, reading what the core, the store and the market source count themselves."""
    metrics.watch_charts(core.charts)
    metrics.watch_store(lambda: store.backing_off)
    if market is not None:
        metrics.watch_market(market.fetches, lambda: market.last_fetched_at)
    return metrics
