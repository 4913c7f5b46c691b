"""Nothing slow on the reply path: a locked store, a slow chart renderer and a long render queue never hold up an
answer, and nothing that was put aside is lost."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.answers.core import CHART_UNAVAILABLE, PNG_SIGNATURE, Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.console import answer_line
from bot.domain.facts import Facts
from bot.domain.inflow import Estimate
from bot.domain.language import Lang
from bot.infra.background import BackgroundWrites
from bot.store import SQLiteStore
from tests.fakes import open_core

FAKE_PNG = PNG_SIGNATURE + b"fake chart"

# Another process takes SQLite's write lock on the same file and holds it until its stdin is closed.
LOCK_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


@asynccontextmanager
async def write_lock_held_by_another_process(path: Path) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOCK_HOLDER, str(path), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"locked\n"  # the signal, not a sleep
        yield
    finally:
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 30)


class GatedRenderer:
    """A chart renderer that takes as long as the test says: it draws when `gate` opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, est: Estimate, lang: Lang) -> bytes:
        self.calls += 1
        self.gate.wait(30)
        return FAKE_PNG


def fast_renderer(est: Estimate, lang: Lang) -> bytes:
    return FAKE_PNG


async def test_answers_never_wait_for_a_store_write_while_another_process_holds_the_lock(
    tmp_path: Path, facts: Facts, renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long write timeout: the waiting writes outlast the answers, and none of them gives up while the lock is held.
    path = tmp_path / "locked.sqlite3"
    async with (
        SQLiteStore(path, write_timeout=30.0) as store,
        open_core(facts, renderer, store=store, chart_renderer=fast_renderer) as core,
    ):
        asks = [("/401k topic:risks", "en"), ("/inflow 3%", "zh-TW"), ("/opinions", "en"), ("/sources", "zh-TW")]
        async with write_lock_held_by_another_process(path):
            for line, lang in asks:
                response = await core.respond(parse_request(line, facts), lang)  # type: ignore[arg-type]
                assert not response.answer.is_error and not response.cache_hit
            # Every answer came back while the writes were still waiting for the lock (30 s here): nobody waited
            # for them. (How long the answers took: benchmarks/fault_drills.py.)
            assert core.writes.pending == 5  # four answers and one chart
            # Reads have their own connection (WAL readers never wait for a writer): none was slow.
            assert core.slow_store_reads == 0
        await core.drain()  # the lock is gone: the writes land, nothing is lost
        assert await store.cache_count() == 5
        assert (await core.respond(parse_request("/inflow 3%", facts), "zh-TW")).image == FAKE_PNG


async def test_close_finishes_the_background_writes(tmp_path: Path, facts: Facts, renderer: Renderer) -> None:
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store, chart_renderer=fast_renderer)  # close() itself is what is tested
        await core.respond(parse_request("/inflow 2%", facts), "en")
        await core.close()
        assert await store.cache_count() == 2  # the answer and its chart


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
async def test_a_chart_not_ready_by_the_deadline_is_left_out_and_said_so(
    lang: Lang, tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    slow = GatedRenderer()
    request = parse_request("/inflow 2%", facts)
    async with (
        SQLiteStore(tmp_path / "c.sqlite3") as store,
        open_core(facts, renderer, store=store, chart_renderer=slow, chart_deadline_seconds=0.2) as core,
    ):
        late = await asyncio.wait_for(core.respond(request, lang), 10)
        assert late.chart_skipped and late.image is None and late.answer.image is None
        assert late.answer.footer.endswith("\n" + CHART_UNAVAILABLE[lang])
        assert late.answer.description == (await core.answer(request, lang)).description  # the answer is whole
        assert core.charts_skipped == 1

        slow.gate.set()  # the render that missed the deadline carries on and is kept for the next ask
        await core.drain()
        again = await core.respond(request, lang)
        assert (again.image, again.answer.image, again.chart_skipped) == (FAKE_PNG, "inflow.png", False)
        assert CHART_UNAVAILABLE[lang] not in again.answer.footer
        assert slow.calls == 1


async def test_a_full_render_queue_answers_at_once_without_a_chart(facts: Facts, renderer: Renderer) -> None:
    slow = GatedRenderer()
    async with open_core(facts, renderer, chart_renderer=slow, chart_deadline_seconds=30, max_charts_queued=2) as core:
        first, second, third = (parse_request(f"/inflow {pct}%", facts) for pct in (1, 2, 3))
        waiting = [asyncio.create_task(core.respond(r, "en")) for r in (first, second)]
        await asyncio.sleep(0)  # one turn of the loop (no time passes): both asks have queued their render
        full = await asyncio.wait_for(core.respond(third, "en"), 10)  # not after 30 s: at once
        assert full.chart_skipped and full.image is None
        assert not any(task.done() for task in waiting)
        slow.gate.set()
        assert [r.image for r in await asyncio.gather(*waiting)] == [FAKE_PNG, FAKE_PNG]
        await core.drain()
        assert slow.calls == 2 and core.charts_skipped == 1  # the third chart was never queued


async def test_a_chart_that_cannot_be_ready_in_time_is_not_queued(facts: Facts, renderer: Renderer) -> None:
    slow = GatedRenderer()
    async with open_core(facts, renderer, chart_renderer=slow, chart_deadline_seconds=1.0) as core:
        core.render_estimate = 0.6  # as measured on a busy machine: two charts in a row take 1.2 s > 1.0 s
        drawing = asyncio.create_task(core.respond(parse_request("/inflow 1%", facts), "en"))
        await asyncio.sleep(0)  # one turn of the loop: the first render is queued
        late = await asyncio.wait_for(core.respond(parse_request("/inflow 2%", facts), "en"), 10)
        assert late.chart_skipped
        slow.gate.set()
        await drawing
        await core.drain()
        assert slow.calls == 1  # the second chart was never queued: it could not have made it


async def test_the_console_waits_for_its_chart(facts: Facts, renderer: Renderer) -> None:
    def slow(est: Estimate, lang: Lang) -> bytes:
        time.sleep(0.2)  # the test's renderer, far past the deadline below
        return FAKE_PNG

    async with open_core(facts, renderer, chart_renderer=slow, chart_deadline_seconds=0.01) as core:
        outcome = await answer_line(core, "/inflow 2%", "en", chart=True)  # `ask --json` / `--chart-dir`: no 3 s window
        assert outcome.image == FAKE_PNG and outcome.answer.image == "inflow.png"


async def test_identical_asks_in_a_burst_share_one_render(facts: Facts, renderer: Renderer) -> None:
    slow = GatedRenderer()
    async with open_core(facts, renderer, chart_renderer=slow, max_charts_queued=1) as core:
        request = parse_request("/inflow 4%", facts)
        asks = [asyncio.create_task(core.respond(request, "en")) for _ in range(20)]
        await asyncio.sleep(0)  # one turn of the loop: every ask has joined the one render (no time passes)
        slow.gate.set()
        responses = await asyncio.wait_for(asyncio.gather(*asks), 10)
        assert {r.image for r in responses} == {FAKE_PNG} and slow.calls == 1


async def test_unreadable_cache_entries_are_rebuilt_not_served(
    tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    request = parse_request("/inflow 2%", facts)
    path = tmp_path / "c.sqlite3"
    async with (
        SQLiteStore(path) as store,
        open_core(facts, renderer, store=store, chart_renderer=fast_renderer) as first_core,
    ):
        first = await first_core.respond(request, "en")
    with sqlite3.connect(path) as db:  # an older version's entries, or a scribble: not an answer, not a PNG
        db.execute("UPDATE cache SET value = CASE WHEN key LIKE 'chart:%' THEN x'00ff' ELSE '{\"title\": 1}' END")
    async with SQLiteStore(path) as store:
        calls: list[str] = []

        def counting(est: Estimate, lang: Lang) -> bytes:
            calls.append(lang)
            return FAKE_PNG

        async with open_core(facts, renderer, store=store, chart_renderer=counting) as core:
            again = await core.respond(request, "en")
            assert again.answer == first.answer and again.image == FAKE_PNG
            assert not again.cache_hit and calls == ["en"]


async def test_background_writes_are_bounded_and_failures_logged(caplog: pytest.LogCaptureFixture) -> None:
    writes = BackgroundWrites(max_pending=2)
    gate = asyncio.Event()

    async def stuck() -> None:
        await gate.wait()

    async def failing() -> None:
        raise OSError("disk on fire")

    assert writes.submit(stuck(), "a") and writes.submit(stuck(), "b")
    assert not writes.submit(stuck(), "c")  # the third is dropped (and closed, so never "never awaited")
    assert writes.dropped == 1 and writes.pending == 2
    gate.set()
    await writes.drain()
    assert writes.submit(failing(), "d")
    await writes.drain()
    assert "background d write failed" in caplog.text and "disk on fire" in caplog.text
    await writes.close()
    assert not writes.submit(stuck(), "after close")
