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
from bot.store import Store, StoreUnavailable, migrations


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_migrations_are_applied_and_tracked(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.sqlite3"
    async with Store(path) as store:
        assert store.available
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cache", "preferences", "meta", "market_snapshots"} <= tables
    async with Store(path) as store:  # reopening does not re-run migrations
        assert store.available


async def test_cache_round_trip_and_expiry(tmp_path: Path) -> None:
    clock = FakeClock()
    async with Store(tmp_path / "c.sqlite3", clock=clock) as store:
        assert await store.cache_put("k", b"\x00bytes", ttl_seconds=60)
        assert await store.cache_get("k") == b"\x00bytes"
        clock.now += 61
        assert await store.cache_get("k") is None
        await store.cache_put("other", b"x", 60)
        assert await store.cache_count() == 1  # the expired entry was swept


async def test_cache_is_bounded_oldest_evicted_first(tmp_path: Path) -> None:
    clock = FakeClock()
    async with Store(tmp_path / "c.sqlite3", max_cache_entries=3, clock=clock) as store:
        for i in range(5):
            clock.now += 1
            await store.cache_put(f"k{i}", b"v", 3600)
        assert await store.cache_count() == 3
        assert await store.cache_get("k0") is None and await store.cache_get("k1") is None
        assert await store.cache_get("k4") == b"v"


async def test_preferences_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    async with Store(path) as store:
        await store.set_language("user", 42, "zh-TW")
        await store.set_language("guild", 7, "en")
        await store.set_meta("sync_hash", "abc")
    async with Store(path) as store:
        assert await store.get_language("user", 42) == "zh-TW"
        assert await store.get_language("guild", 7) == "en"
        assert await store.get_language("user", 43) is None
        assert await store.get_meta("sync_hash") == "abc"
        await store.set_language("user", 42, None)  # back to automatic
        assert await store.get_language("user", 42) is None


async def test_garbage_file_is_moved_aside_and_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not a database at all\n" * 200)
    with caplog.at_level(logging.WARNING):
        async with Store(path, clock=FakeClock(1234.0)) as store:
            assert store.available
            assert store.moved_aside == tmp_path / "bot.sqlite3.corrupt-1234"
            await store.set_language("user", 1, "en")
    assert (tmp_path / "bot.sqlite3.corrupt-1234").read_bytes().startswith(b"this is not a database")
    assert "was corrupt" in caplog.text


async def test_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with Store(path) as store:
        for i in range(200):
            await store.cache_put(f"key{i}", b"x" * 2000, 3600)
    size = path.stat().st_size
    assert size > 100_000
    with path.open("r+b") as fh:
        fh.truncate(size // 3)
    async with Store(path) as store:
        assert store.available
        assert store.moved_aside is not None and store.moved_aside.exists()
        assert await store.cache_count() == 0


async def test_unusable_location_answers_without_cache(tmp_path: Path, facts: Facts, renderer: Renderer) -> None:
    # CI runs as root, where chmod stops nothing: a path below a regular file cannot be created by anyone.
    blocker = tmp_path / "file"
    blocker.write_text("I am a file", encoding="utf-8")
    async with Store(blocker / "db" / "bot.sqlite3") as store:
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
    async with Store(path) as store:
        assert store._db is not None
        pages = (await (await store._db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await store._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now reports SQLITE_FULL on growth
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
    async with Store(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store)
        first = await core.answer(request, "en")
        await core.drain()  # the cache write happens in the background
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
        await edited_core.drain()
        assert await store.cache_count() == 2


async def test_preferences_are_preloaded_so_lookups_need_no_database_read(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    async with Store(path) as store:
        await store.set_language("user", 42, "zh-TW")
        await store.set_language("guild", 7, "en")
    async with Store(path) as store:

        class NoReads:
            def __getattr__(self, name: str) -> object:
                raise AssertionError(f"unexpected database access: {name}")

        real, store._db = store._db, NoReads()  # type: ignore[assignment]
        try:
            assert await store.get_language("user", 42) == "zh-TW"
            assert await store.get_language("guild", 7) == "en"
            assert await store.get_language("user", 12345) is None  # a new user: known absent, no query
        finally:
            store._db = real
