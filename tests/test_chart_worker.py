"""The chart worker process: draws real charts, survives a crash or a hang, is recycled, and keeps matplotlib (and
its memory) out of the serving process; the chart service's deadline and queue bound hold with it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot.answers.chart import HEIGHT, WIDTH
from bot.answers.chart_worker import ChartWorker, ChartWorkerError, warm_worker
from bot.answers.core import CHART_UNAVAILABLE, PNG_SIGNATURE, Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.allocation import parse_allocation
from bot.domain.facts import Facts
from bot.domain.inflow import Estimate, MarketCap, Pool, estimate
from bot.store import SQLiteStore


class _DiesWhenRead:
    """A job the child dies on while reading it (as if the drawing crashed the process)."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (os._exit, (3,))


class _HangsWhenRead:
    def __reduce__(self) -> tuple[object, tuple[float]]:
        return (time.sleep, (60.0,))


def _estimate(facts: Facts, text: str = "2%") -> Estimate:
    return estimate(parse_allocation(text), Pool.K401, facts, MarketCap.from_config(facts))


@pytest.fixture
def worker() -> Iterator[ChartWorker]:
    w = ChartWorker(hang_seconds=30)
    yield w
    w.close()


def test_the_worker_draws_the_chart_in_every_language(worker: ChartWorker, facts: Facts) -> None:
    for lang in ("en", "zh-TW", "zh-CN"):
        png = worker.draw(_estimate(facts), lang)
        assert png.startswith(PNG_SIGNATURE)
        assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    assert (worker.started, worker.drawn, worker.crashed) == (1, 3, 0)


def test_a_worker_that_dies_mid_chart_is_replaced_for_the_next(worker: ChartWorker, facts: Facts) -> None:
    worker.draw(_estimate(facts), "en")
    first = worker.pid
    with pytest.raises(ChartWorkerError, match="died"):
        worker.draw(_DiesWhenRead(), "en")
    assert worker.crashed == 1 and worker.pid is None
    assert worker.draw(_estimate(facts), "en").startswith(PNG_SIGNATURE)
    assert worker.pid not in (None, first) and worker.started == 2


def test_a_worker_killed_between_charts_is_restarted(worker: ChartWorker, facts: Facts) -> None:
    worker.draw(_estimate(facts), "en")
    first = worker.pid
    assert first is not None
    os.kill(first, 9)
    os.waitid(os.P_PID, first, os.WEXITED | os.WNOWAIT)  # dead (still a zombie for Popen to reap), not a sleep
    assert worker.draw(_estimate(facts), "zh-TW").startswith(PNG_SIGNATURE)
    assert worker.pid != first and worker.started == 2


def test_a_hung_worker_is_killed_after_hang_seconds(facts: Facts) -> None:
    worker = ChartWorker(hang_seconds=30)
    try:
        worker.draw(_estimate(facts), "en")  # started (a cold start may take seconds on a busy machine)
        worker.hang_seconds = 0.5
        hung = worker.pid
        with pytest.raises(ChartWorkerError, match="hung"):
            worker.draw(_HangsWhenRead(), "en")
        assert hung is not None and not _alive(hung)
        worker.hang_seconds = 30
        assert worker.draw(_estimate(facts), "en").startswith(PNG_SIGNATURE)
    finally:
        worker.close()


def test_a_drawing_error_is_reported_and_the_worker_kept(worker: ChartWorker) -> None:
    with pytest.raises(ChartWorkerError, match="AttributeError"):
        worker.draw("not an estimate", "en")
    assert worker.crashed == 0 and worker.pid is not None


def test_the_worker_is_recycled_after_max_charts(facts: Facts) -> None:
    worker = ChartWorker(max_charts=2)
    try:
        worker.draw(_estimate(facts), "en")
        first = worker.pid
        worker.draw(_estimate(facts), "en")
        assert worker.pid is None  # stopped after its second chart
        worker.draw(_estimate(facts), "en")
        assert worker.pid not in (None, first) and worker.started == 2 and worker.crashed == 0
    finally:
        worker.close()


def _loaded(pid: int, library: str) -> bool:
    return library in Path(f"/proc/{pid}/maps").read_text()


def test_warm_starts_a_child_that_has_drawn_and_then_draws_the_first_chart(worker: ChartWorker, facts: Facts) -> None:
    """A serving process warms the worker at start: the child's cold start (a process, matplotlib, every font) is
    paid then, not by a member's first /inflow, which the same, running child draws."""
    assert worker.warm(_estimate(facts)) is True
    warm = worker.pid
    assert warm is not None and _loaded(warm, "ft2font")  # matplotlib and its font code are loaded in the child
    assert (worker.started, worker.drawn, worker.crashed) == (1, 0, 0)  # the throwaway charts are not counted
    assert worker.warm(_estimate(facts)) is False  # a running child is warm already: nothing more to do
    assert worker.draw(_estimate(facts), "zh-CN").startswith(PNG_SIGNATURE)
    assert (worker.pid, worker.started, worker.drawn) == (warm, 1, 1)


def test_warm_replaces_a_dead_child(worker: ChartWorker, facts: Facts) -> None:
    worker.warm(_estimate(facts))
    first = worker.pid
    assert first is not None
    os.kill(first, 9)
    os.waitid(os.P_PID, first, os.WEXITED | os.WNOWAIT)
    assert worker.warm(_estimate(facts)) is True
    assert worker.pid not in (None, first) and worker.started == 2


