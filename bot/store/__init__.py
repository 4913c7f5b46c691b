"""Storage behind one interface: SQLite (default, one process) or PostgreSQL (BOT_DATABASE_URL, many processes).

`from bot.store import Store, StoreUnavailable` is the whole API callers need; `open_store(settings)` picks the
backend. A caller that needs one part names its role instead (bot/store/roles.py): Preferences, AnswerCache,
Coordination, MarketSnapshots, Health.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.store.base import LANGUAGES, MalformedId, Preference, Store, StoreUnavailable
from bot.store.roles import (
    AnswerCache,
    Coordination,
    CountingPreferences,
    Health,
    LanguageReader,
    MarketSnapshots,
    Preferences,
    SavedLanguages,
    Scope,
)
from bot.store.sqlite import SQLiteStore, migrations

if TYPE_CHECKING:
    from bot.infra.settings import Settings

__all__ = [
    "LANGUAGES",
    "AnswerCache",
    "Coordination",
    "CountingPreferences",
    "Health",
    "LanguageReader",
    "MalformedId",
    "MarketSnapshots",
    "Preference",
    "Preferences",
    "SQLiteStore",
    "SavedLanguages",
    "Scope",
    "Store",
    "StoreUnavailable",
    "migrations",
    "open_store",
    "store_for",
]


def store_for(settings: Settings, *, migrate: bool = True) -> Store:
    """The store the settings ask for, not yet opened; migrate=False only looks (`health`): nothing is created,
    migrated or locked."""
    if settings.database_url is not None:
        from bot.store.postgres import PostgresStore  # asyncpg is only imported when PostgreSQL is used

        url = settings.database_url.get_secret_value()
        return PostgresStore(url, pool_max=settings.database_pool_max, migrate=migrate)
    return SQLiteStore(settings.db_path, migrate=migrate)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """`async with open_store(settings) as store:` opened, closed afterwards; an unusable store has `problem` set."""
    async with store_for(settings) as store:
        yield store
