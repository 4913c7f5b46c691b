"""What the store costs a cached command, in one process: CPU per command for the calls the handler makes first.

Run by hand:  BOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/store_calls.py
[--n 3000]. SQLite: the preference read through aiosqlite (what every command paid before) against the in-memory
preferences checked with `PRAGMA data_version`. PostgreSQL: the preference read plus the cooldown through the pool
(before) against the one statement on a held connection (now). Sequential and 50 at a time; CPU is this process's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import SQLiteStore
from bot.store.postgres import PostgresStore
from tests.pg_fixtures import create_database, drop_database, with_database

Call = Callable[[int], Awaitable[object]]


async def cpu_us(call: Call, n: int, concurrency: int) -> float:
    async def worker(start: int) -> None:
        for i in range(start, n, concurrency):
            await call(i)

    for i in range(min(n, 200)):  # warm-up: caches filled, connections open
        await call(i)
    started = time.process_time()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return (time.process_time() - started) / n * 1e6


async def sqlite_rows(store: SQLiteStore) -> list[tuple[str, Call]]:
    await store.set_language("user", 1, "zh-TW")
    sql = "SELECT scope, language FROM preferences WHERE (scope = 'user' AND id = ?) OR (scope = 'guild' AND id = ?)"
    return [
        ("SQLite: preference read through aiosqlite (before)", lambda i: store._read(sql, (i % 100, 7))),
        ("SQLite: preferences from memory, data_version checked (now)", lambda i: store.get_languages(i % 100, 7)),
    ]


async def postgres_rows(store: PostgresStore) -> list[tuple[str, Call]]:
    while not store._readers.ready:
        await asyncio.sleep(0.01)

    async def before(i: int) -> object:
        await store.get_languages(i % 100, 7)

        async def hit(conn: object) -> object:
            return await conn.fetchval("SELECT k401_cooldown_hit($1, $2, $3, $4)", i % 100, 10**9, 30.0, time.time())  # type: ignore[attr-defined]

        return await store._call(hit, store.write_timeout)  # the pool: acquire, the function, release

    return [
        ("PostgreSQL: preference read + cooldown through the pool (before)", before),
        (
            "PostgreSQL: languages and cooldown, one statement on a held connection (now)",
            lambda i: store.languages_and_cooldown(i % 100, 7, 10**9, 30.0),
        ),
    ]


async def run(n: int, url: str | None) -> None:
    async with SQLiteStore(Path(tempfile.mkdtemp()) / "calls.sqlite3") as sqlite, PostgresStore(url or "") as pg:
        rows = await sqlite_rows(sqlite)
        if url:
            rows += await postgres_rows(pg)
        print("| store calls per command | CPU µs, sequential | CPU µs, 50 at a time |\n|---|---:|---:|")
        for name, call in rows:
            print(f"| {name} | {await cpu_us(call, n, 1):.0f} | {await cpu_us(call, n, 50):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    server = os.environ.get("BOT_TEST_DATABASE_URL")
    name = create_database(server) if server else None
    try:
        asyncio.run(run(args.n, with_database(server, name) if server and name else None))
    finally:
        if server and name:
            drop_database(server, name)


if __name__ == "__main__":
    main()
