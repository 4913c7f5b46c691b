"""The store against real SQLite files: migrations, cache, preferences, and every way a disk can let us down."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import subprocess
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.facts import Facts
from bot.store import SQLiteStore, StoreUnavailable, migrations
from tests.fakes import FakeClock, open_core
from tests.helpers import scrubbed_env


async def test_migrations_are_applied_and_tracked(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        assert store.available
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cache", "preferences", "meta", "market_snapshots"} <= tables
    async with SQLiteStore(path) as store:  # reopening does not re-run migrations
        assert store.available


async def test_a_file_that_is_not_sqlite_is_never_renamed_or_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"
    content = b"my notes, not a database\n" * 200
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        async with SQLiteStore(path, clock=FakeClock(1234.0)) as store:
            assert not store.available and store.moved_aside is None
            assert store.problem == (
                f"BOT_DB_PATH {path} is not a SQLite database; leaving it untouched "
                "(point BOT_DB_PATH at another file or move this one away)"
            )
            with pytest.raises(StoreUnavailable):
                await store.set_language("user", 1, "en")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.sqlite3"]
    assert "is not a SQLite database" in caplog.text


async def test_a_damaged_sqlite_database_is_moved_aside_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("user", 1, "en")
    damaged = path.read_bytes()[:100] + b"\xde\xad" * 4000  # a SQLite header over garbage pages
    path.write_bytes(damaged)
    with caplog.at_level(logging.WARNING):
        async with SQLiteStore(path, clock=FakeClock(1234.0)) as store:
            assert store.available
            assert store.moved_aside == tmp_path / "bot.sqlite3.corrupt-1234"
            await store.set_language("user", 1, "zh-TW")
    assert (tmp_path / "bot.sqlite3.corrupt-1234").read_bytes() == damaged
    assert "was corrupt" in caplog.text


async def test_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path) as store:
        for i in range(200):
            await store.cache_put(f"key{i}", b"x" * 2000, 3600)
    size = path.stat().st_size
    assert size > 100_000
    with path.open("r+b") as fh:
        fh.truncate(size // 3)
    async with SQLiteStore(path) as store:
        assert store.available
        assert store.moved_aside is not None and store.moved_aside.exists()
        assert await store.cache_count() == 0


async def test_unusable_location_answers_without_cache(tmp_path: Path, facts: Facts, renderer: Renderer) -> None:
    # CI runs as root, where chmod stops nothing: a path below a regular file cannot be created by anyone.
    blocker = tmp_path / "file"
    blocker.write_text("I am a file", encoding="utf-8")
    async with SQLiteStore(blocker / "db" / "bot.sqlite3") as store:
        assert not store.available
        assert await store.cache_get("k") is None
        assert not await store.cache_put("k", b"v", 60)
        assert await store.get_language("user", 1) is None
        with pytest.raises(StoreUnavailable):
            await store.set_language("user", 1, "en")
        async with open_core(facts, renderer, store=store) as core:
            result = await core.answer(parse_request("/inflow 2%", facts), "en")
            assert result.description.startswith("**$200 billion**")


async def test_full_disk_turns_caching_off_and_settings_report_an_error(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    async with SQLiteStore(path) as store:
        assert store._writer is not None
        pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
        store._writer.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now reports SQLITE_FULL on growth
        assert not await store.cache_put("big", b"x" * 200_000, 60)
        with pytest.raises(StoreUnavailable, match="full"):
            for i in range(2000):
                await store.set_language("user", i, "en")
        assert await store.cache_get("big") is None
        assert store.available  # reads still work


async def test_core_caches_answers_and_keys_them_by_data_version(
    tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    request = parse_request("/401k topic:risks", facts)
    async with SQLiteStore(tmp_path / "c.sqlite3") as store, open_core(facts, renderer, store=store) as core:
        first = await core.answer(request, "en")
        await core.drain()  # the cache write happens in the background
        assert await store.cache_count() == 1
        assert await core.answer(request, "en") == first
        assert await store.cache_count() == 1

        # An edited template is a new data version: a new entry, and the edit shows.
        import shutil

        from bot.domain.paths import templates_dir

        edited = tmp_path / "templates"
        shutil.copytree(templates_dir(), edited)
        path = edited / "en" / "401k.j2"
        path.write_text(path.read_text(encoding="utf-8").replace("Risks and open questions", "Risks!"), "utf-8")
        edited_core = Core(facts, Renderer(facts, edited), store=store)
        assert edited_core.data_version != core.data_version
        assert (await edited_core.answer(request, "en")).title == "Risks!"
        await edited_core.drain()
        assert await store.cache_count() == 2


# ---------------------------------------------------------------- real processes and read-only mounts

REPO = Path(__file__).resolve().parents[1]


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, timeout=60, check=False
    )


SET_LANGUAGE = """
import asyncio, sys
from pathlib import Path
from typing import Any
from bot.store import SQLiteStore
async def main():
    async with SQLiteStore(Path(sys.argv[1])) as store:
        await store.set_language("user", int(sys.argv[2]), sys.argv[3])
        print(await store.get_language("user", int(sys.argv[4])))
