"""`python -m bot copy-store --to postgresql://…`: move what is worth keeping from the SQLite file to PostgreSQL.

Preferences (every member's and server's language, and every reset to automatic, which is a dated choice too) and
the command-sync hashes; not the cache (derived, rebuilt on demand), not old market snapshots or heartbeats.

- Any size: the source is read in batches by rowid and each batch is one statement with a generous timeout of its
  own (not the reply path's 1.5 s), with progress on stderr (a bar on a terminal, a line per tenth otherwise).
- Newer wins, by time: a row already in PostgreSQL and updated later there is kept, so running it twice, or after
  the new processes have started, loses nothing and brings nothing back. A source time in the future (a clock that
  was wrong) is clamped to the copy's start, so it cannot outrank choices made after the move: the first copy's
  start, recorded in PostgreSQL (CLAMP_KEY), so that a second run cannot outrank choices made since the first.
- Odd rows (an id that is text or out of range, an unknown language, a time that is not a number) are reported and
  skipped with a count; the exit is 0 only when every valid row is in PostgreSQL afterwards (checked, not assumed).
- The source is opened read-only: nothing in it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.store.base import LANGUAGES, Preference, StoreUnavailable, valid_id
from bot.store.postgres import PostgresStore, safe_url
from bot.store.sqlite import foreign_file_problem

KEPT_META_PREFIXES = ("command_sync_hash",)
CLAMP_KEY = "copy_store_started"
BATCH_ROWS = 5_000
BATCH_TIMEOUT_SECONDS = 60.0  # one batch of BATCH_ROWS rows takes well under a second on a healthy server
SKIPPED_SHOWN = 5  # odd rows described one by one; the rest only counted


class CopyError(Exception):
    """One line for the admin: what could not be read or written."""


@dataclass
class CopyCounts:
    total: int = 0
    valid: int = 0
    changed: int = 0
    present: int = 0  # valid rows found in PostgreSQL afterwards, as new as the source's or newer
    clamped: int = 0
    skipped: list[str] = field(default_factory=list)


def odd_row_reason(scope: Any, ident: Any, language: Any, updated: Any) -> str | None:
    """Why a source row cannot be copied, or None. SQLite keeps whatever type it was given in any column."""
    if scope not in ("user", "guild"):
        return f"scope {scope!r} is not user or guild"
    if type(ident) is not int:
        return f"id {ident!r} is not an integer"
    if not valid_id(ident):
        return f"id {ident} is out of range"
    if language is not None and language not in LANGUAGES:
        return f"language {language!r} is not one of {', '.join(LANGUAGES)}"
    if type(updated) not in (int, float) or not math.isfinite(updated):
        return f"time {updated!r} is not a number"
    return None


class Progress:
    """Rows done out of the total, on stderr: a bar redrawn in place on a terminal, else a line per tenth."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total = total
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self._next_tenth = 1

    def __call__(self, done: int) -> None:
        share = done / self.total if self.total else 1.0
        if self.tty:
            bar = "#" * int(share * 30)
            self.out.write(f"\rcopy-store: [{bar:<30}] {share:4.0%} {done:,}/{self.total:,} rows")
            if done >= self.total:
                self.out.write("\n")
        elif share * 10 >= self._next_tenth or done >= self.total:
            self._next_tenth = int(share * 10) + 1
            self.out.write(f"copy-store: {done:,}/{self.total:,} rows ({share:.0%})\n")
        self.out.flush()


def _open_source(source: Path) -> sqlite3.Connection:
    return sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True, timeout=5, check_same_thread=False)


def _read_batch(db: sqlite3.Connection, after: int) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT rowid, scope, id, language, updated FROM preferences WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (after, BATCH_ROWS),
    ).fetchall()


def _read_meta(db: sqlite3.Connection, prefix: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
    ).fetchall()


