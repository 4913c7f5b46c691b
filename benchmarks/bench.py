"""Benchmarks: our bot against a bare discord.py bot, both driven through the loopback fake Discord from tests/.

Run by hand (not part of the test suite):  .venv/bin/python benchmarks/bench.py [--n 400] [--markdown FILE]
Prints a table; --markdown also writes it (docs/performance.md keeps one run).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.fake_discord import FakeDiscord  # noqa: E402

TOKEN = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.fake-token-for-the-loopback-discord-xx"
OUR_BOT = (
    "import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; "
    "from bot.__main__ import main; sys.exit(main(['run']))"
)
COLD_CHART = """
import time
from bot.domain.allocation import parse_allocation
from bot.domain.facts import load_facts
from bot.domain.inflow import MarketCap, Pool, estimate
facts = load_facts()
est = estimate(parse_allocation("2%"), Pool.K401, facts, MarketCap.from_config(facts))
t0 = time.perf_counter()
import matplotlib.figure, matplotlib.backends.backend_agg
from bot.answers.chart import find_cjk_font, render_inflow_chart
find_cjk_font()
t1 = time.perf_counter()
render_inflow_chart(est, "zh-TW")
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
"""
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


CPUS = sorted(os.sched_getaffinity(0))
DRIVER_CPU, BOT_CPU = CPUS[0], CPUS[-1]  # the fake Discord and the bot under test never share a core
REPEATS = 3


def _pin(cpu: int) -> Callable[[], None]:
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


@dataclass
class Result:
    name: str
    concurrency: int
    count: int
    per_second: float
    p50: float
    p95: float
    p99: float
    done_p50: float  # completion (after a defer: the edit that carries the answer)
    cpu_ms: float


class Bench:
    def __init__(self, fake: FakeDiscord, pid: int) -> None:
        self.fake = fake
        self.pid = pid
        self.users = iter(range(5_000_000_000_000_000_000, 6_000_000_000_000_000_000))

    async def measure(
        self, name: str, send: Callable[[int], Awaitable[str]], *, count: int, concurrency: int
    ) -> Result:
        """REPEATS runs of `count` interactions; each figure is the median over the runs."""
        for i in range(min(20, count)):  # warm-up: caches, imports, first chart
            await self.fake.wait_reply(await send(i), timeout=30)
        runs = []
        for _ in range(REPEATS):
            gc.collect()
            gc.disable()  # the driver's own collector pauses must not show up as the bot's latency
            try:
                runs.append(await self._run_once(name, send, count=count, concurrency=concurrency))
            finally:
                gc.enable()

        def med(attr: str) -> float:
            return float(statistics.median(getattr(r, attr) for r in runs))

        return Result(
            name,
            concurrency,
            count,
            med("per_second"),
            med("p50"),
            med("p95"),
            med("p99"),
            med("done_p50"),
            med("cpu_ms"),
        )

    async def _run_once(
        self, name: str, send: Callable[[int], Awaitable[str]], *, count: int, concurrency: int
    ) -> Result:
        latencies: list[float] = []
        completions: list[float] = []
        cpu_before, started = cpu_seconds(self.pid), time.perf_counter()
        for offset in range(0, count, concurrency):
            batch = range(offset, min(count, offset + concurrency))
            tokens = await asyncio.gather(*(send(i) for i in batch))
            firsts = await asyncio.gather(*(self.fake.wait_reply(t, final=False, timeout=60) for t in tokens))
            finals = await asyncio.gather(*(self.fake.wait_reply(t, timeout=60) for t in tokens))
            latencies += [self.fake.latency(t, r) for t, r in zip(tokens, firsts, strict=True)]
            completions += [self.fake.latency(t, r) for t, r in zip(tokens, finals, strict=True)]
            self.fake.forget(tokens)
        wall = time.perf_counter() - started
        cpu = cpu_seconds(self.pid) - cpu_before
        q = statistics.quantiles(latencies, n=100, method="inclusive")
        return Result(
            name,
            concurrency,
            count,
            count / wall,
            q[49] * 1000,
            q[94] * 1000,
            q[98] * 1000,
            statistics.median(completions) * 1000,
            cpu / count * 1000,
        )


async def start_process(fake: FakeDiscord, args: list[str], env: dict[str, str]) -> tuple[Any, dict[str, float]]:
    fake.ready.clear()
    syncs = fake.sync_calls
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=_pin(BOT_CPU),
    )
    await asyncio.wait_for(fake.ready.wait(), 60)
    t_ready = time.perf_counter()
    while fake.sync_calls == syncs:
        await asyncio.sleep(0.005)
    t_synced = time.perf_counter()
    return proc, {"ready_s": t_ready - t0, "synced_s": t_synced - t0, "t0": t0}


async def first_answer(fake: FakeDiscord, name: str, options: dict[str, str], t0: float) -> float:
    deadline = time.perf_counter() + 30
    while True:  # the bot may still be settling after READY: ask until it answers
        token = await fake.command(name, options, user_id=4_000_000_000_000_000_000 + int(time.time_ns() % 10**9))
        try:
            await fake.wait_reply(token, timeout=2)
            return time.perf_counter() - t0
        except TimeoutError:
            if time.perf_counter() > deadline:
                raise


async def stop_process(proc: Any) -> None:
    proc.terminate()
    await asyncio.wait_for(proc.wait(), 20)


async def run(count: int) -> tuple[list[Result], dict[str, dict[str, float]], list[str]]:
    fake = FakeDiscord()
    await fake.start()
    base_env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    results: list[Result] = []
    startup: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp())

    # ---- the floor: a bare discord.py bot
    proc, times = await start_process(
        fake, [str(REPO / "benchmarks" / "minimal_bot.py"), fake.api_base, TOKEN], base_env
    )
    times["first_answer_s"] = await first_answer(fake, "ping", {}, times["t0"])
    await asyncio.sleep(1)
    times["rss_idle_mib"] = rss_mib(proc.pid)
    bench = Bench(fake, proc.pid)
    for conc in (1, 50):
        results.append(
            await bench.measure(
                "minimal /ping",
                lambda i: fake.command("ping", {}, user_id=next(bench.users)),
                count=count,
                concurrency=conc,
            )
        )
    times["rss_after_answers_mib"] = rss_mib(proc.pid)
    startup["minimal bot"] = times
    await stop_process(proc)

    # ---- ours, with its store (cached answers)
    env = {**base_env, "DISCORD_TOKEN": TOKEN, "BOT_DB_PATH": str(tmp / "bench.sqlite3"), "BOT_MARKET_ENABLED": "0"}
    proc, times = await start_process(fake, ["-c", OUR_BOT, fake.api_base], env)
    times["first_answer_s"] = await first_answer(fake, "401k", {}, times["t0"])
    await asyncio.sleep(1)
    times["rss_idle_mib"] = rss_mib(proc.pid)
    bench = Bench(fake, proc.pid)

    def cmd(name: str, options: dict[str, str]) -> Callable[[int], Awaitable[str]]:
        return lambda i: fake.command(name, options, user_id=next(bench.users))

    for conc in (1, 50):
        results.append(await bench.measure("/401k (cached)", cmd("401k", {}), count=count, concurrency=conc))
        results.append(await bench.measure("/opinions (cached)", cmd("opinions", {}), count=count, concurrency=conc))
    times["rss_before_chart_mib"] = rss_mib(proc.pid)
    token = await fake.command("inflow", {"allocation": "2%"}, user_id=next(bench.users))
    times["first_chart_s"] = fake.latency(token, await fake.wait_reply(token, timeout=30))
    for conc in (1, 50):
        results.append(
            await bench.measure(
                "/inflow 2% (cached, chart)", cmd("inflow", {"allocation": "2%"}), count=count, concurrency=conc
            )
        )
    times["rss_after_chart_mib"] = rss_mib(proc.pid)
    anchor = await fake.command("opinions", {}, user_id=next(bench.users))
    toggle = (await fake.wait_reply(anchor)).data["components"][-1]["components"][-1]["custom_id"]
    for conc in (1, 50):
        results.append(
            await bench.measure(
                "language toggle click", lambda i: fake.click(anchor, toggle), count=count, concurrency=conc
            )
        )
    times["rss_after_answers_mib"] = rss_mib(proc.pid)
    startup["our bot"] = times
    await stop_process(proc)

    # ---- ours without a store: every answer rendered from scratch (uncached)
    blocker = tmp / "not-a-dir"
    blocker.write_text("x")
    env_nocache = {**env, "BOT_DB_PATH": str(blocker / "bot.sqlite3")}
    proc, times = await start_process(fake, ["-c", OUR_BOT, fake.api_base], env_nocache)
    await first_answer(fake, "401k", {}, times["t0"])
    bench = Bench(fake, proc.pid)
    for conc in (1, 50):
        results.append(
            await bench.measure("/401k (uncached)", cmd("401k", {"topic": "scale"}), count=count, concurrency=conc)
        )
        results.append(
            await bench.measure(
                "/opinions (uncached)", cmd("opinions", {"stance": "cautious"}), count=count, concurrency=conc
            )
        )
    uncached_charts = max(20, count // 10)
    for conc in (1,):
        results.append(
            await bench.measure(
                "/inflow (uncached, new chart each)",
                lambda i: fake.command(
                    "inflow", {"allocation": f"{1 + (time.time_ns() % 10**6) / 10**4:.4f}%"}, user_id=next(bench.users)
                ),
                count=uncached_charts,
                concurrency=conc,
            )
        )
    await stop_process(proc)
    await fake.close()
    notes.append(f"uncached /inflow measured over {uncached_charts} interactions (each renders a chart)")
    notes.append(
        f"each figure is the median of {REPEATS} runs of {count} interactions; the fake Discord and this "
        f"driver run on CPU {DRIVER_CPU}, the bot under test on CPU {BOT_CPU}"
    )
    return results, startup, notes


def in_process() -> list[tuple[str, str]]:
    """Render + calculate per command and language, and chart cold/warm/cached, inside one process."""
    from bot.answers.chart import render_inflow_chart
    from bot.answers.core import Core
    from bot.answers.requests import parse_request
    from bot.domain.allocation import parse_allocation
    from bot.domain.inflow import MarketCap, Pool, estimate

    rows: list[tuple[str, str]] = []
    core = Core.load()

    async def rate(line: str, lang: str) -> float:
        request = parse_request(line, core.facts)
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < 0.5:
            await core.respond(request, lang, chart=False)  # type: ignore[arg-type]
            n += 1
        return n / (time.perf_counter() - started)

    for line in ("/401k", "/401k topic:scale", "/inflow 2%", "/inflow 1-5% pool:dc", "/opinions", "/sources"):
        for lang in ("en", "zh-TW"):
            rows.append((f"render+calc {line} [{lang}]", f"{asyncio.run(rate(line, lang)):,.0f} answers/s"))
    est = estimate(parse_allocation("2%"), Pool.K401, core.facts, MarketCap.from_config(core.facts))
    cold = subprocess.run([sys.executable, "-c", COLD_CHART], capture_output=True, text=True, cwd=REPO, check=True)
    import_ms, render_ms = (float(x) for x in cold.stdout.split())
    rows.append(("first chart in a fresh process: matplotlib import + font lookup", f"{import_ms:.0f} ms"))
    rows.append(("first chart in a fresh process: drawing it", f"{render_ms:.0f} ms"))
    render_inflow_chart(est, "zh-TW")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        render_inflow_chart(est, "en")
        timings.append(time.perf_counter() - started)
    rows.append(("chart warm render (uncached, median of 5)", f"{statistics.median(timings) * 1000:.0f} ms"))

    async def cached_chart() -> float:
        from bot.store import SQLiteStore

        with tempfile.TemporaryDirectory() as d:
            async with SQLiteStore(Path(d) / "c.sqlite3") as store:
                c = Core(core.facts, core.renderer, store=store)
                request = parse_request("/inflow 2%", core.facts)
                await c.respond(request, "en")
                started = time.perf_counter()
                for _ in range(50):
                    await c.respond(request, "en")
                elapsed = (time.perf_counter() - started) / 50
                await c.close()  # its background cache writes land before the store closes
                return elapsed

    rows.append(("/inflow answer + chart, cached (memory)", f"{asyncio.run(cached_chart()) * 1000:.2f} ms"))
    return rows


def table(
    results: list[Result], startup: dict[str, dict[str, float]], rows: list[tuple[str, str]], notes: list[str]
) -> str:
    floor = {r.concurrency: r for r in results if r.name.startswith("minimal")}
    out = [
        "| scenario | conc. | answers/s | p50 ms | p95 ms | p99 ms | done p50 ms | CPU ms/answer "
        "| CPU × floor | p99 × floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        base = floor[r.concurrency] if r.concurrency in floor else floor[1]
        out.append(
            f"| {r.name} | {r.concurrency} | {r.per_second:,.0f} | {r.p50:.2f} | {r.p95:.2f} | {r.p99:.2f} | "
            f"{r.done_p50:.2f} | {r.cpu_ms:.2f} | {r.cpu_ms / base.cpu_ms:.2f} | {r.p99 / base.p99:.2f} |"
        )
    out += [
        "",
        "| process | ready s | synced s | first answer s | first /inflow with chart s | RSS idle MiB | "
        "RSS before chart | RSS after chart | RSS after answers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in startup.items():
        out.append(
            f"| {name} | {t['ready_s']:.2f} | {t['synced_s']:.2f} | {t['first_answer_s']:.2f} | "
            f"{t.get('first_chart_s', float('nan')):.2f} | "
            f"{t['rss_idle_mib']:.1f} | {t.get('rss_before_chart_mib', float('nan')):.1f} | "
            f"{t.get('rss_after_chart_mib', float('nan')):.1f} | {t['rss_after_answers_mib']:.1f} |"
        )
    out += ["", "| in-process | figure |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=400, help="interactions per scenario and concurrency")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    os.sched_setaffinity(0, {DRIVER_CPU})
    results, startup, notes = asyncio.run(run(args.n))
    text = table(results, startup, in_process(), notes)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
