"""The store's cost: the same commands through the fake Discord with SQLite and with PostgreSQL, against the bare
discord.py bot in the same run.

Run by hand:  BOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/bench_store.py
[--n 200] [--markdown FILE]. A database of its own is created on that server and dropped afterwards.
Reports CPU per interaction and p99 latency at concurrency 1 and 50, each as a ratio to the bare bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import OUR_BOT, REPO, TOKEN, Bench, Result, first_answer, start_process, stop_process

from tests.e2e.fake_discord import FakeDiscord
from tests.pg_fixtures import create_database, drop_database, with_database

COMMANDS: list[tuple[str, str, dict[str, str]]] = [
    ("/401k (cached)", "401k", {}),
    ("/opinions (cached)", "opinions", {}),
    ("/inflow 2% (cached, chart)", "inflow", {"allocation": "2%"}),
]


async def measure_bot(fake: FakeDiscord, label: str, env: dict[str, str], count: int) -> list[Result]:
    proc, times = await start_process(fake, ["-c", OUR_BOT, fake.api_base], env)
    await first_answer(fake, "401k", {}, times["t0"])
    bench = Bench(fake, proc.pid)

    def cmd(name: str, options: dict[str, str]) -> Callable[[int], Awaitable[str]]:
        return lambda i: fake.command(name, options, user_id=next(bench.users))

    results = []
    try:
        for conc in (1, 50):
            for title, name, options in COMMANDS:
                results.append(
                    await bench.measure(f"{label} {title}", cmd(name, options), count=count, concurrency=conc)
                )
    finally:
        await stop_process(proc)
    return results


async def run(count: int, pg_url: str) -> list[Result]:
    fake = FakeDiscord()
    await fake.start()
    base = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "BOT_DATABASE_URL")}
    tmp = Path(tempfile.mkdtemp())
    results: list[Result] = []
    proc, times = await start_process(fake, [str(REPO / "benchmarks" / "minimal_bot.py"), fake.api_base, TOKEN], base)
    await first_answer(fake, "ping", {}, times["t0"])
    bench = Bench(fake, proc.pid)
    for conc in (1, 50):
        results.append(
            await bench.measure(
                "bare discord.py /ping",
                lambda i: fake.command("ping", {}, user_id=next(bench.users)),
                count=count,
                concurrency=conc,
            )
        )
    await stop_process(proc)
    ours = {**base, "DISCORD_TOKEN": TOKEN, "BOT_MARKET_ENABLED": "0", "LOG_LEVEL": "WARNING"}
    results += await measure_bot(fake, "SQLite", {**ours, "BOT_DB_PATH": str(tmp / "bench.sqlite3")}, count)
    try:
        results += await measure_bot(fake, "PostgreSQL", {**ours, "BOT_DATABASE_URL": pg_url}, count)
    finally:
        await fake.close()
    return results


def table(results: list[Result]) -> str:
    floor = {r.concurrency: r for r in results if r.name.startswith("bare")}
    sqlite = {(r.name.removeprefix("SQLite "), r.concurrency): r for r in results if r.name.startswith("SQLite ")}
    lines = [
        "| command | conc. | CPU ms/interaction | × bare | p99 ms | × bare | vs SQLite (CPU, p99) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = floor[r.concurrency]
        same = sqlite.get((r.name.removeprefix("PostgreSQL "), r.concurrency)) if r.name.startswith("Postgre") else None
        vs = f"{r.cpu_ms / same.cpu_ms:.2f}×, {r.p99 / same.p99:.2f}×" if same else ""
        lines.append(
            f"| {r.name} | {r.concurrency} | {r.cpu_ms:.2f} | {r.cpu_ms / base.cpu_ms:.2f} | {r.p99:.1f} | "
            f"{r.p99 / base.p99:.2f} | {vs} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="interactions per run (3 runs, median)")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    server = os.environ.get("BOT_TEST_DATABASE_URL")
    if not server:
        sys.exit("set BOT_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    name = create_database(server)  # a database of its own, dropped afterwards
    try:
        text = table(asyncio.run(run(args.n, with_database(server, name))))
    finally:
        drop_database(server, name)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
