"""HTTP interactions benchmark: signed interactions against one `serve` replica and against two, at concurrency 1
and 50, set against a floor measured in the same run (benchmarks/floor_http.py: verify the signature, fixed reply).

Run by hand (not part of the test suite):  .venv/bin/python benchmarks/bench_http.py [--n 1000] [--markdown FILE]
Requests are signed before the clock starts; the driver runs on one core, the servers on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from nacl.signing import SigningKey

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.http.helpers import click, command, message_from, read_answer, sign  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
CPUS = sorted(os.sched_getaffinity(0))
DRIVER_CPU, SERVER_CPU = CPUS[0], CPUS[-1]
REPEATS = 3


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Result:
    target: str
    scenario: str
    concurrency: int
    count: int
    per_second: float
    p50: float
    p99: float
    cpu_ms: float


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    url: str


async def start(args: list[str], env: dict[str, str]) -> Server:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    assert line.startswith("listening on "), line
    return Server(proc, line.removeprefix("listening on ").strip())


async def stop(server: Server) -> None:
    server.proc.terminate()
    await asyncio.wait_for(server.proc.wait(), 30)


Payload = Callable[[int], dict[str, Any]]


async def measure(
    session: aiohttp.ClientSession,
    servers: list[Server],
    key: SigningKey,
    make: Payload,
    *,
    count: int,
    concurrency: int,
) -> tuple[float, float, float, float]:
    """(per second, p50 ms, p99 ms, server CPU ms per interaction) for one run."""
    bodies = [json.dumps(make(i)).encode() for i in range(count)]
    signed = [(body, sign(key, body)) for body in bodies]
    latencies: list[float] = []
    next_index = iter(range(count))
    cpu_before = sum(cpu_seconds(s.proc.pid) for s in servers)

    async def worker() -> None:
        for i in next_index:
            body, headers = signed[i]
            url = servers[i % len(servers)].url + "/interactions"
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await read_answer(response)
            latencies.append(time.perf_counter() - t0)
            assert answer.status == 200 and answer.body.get("type") in (1, 4, 7), answer.body

    gc.disable()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    gc.enable()
    cpu = sum(cpu_seconds(s.proc.pid) for s in servers) - cpu_before
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return count / elapsed, statistics.median(latencies) * 1000, p99 * 1000, cpu / count * 1000


async def run(count: int, log_level: str, database_url: str | None) -> list[Result]:
    key = SigningKey.generate()
    public = key.verify_key.encode().hex()
    tmp = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DISCORD_TOKEN_FILE")}
    env |= {"DISCORD_PUBLIC_KEY": public, "BOT_MARKET_ENABLED": "0", "LOG_LEVEL": log_level}
    results: list[Result] = []
    users = iter(range(10**15, 10**16))
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def bench(target: str, servers: list[Server], scenario: str, make: Payload) -> None:
            for conc in (1, 50):
                runs = [
                    await measure(session, servers, key, make, count=count, concurrency=conc) for _ in range(REPEATS)
                ]
                med = [statistics.median(r[i] for r in runs) for i in range(4)]
                results.append(Result(target, scenario, conc, count, *med))

        floor = await start([str(REPO / "benchmarks" / "floor_http.py"), public], env)
        await bench("floor", [floor], "verify + fixed reply", lambda i: command("ping", user_id=next(users)))
        await stop(floor)

        targets: list[tuple[str, int, dict[str, str]]] = [
            ("1 replica (SQLite)", 1, {"BOT_DB_PATH": str(tmp / "bench-1.sqlite3")}),
            ("2 replicas (SQLite)", 2, {"BOT_DB_PATH": str(tmp / "bench-2.sqlite3")}),
        ]
        if database_url:
            targets += [("1 replica (PostgreSQL)", 1, {"BOT_DATABASE_URL": database_url})]
            targets += [("2 replicas (PostgreSQL)", 2, {"BOT_DATABASE_URL": database_url})]
        for target, replicas, store in targets:
            servers = [await start(["-m", "bot", "serve", "--port", "0"], env | store) for _ in range(replicas)]
            for server in servers:  # warm each replica's memory: the answers below are cached ones
                for payload in (command("401k"), command("opinions"), command("inflow", {"allocation": "2%"})):
                    async with session.post(
                        server.url + "/interactions", data=(b := json.dumps(payload).encode()), headers=sign(key, b)
                    ) as response:
                        await response.read()
                await asyncio.sleep(1.0)  # the first /inflow deferred: let its chart finish before measuring
            await bench(target, servers, "/401k (cached)", lambda i: command("401k", user_id=next(users)))
            await bench(target, servers, "/opinions (cached)", lambda i: command("opinions", user_id=next(users)))
            await bench(
                target,
                servers,
                "/inflow 2% (cached, chart)",
                lambda i: command("inflow", {"allocation": "2%"}, user_id=next(users)),
            )
            body = json.dumps(command("opinions")).encode()
            async with session.post(servers[0].url + "/interactions", data=body, headers=sign(key, body)) as r:
                first = await read_answer(r)
            await bench(target, servers, "language toggle click", toggle_clicks(first.data))
            for server in servers:
                await stop(server)
    return results


def toggle_clicks(data: dict[str, Any]) -> Payload:
    message = message_from(data)
    toggle = data["components"][-1]["components"][-1]["custom_id"]
    return lambda i: click(message, toggle)


def table(results: list[Result]) -> str:
    floor = {r.concurrency: r for r in results if r.target == "floor"}
    lines = [
        "| target | scenario | conc. | interactions/s | p50 ms | p99 ms | server CPU ms/interaction | CPU × floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r.cpu_ms / floor[r.concurrency].cpu_ms if floor[r.concurrency].cpu_ms else float("nan")
        lines.append(
            f"| {r.target} | {r.scenario} | {r.concurrency} | {r.per_second:,.0f} | {r.p50:.2f} | {r.p99:.2f} "
            f"| {r.cpu_ms:.3f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="interactions per run")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--log-level", default="INFO", help="the servers' LOG_LEVEL (INFO: one line per interaction)")
    parser.add_argument(
        "--database-server", default=None, help="a PostgreSQL server URL: also measure replicas on a new database there"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {DRIVER_CPU})
    database: tuple[str, str] | None = None
    if args.database_server:
        from tests.pg_fixtures import create_database, drop_database, with_database

        database = (args.database_server, create_database(args.database_server))
    try:
        url = with_database(*database) if database else None
        text = table(asyncio.run(run(args.n, args.log_level, url)))
    finally:
        if database:
            drop_database(*database)
    text += (
        f"\n\nEach figure is the median of {REPEATS} runs of {args.n} signed interactions; the driver runs on CPU "
        f"{DRIVER_CPU}, the floor and the replicas on CPU {SERVER_CPU}; LOG_LEVEL={args.log_level}."
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
