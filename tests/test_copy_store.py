"""`copy-store` (issue 18 item 6) against the real PostgreSQL, run as the real command.

A reset to automatic is a recorded choice that wins by time; a source time in the future is clamped to the copy's
start; any size copies in batches with progress; odd rows are reported and skipped; exit 0 only when every valid row
is in PostgreSQL; running it twice changes nothing the second time.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bot.store import SQLiteStore
from bot.store.copy import Progress
from bot.store.postgres import PostgresStore
from tests.helpers import scrubbed_env


def _copy(source: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "copy-store", "--to", url],
        capture_output=True,
        text=True,
        env=scrubbed_env(BOT_DB_PATH=str(source)),
        cwd=source.parent,  # outside the checkout
        timeout=300,
        check=False,
    )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_reset_to_auto_is_a_choice_that_a_second_copy_does_not_undo(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    clock = Clock(1_700_000_000.0)
    async with SQLiteStore(source, clock=clock) as store:
        await store.set_language("user", 1, "zh-TW")
        await store.set_language("user", 2, "en")
        await store.set_language("guild", 3, "zh-CN")
    first = _copy(source, pg_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("copied 3 preference(s) (3 new or changed) and 0 sync hash(es)")

    clock.now += 100
    async with PostgresStore(pg_url, clock=clock) as target:
        await target.set_language("user", 1, None)  # the member goes back to automatic after the move
    clock.now += 100
    async with SQLiteStore(source, clock=clock) as store:
        await store.set_language("user", 2, None)  # and another one resets on the old store, later still

    again = _copy(source, pg_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("copied 3 preference(s) (1 new or changed)")  # only user 2's reset
    async with PostgresStore(pg_url) as target:
        assert await target.get_languages(1, 3) == (None, "zh-CN")  # user 1's reset was not undone
        assert await target.get_language("user", 2) is None  # user 2's reset travelled like any other choice
    third = _copy(source, pg_url)
    assert third.stdout.startswith("copied 3 preference(s) (0 new or changed)")


async def test_a_time_in_the_future_is_clamped_to_the_copy_s_start(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    async with SQLiteStore(source, clock=lambda: time.time() + 10 * 365 * 86400) as store:  # a clock far ahead
        await store.set_language("user", 5, "zh-TW")
    started = time.time()
    first = _copy(source, pg_url)
    assert first.returncode == 0, first.stderr
    assert "1 future time(s) set to the copy's start" in first.stdout
    async with PostgresStore(pg_url) as target:
        [row] = await target.preferences()
        assert started <= row.updated <= time.time()
        await target.set_language("user", 5, "en")  # chosen after the copy
    again = _copy(source, pg_url)
    assert again.returncode == 0, again.stderr
    async with PostgresStore(pg_url) as target:
        assert await target.get_language("user", 5) == "en"  # the future-dated source row did not win


async def test_300_000_rows_and_odd_ones_copy_in_batches_with_progress_twice(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    async with SQLiteStore(source) as store:
        await store.set_meta("command_sync_hash:global", "abc")
    with sqlite3.connect(source) as db:
        db.executemany(
            "INSERT INTO preferences (scope, id, language, updated) VALUES (?, ?, ?, ?)",
            (
                (("user", "guild")[i % 2], 10**17 + i, ("en", "zh-TW", "zh-CN", None)[i % 4], 1.7e9 + i)
                for i in range(300_000)
            ),
        )
        db.execute("INSERT INTO preferences VALUES ('user', 'not-a-number', 'en', 1.0)")  # SQLite stores it as TEXT
        db.execute("INSERT INTO preferences VALUES ('user', -5, 'en', 1.0)")
        db.execute("INSERT INTO preferences VALUES ('guild', 12, 'zh-TW', 'yesterday')")
    started = time.perf_counter()
    first = _copy(source, pg_url)
    seconds = time.perf_counter() - started
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "copied 300000 preference(s) (300000 new or changed), skipped 3 odd row(s) and 1 sync hash(es)"
    )
    assert "Traceback" not in first.stderr
    progress = [line for line in first.stderr.splitlines() if line.startswith("copy-store: ") and "rows" in line]
    assert progress[0] == "copy-store: 5,000/300,003 rows (2%)" or "/300,003 rows" in progress[0]
    assert progress[-1] == "copy-store: 300,003/300,003 rows (100%)"
    assert 5 <= len(progress) <= 12  # a line per tenth, not per row or per batch
    assert "copy-store: skipped row 300001: id 'not-a-number' is not an integer" in first.stderr
    assert "copy-store: skipped row 300002: id -5 is out of range" in first.stderr
    assert "copy-store: skipped row 300003: time 'yesterday' is not a number" in first.stderr
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM preferences") == 300_000
        assert await conn.fetchval("SELECT count(*) FROM preferences WHERE language IS NULL") == 75_000
    finally:
        await conn.close()
    again = _copy(source, pg_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("copied 300000 preference(s) (0 new or changed), skipped 3 odd row(s)")
    print(f"copy-store: 300,000 rows in {seconds:.1f} s")


async def test_exit_is_not_0_when_a_valid_row_did_not_arrive(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    async with SQLiteStore(source) as store:
        await store.set_language("user", 1, "en")
        await store.set_language("user", 7, "zh-TW")
    async with PostgresStore(pg_url):
        pass
    conn = await asyncpg.connect(pg_url)  # the server silently drops one row (a rule someone left behind)
    try:
        await conn.execute(
            "CREATE FUNCTION drop_seven() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF new.id = 7 THEN RETURN NULL; END IF; RETURN new; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER drop_seven BEFORE INSERT ON preferences FOR EACH ROW EXECUTE FUNCTION drop_seven()"
        )
    finally:
        await conn.close()
    result = _copy(source, pg_url)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("copy-store: 1 of 2 valid preference(s) are not in")


def test_progress_is_a_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = Progress(10_000, out)
    progress(5_000)
    progress(10_000)
    assert out.getvalue() == (
        "\rcopy-store: [###############               ]  50% 5,000/10,000 rows"
        "\rcopy-store: [##############################] 100% 10,000/10,000 rows\n"
    )
