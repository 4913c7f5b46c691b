"""What callers need from the store, by role: import these instead of re-declaring the store's methods.

Both backends (SQLiteStore, PostgresStore) implement every role; a caller names only the role it uses, so a test
may hand it anything with those few methods.
"""

from __future__ import annotations

from typing import Literal, Protocol

Scope = Literal["user", "guild"]
SavedLanguages = tuple[str | None, str | None]  # the user's and the server's saved language (None: automatic)


class LanguageReader(Protocol):
    async def get_languages(self, user_id: int, guild_id: int | None) -> SavedLanguages:
        """The user's and the server's saved language, in one read where the backend allows."""
        ...


class Preferences(LanguageReader, Protocol):
    """Every member's and server's answer language: read on each interaction, written by /language."""

    async def get_language(self, scope: Scope, ident: int) -> str | None: ...

    async def set_language(self, scope: Scope, ident: int, language: str | None) -> None:
        """Save a language or None (automatic, recorded as a reset); raises StoreUnavailable if it cannot."""
        ...


class AnswerCache(Protocol):
    """Derived bytes (rendered answers, charts): a miss is never an error."""

    async def cache_get(self, key: str) -> bytes | None: ...

    async def cache_put(self, key: str, value: bytes, ttl_seconds: float) -> bool: ...


class Coordination(Protocol):
    """What several processes sharing one store agree through: cooldowns, leases, interactions already seen."""

    #: True when several processes may share this store (then cooldowns, leases and replays must live in it).
    shared: bool

    async def cooldown_hit(self, user_id: int, rate: int, per: float) -> float:
        """0 when this use is allowed (and counted), else the seconds until the user may go again."""
        ...

    async def try_lease(self, name: str, ttl_seconds: float) -> bool:
        """True if this process now holds `name`; True as well on a store that is not usable (nothing to
        coordinate through: the process acts alone); False when the store is up but could not say."""
        ...

    async def release_lease(self, name: str) -> None: ...

    async def first_sighting(self, key: str, ttl_seconds: float) -> bool | None:
        """True the first time `key` is seen within ttl_seconds, False after that; None when the store cannot
        say (the caller decides with what it has in memory)."""
        ...


class CountingPreferences(Preferences, Coordination, Protocol):
    """A store that keeps both the languages and the cooldown: it reads the one and counts the other at once."""

    async def languages_and_cooldown(
        self, user_id: int, guild_id: int | None, rate: int, per: float
    ) -> tuple[str | None, str | None, float]: ...


class MarketSnapshots(Coordination, Protocol):
    """The market data's stored snapshots, and the lease that lets one process fetch for all."""

    async def save_snapshot(self, fetched_at: float, payload: str) -> bool: ...

    async def latest_snapshot(self) -> tuple[float, str] | None: ...


class Health(Protocol):
    @property
    def available(self) -> bool: ...

    @property
    def description(self) -> str: ...

    async def check(self) -> str | None:
        """None when the store answers a real read now (and its schema is this code's); else why not, in one
        line without secrets. Bounded in time."""
        ...
