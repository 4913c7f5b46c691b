"""The reply path through discord.py and the loopback fake Discord: a locked store and a slow chart renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answers.core import CHART_UNAVAILABLE
from bot.answers.render import Renderer
from bot.domain.facts import Facts
from bot.store import SQLiteStore
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import start_bot, stop_bot
from tests.fakes import open_core, point_discord_py_at
from tests.test_reply_path import FAKE_PNG, GatedRenderer, fast_renderer, write_lock_held_by_another_process


async def test_a_write_locked_store_does_not_delay_discord_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    fake = FakeDiscord()
    await fake.start()
    point_discord_py_at(monkeypatch, fake.api_base)
    path = tmp_path / "locked.sqlite3"
    # A long write timeout: the writes outlast the answers.
    async with (
        SQLiteStore(path, write_timeout=30.0) as store,
        open_core(facts, renderer, store=store, chart_renderer=fast_renderer) as core,
    ):
        bot, task = await start_bot(fake, core, store)
        try:
            async with write_lock_held_by_another_process(path):
                replies = {}
                for name, options in (
                    ("401k", {"topic": "rules"}),
                    ("inflow", {"allocation": "3%"}),
                    ("sources", {}),
                ):
                    replies[name] = await fake.wait_reply(await fake.command(name, options))
                assert replies["inflow"].files == [("inflow.png", FAKE_PNG)]
                assert "Error id" not in replies["401k"].embed["description"]
                # All answered while the writes still waited for the lock (30 s here): none of them waited for one.
                assert core.writes.pending == 4
        finally:
            await stop_bot(bot, task)
            await fake.close()
        assert await store.cache_count() == 4  # three answers and a chart, written once the lock was gone


async def test_a_late_chart_is_left_out_of_the_discord_message_and_said_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    fake = FakeDiscord()
    await fake.start()
    point_discord_py_at(monkeypatch, fake.api_base)
    slow = GatedRenderer()
    async with (
        SQLiteStore(tmp_path / "c.sqlite3") as store,
        open_core(facts, renderer, store=store, chart_renderer=slow, chart_deadline_seconds=0.2) as core,
    ):
        bot, task = await start_bot(fake, core, store)
        try:
            late = await fake.wait_reply(await fake.command("inflow", {"allocation": "2%"}, locale="zh-TW"))
            assert not late.files and "image" not in late.embed
            assert late.embed["footer"]["text"].endswith(CHART_UNAVAILABLE["zh-TW"])
            slow.gate.set()
            await core.drain()
            again = await fake.wait_reply(await fake.command("inflow", {"allocation": "2%"}, locale="zh-TW"))
            assert again.files == [("inflow.png", FAKE_PNG)]
            assert CHART_UNAVAILABLE["zh-TW"] not in again.embed["footer"]["text"]
        finally:
            await stop_bot(bot, task)
            await fake.close()