class _Recorder:
    """A renderer and a warmer that record what they were asked (no process at all)."""

    def __init__(self, *, warm_fails: bool = False) -> None:
        self.warmed: list[Estimate] = []
        self.drawn: list[str] = []
        self.warm_fails = warm_fails

    def warm(self, est: Estimate) -> bool:
        if self.warm_fails:
            raise ChartWorkerError("the chart worker died; a new one draws the next chart")
        self.warmed.append(est)
        return True

    def draw(self, est: Estimate, lang: str) -> bytes:
        self.drawn.append(lang)
        return PNG_SIGNATURE + lang.encode()


async def test_the_chart_service_warms_once_and_caches_counts_and_measures_nothing(
    tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    fake = _Recorder()
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store, chart_renderer=fake.draw)
        core.charts.warmer = fake.warm
        estimate_before = core.render_estimate
        core.charts.warm_in_background()
        core.charts.warm_in_background()  # a second call (another start-up path) does not warm again
        await core.drain()
        assert len(fake.warmed) == 1 and fake.drawn == [] and core.charts.warmed
        assert (core.charts_rendered, core.charts_skipped, core.render_estimate) == (0, 0, estimate_before)
        request = parse_request("/inflow 1% pool:retirement", facts)
        assert core.peek(request, "zh-TW") is None  # the warm-up cached no chart a member could be shown
        first = await core.respond(request, "zh-TW")
        assert first.image == PNG_SIGNATURE + b"zh-TW" and fake.drawn == ["zh-TW"]
        await core.close()


async def test_a_failed_warm_up_is_logged_and_the_first_chart_still_drawn(
    tmp_path: Path, facts: Facts, renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    fake = _Recorder(warm_fails=True)
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store, chart_renderer=fake.draw)
        core.charts.warmer = fake.warm
        core.charts.warm_in_background()
        await core.drain()
        assert not core.charts.warmed and "warming the chart worker failed" in caplog.text
        response = await core.respond(parse_request("/inflow 2%", facts), "en")
        assert response.image == PNG_SIGNATURE + b"en" and not response.chart_skipped
        await core.close()


def test_only_the_worker_renderer_has_a_warmer_by_default(facts: Facts, renderer: Renderer) -> None:
    assert Core(facts, renderer).charts.warmer is warm_worker
    custom = Core(facts, renderer, chart_renderer=lambda est, lang: PNG_SIGNATURE)
    assert custom.charts.warmer is None  # nothing to warm: no worker process is started for it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_chart_late_from_the_worker_is_left_out_then_served_from_the_cache(
    tmp_path: Path, facts: Facts, renderer: Renderer, worker: ChartWorker
) -> None:
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store, chart_renderer=worker.draw, chart_deadline_seconds=0.001)
        request = parse_request("/inflow 2%", facts)
        late = await core.respond(request, "zh-TW")  # a cold worker cannot draw in 1 ms
        assert late.image is None and late.chart_skipped
        assert late.answer.footer.endswith(CHART_UNAVAILABLE["zh-TW"])
        assert core.charts.timed_out == 1
        await core.drain()  # it carried on in the worker and was cached
        again = await core.respond(request, "zh-TW")
        assert again.image is not None and again.image.startswith(PNG_SIGNATURE) and not again.chart_skipped
        assert core.charts_rendered == 1 and worker.drawn == 1
        await core.close()


async def test_the_same_allocation_typed_differently_is_one_cache_entry(
    tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    async with SQLiteStore(tmp_path / "c.sqlite3") as store:
        core = Core(facts, renderer, store=store, chart_renderer=lambda est, lang: PNG_SIGNATURE + b"x")
        first = await core.respond(parse_request("/inflow 2%", facts), "en")
        for typed in ("/inflow 2 %", "/inflow ２％", "/inflow allocation:2.0%"):
            again = await core.respond(parse_request(typed, facts), "en")
            assert again.cache_hit and again.key == first.key and again.answer is first.answer, typed
        assert core.charts_rendered == 1 and (core.cache.hits, core.cache.misses) == (3, 1)
        other = await core.respond(parse_request("/inflow 2%-3%", facts), "en")
        assert not other.cache_hit and other.key != first.key
        await core.close()


SERVING_PROCESS = """
import asyncio, sys
from bot.answers.core import Core
from bot.answers.requests import parse_request

async def main():
    core = Core.load()
    core.store = None
    response = await core.respond(parse_request("/inflow 2%", core.facts), "zh-CN", wait_for_chart=True)
    assert response.image.startswith(b"\\x89PNG"), response
    await core.close()
    print("matplotlib" in sys.modules, "opencc" in sys.modules)

asyncio.run(main())
"""


def test_the_serving_process_never_imports_matplotlib() -> None:
    out = subprocess.run([sys.executable, "-c", SERVING_PROCESS], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "False"


def test_allocation_text_is_canonical() -> None:
    assert parse_allocation("２％").text == parse_allocation(" 2 %").text == parse_allocation("2.0%").text == "2%"
    assert parse_allocation("0.50%").text == "0.5%" and Decimal("0.5") == parse_allocation("0.5%").low


def test_the_worker_gets_no_credentials(monkeypatch: pytest.MonkeyPatch, facts: Facts) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a-token-the-chart-worker-must-not-see")
    worker = ChartWorker()
    try:
        worker.draw(_estimate(facts), "en")
        assert worker.pid is not None
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes()
        assert b"a-token-the-chart-worker-must-not-see" not in environ and b"PATH=" in environ
    finally:
        worker.close()