asyncio.run(main())
"""


async def test_two_processes_on_one_file_see_each_others_preferences(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    async with SQLiteStore(path) as store:
        assert await store.get_language("user", 1) is None  # looked up before the other process writes
        await store.set_language("user", 2, "en")
        other = _python(SET_LANGUAGE, str(path), "1", "zh-TW", "2")  # writes user 1, reads user 2
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() == "en"
        assert await store.get_language("user", 1) == "zh-TW"
        await store.set_language("user", 2, "zh-CN")
        assert _python(SET_LANGUAGE, str(path), "3", "en", "2").stdout.strip() == "zh-CN"


async def test_preferences_come_from_memory_until_another_connection_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cached.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("guild", 7, "zh-TW")
        reads: list[str] = []
        real_read = store._read

        async def counting_read(sql: str, params: Sequence[Any] = ()) -> Any:
            reads.append(sql)
            return await real_read(sql, params)

        monkeypatch.setattr(store, "_read", counting_read)
        assert await store.get_languages(1, 7) == (None, "zh-TW")
        assert await store.get_languages(1, 7) == (None, "zh-TW")
        assert await store.get_language("guild", 7) == "zh-TW"
        assert await store.get_languages(99, 8) == (None, None)  # someone new: known absent, no query
        assert len(reads) == 1  # one read of the file; the rest from memory
        other = _python(SET_LANGUAGE, str(path), "1", "en", "1")  # another process writes user 1
        assert other.returncode == 0, other.stderr
        assert await store.get_languages(1, 7) == ("en", "zh-TW")  # the very next lookup sees it
        assert len(reads) == 2
        # This process's own commits (a saved language, cache and cooldown writes on every command) never make it
        # read every preference again: the copy follows its own writes, and only another process's commit drops it
        # (the first own commit after another process's may read them once more: that commit is found then).
        await store.set_language("user", 1, "zh-CN")
        assert await store.get_languages(1, 7) == ("zh-CN", "zh-TW")
        if store._checking is not None:
            await store._checking
        assert await store.get_languages(1, 7) == ("zh-CN", "zh-TW")
        full_reads = reads.count(reads[0])
        assert full_reads <= 3
        for i in range(5):
            await store.cache_put(f"k{i}", b"v", 60)
            assert await store.get_languages(1, 7) == ("zh-CN", "zh-TW")
            if store._checking is not None:
                await store._checking  # whether another process wrote: asked of the writer connection
        assert reads.count(reads[0]) == full_reads
        before = len(reads)
        assert await store.get_languages(1, 7) == ("zh-CN", "zh-TW")
        assert len(reads) == before  # from memory again
        other = _python(SET_LANGUAGE, str(path), "1", "en", "1")  # another process's commit still shows at once
        assert other.returncode == 0, other.stderr
        assert await store.get_languages(1, 7) == ("en", "zh-TW")


HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


async def test_a_language_write_gives_up_in_time_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    async with SQLiteStore(path) as store:
        await store.set_language("user", 1, "zh-TW")
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_WRITE_LOCK, str(path), stdin=PIPE, stdout=PIPE, cwd=REPO
        )
        try:
            assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
            started = time.perf_counter()
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.set_language("user", 1, "en")
            waited = time.perf_counter() - started
            assert waited < 2.5  # gave up with time left to answer within Discord's 3 s (bound: 1.5 s)
            assert await store.get_language("user", 1) == "zh-TW"  # reads never wait for the writer
            assert not await store.cache_put("k", b"v", 60)
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            await holder.wait()
        await store.set_language("user", 1, "en")  # the lock is gone: saving works again
        assert await store.get_language("user", 1) == "en"


def _read_only_mount_available() -> bool:
    probe = (
        subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False) if shutil.which("unshare") else None
    )
    return probe is not None and probe.returncode == 0


read_only_mount = pytest.mark.skipif(
    not _read_only_mount_available(), reason="needs `unshare -m` (root) for a real read-only bind mount"
)


def _in_read_only_mount(
    directory: Path, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in its own mount namespace where `directory` is a read-only bind mount of itself."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(directory), *command],
        capture_output=True,
        text=True,
        cwd=directory.parent,  # outside the checkout: a developer's .env there must not configure this bot
        env=scrubbed_env(**(env or {})),
        timeout=60,
        check=False,
    )


READ_ONLY_STORE = """
import asyncio, sys
from pathlib import Path
from typing import Any
from bot.store import SQLiteStore, StoreUnavailable
async def main():
    async with SQLiteStore(Path(sys.argv[1])) as store:
        print(store.available, store.read_only, await store.get_language("user", 42), await store.try_lease("sync", 30))
        try:
            await store.set_language("user", 42, "en")
        except StoreUnavailable as exc:
            print("not saved:", exc)
