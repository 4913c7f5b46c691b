"""Long-lived services (store, market data) opened and closed around a run of the console or the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.core import MarketCapSource


@asynccontextmanager
async def open_market(*, offline: bool) -> AsyncIterator[MarketCapSource | None]:
    """No live source yet: the config figure is used (the store and market issue replaces this)."""
    yield None
