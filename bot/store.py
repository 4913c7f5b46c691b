"""The SQLite store (aiosqlite): cache, preferences, meta values and market snapshots.

A helper, never a single point of failure: a corrupt file is moved aside and replaced, an unusable location or a
full disk turns caching off, and only saving a setting reports an error (StoreUnavailable) to the user.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_MAX_CACHE_ENTRIES = 2000
BUSY_TIMEOUT_MS = 3000
SNAPSHOTS_KEPT = 50
MAX_REMEMBERED_PREFERENCES = 100_000
Scope = Literal["user", "guild"]


class StoreUnavailable(Exception):
    """A write that the user asked for (a setting) could not be saved."""


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for each numbered file, in order: 001_init.sql -> 1."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        found.append((int(path.name.split("_", 1)[0]), path.read_text(encoding="utf-8")))
    return found


class Store:
    def __init__(
        self,
        path: Path,
        *,
        max_cache_entries: int = DEFAULT_MAX_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_cache_entries = max_cache_entries
        self.clock = clock
        self._db: aiosqlite.Connection | None = None
        # Preferences are read on every interaction and written rarely: remember them (this process is the only
        # writer; AutoShardedBot runs every shard in one process).
        self._languages: dict[tuple[str, int], str | None] = {}
        self._languages_complete = False  # True when every saved preference is in memory: no reads needed
        self.moved_aside: Path | None = None  # where a corrupt file went, if one did

    @property
    def available(self) -> bool:
        return self._db is not None

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await self._connect_and_migrate()
        except sqlite3.DatabaseError as exc:
            if not self._looks_corrupt(exc):
                self._disable(exc)
                return
            self._move_aside()
            try:
                self._db = await self._connect_and_migrate()
            except (OSError, sqlite3.Error) as retry_exc:
                self._disable(retry_exc)
        except OSError as exc:
            self._disable(exc)
        await self._after_open()

    async def _after_open(self) -> None:
        if self._db is not None:
            try:
                await self._load_preferences()
            except sqlite3.Error as exc:
                log.warning("store: could not preload preferences: %s", exc)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _connect_and_migrate(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            row = await (await db.execute("PRAGMA quick_check")).fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no result'}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await self._migrate(db)
        except BaseException:
            await db.close()
            raise
        return db

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        row = await (await db.execute("PRAGMA user_version")).fetchone()
        current = int(row[0]) if row else 0
        for version, sql in migrations():
            if version <= current:
                continue
            await db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
            log.info("store: applied migration %03d", version)

    @staticmethod
    def _looks_corrupt(exc: sqlite3.DatabaseError) -> bool:
        text = str(exc).lower()
        return any(s in text for s in ("not a database", "malformed", "quick_check", "corrupt", "file is encrypted"))

    def _move_aside(self) -> None:
        target = self.path.with_name(f"{self.path.name}.corrupt-{int(self.clock())}")
        self.path.replace(target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(target.with_name(target.name + suffix))
        self.moved_aside = target
        log.warning("store: %s was corrupt; moved it to %s and started a fresh one", self.path, target)

    def _disable(self, exc: BaseException) -> None:
        self._db = None
        log.warning("store: cannot use %s (%s); answering without a cache or saved settings", self.path, exc)

    # ------------------------------------------------------------------ cache

    async def cache_get(self, key: str) -> bytes | None:
        if self._db is None:
            return None
        try:
            row = await (
                await self._db.execute("SELECT value FROM cache WHERE key = ? AND expires > ?", (key, self.clock()))
            ).fetchone()
        except sqlite3.Error as exc:
            log.warning("store: cache read failed: %s", exc)
            return None
        return bytes(row[0]) if row else None

    async def cache_put(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        """Store derived bytes; False (and a log line) when the disk will not take them."""
        if self._db is None:
            return False
        now = self.clock()
        try:
            await self._db.execute(
                "INSERT OR REPLACE INTO cache (key, value, created, expires) VALUES (?, ?, ?, ?)",
                (key, value, now, now + ttl_seconds),
            )
            await self._db.execute("DELETE FROM cache WHERE expires <= ?", (now,))
            await self._db.execute(
                "DELETE FROM cache WHERE key IN (SELECT key FROM cache ORDER BY created DESC LIMIT -1 OFFSET ?)",
                (self.max_cache_entries,),
            )
            await self._db.commit()
        except sqlite3.Error as exc:
            log.warning("store: cache write failed (%s); continuing without caching", exc)
            await self._rollback()
            return False
        return True

    async def cache_count(self) -> int:
        if self._db is None:
            return 0
        row = await (await self._db.execute("SELECT COUNT(*) FROM cache")).fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ preferences

    async def get_language(self, scope: Scope, ident: int) -> str | None:
        if self._db is None:
            return None
        if self._languages_complete or (scope, ident) in self._languages:
            return self._languages.get((scope, ident))
        try:
            row = await (
                await self._db.execute("SELECT language FROM preferences WHERE scope = ? AND id = ?", (scope, ident))
            ).fetchone()
        except sqlite3.Error as exc:
            log.warning("store: preference read failed: %s", exc)
            return None
        language = str(row[0]) if row else None
        self._remember(scope, ident, language)
        return language

    def _remember(self, scope: str, ident: int, language: str | None) -> None:
        if len(self._languages) >= MAX_REMEMBERED_PREFERENCES:
            self._languages.clear()
            self._languages_complete = False
        self._languages[(scope, ident)] = language

    async def _load_preferences(self) -> None:
        """Most servers have few saved preferences: hold them all, so a new user costs no database read."""
        assert self._db is not None
        rows = list(
            await (
                await self._db.execute(
                    "SELECT scope, id, language FROM preferences LIMIT ?", (MAX_REMEMBERED_PREFERENCES,)
                )
            ).fetchall()
        )
        self._languages = {(str(scope), int(ident)): str(language) for scope, ident, language in rows}
        self._languages_complete = len(rows) < MAX_REMEMBERED_PREFERENCES

    async def set_language(self, scope: Scope, ident: int, language: str | None) -> None:
        """Save a language ('en' / 'zh-TW' / 'zh-CN'), or None for automatic; raises StoreUnavailable if it cannot."""
        if self._db is None:
            raise StoreUnavailable("store is not available")
        try:
            if language is None:
                await self._db.execute("DELETE FROM preferences WHERE scope = ? AND id = ?", (scope, ident))
            else:
                await self._db.execute(
                    "INSERT OR REPLACE INTO preferences (scope, id, language, updated) VALUES (?, ?, ?, ?)",
                    (scope, ident, language, self.clock()),
                )
            await self._db.commit()
        except sqlite3.Error as exc:
            await self._rollback()
            raise StoreUnavailable(str(exc)) from exc
        if language is None and self._languages_complete:
            self._languages.pop((scope, ident), None)
        else:
            self._remember(scope, ident, language)

    # ------------------------------------------------------------------ meta

    async def get_meta(self, key: str) -> str | None:
        if self._db is None:
            return None
        try:
            row = await (await self._db.execute("SELECT value FROM meta WHERE key = ?", (key,))).fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> bool:
        if self._db is None:
            return False
        try:
            await self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value, updated) VALUES (?, ?, ?)", (key, value, self.clock())
            )
            await self._db.commit()
        except sqlite3.Error as exc:
            log.warning("store: meta write failed: %s", exc)
            await self._rollback()
            return False
        return True

    # ------------------------------------------------------------------ market snapshots

    async def save_snapshot(self, fetched_at: float, payload: str) -> bool:
        if self._db is None:
            return False
        try:
            await self._db.execute(
                "INSERT INTO market_snapshots (fetched_at, payload) VALUES (?, ?)", (fetched_at, payload)
            )
            await self._db.execute(
                "DELETE FROM market_snapshots WHERE id NOT IN "
                "(SELECT id FROM market_snapshots ORDER BY fetched_at DESC LIMIT ?)",
                (SNAPSHOTS_KEPT,),
            )
            await self._db.commit()
        except sqlite3.Error as exc:
            log.warning("store: snapshot write failed: %s", exc)
            await self._rollback()
            return False
        return True

    async def latest_snapshot(self) -> tuple[float, str] | None:
        if self._db is None:
            return None
        try:
            row = await (
                await self._db.execute(
                    "SELECT fetched_at, payload FROM market_snapshots ORDER BY fetched_at DESC LIMIT 1"
                )
            ).fetchone()
        except sqlite3.Error:
            return None
        return (float(row[0]), str(row[1])) if row else None

    async def _rollback(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._db.rollback()