asyncio.run(main())
"""


@read_only_mount
async def test_a_valid_database_on_a_read_only_mount_still_gives_saved_preferences(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    async with SQLiteStore(directory / "bot.sqlite3") as store:
        await store.set_language("user", 42, "zh-TW")
    result = _in_read_only_mount(directory, sys.executable, "-c", READ_ONLY_STORE, str(directory / "bot.sqlite3"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True True zh-TW True"  # the lease: nothing to coordinate through, so no waiting on it
    assert lines[1].startswith("not saved: saving a language: the store is read-only")
    assert "is read-only" in result.stderr  # logged once, at start
    env = {"BOT_DB_PATH": str(directory / "bot.sqlite3")}
    health = _in_read_only_mount(directory, sys.executable, "-m", "bot", "health", env=env)
    assert (health.returncode, health.stdout.strip()) == (0, "ok: store readable (console mode, no gateway)")


@read_only_mount
def test_a_damaged_database_that_cannot_be_moved_aside_does_not_stop_the_bot(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    path = directory / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 100)
    path.write_bytes(path.read_bytes()[:100] + b"\xde\xad" * 8000)
    env = {"BOT_DB_PATH": str(path)}
    answered = _in_read_only_mount(directory, sys.executable, "-m", "bot", "ask", "/401k topic:risks", env=env)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.startswith("━━ Risks and open questions ━━")
    assert "is a damaged SQLite database" in answered.stderr and "cannot be moved aside" in answered.stderr
    assert "Traceback" not in answered.stderr
    health = _in_read_only_mount(directory, sys.executable, "-m", "bot", "health", env=env)
    assert health.returncode == 1 and health.stdout.startswith(f"no store: {path}")
    assert sorted(p.name for p in directory.iterdir()) == ["bot.sqlite3"]  # nothing was renamed


MIGRATE = """
import asyncio, sys
from pathlib import Path
from typing import Any
from bot.store import SQLiteStore
async def main():
    async with SQLiteStore(Path(sys.argv[1])) as store:
        print(store.available, store.problem)
asyncio.run(main())
"""


async def test_processes_starting_together_on_a_new_file_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, str(path), stdout=PIPE, stderr=PIPE, cwd=REPO
        )
        for _ in range(4)
    ]
    results = [await p.communicate() for p in procs]
    assert [out.decode().strip() for out, _ in results] == ["True None"] * 4, [err.decode() for _, err in results]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]


async def test_a_read_that_began_before_a_commit_never_becomes_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow read of the preferences, overtaken by a commit and a newer read, must not replace the newer copy."""
    path = tmp_path / "racing.sqlite3"
    async with SQLiteStore(path) as store, SQLiteStore(path) as other:
        await store.set_language("user", 1, "en")
        gate = asyncio.Event()
        real_read = store._read
        calls = 0

        async def first_read_delivered_late(sql: str, params: Sequence[Any] = ()) -> Any:
            nonlocal calls
            calls += 1
            rows = await real_read(sql, params)  # read now ...
            if calls == 1:
                await gate.wait()  # ... but delivered only after the commit and a newer read
            return rows

        monkeypatch.setattr(store, "_read", first_read_delivered_late)
        early = asyncio.ensure_future(store.get_language("user", 1))
        while calls == 0:
            await asyncio.sleep(0.001)
        await other.set_language("user", 1, "zh-CN")
        assert await store.get_language("user", 1) == "zh-CN"  # a newer read, after the commit
        gate.set()
        assert await early == "en"  # began before the commit: the old value is fine for it
        assert await store.get_language("user", 1) == "zh-CN"  # the late, older read did not become the copy


async def test_a_member_s_own_save_goes_before_queued_background_cache_writes(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "bot.sqlite3", write_timeout=60) as store:
        value = b"x" * 200_000  # each cache write takes a moment, as a chart's does
        queued = [asyncio.ensure_future(store.cache_put(f"chart:{i}", value, 600)) for i in range(256)]
        await asyncio.sleep(0)  # every background write is waiting for the writer
        started = time.perf_counter()
        await store.set_language("user", 1, "zh-TW")
        seconds = time.perf_counter() - started
        written_first = sum(task.done() for task in queued)
        assert all(await asyncio.gather(*queued))  # they all still happen, after it
        assert await store.get_language("user", 1) == "zh-TW"
    print(f"/language save behind 256 queued cache writes: {seconds * 1000:.0f} ms, {written_first} written first")
    assert written_first <= 1  # at most the one already running
