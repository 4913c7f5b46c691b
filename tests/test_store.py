"""The store against real SQLite files: migrations, cache, preferences, and every way a disk can let us down."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.core import Core
from bot.facts import Facts
from bot.render import Renderer
from bot.requests import parse_request
from bot.store import SQLiteStore, StoreUnavailable, migrations


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_migrations_are_applied_and_tracked(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        assert store.available
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cache", "preferences", "meta", "market_snapshots"} <= tables
    async with SQLiteStore(path) as store:  # reopening does not re-run migrations
        assert store.available


async def test_a_file_that_is_not_sqlite_is_never_renamed_or_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"
    content = b"my notes, not a database\n" * 200
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        async with SQLiteStore(path, clock=FakeClock(1234.0)) as store:
            assert not store.available and store.moved_aside is None
            assert store.problem == (
                f"BOT_DB_PATH {path} is not a SQLite database; leaving it untouched "
                "(point BOT_DB_PATH at another file or move this one away)"
            )
            with pytest.raises(StoreUnavailable):
                await store.set_language("user", 1, "en")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.sqlite3"]
    assert "is not a SQLite database" in caplog.text


async def test_a_damaged_sqlite_database_is_moved_aside_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("user", 1, "en")
    damaged = path.read_bytes()[:100] + b"\xde\xad" * 4000  # a SQLite header over garbage pages
    path.write_bytes(damaged)
    with caplog.at_level(logging.WARNING):
        async with SQLiteStore(path, clock=FakeClock(1234.0)) as store:
            assert store.available
            assert store.moved_aside == tmp_path / "bot.sqlite3.corrupt-1234"
            await store.set_language("user", 1, "zh-TW")
    assert (tmp_path / "bot.sqlite3.corrupt-1234").read_bytes() == damaged
    assert "was corrupt" in caplog.text


async def test_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        for i in range(200):
            await store.cache_put(f"key{i}", b"x" * 2000, 3600)
    size = path.stat().st_size
    assert size > 100_000
    with path.open("r+b") as fh:
        fh.truncate(size // 3)
    async with SQLiteStore(path) as store:
        assert store.available
        assert store.moved_aside is not None and store.moved_aside.exists()
        assert await store.cache_count() == 0


async def test_unusable_location_answers_without_cache(tmp_path: Path, facts: Facts, renderer: Renderer) -> None:
    # CI runs as root, where chmod stops nothing: a path below a regular file cannot be created by anyone.
    blocker = tmp_path / "file"
    blocker.write_text("I am a file", encoding="utf-8")
    async with SQLiteStore(blocker / "db" / "bot.sqlite3") as store:
        assert not store.available
        assert await store.cache_get("k") is None
        assert not await store.cache_put("k", b"v", 60)
        assert await store.get_language("user", 1) is None
        with pytest.raises(StoreUnavailable):
            await store.set_language("user", 1, "en")
        core = Core(facts, renderer, store=store)
        result = await core.answer(parse_request("/inflow 2%", facts), "en")
        assert result.description.startswith("**$174 billion**")


async def test_full_disk_turns_caching_off_and_settings_report_an_error(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    async with SQLiteStore(path) as store:
        assert store._writer is not None
        pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
        store._writer.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now reports SQLITE_FULL on growth
        assert not await store.cache_put("big", b"x" * 200_000, 60)
        with pytest.raises(StoreUnavailable, match="full"):
            for i in range(2000):
                await store.set_language("user", i, "en")
        assert await store.cache_get("big") is None
        assert store.available  # reads still work


async def test_core_caches_answers_and_keys_them_by_data_version(
    tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    request = parse_request("/401k topic:risks", facts)
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store)
        first = await core.answer(request, "en")
        assert await store.cache_count() == 1
        assert await core.answer(request, "en") == first
        assert await store.cache_count() == 1

        # An edited template is a new data version: a new entry, and the edit shows.
        import shutil

        from bot.paths import templates_dir

        edited = tmp_path / "templates"
        shutil.copytree(templates_dir(), edited)
        path = edited / "en" / "401k.j2"
        path.write_text(path.read_text(encoding="utf-8").replace("Risks and open questions", "Risks!"), "utf-8")
        edited_core = Core(facts, Renderer(facts, edited), store=store)
        assert edited_core.data_version != core.data_version
        assert (await edited_core.answer(request, "en")).title == "Risks!"
        assert await store.cache_count() == 2