async def copy_store(
    source: Path,
    target_url: str,
    *,
    clock: Callable[[], float] = time.time,
    progress_out: TextIO | None = None,
) -> str:
    if not source.is_file():
        raise CopyError(f"no SQLite store at {source} (BOT_DB_PATH)")
    if (problem := foreign_file_problem(source)) is not None:
        raise CopyError(problem)
    if not target_url.startswith(("postgresql://", "postgres://")):
        raise CopyError("--to must be a postgresql:// URL")
    started = clock()
    try:
        db = await asyncio.to_thread(_open_source, source)
    except sqlite3.Error as exc:
        raise CopyError(f"cannot read {source}: {exc}") from None
    with contextlib.closing(db):
        async with PostgresStore(target_url, write_timeout=BATCH_TIMEOUT_SECONDS) as postgres:
            if not postgres.available:
                raise CopyError(postgres.problem or f"cannot use {safe_url(target_url)}")
            try:
                clamp = await _clamp_time(postgres, started)
                counts = await _copy_preferences(db, postgres, clamp, progress_out)
                meta = await _copy_meta(db, postgres, target_url)
            except sqlite3.Error as exc:
                raise CopyError(f"cannot read {source}: {exc}") from None
            except StoreUnavailable as exc:
                raise CopyError(f"{safe_url(target_url)}: {exc}") from None
    out = progress_out or sys.stderr
    for line in counts.skipped[:SKIPPED_SHOWN]:
        out.write(f"copy-store: skipped {line}\n")
    skipped = len(counts.skipped)
    if skipped > SKIPPED_SHOWN:
        out.write(f"copy-store: … and {skipped - SKIPPED_SHOWN} more odd row(s)\n")
    if counts.present != counts.valid:
        raise CopyError(
            f"{counts.valid - counts.present} of {counts.valid} valid preference(s) are not in "
            f"{safe_url(target_url)} after the copy; run it again"
        )
    extra = f", skipped {skipped} odd row(s)" if skipped else ""
    clamped = f", {counts.clamped} future time(s) set to the copy's start" if counts.clamped else ""
    return (
        f"copied {counts.valid} preference(s) ({counts.changed} new or changed{clamped}){extra} and "
        f"{len(meta)} sync hash(es) from {source} to {safe_url(target_url)}"
    )


async def _clamp_time(postgres: PostgresStore, started: float) -> float:
    """The first copy's start: what a time in the future becomes, on this run and every later one."""
    recorded = await postgres.get_meta(CLAMP_KEY)
    if recorded is None:
        if not await postgres.set_meta(CLAMP_KEY, repr(started)):
            raise StoreUnavailable("could not record the copy's start")
        return started
    try:
        return min(float(recorded), started)
    except ValueError:
        return started


async def _copy_preferences(
    db: sqlite3.Connection, postgres: PostgresStore, started: float, progress_out: TextIO | None
) -> CopyCounts:
    counts = CopyCounts(
        total=int((await asyncio.to_thread(db.execute, "SELECT count(*) FROM preferences")).fetchone()[0])
    )
    progress = Progress(counts.total, progress_out)
    after, done = 0, 0
    while rows := await asyncio.to_thread(_read_batch, db, after):
        after = int(rows[-1][0])
        batch: list[Preference] = []
        for rowid, scope, ident, language, updated in rows:
            if (reason := odd_row_reason(scope, ident, language, updated)) is not None:
                counts.skipped.append(f"row {rowid}: {reason}")
                continue
            if updated > started:
                counts.clamped += 1
            batch.append(Preference(scope, ident, language, min(float(updated), started)))
        if batch:
            counts.valid += len(batch)
            counts.changed += await postgres.import_preferences(batch, timeout=BATCH_TIMEOUT_SECONDS)
            counts.present += await postgres.count_preferences_as_new(batch, timeout=BATCH_TIMEOUT_SECONDS)
        done += len(rows)
        progress(done)
    if counts.total == 0:
        progress(0)
    return counts


async def _copy_meta(db: sqlite3.Connection, postgres: PostgresStore, target_url: str) -> list[tuple[str, str]]:
    meta: list[tuple[str, str]] = []
    for prefix in KEPT_META_PREFIXES:
        rows = await asyncio.to_thread(_read_meta, db, prefix)
        meta.extend((str(k), str(v)) for k, v in rows)
    for key, value in meta:
        if not await postgres.set_meta(key, value):
            raise CopyError(f"could not write {key} to {safe_url(target_url)}")
    return meta
