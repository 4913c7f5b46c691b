"""Shared e2e helpers: the bot started against the loopback fake Discord, and Discord's embed limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.answers.core import Core
from bot.answers.model import LIMITS
from bot.gateway.client import K401Bot
from bot.store import SQLiteStore
from tests.e2e.fake_discord import FakeDiscord, Reply

# Every command with typical options, and the client locales, that both transports are checked with.
EVERY_COMMAND: list[tuple[str, dict[str, str]]] = [
    ("401k", {}),
    ("401k", {"topic": "scale"}),
    ("401k", {"topic": "timeline"}),
    ("inflow", {"allocation": "2%"}),
    ("inflow", {"allocation": "1-5%", "pool": "dc"}),
    ("opinions", {}),
    ("opinions", {"stance": "cautious"}),
    ("opinions", {"analyst": "rossman"}),
    ("sources", {}),
    ("language", {}),
]
CLIENT_LOCALES = ["en-US", "zh-TW", "zh-CN"]

# `python -m bot run` in a child process, with discord.py's API base pointed at the fake (argv[1]): the only change.
RUN_AGAINST_FAKE = (
    "import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; "
    "from bot.__main__ import main; sys.exit(main(['run']))"
)


def burst_requests(count: int = 200) -> list[tuple[str, dict[str, Any], str]]:
    """A mixed burst (command, options, locale): charts, topics, opinions, sources and input errors, both languages."""
    requests: list[tuple[str, dict[str, Any], str]] = []
    for i in range(count):
        locale = "zh-TW" if i % 2 else "en-US"
        kind = i % 5
        if kind == 0:
            requests.append(("inflow", {"allocation": f"{1 + i % 4}%"}, locale))
        elif kind == 1:
            requests.append(("401k", {"topic": ["rules", "scale", "risks"][i % 3]}, locale))
        elif kind == 2:
            requests.append(("opinions", {}, locale))
        elif kind == 3:
            requests.append(("sources", {}, locale))
        else:
            requests.append(("inflow", {"allocation": "abc"}, locale))
    return requests


TOKEN = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.fake-token-for-the-loopback-discord-xx"


@dataclass
class Harness:
    fake: FakeDiscord
    bot: K401Bot
    core: Core
    store: SQLiteStore
    task: asyncio.Task[None]


async def start_bot(fake: FakeDiscord, core: Core, store: SQLiteStore) -> tuple[K401Bot, asyncio.Task[None]]:
    bot = K401Bot(core, store, guild_ready_timeout=0.05)
    core.charts.warm_in_background()  # as the runner does (a no-op once this process's chart worker is running)
    task = asyncio.create_task(bot.start(TOKEN))
    await asyncio.wait_for(fake.ready.wait(), 15)
    await asyncio.wait_for(bot.wait_until_ready(), 15)
    return bot, task


async def stop_bot(bot: K401Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 10)
    await bot.core.close()  # background cache writes finish before the test closes the store


def check_limits(reply: Reply) -> None:
    embed = reply.embed
    assert embed, reply.body
    assert len(embed.get("title", "")) <= LIMITS["title"]
    assert len(embed.get("description", "")) <= LIMITS["description"]
    assert len(embed.get("fields", [])) <= LIMITS["fields"]
    for f in embed.get("fields", []):
        assert 0 < len(f["name"]) <= LIMITS["field_name"] and 0 < len(f["value"]) <= LIMITS["field_value"]
    total = (
        len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
    )
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    assert total <= LIMITS["embed_total"]
    assert len(reply.data.get("content") or "") <= LIMITS["content"]
