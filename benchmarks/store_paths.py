"""The SQLite hot paths the issue names, in isolation: a cache write at the 2,000-row cap (answers ~2 KB, charts
~16 KB), and a preference lookup while the process keeps writing (its own cache and cooldown commits) with 0 to
100,000 saved preferences.

Run:  .venv/bin/python benchmarks/store_paths.py [--rounds 3]
Prints per-operation wall time (ranges over rounds: the machine is shared) and, for lookups, p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

# BOT_CHECKOUT: measure another checkout's store (benchmarks/issue21.py --before) with this script.
sys.path.insert(0, os.environ.get("BOT_CHECKOUT") or str(Path(__file__).resolve().parent.parent))

from bot.store import SQLiteStore
from bot.store.base import DEFAULT_MAX_CACHE_ENTRIES


async def cache_write_at_cap(path: Path, size: int, writes: int = 400) -> float:
    """ms per cache_put once the table is full (every write also evicts)."""
    async with SQLiteStore(path) as store:
        value = b"x" * size
        for i in range(DEFAULT_MAX_CACHE_ENTRIES):
            await store.cache_put(f"fill{i}", value, 3600)
        started = time.perf_counter()
        for i in range(writes):
            await store.cache_put(f"new{i}", value, 3600)
        return (time.perf_counter() - started) / writes * 1000


def _fill_preferences(path: Path, count: int) -> None:
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT OR REPLACE INTO preferences (scope, id, language, updated) VALUES ('user', ?, 'zh-TW', 0)",
            ((10_000_000 + i,) for i in range(count)),
        )


async def lookups_while_writing(path: Path, saved: int, asks: int = 600) -> tuple[float, float]:
    """(mean ms, p99 ms) per get_languages, each ask followed by one of the process's own writes (as a command's
    cooldown or cache write would be)."""
    async with SQLiteStore(path) as store:
        pass  # migrated
    _fill_preferences(path, saved)
    async with SQLiteStore(path) as store:
        times = []
        for i in range(asks):
            started = time.perf_counter()
            await store.get_languages(10_000_000 + i % max(saved, 1), 7)
            times.append((time.perf_counter() - started) * 1000)
            await store.cache_put(f"k{i}", b"v", 3600)
        times.sort()
        return statistics.fmean(times), times[int(len(times) * 0.99)]


async def main(rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    writes: dict[str, list[float]] = {"answers (2 KB)": [], "charts (16 KB)": []}
    lookups: dict[int, list[tuple[float, float]]] = {n: [] for n in (0, 10_000, 100_000)}
    for r in range(rounds):
        for label, size in (("answers (2 KB)", 2_000), ("charts (16 KB)", 16_000)):
            writes[label].append(await cache_write_at_cap(tmp / f"w{r}{size}.sqlite3", size))
        for n in lookups:
            lookups[n].append(await lookups_while_writing(tmp / f"p{r}{n}.sqlite3", n))
    for label, ms in writes.items():
        print(f"SQLite cache write at the {DEFAULT_MAX_CACHE_ENTRIES}-row cap, {label}: {min(ms):.3f}-{max(ms):.3f} ms")
    for n, pairs in lookups.items():
        means, p99s = [m for m, _ in pairs], [p for _, p in pairs]
        print(
            f"preference lookup with {n:>6} saved, own writes between: mean {min(means):.3f}-{max(means):.3f} ms, "
            f"p99 {min(p99s):.3f}-{max(p99s):.3f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
