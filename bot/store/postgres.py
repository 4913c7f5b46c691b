"""The PostgreSQL store (asyncpg): one database shared by every process of the bot.

Nothing that can change is kept in process memory: a language chosen through one process applies to the next
command served by any other. A command costs one round trip: its languages are read in the statement that counts
its cooldown use, on a held connection. Every call is bounded (a read by READ_TIMEOUT_SECONDS, a write by
WRITE_TIMEOUT_SECONDS) so a slow or stopped server costs an answer its cache, never its reply; the pool reconnects
when the server comes back. The URL's password never leaves this module: `description` and every message use
`safe_url`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from bot.infra.dburl import parse_database_url
from bot.store.base import (
    CHECK_TIMEOUT_SECONDS,
    DEFAULT_MAX_CACHE_ENTRIES,
    SNAPSHOTS_KEPT,
    WRITE_TIMEOUT_SECONDS,
    Preference,
    Store,
    StoreUnavailable,
    check_ident,
    check_language,
    newer_schema_problem,
    valid_id,
)
from bot.store.roles import Scope

log = logging.getLogger("bot.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations" / "postgres"
MIGRATION_LOCK_ID = 0x4B343031  # pg_advisory_lock key: "K401"; several processes starting at once migrate once
MIGRATION_TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 0.5  # two reads (user, server language) and a cache read still leave time to answer
# After a call times out and a probe on a new connection shows the server itself is not answering, calls fail at
# once for this long instead of each waiting its timeout. A timeout with a server that answers the probe (one row
# locked by another session, one slow statement) fails only that call.
BACKOFF_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 1.5  # a connection and SELECT 1 on a loaded machine still fit; a silent server does not
PROBE_INTERVAL_SECONDS = 1.0  # at most one probe a second, however many calls time out
READER_RETRY_SECONDS = 1.0
DEFAULT_POOL_MAX = 10
COOLDOWN_SWEEP_SECONDS = 60.0
_CONNECTION_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InternalClientError,  # what a connection that the server has just closed may raise
)
_ERRORS = (*_CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError)
T = TypeVar("T")


def migrations() -> list[tuple[int, str]]:
    return [(int(p.name.split("_", 1)[0]), p.read_text(encoding="utf-8")) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def code_schema_version() -> int:
    return migrations()[-1][0]


async def schema_version(conn: asyncpg.Connection) -> int | None:
    """The database's schema version: None before the bot's first start (no schema_migrations table)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
        return None
    version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    return None if version is None else int(version)


def host_port(url: str) -> str:
    return parse_database_url(url).host_port  # the URL was validated in Settings (or by copy-store)


def safe_url(url: str) -> str:
    """The URL without its password or query: postgresql://bot@db:5432/bot."""
    return parse_database_url(url).safe


def password_of(url: str) -> str | None:
    return parse_database_url(url).password


def describe_error(exc: BaseException, url: str) -> str:
    """A short reason, never carrying the password."""
    if isinstance(exc, TimeoutError):
        text = "timed out"
    elif isinstance(exc, ConnectionRefusedError) or "connect call failed" in str(exc).lower():
        text = "connection refused"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror.lower()
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    secret = password_of(url)
    return text.replace(secret, "[redacted]") if secret else text


