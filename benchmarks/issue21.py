"""Every row of issue 21's table in one run, each as a ratio to its floor measured in the same round.

Floors: a bare discord.py `/ping` bot through the same loopback fake Discord (benchmarks/minimal_bot.py), and a bare
aiohttp + PyNaCl signed endpoint for `serve` (benchmarks/floor_http.py). Each round runs the floor, then every
checkout under test (`--before DIR` adds an older checkout, e.g. `git archive <commit> | tar -x -C DIR`), one after
the other, so a change in the machine's load hits all of them alike; the table shows the range over the rounds.

Run:  BOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
      .venv/bin/python benchmarks/issue21.py [--rounds 3] [--n 200] [--before DIR] [--markdown FILE]
The PostgreSQL rows use a database of their own on that server (created and dropped); the database's own CPU is
read from /proc for the server processes serving our connections. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
import bench_http
from bench import REPO, TOKEN, Bench, cpu_seconds, rss_mib

from tests.e2e.fake_discord import FakeDiscord
from tests.http.helpers import command, read_answer, sign
from tests.pg_fixtures import _admin, with_database

Samples = dict[str, list[float]]
OUR_BOT = bench.OUR_BOT


def children_rss_mib(pid: int) -> float:
    """RSS of the process's children (the chart worker), to show where the chart's memory went."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        total += sum(rss_mib(int(c)) for c in children if Path(f"/proc/{c}").exists())
    return total


async def pg_backend_pids(url: str, database: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
        )
    finally:
        await conn.close()
    return [int(r[0]) for r in rows]


def proc_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(pid)
    return total


async def start_in(
    fake: FakeDiscord, args: list[str], env: dict[str, str], cwd: Path
) -> tuple[asyncio.subprocess.Process, float]:
    fake.ready.clear()
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {bench.BOT_CPU}),
    )
    await asyncio.wait_for(fake.ready.wait(), 60)
    return proc, t0


async def gateway_round(
    fake: FakeDiscord, label: str, cwd: Path, env: dict[str, str], n: int, out: Samples, pg: tuple[str, str] | None
) -> None:
    """Our bot (from the checkout `cwd`) or, for label 'floor', the bare bot: CPU, p50, RSS, first answer."""
    floor = label == "floor"
    args = (
        [str(REPO / "benchmarks" / "minimal_bot.py"), fake.api_base, TOKEN] if floor else ["-c", OUR_BOT, fake.api_base]
    )
    proc, t0 = await start_in(fake, args, env, cwd)
    name = "ping" if floor else "401k"
    options: dict[str, str] = {}
    out[f"{label} gateway first answer s"].append(await bench.first_answer(fake, name, options, t0))
    b = Bench(fake, proc.pid)

    def cmd(command_name: str, opts: dict[str, str]) -> Callable[[int], Awaitable[str]]:
        return lambda i: fake.command(command_name, opts, user_id=next(b.users))

    try:
        for conc in (1, 20, 50):
            r = await b.measure(f"{label} /401k", cmd(name, options), count=n, concurrency=conc)
            out[f"{label} gateway /401k c={conc} cpu"].append(r.cpu_ms)
            out[f"{label} gateway /401k c={conc} p50"].append(r.p50)
        if floor:
            out[f"{label} gateway RSS after answers MiB"].append(rss_mib(proc.pid))
            return
        r = await b.measure(f"{label} /inflow", cmd("inflow", {"allocation": "2%"}), count=n, concurrency=20)
        out[f"{label} gateway /inflow cached c=20 cpu"].append(r.cpu_ms)
        out[f"{label} gateway /inflow cached c=20 p50"].append(r.p50)
        out[f"{label} gateway RSS after answers MiB"].append(rss_mib(proc.pid))
        out[f"{label} gateway chart worker RSS MiB"].append(children_rss_mib(proc.pid))
    finally:
        await bench.stop_process(proc)
    if pg is None:
        return
    url, database = pg
    proc, t0 = await start_in(fake, ["-c", OUR_BOT, fake.api_base], {**env, "BOT_DATABASE_URL": url}, cwd)
    try:
        await bench.first_answer(fake, "401k", {}, t0)
        b = Bench(fake, proc.pid)
        pids = await pg_backend_pids(url, database)
        db_before = proc_cpu(pids)
        r = await b.measure(f"{label} /401k pg", cmd("401k", {}), count=n, concurrency=50)
        db_ms = (proc_cpu(pids) - db_before) * 1000 / (n * bench.REPEATS + min(20, n))  # its warm-up included
        out[f"{label} gateway PG /401k c=50 cpu+db"].append(r.cpu_ms + db_ms)
        out[f"{label} gateway PG db cpu per command"].append(db_ms)
    finally:
        await bench.stop_process(proc)


