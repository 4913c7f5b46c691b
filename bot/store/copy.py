"""`python -m bot copy-store --to postgresql://…`: move what is worth keeping from the SQLite file to PostgreSQL.

Preferences (every member's and server's language) and the command-sync hashes; not the cache (derived, rebuilt on
demand), not old market snapshots or heartbeats. Idempotent: a row already in PostgreSQL and updated later there
is kept, so running it twice, or after the new processes have started, loses nothing.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.postgres import PostgresStore, safe_url
from bot.store.sqlite import SQLiteStore, foreign_file_problem

KEPT_META_PREFIXES = ("command_sync_hash",)


class CopyError(Exception):
    """One line for the admin: what could not be read or written."""


async def copy_store(source: Path, target_url: str) -> str:
    if not source.is_file():
        raise CopyError(f"no SQLite store at {source} (BOT_DB_PATH)")
    if (problem := foreign_file_problem(source)) is not None:
        raise CopyError(problem)
    if not target_url.startswith(("postgresql://", "postgres://")):
        raise CopyError("--to must be a postgresql:// URL")
    async with SQLiteStore(source) as sqlite, PostgresStore(target_url) as postgres:
        if not sqlite.available:
            raise CopyError(f"cannot read {source}: {sqlite.problem}")
        if not postgres.available:
            raise CopyError(postgres.problem or f"cannot use {safe_url(target_url)}")
        preferences = await sqlite.preferences()
        changed = await postgres.import_preferences(preferences)
        meta = [item for prefix in KEPT_META_PREFIXES for item in await sqlite.meta_items(prefix)]
        for key, value in meta:
            if not await postgres.set_meta(key, value):
                raise CopyError(f"could not write {key} to {safe_url(target_url)}")
    return (
        f"copied {len(preferences)} preference(s) ({changed} new or changed) and {len(meta)} sync hash(es) "
        f"from {source} to {safe_url(target_url)}"
    )
