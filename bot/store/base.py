"""The store interface: what the bot keeps between answers and shares between processes.

Two implementations pass one contract suite (tests/test_store_contract.py): SQLite (the default, one process) and
PostgreSQL (several processes or machines). The store is a helper, never a single point of failure: reads that fail
return "nothing saved", writes nobody asked for return False, and only a write the user asked for (a setting)
raises StoreUnavailable so the answer can say honestly that it was not saved.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from bot.store.roles import SavedLanguages, Scope

LANGUAGES = ("en", "zh-TW", "zh-CN")  # what a preference may hold (absence means automatic)
SNAPSHOTS_KEPT = 50
DEFAULT_MAX_CACHE_ENTRIES = 2000
# A write on the reply path (/language) must leave time to answer inside Discord's 3 s.
WRITE_TIMEOUT_SECONDS = 1.5
LEASE_POLL_SECONDS = 0.1
CHECK_TIMEOUT_SECONDS = 2.0  # `health` and /healthz: a store that cannot answer a read in this time is down
MAX_ID = 2**63 - 1  # Discord ids are 64-bit signed snowflakes; both backends store them as BIGINT / INTEGER


class StoreUnavailable(Exception):
    """A write that the user asked for (a setting) could not be saved."""


@dataclass(frozen=True)
class Preference:
    scope: Scope
    ident: int
    language: str | None  # None: reset to automatic (a recorded choice, so a later copy cannot bring back the old one)
    updated: float


class Store(abc.ABC):
    """One interface for both backends: SQLiteStore(path) or PostgresStore(url); open_store(settings) picks."""

    #: True when several processes may share this store (then cooldowns and leases must live in it).
    shared: bool = False
    #: Why the store is not usable, for logs and `health` (None while it is).
    problem: str | None = None
    #: True when this code must not run on the store at all (its schema is newer): the bot refuses to start.
    refuses_this_code: bool = False

    @property
    @abc.abstractmethod
    def available(self) -> bool: ...

    @property
    def backing_off(self) -> bool:
        """True while calls fail fast because the store did not answer in time (/metrics shows it)."""
        return False

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the data lives, safe to print (a URL never shows its password)."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def check(self) -> str | None:
        """None when the store answers a real read now (and its schema is this code's); else why not, in one line
        without secrets. Bounded by CHECK_TIMEOUT_SECONDS. For `health` and /healthz."""

    # cache of derived bytes (rendered answers, charts)
    @abc.abstractmethod
    async def cache_get(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def cache_put(self, key: str, value: bytes, ttl_seconds: float) -> bool: ...

    @abc.abstractmethod
    async def cache_count(self) -> int: ...

    # language preferences: always read from the store, so a choice made through any process applies at once
    @abc.abstractmethod
    async def get_language(self, scope: Scope, ident: int) -> str | None: ...

    async def get_languages(self, user_id: int, guild_id: int | None) -> SavedLanguages:
        """The user's and the server's saved language, in one read where the backend allows."""
        guild = await self.get_language("guild", guild_id) if guild_id is not None else None
        return await self.get_language("user", user_id), guild

    @abc.abstractmethod
    async def set_language(self, scope: Scope, ident: int, language: str | None) -> None:
        """Save a language (one of LANGUAGES) or None for automatic (kept as a dated reset, not a deletion, so that
        it wins by time like any other choice); raises StoreUnavailable if it cannot, ValueError on a bad value."""

    @abc.abstractmethod
    async def preferences(self) -> list[Preference]: ...

    @abc.abstractmethod
    async def import_preferences(self, rows: Sequence[Preference]) -> int:
        """Upsert rows, keeping whichever side was updated later; returns how many changed. Idempotent."""

    # small named values (sync hash, heartbeat)
    @abc.abstractmethod
    async def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    async def set_meta(self, key: str, value: str) -> bool: ...

    @abc.abstractmethod
    async def meta_items(self, prefix: str) -> list[tuple[str, str]]: ...

    # market snapshots (JSON), newest wins
    @abc.abstractmethod
    async def save_snapshot(self, fetched_at: float, payload: str) -> bool: ...

    @abc.abstractmethod
    async def latest_snapshot(self) -> tuple[float, str] | None: ...

    # coordination between processes
    @abc.abstractmethod
    async def cooldown_hit(self, user_id: int, rate: int, per: float) -> float:
        """0 when this use is allowed (and counted), else the seconds until the user may go again."""

    async def languages_and_cooldown(
        self, user_id: int, guild_id: int | None, rate: int, per: float
    ) -> tuple[str | None, str | None, float]:
        """get_languages and cooldown_hit together: what a command needs first, in one round trip where the backend
        allows (PostgreSQL: one statement, so a shared store costs a command one round trip)."""
        user, guild = await self.get_languages(user_id, guild_id)
        return user, guild, await self.cooldown_hit(user_id, rate, per)

    @abc.abstractmethod
    async def try_lease(self, name: str, ttl_seconds: float) -> bool:
        """True if this store now holds `name` for ttl_seconds: it was free, expired, or already ours (renewed).
        On a store that is not available at all: True (nothing to coordinate through, the process acts alone);
        when the store is up but the call fails: False (another process may hold it)."""

    @abc.abstractmethod
    async def release_lease(self, name: str) -> None: ...

    @abc.abstractmethod
    async def first_sighting(self, key: str, ttl_seconds: float) -> bool | None:
        """True the first time `key` is recorded within ttl_seconds, False if it already was; None when the store
        cannot say (not available, or the call failed)."""

    @asynccontextmanager
    async def lease(self, name: str, ttl_seconds: float, *, wait_seconds: float) -> AsyncIterator[bool]:
        """Hold `name` while the block runs, waiting up to wait_seconds for another holder; yields whether held."""
        deadline = time.monotonic() + wait_seconds
        held = await self.try_lease(name, ttl_seconds)
        while not held and time.monotonic() < deadline:
            await asyncio.sleep(LEASE_POLL_SECONDS)
            held = await self.try_lease(name, ttl_seconds)
        try:
            yield held
        finally:
            if held:
                await self.release_lease(name)


def check_language(language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")


class MalformedId(ValueError):
    """An id no Discord object can have (negative, or at or above 2^63): malformed input, never stored."""


def valid_id(ident: int) -> bool:
    return 0 <= ident <= MAX_ID


def check_ident(ident: int) -> None:
    if not valid_id(ident):
        raise MalformedId(f"id {ident} is out of range")


def newer_schema_problem(found: int, ours: int) -> str:
    return f"database schema {found} is newer than this bot's {ours}: upgrade the bot"
