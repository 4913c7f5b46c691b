"""Outages and slow rows against the real PostgreSQL (issue 18, items 4, 5, 7, 8 and 18).

"PostgreSQL stopped" is a TCP proxy in front of the machine's server (tests/tcp_proxy.py) that the test cuts and
restores: the shared server itself is never stopped. Row and advisory locks are held by a real second session.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from nacl.signing import SigningKey

from bot.domain.facts import Facts
from bot.infra.market import MarketData
from bot.store import SQLiteStore, StoreUnavailable
from bot.store.postgres import MIGRATION_LOCK_ID, PostgresStore, migrations
from tests.fake_market import FakeMarketAPI
from tests.helpers import scrubbed_env
from tests.http.helpers import start_serve
from tests.tcp_proxy import TcpProxy


def _cli(*args: str, cwd: Path, timeout: float = 60, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` outside the checkout, every setting given (no .env, no inherited BOT_ variable)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=scrubbed_env(**{"BOT_DB_PATH": str(cwd / "bot.sqlite3"), **settings}),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


async def _until(predicate: Callable[[], Awaitable[bool]], limit: float) -> float:
    """Seconds until predicate() holds, polled every 0.1 s; fails past `limit`."""
    started = time.perf_counter()
    while not await predicate():
        assert time.perf_counter() - started < limit, f"not within {limit} s"
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


@pytest_asyncio.fixture
async def proxied(pg_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    async with PostgresStore(pg_url):  # migrated, as the bot leaves it
        pass
    proxy, url = TcpProxy.for_url(pg_url)
    with proxy:
        yield proxy, url


# ---------------------------------------------------------------- item 4: health that says the truth


async def test_healthz_and_health_follow_postgresql_going_away_and_coming_back(
    proxied: tuple[TcpProxy, str], tmp_path: Path
) -> None:
    proxy, url = proxied
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(SigningKey.generate(), {"BOT_DATABASE_URL": url}, session, cwd=tmp_path)
        try:
            assert await serve.health() == (200, {"status": "ok", "store": "ok", "in_flight": 0})
            assert _cli("health", cwd=tmp_path, BOT_DATABASE_URL=url).returncode == 0

            proxy.cut()
            unhealthy = await _until(lambda: _status_is(serve.health(), 503), limit=5.0)
            started = time.perf_counter()
            health = await asyncio.to_thread(_cli, "health", cwd=tmp_path, BOT_DATABASE_URL=url)
            health_seconds = time.perf_counter() - started
            assert health.returncode == 1
            assert health.stdout.startswith(f"no store: cannot reach PostgreSQL at 127.0.0.1:{proxy.port}")
            assert health_seconds < 8.0  # interpreter start included

            proxy.restore()
            healthy = await _until(lambda: _status_is(serve.health(), 200), limit=10.0)
            assert (await asyncio.to_thread(_cli, "health", cwd=tmp_path, BOT_DATABASE_URL=url)).returncode == 0
        finally:
            assert await serve.stop() == 0, serve.log
    print(f"/healthz 503 after {unhealthy:.2f} s, `health` exit 1 in {health_seconds:.2f} s, 200 again {healthy:.2f} s")


async def _status_is(health: Awaitable[tuple[int, object]], status: int) -> bool:
    return (await health)[0] == status


async def test_a_sqlite_store_that_cannot_be_read_is_reported_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("user", 1, "zh-TW")
        assert await store.check() is None
        good = path.read_bytes()
        path.write_bytes(b"not a database any more" * 200)  # replaced under the running bot
        problem = await store.check()
        assert problem is not None and problem.startswith(f"{path} is unusable: file is not a database")
        path.write_bytes(good)
        assert await store.check() is None
        path.unlink()
        assert (await store.check() or "").startswith(f"{path} is unusable: unable to open database file")


# ---------------------------------------------------------------- item 5: one slow row does not blank the store


async def test_a_row_locked_by_another_session_fails_only_that_user(pg_url: str) -> None:
    async with PostgresStore(pg_url) as store:
        assert await store.cooldown_hit(1, rate=5, per=30.0) == 0  # user 1's row exists
        assert await store.cache_put("hot", b"v", 600)
        blocker = await asyncpg.connect(pg_url)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM cooldowns WHERE user_id = 1 FOR UPDATE")
        await blocker.execute("SELECT 1 FROM cache WHERE key = 'hot' FOR UPDATE")
        try:
            stuck = [  # user 1's commands and a background cache write each wait out their timeout (1.5 s)
                asyncio.ensure_future(store.languages_and_cooldown(1, None, 5, 30.0)),
                asyncio.ensure_future(store.cache_put("hot", b"new", 600)),
            ]
            refused = 0
            saves = 0
            started = time.perf_counter()
            while time.perf_counter() - started < 3.5:  # across the timeouts and the old 2 s back-off
                if time.perf_counter() - started > 1.6 and len(stuck) == 2:
                    stuck.append(asyncio.ensure_future(store.languages_and_cooldown(1, None, 5, 30.0)))
                saves += 1
                try:
                    await store.set_language("user", 100 + saves, "zh-TW")
                except StoreUnavailable:
                    refused += 1
                await asyncio.sleep(0.1)
            hits = [await store.cooldown_hit(2, rate=5, per=30.0) for _ in range(6)]
            results = await asyncio.gather(*stuck)
        finally:
            await transaction.rollback()
            await blocker.close()
        print(f"other users' saves refused while one row was locked: {refused} of {saves}")
        assert refused == 0
        assert hits[:5] == [0.0] * 5 and hits[5] > 0  # the cooldown still counts for everyone else
        assert results[0] == (None, None, 0.0) and results[1] is False  # only the locked row's callers gave up
        assert await store.get_language("user", 101) == "zh-TW"


async def test_a_server_that_stops_answering_is_backed_off(proxied: tuple[TcpProxy, str]) -> None:
    proxy, url = proxied
    async with PostgresStore(url, backoff_seconds=5.0) as store:
        await store.set_language("user", 1, "en")
        proxy.hang()
        try:
            with pytest.raises(StoreUnavailable, match="timed out"):
                await store.set_language("user", 2, "en")  # waits its 1.5 s; a probe finds the server silent
            await asyncio.sleep(1.8)  # the probe's own timeout (1.5 s)
            started = time.perf_counter()
            with pytest.raises(StoreUnavailable, match="not responding"):
                await store.set_language("user", 3, "en")
            assert time.perf_counter() - started < 0.1  # fails fast instead of waiting again
        finally:
            proxy.restore()


# ---------------------------------------------------------------- item 7: the migration lock


async def test_ask_answers_in_its_normal_time_while_another_session_holds_the_migration_lock(
    pg_url: str, tmp_path: Path
) -> None:
    async with PostgresStore(pg_url):
        pass
    started = time.perf_counter()
    normal = await asyncio.to_thread(_cli, "ask", "/help", cwd=tmp_path, BOT_DATABASE_URL=pg_url)
    normal_seconds = time.perf_counter() - started
    assert normal.returncode == 0, normal.stderr
    holder = await asyncpg.connect(pg_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        started = time.perf_counter()
        held = await asyncio.to_thread(_cli, "ask", "/help", cwd=tmp_path, timeout=30, BOT_DATABASE_URL=pg_url)
        held_seconds = time.perf_counter() - started
        async with asyncio.timeout(2):
            async with PostgresStore(pg_url) as store:
                assert store.available
    finally:
        await holder.close()
    print(f"ask /help: {normal_seconds:.2f} s, with the migration lock held elsewhere {held_seconds:.2f} s")
    assert held.returncode == 0 and held.stdout == normal.stdout
    assert held_seconds < normal_seconds + 3.0


# ---------------------------------------------------------------- item 8: a schema newer than the code


async def test_a_newer_postgresql_schema_is_refused_at_start_and_health_says_so(pg_url: str, tmp_path: Path) -> None:
    ours = migrations()[-1][0]
    async with PostgresStore(pg_url):
        pass
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute("INSERT INTO schema_migrations (version) VALUES ($1)", ours + 1)
    finally:
        await admin.close()
    line = f"database schema {ours + 1} is newer than this bot's {ours}: upgrade the bot"
    async with PostgresStore(pg_url) as store:
        assert not store.available and store.refuses_this_code and store.problem == line
    health = _cli("health", cwd=tmp_path, BOT_DATABASE_URL=pg_url)
    assert (health.returncode, health.stdout.strip()) == (1, f"no store: {line}")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AssertionError, match="serve did not start"):
            await start_serve(SigningKey.generate(), {"BOT_DATABASE_URL": pg_url}, session, cwd=tmp_path)
    serve = _cli("serve", "--port", "0", cwd=tmp_path, BOT_DATABASE_URL=pg_url, DISCORD_PUBLIC_KEY="00" * 32)
    assert serve.returncode == 1 and serve.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in serve.stderr


async def test_a_newer_sqlite_schema_is_refused_and_health_says_so(tmp_path: Path) -> None:
    from bot.store.sqlite import migrations as sqlite_migrations

    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("user", 1, "en")
    ours = sqlite_migrations()[-1][0]
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {ours + 1}")
    line = f"database schema {ours + 1} is newer than this bot's {ours}: upgrade the bot"
    async with SQLiteStore(path) as store:
        assert not store.available and store.refuses_this_code and store.problem == line
    health = _cli("health", cwd=tmp_path, BOT_DB_PATH=str(path))
    assert (health.returncode, health.stdout.strip()) == (1, f"no store: {line}")
    serve = _cli("serve", "--port", "0", cwd=tmp_path, BOT_DB_PATH=str(path), DISCORD_PUBLIC_KEY="00" * 32)
    assert serve.returncode == 1 and serve.stderr.strip().splitlines()[-1] == line
    with sqlite3.connect(path) as db:  # nothing was changed in the newer file
        assert db.execute("PRAGMA user_version").fetchone()[0] == ours + 1


# ---------------------------------------------------------------- item 18: the market lease at start


async def test_processes_starting_together_all_answer_with_the_value_being_fetched(pg_url: str, facts: Facts) -> None:
    stores = [PostgresStore(pg_url) for _ in range(4)]
    async with FakeMarketAPI() as api, aiohttp.ClientSession() as session:
        api.delay = 0.6  # the winner's fetch takes a while: the others must wait for it, not answer the fallback
        try:
            await asyncio.gather(*(s.open() for s in stores))
            markets = [MarketData(session, api.base_url, facts, store=s) for s in stores]
            caps = await asyncio.gather(*(m.market_cap() for m in markets))
            for market in markets:
                await market.close()
        finally:
            await asyncio.gather(*(s.close() for s in stores))
    print(f"processes answering with the live value at a shared start: {[cap.kind for cap in caps]}")
    assert [cap.kind for cap in caps] == ["live"] * 4
    assert len({cap.usd for cap in caps}) == 1
    assert api.hits["global"] == 1
