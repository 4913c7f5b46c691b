"""PostgreSQL-only behaviour against the real server: migrating once, faults, copy-store, no password anywhere.

"Stopped mid-run and started again" is a real TCP proxy in front of the server that is cut and restored (the
machine's server is shared, so it is never stopped), and a real pg_terminate_backend of this test's connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.facts import Facts
from bot.store import SQLiteStore, StoreUnavailable
from bot.store.postgres import PostgresStore, migrations
from tests.fakes import open_core
from tests.helpers import scrubbed_env
from tests.pg_fixtures import with_database

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Kn0wn-Passw0rd-to-grep-for"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` outside the checkout (a developer's .env there must not configure it), settings given."""
    with tempfile.TemporaryDirectory(prefix="k401-cli-") as folder:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=scrubbed_env(**{"BOT_DB_PATH": str(Path(folder) / "bot.sqlite3"), **env}),
            cwd=folder,
            timeout=60,
            check=False,
        )


class TcpProxy:
    """127.0.0.1:port -> the PostgreSQL server; cut() drops every connection and refuses new ones."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        return url.replace(parts.netloc, f"{parts.username or 'postgres'}@127.0.0.1:{self.port}", 1)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._open |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        await self._server.wait_closed()

    async def restore(self) -> None:
        await self.start()


async def test_processes_starting_together_migrate_an_empty_database_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(6)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        assert all(s.available for s in stores), [s.problem for s in stores]
        conn = await asyncpg.connect(pg_url)
        try:
            rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        finally:
            await conn.close()
        assert [r[0] for r in rows] == [v for v, _ in migrations()]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_unreachable_at_start_is_one_line_naming_host_and_port() -> None:
    port = _closed_port()
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot"
    async with PostgresStore(url, connect_timeout=2) as store:
        assert not store.available
        assert store.problem == f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused"
        assert store.description == f"PostgreSQL postgresql://bot@127.0.0.1:{port}/bot"
    token = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.fake-token-for-the-loopback-discord-xx"
    env = {"BOT_DATABASE_URL": url, "DISCORD_TOKEN": token, "LOG_LEVEL": "DEBUG"}
    run = _cli("run", env=env)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused"
    assert run.stderr.count("cannot reach PostgreSQL") == 1  # said once, not logged and printed
    assert "Traceback" not in run.stderr
    health = _cli("health", env=env)
    assert (health.returncode, health.stdout.strip()) == (
        1,
        f"no store: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused",
    )
    ask = _cli("ask", "/inflow 2%", "--json", env=env)  # a one-off question still gets its answer
    assert ask.returncode == 0 and '"**$200 billion**' in ask.stdout
    for result in (run, health, ask):
        assert PASSWORD not in result.stdout + result.stderr


async def test_the_password_never_appears_in_output_logs_or_health(pg_server: str, pg_url: str, tmp_path: Path) -> None:
    url = with_database(pg_server, urlsplit(pg_url).path.lstrip("/"), password=PASSWORD)  # trust auth ignores it
    sqlite_path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(sqlite_path) as store:
        await store.set_language("user", 1, "zh-TW")
    env = {"BOT_DATABASE_URL": url, "LOG_LEVEL": "DEBUG", "BOT_DB_PATH": str(sqlite_path)}
    results = [
        _cli("ask", "/inflow 2%", "--json", env=env),
        _cli("ask", "/sources", env=env),
        _cli("health", env=env),
        _cli("copy-store", "--to", url, env=env),
        _cli("copy-store", "--to", url.replace(urlsplit(url).path, "/no_such_database_here"), env=env),
    ]
    assert [r.returncode for r in results] == [0, 0, 0, 0, 1]
    assert results[2].stdout.startswith(f"ok: store PostgreSQL postgresql://postgres@{urlsplit(url).hostname}")
    assert results[4].stderr.splitlines()[-1] == (
        f"copy-store: cannot reach PostgreSQL at {urlsplit(url).hostname}:{urlsplit(url).port or 5432}: "
        'database "no_such_database_here" does not exist'
    )
    for result in results:
        assert PASSWORD not in result.stdout + result.stderr


async def test_stopped_mid_run_and_started_again(pg_url: str, facts: Facts, renderer: Renderer) -> None:
    proxy = TcpProxy(pg_url)
    await proxy.start()
    request = parse_request("/inflow 2%", facts)
    async with PostgresStore(proxy.url(pg_url)) as store:
        await store.set_language("user", 1, "zh-TW")
        async with open_core(facts, renderer, store=store) as core:
            await proxy.cut()
            started = time.perf_counter()
            assert (await core.answer(request, "en")).description.startswith("**$200 billion**")
            assert await store.get_language("user", 1) is None  # answered without the store, not stuck on it
            with pytest.raises(StoreUnavailable):
                await store.set_language("user", 2, "en")
            assert time.perf_counter() - started < 3.0
            await proxy.restore()
            assert await store.get_language("user", 1) == "zh-TW"  # the pool reconnected; nothing was lost
            await store.set_language("user", 2, "en")  # written after recovery
            assert (await core.answer(parse_request("/401k", facts), "en")).title
    await proxy.cut()
    async with PostgresStore(pg_url) as fresh:
        assert await fresh.get_language("user", 1) == "zh-TW"
        assert await fresh.get_language("user", 2) == "en"


async def test_server_side_disconnect_is_survived(pg_url: str) -> None:
    async with PostgresStore(pg_url) as store:
        await store.set_language("user", 1, "en")
        admin = await asyncpg.connect(pg_url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert killed >= 1
        assert await store.get_language("user", 1) == "en"  # on a fresh connection
        await store.set_language("user", 1, "zh-CN")
        assert await store.get_language("user", 1) == "zh-CN"
        opening = store._readers._opening
        if opening is not None:
            await opening  # the held read connections that were killed are replaced in the background
        assert store._readers.ready
        assert await store.get_languages(1, None) == ("zh-CN", None)


async def test_a_hanging_query_is_bounded_and_the_answer_still_comes(
    pg_url: str, facts: Facts, renderer: Renderer
) -> None:
    async with PostgresStore(pg_url, backoff_seconds=0.5) as store:
        await store.set_language("user", 1, "zh-TW")
        blocker = await asyncpg.connect(pg_url)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE preferences, cache IN ACCESS EXCLUSIVE MODE")  # every query now waits
        try:
            started = time.perf_counter()
            with pytest.raises(StoreUnavailable, match="saving a language: timed out"):
                await store.set_language("user", 1, "en")
            assert time.perf_counter() - started < 2.5  # bounded by the write timeout (1.5 s)
            await asyncio.sleep(0.5)  # past the back-off: the next read waits on the server again
            started = time.perf_counter()
            assert await store.get_language("user", 1) is None
            async with open_core(facts, renderer, store=store) as core:
                answer = await core.answer(parse_request("/inflow 2%", facts), "en")
                assert answer.description.startswith("**$200 billion**")
                # one read waited its 0.5 s; after it the store answers "nothing" at once instead of hanging again
                # (without the back-off: 0.5 + 0.5 + 1.5 s)
                assert time.perf_counter() - started < 2.0
        finally:
            await transaction.rollback()
            await blocker.close()
        await asyncio.sleep(0.5)  # the back-off after the last timeout
        assert await store.get_language("user", 1) == "zh-TW"


async def test_copy_store_moves_preferences_and_is_idempotent(pg_url: str, tmp_path: Path) -> None:
    sqlite_path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(sqlite_path) as store:
        await store.set_language("user", 1, "zh-TW")
        await store.set_language("guild", 2, "en")
        await store.set_meta("command_sync_hash:global", "abc")
        await store.set_meta("gateway_heartbeat", "123")
        await store.cache_put("answer:x", b"derived", 3600)
    env = {"BOT_DB_PATH": str(sqlite_path)}
    first = _cli("copy-store", "--to", pg_url, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("copied 2 preference(s) (2 new or changed) and 1 sync hash(es)")
    async with PostgresStore(pg_url) as target:
        await target.set_language("user", 1, "zh-CN")  # chosen after the move: a second copy must keep it
    again = _cli("copy-store", "--to", pg_url, env=env)
    assert again.stdout.startswith("copied 2 preference(s) (0 new or changed)")
    async with PostgresStore(pg_url) as target:
        assert await target.get_language("user", 1) == "zh-CN"
        assert await target.get_language("guild", 2) == "en"
        assert await target.get_meta("command_sync_hash:global") == "abc"
        assert await target.get_meta("gateway_heartbeat") is None and await target.cache_count() == 0
    with sqlite3.connect(sqlite_path) as db:  # the source is untouched
        assert db.execute("SELECT count(*) FROM preferences").fetchone() == (2,)


async def test_a_write_cancelled_inside_its_transaction_leaves_no_connection_stuck(pg_url: str) -> None:
    async with PostgresStore(pg_url, pool_max=2, backoff_seconds=0) as store:
        blocker = await asyncpg.connect(pg_url)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE market_snapshots IN ACCESS EXCLUSIVE MODE")
        try:
            assert not await store.save_snapshot(1.0, "{}")  # gives up inside its own transaction
        finally:
            await transaction.rollback()
            await blocker.close()
        for i in range(6):  # every pooled connection is clean again
            assert await store.save_snapshot(10.0 + i, f'{{"n": {i}}}')
            assert await store.set_meta("k", str(i))
        assert await store.latest_snapshot() == (15.0, '{"n": 5}')


class _NoPool:
    def acquire(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the pool was used")


async def test_the_cooldown_is_one_statement_on_a_held_connection_and_sweeps_idle_users(pg_url: str) -> None:
    now = [1_750_000_000.0]
    async with PostgresStore(pg_url, clock=lambda: now[0]) as store:
        opening = store._readers._opening
        if opening is not None:
            await opening
        assert store._readers.ready
        pool = store._pool
        assert pool is not None
        store._pool = _NoPool()  # a held connection counts the use, not the pool
        try:
            assert await store.cooldown_hit(1, rate=1, per=30.0) == 0
            assert await store.cooldown_hit(1, rate=1, per=30.0) == pytest.approx(30.0)
        finally:
            store._pool = pool
        now[0] += 4000.0  # user 1 has been idle for over an hour
        store._next_sweep = 0.0
        assert await store.cooldown_hit(2, rate=1, per=30.0) == 0
        admin = await asyncpg.connect(pg_url)
        try:
            users = [r[0] for r in await admin.fetch("SELECT user_id FROM cooldowns ORDER BY user_id")]
        finally:
            await admin.close()
        assert users == [2]  # swept in the same statement; the user who just went is kept


def test_health_on_a_database_the_bot_never_opened_says_so_in_one_line(pg_url: str) -> None:
    health = _cli("health", env={"BOT_DATABASE_URL": pg_url})
    assert health.returncode == 1
    assert health.stdout.strip().endswith("has no tables yet (has the bot started?)"), health.stdout
    assert "schema_migrations" not in health.stdout + health.stderr