async def _end_transaction(conn: asyncpg.Connection) -> None:
    """On release to the pool: roll back what a cancelled call left open. Nothing else of ours outlives a call,
    so asyncpg's full reset (a round trip on every release) is not needed."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class _ReadConnections:
    """Up to `size` held connections for reads: idle ones are handed out, callers queue for a busy one.

    Lighter than the pool (no proxy, no reset per use); a broken connection is dropped and replaced in the
    background. `ready` is False until at least one is open, so callers can fall back to the pool.
    """

    def __init__(self, url: str, size: int, connect_timeout: float) -> None:
        self.url, self.size, self.connect_timeout = url, size, connect_timeout
        self._idle: list[asyncpg.Connection] = []
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection]] = collections.deque()
        self._open = 0
        self._opening: asyncio.Task[None] | None = None
        self._closed = False
        self._retry_at = 0.0  # after a failed connect, wait a moment before the next try

    @property
    def ready(self) -> bool:
        return self._open > 0

    def grow(self) -> None:
        """Open one more connection in the background, if below size and none is being opened."""
        idle = self._opening is None or self._opening.done()
        if not self._closed and self._open < self.size and idle and time.monotonic() >= self._retry_at:
            self._opening = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            conn = await asyncpg.connect(self.url, timeout=self.connect_timeout)
        except (*_ERRORS, ValueError) as exc:
            self._retry_at = time.monotonic() + READER_RETRY_SECONDS
            log.warning("store: read connection not opened (%s); the pool serves reads", describe_error(exc, self.url))
            return
        if self._closed:
            conn.terminate()
            return
        self._open += 1
        self.release(conn, healthy=True)
        self.grow()

    async def acquire(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._drop()
        self.grow()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a connection just as the caller gave up
                self.release(waiter.result(), healthy=True)
            raise

    def release(self, conn: asyncpg.Connection, *, healthy: bool) -> None:
        if not healthy or conn.is_closed() or self._closed:
            conn.terminate()
            self._drop()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a caller that timed out while queueing has gone
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _drop(self) -> None:
        self._open -= 1
        self.grow()

    def close(self) -> None:
        self._closed = True
        if self._opening is not None:
            self._opening.cancel()
        for conn in self._idle:
            conn.terminate()
        self._idle.clear()
        for waiter in self._waiters:
            waiter.cancel()


class PostgresStore(Store):
    shared = True

    def __init__(
        self,
        url: str,
        *,
        pool_max: int = DEFAULT_POOL_MAX,
        max_cache_entries: int = DEFAULT_MAX_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        backoff_seconds: float = BACKOFF_SECONDS,
        migrate: bool = True,
    ) -> None:
        self._url = url
        self.migrate = migrate  # False: look without changing anything (`health`): no migration, no lock
        self.pool_max = pool_max
        self.max_cache_entries = max_cache_entries
        self.clock = clock
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.connect_timeout = connect_timeout
        self.backoff_seconds = backoff_seconds
        self._not_before = 0.0  # monotonic time before which calls fail fast (the server did not answer in time)
        self._probe: asyncio.Task[None] | None = None
        self._last_probe = float("-inf")
        self.holder = uuid.uuid4().hex
        self._pool: asyncpg.Pool | None = None
        # Reads on the reply path use held connections: the pool's acquire/release costs more CPU than the
        # query itself (docs/performance.md). Until they are open, or when one breaks, the pool serves the read.
        self._readers = _ReadConnections(url, max(1, pool_max // 2), connect_timeout)
        self._next_sweep = 0.0
        self.problem = None

    @property
    def available(self) -> bool:
        return self._pool is not None

    @property
    def backing_off(self) -> bool:
        return time.monotonic() < self._not_before

    @property
    def description(self) -> str:
        return f"PostgreSQL {safe_url(self._url)}"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect and migrate; on failure `problem` says why in one line (host and port, never the password)."""
        try:
            self._pool = await asyncpg.create_pool(
                self._url, min_size=1, max_size=self.pool_max, timeout=self.connect_timeout, reset=_end_transaction
            )
        except (*_ERRORS, ValueError) as exc:
            self.problem = f"cannot reach PostgreSQL at {host_port(self._url)}: {describe_error(exc, self._url)}"
            return  # the caller decides: `run` stops with this line, a one-off `ask` answers without the store
        try:
            problem = await self._prepare_schema()
        except _ERRORS as exc:
            problem = f"cannot migrate PostgreSQL at {host_port(self._url)}: {describe_error(exc, self._url)}"
        if problem is not None:
            await self.close()
            self.problem = problem
            if self.refuses_this_code:
                log.error("store: %s", problem)
            return
        if self.migrate:  # a store opened only to look (`health`) makes one read: no held connections for it
            self._readers.grow()

    def _schema_problem(self, found: int | None) -> str | None:
        """Why this code cannot use a database at schema `found` as it is, or None."""
        ours = code_schema_version()
        if found is not None and found > ours:
            self.refuses_this_code = True
            return newer_schema_problem(found, ours)
        if found is None:
            return f"PostgreSQL {safe_url(self._url)} has no tables yet (has the bot started?)"
        if found < ours:
            return f"PostgreSQL {safe_url(self._url)} is at schema {found} (has the bot started?)"
        return None

    async def _prepare_schema(self) -> str | None:
        """Read the schema version first: the migration lock is taken only when there is something to migrate, so
        a start never waits on another session that holds it."""
        assert self._pool is not None
        async with self._pool.acquire(timeout=self.connect_timeout) as conn:
            async with asyncio.timeout(self.connect_timeout):
                found = await schema_version(conn)
            problem = self._schema_problem(found)
            if problem is None or self.refuses_this_code or not self.migrate:
                return problem
            await self._migrate(conn)
            return self._schema_problem(await schema_version(conn))

    @staticmethod
    async def _migrate(conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID, timeout=MIGRATION_TIMEOUT_SECONDS)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            applied = {int(r[0]) for r in await conn.fetch("SELECT version FROM schema_migrations")}
            if applied and max(applied) > code_schema_version():
                return  # a newer bot migrated while we waited: _prepare_schema refuses
            for version, sql in migrations():
                if version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(sql, timeout=MIGRATION_TIMEOUT_SECONDS)
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                log.info("store: applied PostgreSQL migration %03d", version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)

    async def check(self) -> str | None:
        if self._pool is None:
            return self.problem or f"{self.description} is not open"
        try:
            found = await self._call(schema_version, CHECK_TIMEOUT_SECONDS)
        except StoreUnavailable as exc:
            return f"PostgreSQL at {host_port(self._url)}: {exc}"
        except _ERRORS as exc:
            return f"cannot reach PostgreSQL at {host_port(self._url)}: {describe_error(exc, self._url)}"
        return self._schema_problem(found)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        self._readers.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self.connect_timeout)
            except (*_ERRORS, asyncio.CancelledError):
                pool.terminate()

    # ------------------------------------------------------------------ plumbing

    async def _call(self, work: Callable[[asyncpg.Connection], Awaitable[T]], timeout: float) -> T:
        """Run `work` on a pooled connection within `timeout` in all, or fail at once while backing off."""
        pool = self._pool
        if pool is None:
            raise StoreUnavailable(self.problem or "the store is not available")
        if time.monotonic() < self._not_before:
            raise StoreUnavailable("PostgreSQL is not responding; retrying shortly")
        try:
            return await self._attempt(pool, work, timeout)
        except TimeoutError:
            self._timed_out()
            raise

    def _timed_out(self) -> None:
        """A call ran out of time: one slow row (a lock another session holds) or a server that stopped answering.
        Only the second is worth failing every call fast for, so ask the server itself, in the background."""
        now = time.monotonic()
        if (self._probe is None or self._probe.done()) and now - self._last_probe >= PROBE_INTERVAL_SECONDS:
            self._last_probe = now
            self._probe = asyncio.ensure_future(self._probe_server())

    async def _probe_server(self) -> None:
        try:
            conn = await asyncpg.connect(self._url, timeout=PROBE_TIMEOUT_SECONDS)
            try:
                await conn.fetchval("SELECT 1", timeout=PROBE_TIMEOUT_SECONDS)
            finally:
                conn.terminate()
        except (*_ERRORS, ValueError) as exc:
            self._not_before = time.monotonic() + self.backoff_seconds
            log.warning(
                "store: PostgreSQL at %s is not answering (%s); failing fast for %.0f s",
                host_port(self._url),
                describe_error(exc, self._url),
                self.backoff_seconds,
            )

    @staticmethod
    async def _attempt(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]], timeout: float) -> T:
        """One retry on a fresh connection when the server dropped ours (restart, pg_terminate_backend)."""
        async with asyncio.timeout(timeout):
            try:
                async with pool.acquire() as conn:
                    return await work(conn)
            except _CONNECTION_ERRORS:
                async with pool.acquire() as conn:
                    return await work(conn)

    async def _read(self, work: Callable[[asyncpg.Connection], Awaitable[T]], what: str) -> T | None:
        try:
            return await self._quick(work, self.read_timeout)
        except (*_ERRORS, StoreUnavailable) as exc:
            log.warning("store: %s failed: %s", what, describe_error(exc, self._url))
            return None

    async def _quick(self, work: Callable[[asyncpg.Connection], Awaitable[T]], timeout: float) -> T:
        """`work` (reads, or one self-committing statement) on a held connection; on the pool while none is open."""
        if self._pool is None or time.monotonic() < self._not_before:
            return await self._call(work, timeout)  # raises StoreUnavailable with the reason
        if self._readers.ready:
            return await self._on_held(work, timeout)
        self._readers.grow()  # none open yet, or all were lost with the server: the pool serves meanwhile
        return await self._call(work, timeout)

    async def _on_held(self, work: Callable[[asyncpg.Connection], Awaitable[T]], timeout: float) -> T:
        healthy = True
        try:
            async with asyncio.timeout(timeout):
                held = await self._readers.acquire()
                try:
                    return await work(held)
                except _CONNECTION_ERRORS:
                    healthy = False
                finally:
                    self._readers.release(held, healthy=healthy)
        except TimeoutError:
            self._timed_out()  # asyncpg cancelled the query: the connection is still usable
            raise
        return await self._call(work, timeout)  # that connection broke: the pool serves this call

    async def _write(
        self, work: Callable[[asyncpg.Connection], Awaitable[T]], what: str, timeout: float | None = None
    ) -> T:
        try:
            return await self._call(work, timeout or self.write_timeout)
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"{what}: {exc}") from None
        except _ERRORS as exc:
            raise StoreUnavailable(f"{what}: {describe_error(exc, self._url)}") from None

    async def _write_quietly(self, work: Callable[[asyncpg.Connection], Awaitable[Any]], what: str) -> bool:
        try:
            await self._write(work, what)
        except StoreUnavailable as exc:
            log.warning("store: %s", exc)
            return False
        return True

    # ------------------------------------------------------------------ cache

    async def cache_get(self, key: str) -> bytes | None:
        now = self.clock()
        value = await self._read(
            lambda c: c.fetchval("SELECT value FROM cache WHERE key = $1 AND expires > $2", key, now), "cache read"
        )
        return bytes(value) if value is not None else None

    async def cache_put(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        now = self.clock()

        async def work(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO cache (key, value, created, expires) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, created = excluded.created, "
                    "expires = excluded.expires",
                    key,
                    value,
                    now,
                    now + ttl_seconds,
                )
                await conn.execute("DELETE FROM cache WHERE expires <= $1", now)
                await conn.execute(
                    "DELETE FROM cache WHERE key IN (SELECT key FROM cache ORDER BY created DESC OFFSET $1)",
                    self.max_cache_entries,
                )

        return await self._write_quietly(work, "cache write")

    async def cache_count(self) -> int:
        return int(await self._read(lambda c: c.fetchval("SELECT count(*) FROM cache"), "cache count") or 0)

    # ------------------------------------------------------------------ preferences

    async def get_language(self, scope: Scope, ident: int) -> str | None:
        if not valid_id(ident):
            return None  # nothing can be saved under an id no Discord object has
        value = await self._read(
            lambda c: c.fetchval("SELECT language FROM preferences WHERE scope = $1 AND id = $2", scope, ident),
            "preference read",
        )
        return None if value is None else str(value)

    async def get_languages(self, user_id: int, guild_id: int | None) -> tuple[str | None, str | None]:
        if not valid_id(user_id) or (guild_id is not None and not valid_id(guild_id)):
            return None, None
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT scope, language FROM preferences "
                "WHERE (scope = 'user' AND id = $1) OR (scope = 'guild' AND id = $2)",
                user_id,
                guild_id,
            ),
            "preference read",
        )
        found = {str(r[0]): str(r[1]) for r in rows or [] if r[1] is not None}  # None: a recorded reset
        return found.get("user"), found.get("guild")

    async def set_language(self, scope: Scope, ident: int, language: str | None) -> None:
        check_language(language)
        check_ident(ident)
        now = self.clock()

        async def work(conn: asyncpg.Connection) -> None:  # None is saved too: a dated reset, not a deletion
            await conn.execute(
                "INSERT INTO preferences (scope, id, language, updated) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (scope, id) DO UPDATE SET language = excluded.language, updated = excluded.updated",
                scope,
                ident,
                language,
                now,
            )

        await self._write(work, "saving a language")

    async def preferences(self) -> list[Preference]:
        rows = await self._read(
            lambda c: c.fetch("SELECT scope, id, language, updated FROM preferences ORDER BY scope, id"),
            "preference export",
        )
        return [Preference(r[0], int(r[1]), None if r[2] is None else str(r[2]), float(r[3])) for r in rows or []]

    async def import_preferences(self, rows: Sequence[Preference], *, timeout: float | None = None) -> int:
        async def work(conn: asyncpg.Connection) -> int:
            changed = await conn.fetch(
                "INSERT INTO preferences (scope, id, language, updated) "
                "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::float8[]) "
                "ON CONFLICT (scope, id) DO UPDATE SET language = excluded.language, updated = excluded.updated "
                "WHERE preferences.updated < excluded.updated RETURNING 1",
                [p.scope for p in rows],
                [p.ident for p in rows],
                [p.language for p in rows],
                [p.updated for p in rows],
            )
            return len(changed)

        return await self._write(work, "importing preferences", timeout)

    async def count_preferences_as_new(self, rows: Sequence[Preference], *, timeout: float | None = None) -> int:
        """How many of `rows` are here with the same or a later time (copy-store checks every batch landed)."""

        async def work(conn: asyncpg.Connection) -> int:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM unnest($1::text[], $2::bigint[], $3::float8[]) AS s(scope, id, updated) "
                    "JOIN preferences p ON p.scope = s.scope AND p.id = s.id AND p.updated >= s.updated",
                    [p.scope for p in rows],
                    [p.ident for p in rows],
                    [p.updated for p in rows],
                )
            )

        return await self._write(work, "checking copied preferences", timeout)

    # ------------------------------------------------------------------ meta

    async def get_meta(self, key: str) -> str | None:
        value = await self._read(lambda c: c.fetchval("SELECT value FROM meta WHERE key = $1", key), "meta read")
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> bool:
        now = self.clock()
        return await self._write_quietly(
            lambda c: c.execute(
                "INSERT INTO meta (key, value, updated) VALUES ($1, $2, $3) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                key,
                value,
                now,
            ),
            "meta write",
        )

    async def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        rows = await self._read(
            lambda c: c.fetch("SELECT key, value FROM meta WHERE starts_with(key, $1) ORDER BY key", prefix),
            "meta read",
        )
        return [(str(r[0]), str(r[1])) for r in rows or []]

    # ------------------------------------------------------------------ market snapshots

    async def save_snapshot(self, fetched_at: float, payload: str) -> bool:
        async def work(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO market_snapshots (fetched_at, payload) VALUES ($1, $2)", fetched_at, payload
                )
                await conn.execute(
                    "DELETE FROM market_snapshots WHERE id NOT IN "
                    "(SELECT id FROM market_snapshots ORDER BY fetched_at DESC, id DESC LIMIT $1)",
                    SNAPSHOTS_KEPT,
                )

        return await self._write_quietly(work, "snapshot write")

    async def latest_snapshot(self) -> tuple[float, str] | None:
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT fetched_at, payload FROM market_snapshots ORDER BY fetched_at DESC, id DESC LIMIT 1"
            ),
            "snapshot read",
        )
        return (float(row[0]), str(row[1])) if row else None

    # ------------------------------------------------------------------ coordination

    def _cooldown_statement(self, select: str, args: list[object], now: float, per: float) -> str:
        """`select` (which counts a use) as one statement; once a minute it also sweeps users idle for an hour."""
        if now < self._next_sweep:
            return select
        self._next_sweep = now + COOLDOWN_SWEEP_SECONDS
        args.append(now - max(per, 3600.0))
        return f"WITH swept AS (DELETE FROM cooldowns WHERE last < ${len(args)} AND user_id <> $1) {select}"

    async def cooldown_hit(self, user_id: int, rate: int, per: float) -> float:
        if not valid_id(user_id):
            return 0.0  # refused as malformed before it gets here; never a query the server must reject
        now = self.clock()
        args: list[object] = [user_id, rate, per, now]
        sql = self._cooldown_statement("SELECT k401_cooldown_hit($1, $2, $3, $4)", args, now, per)

        async def work(conn: asyncpg.Connection) -> float:
            return float(await conn.fetchval(sql, *args))

        try:  # one self-committing statement: a held connection, no pool acquire and reset
            return await self._quick(work, self.write_timeout)
        except (*_ERRORS, StoreUnavailable) as exc:
            log.warning("store: cooldown: %s; not limiting this use", describe_error(exc, self._url))
            return 0.0

    async def languages_and_cooldown(
        self, user_id: int, guild_id: int | None, rate: int, per: float
    ) -> tuple[str | None, str | None, float]:
        """One statement, one round trip: the languages are read at the same instant the use is counted."""
        if not valid_id(user_id) or (guild_id is not None and not valid_id(guild_id)):
            return None, None, 0.0
        now = self.clock()
        args: list[object] = [user_id, rate, per, now, guild_id]
        sql = self._cooldown_statement(
            "SELECT k401_cooldown_hit($1, $2, $3, $4), "
            "(SELECT language FROM preferences WHERE scope = 'user' AND id = $1), "
            "(SELECT language FROM preferences WHERE scope = 'guild' AND id = $5::bigint)",
            args,
            now,
            per,
        )

        async def work(conn: asyncpg.Connection) -> asyncpg.Record | None:
            return await conn.fetchrow(sql, *args)

        try:
            row = await self._quick(work, self.write_timeout)
        except (*_ERRORS, StoreUnavailable) as exc:
            log.warning("store: languages and cooldown: %s; not limiting this use", describe_error(exc, self._url))
            return None, None, 0.0
        assert row is not None
        user, guild = (None if v is None else str(v) for v in (row[1], row[2]))
        return user, guild, float(row[0])

    async def try_lease(self, name: str, ttl_seconds: float) -> bool:
        if self._pool is None:
            return True  # no store to coordinate through (as on SQLite): this process acts alone
        now = self.clock()

        async def work(conn: asyncpg.Connection) -> bool:
            held = await conn.fetchval(
                "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
                "WHERE leases.expires <= $4 OR leases.holder = excluded.holder RETURNING true",  # or ours to renew
                name,
                self.holder,
                now + ttl_seconds,
                now,
            )
            return bool(held)

        try:
            return await self._write(work, "lease")
        except StoreUnavailable as exc:
            log.warning("store: %s", exc)
            return False

    async def release_lease(self, name: str) -> None:
        await self._write_quietly(
            lambda c: c.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", name, self.holder),
            "lease release",
        )

    async def first_sighting(self, key: str, ttl_seconds: float) -> bool | None:
        now = self.clock()

        async def work(conn: asyncpg.Connection) -> bool:  # one self-committing statement that also sweeps
            first = await conn.fetchval(
                "WITH swept AS (DELETE FROM seen_interactions WHERE expires <= $3 AND key <> $1) "
                "INSERT INTO seen_interactions (key, expires) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires "
                "WHERE seen_interactions.expires <= $3 RETURNING true",
                key,
                now + ttl_seconds,
                now,
            )
            return bool(first)

        try:  # on the reply path of every HTTP interaction: a read's budget, not a write's
            return await self._quick(work, self.read_timeout)
        except (*_ERRORS, StoreUnavailable) as exc:
            log.warning("store: replay check: %s", describe_error(exc, self._url))
            return None
