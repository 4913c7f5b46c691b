"""Test doubles and builders shared by every test: one clock, one way to build the answer core, one way to point
discord.py at a fake Discord. Real objects wherever possible; fakes only for time and outside parties."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.answers.core import Core, MarketCapSource
from bot.answers.render import Renderer
from bot.domain.facts import Facts
from bot.store import SQLiteStore, Store

START = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC


class FakeClock:
    """A clock that moves only when a test moves it: `clock()` reads it, `clock.now += 5` or `advance(5)`."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def open_core(
    facts: Facts,
    renderer: Renderer | None = None,
    *,
    market: MarketCapSource | None = None,
    store: Store | Path | None = None,
    **options: Any,
) -> AsyncIterator[Core]:
    """The answer core as the bot builds it, closed on exit (its chart service included). `store`: an open store,
    or a path where a SQLite store is opened (and closed) for it. `options`: Core's keyword options."""
    async with AsyncExitStack() as stack:
        if isinstance(store, Path):
            store = await stack.enter_async_context(SQLiteStore(store))
        core = Core(facts, renderer or Renderer(facts), market, store, **options)
        stack.push_async_callback(core.close)
        yield core


def point_discord_py_at(monkeypatch: pytest.MonkeyPatch, api_base: str) -> None:
    """discord.py's REST calls go to a loopback fake instead of discord.com: the only change to the library."""
    import discord.http

    monkeypatch.setattr(discord.http.Route, "BASE", api_base)


# The same for a child process: `python -c LAUNCH_AGAINST_FAKE API_BASE ARGS...` runs the CLI with discord.py's
# API base pointed at API_BASE.
LAUNCH_AGAINST_FAKE = (
    "import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; "
    "from bot.__main__ import main; sys.exit(main(sys.argv[2:]))"
)
