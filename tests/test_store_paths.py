"""The SQLite cache write stays flat in table size: the expiry sweep and the cap both go through indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.store import SQLiteStore


async def test_the_expiry_sweep_and_the_cap_never_scan_the_cache_table(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    async with SQLiteStore(path) as store:
        assert await store.cache_put("k", b"v", 60)
    with sqlite3.connect(path) as db:
        sweep = db.execute("EXPLAIN QUERY PLAN DELETE FROM cache WHERE expires <= 0").fetchall()
        cap = db.execute(
            "EXPLAIN QUERY PLAN DELETE FROM cache WHERE rowid IN "
            "(SELECT rowid FROM cache ORDER BY created DESC LIMIT -1 OFFSET 2000)"
        ).fetchall()
    plans = [str(row[-1]) for row in sweep + cap]
    assert any("USING COVERING INDEX cache_expires" in p or "USING INDEX cache_expires" in p for p in plans), plans
    assert not any(p.startswith("SCAN cache") and "INDEX" not in p for p in plans), plans
