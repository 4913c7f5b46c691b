"""The SQLite store (aiosqlite): the default, one process, one file.

The file is the truth: nothing is preloaded, and the preferences read on every interaction are kept in memory only
while `PRAGMA data_version` shows that no connection (of this process or another) has committed since, so another
process writing the same file is seen at the next lookup. Reads use their own connection (WAL readers never wait
for a writer); writes go through one writer connection, bounded by WRITE_TIMEOUT_SECONDS even while another process
holds the write lock. Start-up never fails because of the file:
a damaged SQLite database is moved aside (or, if it cannot be, the bot runs without a store), a file that is not
SQLite at all is left untouched and refused, and a read-only file is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

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
from bot.store.writequeue import WriteQueue

log = logging.getLogger("bot.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_TIMEOUT_SECONDS = 30.0  # several processes starting on one new file wait for whoever migrates first
READ_BUSY_TIMEOUT_MS = 500
# Up to this many saved preferences are all kept in memory (a new user then costs no query); past it, every lookup
# reads the file, as it did before the copy existed.
MAX_CACHED_PREFERENCES = 20_000
SQLITE_HEADER = b"SQLite format 3\x00"
T = TypeVar("T")


class NotASQLiteDatabase(Exception):
    """BOT_DB_PATH names a file that is something else: never rename or replace it."""


class SchemaTooNew(Exception):
    """The file was migrated by a newer bot: this code must not read or write it."""


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for each numbered file, in order: 001_init.sql -> 1."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        found.append((int(path.name.split("_", 1)[0]), path.read_text(encoding="utf-8")))
    return found


def statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our open transaction first)."""
    found, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        found.append(current.strip())
    return found


def code_schema_version() -> int:
    return migrations()[-1][0]


def check_file(path: Path, *, read_only: bool, integrity: bool) -> str | None:
    """A real read of `path` on a connection of its own (so a file replaced, damaged or gone under the open store
    shows); None when it answers at this code's schema, else why not. Run off the event loop."""
    query = "?immutable=1" if read_only else "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + query, uri=True, timeout=1)) as db:
            if integrity and db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return f"{path} failed its integrity check"
            found = int(db.execute("PRAGMA user_version").fetchone()[0])
            db.execute("SELECT 1 FROM preferences LIMIT 1").fetchall()
    except (sqlite3.Error, OSError) as exc:
        return f"{path} is unusable: {exc}"
    ours = code_schema_version()
    if found > ours:
        return newer_schema_problem(found, ours)
    if found < ours:
        return f"{path} is at schema {found} (has the bot started?)"
    return None


def foreign_file_problem(path: Path) -> str | None:
    """Why `path` must not be used or replaced (it exists and is not a SQLite database), else None."""
    try:
        info = path.stat()
    except OSError:
        return None  # missing (created on open) or unreadable (reported when opening)
    if not stat.S_ISREG(info.st_mode):
        return f"BOT_DB_PATH {path} is not a regular file; point BOT_DB_PATH at a SQLite file"
    if info.st_size == 0:
        return None  # SQLite treats an empty file as an empty database
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError:
        return None
    if header != SQLITE_HEADER:
        return (
            f"BOT_DB_PATH {path} is not a SQLite database; leaving it untouched "
            "(point BOT_DB_PATH at another file or move this one away)"
        )
    return None


def looks_corrupt(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "quick_check", "corrupt", "file is encrypted"))


def _prepare(path: Path) -> None:
    """Check the file and bring its schema up to date, once, even with several processes starting together."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=MIGRATION_TIMEOUT_SECONDS)) as db:
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no result'}")
        db.execute("PRAGMA journal_mode = WAL")
        found, ours = int(db.execute("PRAGMA user_version").fetchone()[0]), code_schema_version()
        if found > ours:
            raise SchemaTooNew(newer_schema_problem(found, ours))
        for version, sql in migrations():
            db.execute("BEGIN IMMEDIATE")  # the write lock: whoever comes second sees the new version
            try:
                if int(db.execute("PRAGMA user_version").fetchone()[0]) < version:
                    for statement in statements(sql):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {version}")
                    log.info("store: applied migration %03d", version)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise


def _transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], busy_ms: int) -> T:
    """In the writer thread: wait at most busy_ms for another process's write lock, then all or nothing."""
    db.execute(f"PRAGMA busy_timeout = {busy_ms}")
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return result


