"""Storage behind one interface: SQLite (default, one process) or PostgreSQL (BOT_DATABASE_URL, many processes).

`from bot.store import Store, StoreUnavailable` is the whole API callers need; `open_store(settings)` picks the
backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.store.base import LANGUAGES, Preference, Scope, Store, StoreUnavailable
from bot.store.sqlite import SQLiteStore, migrations

if TYPE_CHECKING:
    from bot.infra.settings import Settings

__all__ = [
    "LANGUAGES",
    "Preference",
    "SQLiteStore",
    "Scope",
    "Store",
    "StoreUnavailable",
    "migrations",
    "open_store",
    "store_for",
]


def store_for(settings: Settings) -> Store:
    """The store the settings ask for, not yet opened."""
    if settings.database_url is not None:
        from bot.store.postgres import PostgresStore  # asyncpg is only imported when PostgreSQL is used

        return PostgresStore(settings.database_url.get_secret_value(), pool_max=settings.database_pool_max)
    return SQLiteStore(settings.db_path)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """`async with open_store(settings) as store:` opened, closed afterwards; an unusable store has `problem` set."""
    async with store_for(settings) as store:
        yield store
