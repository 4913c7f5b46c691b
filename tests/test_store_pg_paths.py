"""The per-command PostgreSQL statement: the cooldown's commit is asynchronous (no WAL flush waited for) and only
for that transaction; the counting is unchanged."""

from __future__ import annotations

import asyncpg

from bot.store.postgres import PostgresStore


async def test_a_cooldown_use_commits_without_waiting_for_the_disk_and_counts_as_before(pg_url: str) -> None:
    async with PostgresStore(pg_url) as store:
        waits = [await store.cooldown_hit(7, 2, 30.0) for _ in range(3)]
        assert waits[:2] == [0.0, 0.0] and 0 < waits[2] <= 30.0
    conn = await asyncpg.connect(pg_url)
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT k401_cooldown_hit(8, 5, 30.0, 1000.0)")
            assert await conn.fetchval("SHOW synchronous_commit") == "off"  # inside the cooldown's transaction
        assert await conn.fetchval("SHOW synchronous_commit") == "on"  # and nowhere else
    finally:
        await conn.close()