class SQLiteStore(Store):
    def __init__(
        self,
        path: Path,
        *,
        max_cache_entries: int = DEFAULT_MAX_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        migrate: bool = True,
    ) -> None:
        self.path = path
        self.migrate = migrate  # False: look without creating or changing anything (`health`), read-only
        self.max_cache_entries = max_cache_entries
        self.clock = clock
        self.write_timeout = write_timeout
        self.holder = uuid.uuid4().hex  # whose lease it is
        self._reader: aiosqlite.Connection | None = None
        self._writer: sqlite3.Connection | None = None  # used only in the writer thread
        self._executor: ThreadPoolExecutor | None = None
        self._writes = WriteQueue()  # a member's own write goes before queued background writes
        # Preferences read on every interaction are cached here while the file has not changed. `_detector` is a
        # plain connection used on the event loop for `PRAGMA data_version` only: it changes when any other
        # connection, in this process or another, commits (a few microseconds, no thread hop).
        self._detector: sqlite3.Connection | None = None
        self._seen_version: int | None = None
        self._generation = 0  # bumped on every invalidation: a read that began before it must not fill the copy
        self._languages: dict[tuple[Scope, int], str] | None = None  # every saved preference, while current
        self._loading: asyncio.Future[dict[tuple[Scope, int], str] | None] | None = None
        self._loading_generation = -1
        self._too_many_to_copy = False
        # The detector also sees this process's own commits (cache, cooldown, meta writes): those must not drop the
        # copy. Own commits are counted; when the detector changed and own commits happened since, the writer
        # connection's own `data_version` (which only another connection's commit changes) tells whether another
        # process wrote too. Checked in the writer thread in the background; lookups meanwhile read the file.
        self._own_commits = 0
        self._own_commits_seen = 0  # own commits accounted for in _seen_version
        self._writer_version: int | None = None
        self._checking: asyncio.Future[None] | None = None
        self.read_only = False
        self.moved_aside: Path | None = None  # where a damaged file went, if one did
        self.problem = None

    @property
    def available(self) -> bool:
        return self._reader is not None

    @property
    def description(self) -> str:
        return f"SQLite {self.path}"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        problem = foreign_file_problem(self.path)
        if problem is not None:
            self._disable(problem, level=logging.ERROR)
            return
        if not self.migrate:
            await self._open_to_inspect()
            return
        try:
            await self._open_read_write()
        except SchemaTooNew as exc:
            await self.close()
            self.refuses_this_code = True
            self._disable(str(exc), level=logging.ERROR)
        except (sqlite3.Error, OSError) as exc:
            if looks_corrupt(exc):
                await self._recover_damaged(exc)
            elif self.path.is_file():
                await self._open_read_only(exc)
            else:
                self._disable(f"cannot use {self.path} ({exc})")

    async def _open_read_write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_prepare, self.path)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="k401-sqlite-writer")
        self._writer = await asyncio.get_running_loop().run_in_executor(self._executor, self._connect_writer)
        self._writer_version = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._writer_data_version
        )
        self._reader = await self._connect(self.path, busy_ms=READ_BUSY_TIMEOUT_MS)
        self._detector = sqlite3.connect(self.path, isolation_level=None)
        self._detector.execute("PRAGMA busy_timeout = 0")  # never block the loop: busy reads as "changed"

    def _writer_data_version(self) -> int | None:
        """In the writer thread: changes only when another connection (another process) has committed."""
        if self._writer is None:
            return None
        return int(self._writer.execute("PRAGMA data_version").fetchall()[0][0])

    def _connect_writer(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    async def _connect(
        self, target: Path | str, *, busy_ms: int | None = None, uri: bool = False
    ) -> aiosqlite.Connection:
        db = await aiosqlite.connect(target, uri=uri)
        try:
            await db.execute(f"PRAGMA busy_timeout = {busy_ms or int(self.write_timeout * 1000)}")
            await db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await db.close()
            raise
        return db

    async def _recover_damaged(self, exc: BaseException) -> None:
        await self.close()
        target = self.path.with_name(f"{self.path.name}.corrupt-{int(self.clock())}")
        try:
            self.path.replace(target)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.replace(target.with_name(target.name + suffix))
        except OSError as move_exc:
            self._disable(
                f"{self.path} is a damaged SQLite database ({exc}) and cannot be moved aside ({move_exc.strerror})",
                level=logging.ERROR,
            )
            return
        self.moved_aside = target
        log.warning("store: %s was corrupt (%s); moved it to %s and started a fresh one", self.path, exc, target)
        try:
            await self._open_read_write()
        except (sqlite3.Error, OSError) as retry_exc:
            await self.close()
            self._disable(f"cannot use {self.path} ({retry_exc})")

    async def _open_to_inspect(self) -> None:
        if not self.path.exists():
            self.problem = f"store {self.path} does not exist (has the bot started?)"
            return
        base = self.path.resolve().as_uri()
        first: BaseException | None = None
        for query in ("?mode=ro", "?immutable=1"):  # immutable: a WAL file on a read-only mount, as the bot reads it
            try:
                db = await self._connect(base + query, busy_ms=READ_BUSY_TIMEOUT_MS, uri=True)
            except (sqlite3.Error, OSError) as exc:
                first = first or exc
                continue
            try:
                await db.execute("SELECT 1 FROM meta LIMIT 1")
            except sqlite3.Error as exc:
                first = first or exc
                await db.close()
                continue
            self._reader, self.read_only = db, query == "?immutable=1"
            return
        self.problem = f"{self.path} is unusable: {first}"

    async def check(self) -> str | None:
        if self._reader is None:
            return self.problem or f"cannot use {self.path}"
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                return await asyncio.to_thread(
                    check_file, self.path, read_only=self.read_only, integrity=not self.migrate
                )
        except TimeoutError:
            return f"{self.path} did not answer a read within {CHECK_TIMEOUT_SECONDS:.0f} s"

    async def _open_read_only(self, first: BaseException) -> None:
        """A valid file we may not write (read-only mount): saved settings still apply, nothing new is saved."""
        await self.close()
        base = self.path.resolve().as_uri()
        for query in ("?mode=ro", "?immutable=1"):  # immutable: WAL files on a read-only mount cannot get a -shm
            try:
                db = await self._connect(base + query, busy_ms=READ_BUSY_TIMEOUT_MS, uri=True)
            except (sqlite3.Error, OSError):
                continue
            try:
                await db.execute("SELECT language FROM preferences LIMIT 1")
            except sqlite3.Error:
                await db.close()
                continue
            self._reader, self.read_only = db, True
            self.problem = f"{self.path} is read-only ({first}); saved settings are read, new ones cannot be saved"
            log.warning("store: %s", self.problem)
            return
        self._disable(f"cannot use {self.path} ({first})")

    async def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
            self._forget_languages()
        if self._reader is not None:
            await self._reader.close()
        if self._executor is not None:
            if self._writer is not None:
                await asyncio.get_running_loop().run_in_executor(self._executor, self._writer.close)
            self._executor.shutdown(wait=True)
        self._writer, self._reader, self._executor = None, None, None

    def _disable(self, problem: str, *, level: int = logging.WARNING) -> None:
        self.problem = problem
        log.log(level, "store: %s; answering without a cache or saved settings", problem)

    # ------------------------------------------------------------------ plumbing

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row] | None:
        """Rows, or None (and a log line) when the store cannot answer."""
        if self._reader is None:
            return None
        try:
            return list(await (await self._reader.execute(sql, params)).fetchall())
        except sqlite3.Error as exc:
            log.warning("store: read failed: %s", exc)
            return None

    async def _write(self, work: Callable[[sqlite3.Connection], T], what: str, *, urgent: bool = False) -> T:
        """Run `work` in one transaction within write_timeout (queueing included); StoreUnavailable otherwise.

        The whole transaction runs in the writer thread in one go, so a caller that gives up (a cancelled
        interaction) never leaves it half done.
        """
        if self._writer is None or self._executor is None:
            raise StoreUnavailable(f"{what}: the store is {'read-only' if self.read_only else 'not available'}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.write_timeout
        try:
            async with asyncio.timeout(self.write_timeout):
                await self._writes.acquire(urgent=urgent)
        except TimeoutError:
            raise StoreUnavailable(f"{what}: the store is busy") from None
        try:
            busy_ms = max(1, int((deadline - loop.time()) * 1000))
            result = await loop.run_in_executor(self._executor, _transaction, self._writer, work, busy_ms)
            self._own_commits += 1
            return result
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{what}: {exc}") from exc
        finally:
            self._writes.release()

    async def _write_quietly(self, work: Callable[[sqlite3.Connection], Any], what: str) -> bool:
        """A write nobody asked for (cache, meta): False and a log line instead of an error."""
        if self._writer is None:
            return False
        try:
            await self._write(work, what)
        except StoreUnavailable as exc:
            log.warning("store: %s", exc)
            return False
        return True

    # ------------------------------------------------------------------ cache

    async def cache_get(self, key: str) -> bytes | None:
        rows = await self._read("SELECT value FROM cache WHERE key = ? AND expires > ?", (key, self.clock()))
        return bytes(rows[0][0]) if rows else None

    async def cache_put(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        now = self.clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO cache (key, value, created, expires) VALUES (?, ?, ?, ?)",
                (key, value, now, now + ttl_seconds),
            )
            db.execute("DELETE FROM cache WHERE expires <= ?", (now,))
            db.execute(
                # rowid, not key: the index on created holds it, so finding the excess never reads a row
                "DELETE FROM cache WHERE rowid IN (SELECT rowid FROM cache ORDER BY created DESC LIMIT -1 OFFSET ?)",
                (self.max_cache_entries,),
            )

        return await self._write_quietly(work, "cache write")

    async def cache_count(self) -> int:
        rows = await self._read("SELECT COUNT(*) FROM cache")
        return int(rows[0][0]) if rows else 0

    # ------------------------------------------------------------------ preferences

    def _forget_languages(self) -> None:
        self._languages = None
        self._generation += 1

    def _languages_current(self) -> bool:
        """True when an in-memory copy of the preferences may be used: the file is unchanged since it was read (else
        the copy is dropped first). False without a detector or when it cannot tell: then read the file."""
        if self._detector is None or self._too_many_to_copy:
            return False
        try:
            version = self._detector.execute("PRAGMA data_version").fetchall()[0][0]  # ends the read at once
        except sqlite3.Error:
            self._forget_languages()
            self._seen_version = None
            return False
        if version == self._seen_version:
            return True
        if self._own_commits != self._own_commits_seen and self._languages is not None and self._executor is not None:
            # Maybe only our own commits: keep the copy while the writer connection says whether anyone else wrote.
            if self._checking is None or self._checking.done():
                self._checking = asyncio.ensure_future(self._check_others(version, self._own_commits))
            return False
        self._forget_languages()
        self._seen_version, self._own_commits_seen = version, self._own_commits
        return True

    async def _check_others(self, version: int, own_commits: int) -> None:
        """`version` (the detector's, read when `own_commits` were done) covers only our own commits unless the
        writer connection, asked now (later), saw another connection's commit."""
        try:
            assert self._executor is not None
            writer_version = await asyncio.get_running_loop().run_in_executor(self._executor, self._writer_data_version)
        except Exception:
            writer_version = None
        if writer_version is None or writer_version != self._writer_version:
            self._writer_version = writer_version
            self._forget_languages()  # another process wrote: read the preferences again
        if self._seen_version != version:
            self._seen_version, self._own_commits_seen = version, own_commits

    async def _copy_of_languages(self) -> dict[tuple[Scope, int], str] | None:
        """Every saved preference, from memory while the file is unchanged, else read once (concurrent lookups share
        the read). None when the file must be asked directly."""
        if not self._languages_current():
            return None
        if self._languages is not None:
            return self._languages
        if self._loading is None or self._loading_generation != self._generation:
            self._loading_generation = self._generation
            self._loading = asyncio.ensure_future(self._load_languages(self._generation))
        return await asyncio.shield(self._loading)

    async def _load_languages(self, generation: int) -> dict[tuple[Scope, int], str] | None:
        rows = await self._read(
            "SELECT scope, id, language FROM preferences WHERE language IS NOT NULL LIMIT ?",  # NULL: a reset
            (MAX_CACHED_PREFERENCES + 1,),
        )
        if rows is None:
            return None
        if len(rows) > MAX_CACHED_PREFERENCES:
            self._too_many_to_copy = True
            return None
        copy: dict[tuple[Scope, int], str] = {(scope, int(ident)): str(language) for scope, ident, language in rows}
        if generation == self._generation:  # nothing committed since this read began: the copy is current
            self._languages = copy
        return copy  # for the lookups that began before a later commit, it is current enough either way

    async def _lookup(self, wanted: list[tuple[Scope, int]]) -> list[str | None]:
        copy = await self._copy_of_languages()
        if copy is not None:
            return [copy.get(key) for key in wanted]
        where = " OR ".join("(scope = ? AND id = ?)" for _ in wanted)
        params = [value for key in wanted for value in key]
        rows = await self._read(
            f"SELECT scope, language FROM preferences WHERE language IS NOT NULL AND ({where})", params
        )
        found = {str(scope): str(language) for scope, language in rows or []}
        return [found.get(scope) for scope, _ in wanted]

    async def get_language(self, scope: Scope, ident: int) -> str | None:
        if not valid_id(ident):
            return None  # nothing can be saved under an id no Discord object has
        return (await self._lookup([(scope, ident)]))[0]

    async def get_languages(self, user_id: int, guild_id: int | None) -> tuple[str | None, str | None]:
        if not valid_id(user_id) or (guild_id is not None and not valid_id(guild_id)):
            return None, None
        if guild_id is None:
            return (await self._lookup([("user", user_id)]))[0], None
        user, guild = await self._lookup([("user", user_id), ("guild", guild_id)])
        return user, guild

    async def set_language(self, scope: Scope, ident: int, language: str | None) -> None:
        check_language(language)
        check_ident(ident)
        now = self.clock()

        def work(db: sqlite3.Connection) -> None:  # None is saved too: a dated reset, not a deletion
            db.execute(
                "INSERT OR REPLACE INTO preferences (scope, id, language, updated) VALUES (?, ?, ?, ?)",
                (scope, ident, language, now),
            )

        await self._write(work, "saving a language", urgent=True)  # before queued cache writes
        if self._languages is not None:  # the copy follows our own write in place
            if language is None:
                self._languages.pop((scope, ident), None)
            else:
                self._languages[(scope, ident)] = language
        if self._loading is not None and not self._loading.done():
            self._generation += 1  # a read that began before this write must not become the copy

    async def preferences(self) -> list[Preference]:
        rows = await self._read("SELECT scope, id, language, updated FROM preferences ORDER BY scope, id") or []
        return [
            Preference(str(s), int(i), None if lang is None else str(lang), float(u))  # type: ignore[arg-type]
            for s, i, lang, u in rows
        ]

    async def import_preferences(self, rows: Sequence[Preference]) -> int:
        def work(db: sqlite3.Connection) -> int:
            changed = 0
            for p in rows:
                cursor = db.execute(
                    "INSERT INTO preferences (scope, id, language, updated) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (scope, id) DO UPDATE SET language = excluded.language, updated = excluded.updated "
                    "WHERE preferences.updated < excluded.updated",
                    (p.scope, p.ident, p.language, p.updated),
                )
                changed += max(cursor.rowcount, 0)
            return changed

        try:
            return await self._write(work, "importing preferences")
        finally:
            self._forget_languages()

    # ------------------------------------------------------------------ meta

    async def get_meta(self, key: str) -> str | None:
        rows = await self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> bool:
        now = self.clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO meta (key, value, updated) VALUES (?, ?, ?)", (key, value, now))

        return await self._write_quietly(work, "meta write")

    async def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        rows = await self._read(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
        )
        return [(str(k), str(v)) for k, v in rows or []]

    # ------------------------------------------------------------------ market snapshots

    async def save_snapshot(self, fetched_at: float, payload: str) -> bool:
        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO market_snapshots (fetched_at, payload) VALUES (?, ?)", (fetched_at, payload))
            db.execute(
                "DELETE FROM market_snapshots WHERE id NOT IN "
                "(SELECT id FROM market_snapshots ORDER BY fetched_at DESC LIMIT ?)",
                (SNAPSHOTS_KEPT,),
            )

        return await self._write_quietly(work, "snapshot write")

    async def latest_snapshot(self) -> tuple[float, str] | None:
        rows = await self._read("SELECT fetched_at, payload FROM market_snapshots ORDER BY fetched_at DESC LIMIT 1")
        return (float(rows[0][0]), str(rows[0][1])) if rows else None

    # ------------------------------------------------------------------ coordination

    async def cooldown_hit(self, user_id: int, rate: int, per: float) -> float:
        if not valid_id(user_id):
            return 0.0  # refused as malformed before it gets here; SQLite cannot even bind it
        now = self.clock()

        def work(db: sqlite3.Connection) -> float:
            row = db.execute("SELECT hits FROM cooldowns WHERE user_id = ?", (user_id,)).fetchone()
            hits = sorted(h for h in (json.loads(row[0]) if row else []) if now - h < per)
            wait = per - (now - hits[0]) if len(hits) >= rate else 0.0
            if wait == 0.0:
                hits.append(now)
            db.execute(
                "INSERT OR REPLACE INTO cooldowns (user_id, hits, last) VALUES (?, ?, ?)",
                (user_id, json.dumps(hits[-rate:]), now),
            )
            db.execute("DELETE FROM cooldowns WHERE last < ?", (now - max(per, 3600.0),))
            return wait

        try:
            return await self._write(work, "cooldown")
        except StoreUnavailable as exc:
            log.warning("store: %s; not limiting this use", exc)
            return 0.0

    async def try_lease(self, name: str, ttl_seconds: float) -> bool:
        if self._writer is None:
            return True  # no writable store: nothing to coordinate through, this process acts alone
        now = self.clock()

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
                "WHERE leases.expires <= ? OR leases.holder = excluded.holder",  # free, expired, or ours to renew
                (name, self.holder, now + ttl_seconds, now),
            )
            return cursor.rowcount == 1

        try:
            return await self._write(work, "lease")
        except StoreUnavailable as exc:
            log.warning("store: %s", exc)
            return False

    async def release_lease(self, name: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))

        await self._write_quietly(work, "lease release")

    async def first_sighting(self, key: str, ttl_seconds: float) -> bool | None:
        if self._writer is None:
            return None
        now = self.clock()

        def work(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM seen_interactions WHERE expires <= ?", (now,))
            cursor = db.execute(
                "INSERT OR IGNORE INTO seen_interactions (key, expires) VALUES (?, ?)", (key, now + ttl_seconds)
            )
            return cursor.rowcount == 1

        try:
            return await self._write(work, "replay check")
        except StoreUnavailable as exc:
            log.warning("store: %s", exc)
            return None
