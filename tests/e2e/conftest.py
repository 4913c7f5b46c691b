"""The e2e harness fixture: a real bot, a real store and the loopback fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.answers.render import Renderer
from bot.domain.facts import Facts
from bot.store import SQLiteStore
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import Harness, start_bot, stop_bot
from tests.fakes import open_core, point_discord_py_at


@pytest.fixture
async def harness(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, facts: Facts, renderer: Renderer
) -> AsyncIterator[Harness]:
    fake = FakeDiscord()
    await fake.start()
    point_discord_py_at(monkeypatch, fake.api_base)
    async with SQLiteStore(tmp_path / "bot.sqlite3") as store, open_core(facts, renderer, store=store) as core:
        bot, task = await start_bot(fake, core, store)
        harness = Harness(fake, bot, core, store, task)
        try:
            yield harness
        finally:
            await stop_bot(harness.bot, harness.task)
            await fake.close()