async def serve_round(
    session: aiohttp.ClientSession,
    key: SigningKey,
    label: str,
    cwd: Path,
    env: dict[str, str],
    n: int,
    out: Samples,
    pg: tuple[str, str] | None,
) -> None:
    floor = label == "floor"
    users = iter(range(10**15 + int(time.time() * 1000) % 10**9 * 1000, 10**16))
    args = (
        [str(REPO / "benchmarks" / "floor_http.py"), key.verify_key.encode().hex()]
        if floor
        else [
            "-m",
            "bot",
            "serve",
            "--port",
            "0",
        ]
    )
    stores: list[tuple[str, dict[str, str]]] = [("SQLite", {})]
    if pg is not None and not floor:
        stores.append(("PG", {"BOT_DATABASE_URL": pg[0]}))
    for store_name, store_env in stores:
        t0 = time.perf_counter()
        bench_http.REPO = cwd
        server = await bench_http.start(args, env | store_env)
        out[f"{label} serve {store_name} listening s"].append(time.perf_counter() - t0)
        try:
            if not floor:
                for payload in (command("401k"), command("inflow", {"allocation": "2%"})):
                    body = json.dumps(payload).encode()
                    async with session.post(server.url + "/interactions", data=body, headers=sign(key, body)) as resp:
                        await read_answer(resp)
                await asyncio.sleep(3.0)  # the deferred /inflow: its chart drawn (cold worker) and cached
            make = (
                (lambda i: command("ping", user_id=next(users)))
                if floor
                else (lambda i: command("401k", user_id=next(users)))
            )
            for conc in (1, 50):
                pids = await pg_backend_pids(pg[0], pg[1]) if store_name == "PG" and pg else []
                db_before = proc_cpu(pids)
                _, _, _, cpu = await bench_http.measure(session, [server], key, make, count=n, concurrency=conc)
                db_ms = (proc_cpu(pids) - db_before) * 1000 / n
                out[f"{label} serve {store_name} /401k c={conc} cpu"].append(cpu + db_ms)
                if pids:
                    out[f"{label} serve {store_name} db cpu per command c={conc}"].append(db_ms)
            if not floor and store_name == "SQLite":
                for _ in range(3):
                    body = json.dumps(command("inflow", {"allocation": "2%"}, user_id=next(users))).encode()
                    async with session.post(server.url + "/interactions", data=body, headers=sign(key, body)) as resp:
                        await read_answer(resp)
            out[f"{label} serve {store_name} RSS MiB"].append(rss_mib(server.proc.pid))
            if not floor:
                out[f"{label} serve {store_name} chart worker RSS MiB"].append(children_rss_mib(server.proc.pid))
        finally:
            await bench_http.stop(server)


