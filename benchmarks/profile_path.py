"""cProfile of one command's hot path: the bot in-process, driven through the loopback fake Discord.

Usage: .venv/bin/python benchmarks/profile_path.py [COMMAND] [--click] [--n 500]
   e.g. benchmarks/profile_path.py 401k   ·   benchmarks/profile_path.py opinions --click
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import discord  # noqa: E402

from bot.answers.core import Core  # noqa: E402
from bot.gateway.client import K401Bot  # noqa: E402
from bot.store import SQLiteStore  # noqa: E402
from tests.e2e.fake_discord import FakeDiscord  # noqa: E402

TOKEN = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.fake-token-for-the-loopback-discord-xx"


async def profile(command: str, click: bool, n: int) -> cProfile.Profile:
    fake = FakeDiscord()
    await fake.start()
    discord.http.Route.BASE = fake.api_base
    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteStore(Path(tmp) / "p.sqlite3") as store:
            bot = K401Bot(Core.load(store=store), store, guild_ready_timeout=0.05)
            task = asyncio.create_task(bot.start(TOKEN))
            await fake.ready.wait()
            await bot.wait_until_ready()
            users = iter(range(10**18, 2 * 10**18))
            anchor = await fake.command(command, {}, user_id=next(users))
            toggle = (await fake.wait_reply(anchor)).data["components"][-1]["components"][-1]["custom_id"]

            async def once() -> None:
                token = await (fake.click(anchor, toggle) if click else fake.command(command, {}, user_id=next(users)))
                await fake.wait_reply(token)
                fake.forget([token])

            for _ in range(20):
                await once()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                await once()
            profiler.disable()
            await bot.close()
            await task
            await bot.core.close()  # background cache writes land before the store closes
    await fake.close()
    return profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", nargs="?", default="401k")
    parser.add_argument("--click", action="store_true", help="profile the language-toggle click instead")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    stats = pstats.Stats(asyncio.run(profile(args.command, args.click, args.n)))
    stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
