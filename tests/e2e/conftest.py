"""The e2e harness fixture: a real bot, a real store and the loopback fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.domain.facts import Facts
from bot.store import SQLiteStore
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import Harness, start_bot, stop_bot


@pytest.fixture
async def harness(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, facts: Facts, renderer: Renderer
) -> AsyncIterator[Harness]:
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    async with SQLiteStore(tmp_path / "bot.sqlite3") as store:
        core = Core(facts, renderer, store=store)
        bot, task = await start_bot(fake, core, store)
        harness = Harness(fake, bot, core, store, task)
        try:
            yield harness
        finally:
            await stop_bot(harness.bot, harness.task)
            await fake.close()