def in_process(cwd: Path) -> dict[str, float]:
    """A new chart's CPU (drawn in whatever process the checkout draws in) and a new /inflow answer's CPU."""
    code = r"""
import time, sys, resource
from bot.answers.build import AnswerContext, answer
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.facts import load_facts
from bot.domain.inflow import MarketCap, estimate
from bot.domain.allocation import parse_allocation
from bot.domain.inflow import Pool
facts = load_facts(); ctx = AnswerContext(facts, Renderer(facts), MarketCap.from_config(facts))
for lang in ("en", "zh-TW", "zh-CN"):
    answer(parse_request("/inflow 2%", facts), lang, ctx)
reqs = [parse_request(f"/inflow {1 + k / 1000:.3f}%", facts) for k in range(600)]
t = time.process_time()
for i, q in enumerate(reqs):
    answer(q, ("en", "zh-TW", "zh-CN")[i % 3], ctx)
answer_ms = (time.process_time() - t) / len(reqs) * 1000
from bot.answers.chart import render_inflow_chart
est = estimate(parse_allocation("2%"), Pool.K401, facts, MarketCap.from_config(facts))
for lang in ("en", "zh-TW", "zh-CN"):
    render_inflow_chart(est, lang)
t = time.process_time()
for i in range(9):
    render_inflow_chart(est, ("en", "zh-TW", "zh-CN")[i % 3])
chart_ms = (time.process_time() - t) / 9 * 1000
print(answer_ms, chart_ms)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True)
    answer_ms, chart_ms = (float(x) for x in done.stdout.split())
    return {"new /inflow answer CPU ms": answer_ms, "new chart CPU ms": chart_ms}


def store_paths(cwd: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "store_paths.py"), "--rounds", "1"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BOT_CHECKOUT": str(cwd)},
    )
    figures: dict[str, float] = {}
    for line in done.stdout.splitlines():
        label, _, rest = line.partition(": ")
        figures[label] = float(
            rest.split()[0].split("-")[0] if not rest.startswith("mean") else rest.split()[1].split("-")[0]
        )
        if "p99" in rest:
            figures[label + " p99"] = float(rest.split("p99 ")[1].split("-")[0])
    return figures


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    lo, hi, med = min(values), max(values), statistics.median(values)
    return f"{fmt.format(lo)}–{fmt.format(hi)} (median {fmt.format(med)})" if len(values) > 1 else fmt.format(lo)


def ratios(ours: list[float], floor: list[float]) -> list[float]:
    return [o / f for o, f in zip(ours, floor, strict=False) if f]


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


async def run(
    rounds: int, n: int, checkouts: list[tuple[str, Path]], pg_base: str | None
) -> tuple[Samples, dict[str, dict[str, float]]]:
    bench.REPEATS = 1
    out: Samples = defaultdict(list)
    fake = FakeDiscord()
    await fake.start()
    base_env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "BOT_DATABASE_URL")}
    tmp = Path(tempfile.mkdtemp())
    key = SigningKey.generate()
    http_env = base_env | {"DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(), "BOT_MARKET_ENABLED": "0"}
    pg: tuple[str, str] | None = None
    if pg_base:
        database = f"k401_bench_issue21_{os.getpid()}"
        await _admin(pg_base, f'CREATE DATABASE "{database}" TEMPLATE template0')
        pg = (with_database(pg_base, database), database)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
            for r in range(rounds):
                for label, cwd in [("floor", REPO), *checkouts]:
                    env = {
                        **base_env,
                        "DISCORD_TOKEN": TOKEN,
                        "BOT_DB_PATH": str(tmp / f"{label}-{r}.sqlite3"),
                        "BOT_MARKET_ENABLED": "0",
                        "LOG_LEVEL": "INFO",
                    }
                    await gateway_round(fake, label, cwd, env, n, out, pg if label != "floor" else None)
                    serve_env = http_env | {"BOT_DB_PATH": str(tmp / f"serve-{label}-{r}.sqlite3"), "LOG_LEVEL": "INFO"}
                    await serve_round(session, key, label, cwd, serve_env, n, out, pg if label != "floor" else None)
                print(f"round {r + 1}/{rounds} done, load {loadavg()}", file=sys.stderr, flush=True)
    finally:
        await fake.close()
        if pg_base and pg:
            await _admin(pg_base, f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)')
    single = {label: {**in_process(cwd), **store_paths(cwd)} for label, cwd in checkouts}
    return out, single


def table(out: Samples, single: dict[str, dict[str, float]], labels: list[str]) -> str:
    rows = [f"| what | {' | '.join(labels)} | goal |", "|---|" + "---|" * len(labels) + "---|"]

    def row(what: str, goal: str, cell: Callable[[str], str]) -> None:
        rows.append(f"| {what} | {' | '.join(cell(lab) for lab in labels)} | {goal} |")

    def vs(key: str, floor_key: str | None = None, own: bool = False) -> Callable[[str], str]:
        """Ratio of our `key` to the floor's `floor_key` (or, with own=True, to our own `floor_key`)."""

        def cell(lab: str) -> str:
            base = out[f"{lab if own else 'floor'} {floor_key or key}"]
            return span(ratios(out[f"{lab} {key}"], base), "{:.2f}×")

        return cell

    def over_floor(key: str, worker_key: str) -> Callable[[str], str]:
        def cell(lab: str) -> str:
            extra = [o - f for o, f in zip(out[f"{lab} {key}"], out[f"floor {key}"], strict=False)]
            return f"{span(extra, '+{:.0f}')}; worker {span(out[f'{lab} {worker_key}'], '{:.0f}')}"

        return cell

    def fixed(key: str, fmt: str = "{:.3f}") -> Callable[[str], str]:
        return lambda lab: fmt.format(single[lab].get(key, float("nan")))

    for conc in (1, 20):
        row(f"gateway /401k cached, CPU/interaction, c={conc}", "≤ 1.2×", vs(f"gateway /401k c={conc} cpu"))
    row(
        "gateway /inflow 2% with chart, cached, c=20, CPU",
        "≤ 1.5×",
        vs("gateway /inflow cached c=20 cpu", "gateway /401k c=20 cpu"),
    )
    row(
        "gateway /inflow 2% with chart, cached, c=20, p50",
        "-",
        vs("gateway /inflow cached c=20 p50", "gateway /401k c=20 p50"),
    )
    for conc in (1, 50):
        row(f"serve /401k on SQLite, c={conc}", "≤ 1.2×", vs(f"serve SQLite /401k c={conc} cpu"))
    for conc in (1, 50):
        row(
            f"serve /401k on PostgreSQL incl. the database's CPU, c={conc}",
            "≤ 1.6×",
            vs(f"serve PG /401k c={conc} cpu", f"serve SQLite /401k c={conc} cpu"),
        )
    row(
        "PostgreSQL ÷ SQLite, gateway /401k, c=50, incl. database CPU",
        "≤ 1.3×",
        vs("gateway PG /401k c=50 cpu+db", "gateway /401k c=50 cpu", own=True),
    )
    row(
        "database CPU per command, gateway c=50, ms",
        "-",
        lambda lab: span(out[f"{lab} gateway PG db cpu per command"], "{:.3f}"),
    )

    def samples(key: str) -> Callable[[str], str]:
        return lambda lab: span(out[f"{lab} {key}"], "{:.3f}")

    for conc in (1, 50):
        row(f"database CPU per command, serve c={conc}, ms", "-", samples(f"serve PG db cpu per command c={conc}"))
    row(
        "RSS after /inflow charts, gateway: MiB over the floor (chart worker's own RSS apart)",
        "≤ floor + 30 MiB",
        over_floor("gateway RSS after answers MiB", "gateway chart worker RSS MiB"),
    )
    row(
        "RSS after /inflow charts, serve: MiB over the floor (chart worker's own RSS apart)",
        "≤ floor + 30 MiB",
        over_floor("serve SQLite RSS MiB", "serve SQLite chart worker RSS MiB"),
    )
    row("a new chart, CPU ms (warm)", "≤ 40 ms", fixed("new chart CPU ms", "{:.0f}"))
    row("a new /inflow answer, CPU ms", "≤ 0.4 ms", fixed("new /inflow answer CPU ms"))
    for saved in (0, 10000, 100000):
        k = f"preference lookup with {saved:>6} saved, own writes between"
        row(f"{saved:,} saved languages: lookup mean ms (own writes between)", "flat ±20 %", fixed(k))
        row(f"{saved:,} saved languages: lookup p99 ms", "flat ±20 %", fixed(k + " p99"))
    for what in ("answers (2 KB)", "charts (16 KB)"):
        k = f"SQLite cache write at the 2000-row cap, {what}"
        row(f"SQLite cache write at the 2,000-row cap, {what}, ms", "≤ 0.2 ms, flat", fixed(k))
    row("cold start: gateway to first answer", "≤ 1.3×", vs("gateway first answer s"))
    row("cold start: serve to listening (≈ /healthz 200)", "≤ 1.3×", vs("serve SQLite listening s"))
    floors = "; ".join(
        f"{k.removeprefix('floor ')} {span(v, '{:.3f}')}" for k, v in sorted(out.items()) if k.startswith("floor ")
    )
    return "\n".join([*rows, "", f"Floors (absolute; CPU in ms per interaction): {floors}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--before", type=Path, default=None, help="an older checkout to measure alongside")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    os.sched_setaffinity(0, {bench.DRIVER_CPU})
    checkouts = ([("before", args.before.resolve())] if args.before else []) + [("after", REPO)]
    print(f"load before: {loadavg()}", file=sys.stderr)
    started = time.time()
    out, single = asyncio.run(run(args.rounds, args.n, checkouts, os.environ.get("BOT_TEST_DATABASE_URL")))
    text = table(out, single, [label for label, _ in checkouts])
    text += f"\n\nLoad average (1, 5, 15 min) at the end: {loadavg()}; run took {time.time() - started:.0f} s."
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
