"""A gateway cluster: two real bot processes (shards 0 and 1 of 2) sharing one real PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from tests.e2e.fake_discord import GUILD_ID, OTHER_GUILD_ID, FakeDiscord, shard_of
from tests.e2e.helpers import TOKEN
from tests.pg_fixtures import with_database

REPO = Path(__file__).resolve().parents[2]
# Pointing the bot at the fake: the API base URL and, because a fixed shard count skips /gateway/bot, the gateway.
LAUNCH = (
    "import sys, yarl, discord.http, discord.gateway; discord.http.Route.BASE = sys.argv[1]; "
    "discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2]); "
    "from bot.__main__ import main; sys.exit(main(['run']))"
)
PASSWORD = "Cluster-Passw0rd-never-logged"


class BotProcess:
    """`python -m bot run` for some shards; its log lines are collected, and `ready` is set when it says so."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, fake: FakeDiscord, env: dict[str, str]) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LAUNCH,
            fake.api_base,
            fake.gateway_url,
            cwd=REPO,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if "ready:" in line:
                self.ready.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 20)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
        await self.reader
        return code


async def test_two_shard_processes_share_preferences_and_sync_once(pg_server: str, pg_url: str, tmp_path: Path) -> None:
    assert (shard_of(GUILD_ID, 2), shard_of(OTHER_GUILD_ID, 2)) == (0, 1)
    fake = FakeDiscord(shard_count=2, guild_ids=(GUILD_ID, OTHER_GUILD_ID))
    fake.sync_delay = 1.0  # both processes reach the sync while the first one's is still in flight
    await fake.start()
    url = with_database(pg_server, urlsplit(pg_url).path.lstrip("/"), password=PASSWORD)  # trust auth ignores it
    base = {
        **os.environ,
        "DISCORD_TOKEN": TOKEN,
        "BOT_DATABASE_URL": url,
        "BOT_SHARD_COUNT": "2",
        "BOT_DB_PATH": str(tmp_path / "unused.sqlite3"),
        "BOT_MARKET_ENABLED": "0",
        "LOG_LEVEL": "INFO",
    }
    bots = [await BotProcess.start(fake, {**base, "BOT_SHARD_IDS": shard}) for shard in ("0", "1")]
    try:
        try:
            await asyncio.wait_for(asyncio.gather(*(b.ready.wait() for b in bots)), 60)
        except TimeoutError:
            raise AssertionError([b.log[-3000:] for b in bots]) from None
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]

        saved = await fake.wait_reply(await fake.command("language", {"language": "zh-TW"}, guild_id=GUILD_ID))
        assert saved.embed["description"].startswith("已儲存")
        answer = await fake.wait_reply(await fake.command("401k", {"topic": "risks"}, guild_id=OTHER_GUILD_ID))
        assert answer.embed["title"] == "風險與疑問"  # the choice made through shard 0 applies on shard 1

        assert fake.sync_calls == 1  # two processes started together; the commands were synced once

        # The cooldown (5 per 30 s) counts across the processes: uses alternate between the two shards' guilds.
        busy_user = fake.user_id + 1000
        guilds = [GUILD_ID, OTHER_GUILD_ID] * 3
        replies = [await fake.wait_reply(await fake.command("sources", user_id=busy_user, guild_id=g)) for g in guilds]
        assert [r.data.get("flags", 0) & 64 for r in replies[:5]] == [0] * 5
        assert replies[5].data["flags"] == 64
        assert re.fullmatch(r"You're going a bit fast — try again in \d+ s\.", replies[5].embed["description"])

        for shards, expected in (("0", 0), ("1", 0), ("0,1", 1)):  # each process's own heartbeat
            env = {**base, "BOT_SHARD_IDS": shards}
            health = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "health", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await health.communicate()
            assert health.returncode == expected, (shards, out)
        assert out.decode().strip() == "the gateway has not been seen yet"  # no process runs shards 0 and 1
        assert fake.rejected_identifies == []
    finally:
        codes = [await b.stop() for b in bots]
        await fake.close()
    assert codes == [0, 0], [b.log[-2000:] for b in bots]
    for bot in bots:  # each process got only the guild on its own shard
        assert "ready: 1 guild(s), 2 shard(s)" in bot.log
    assert "/401k" in bots[1].log and "/401k" not in bots[0].log
    for bot in bots:
        assert PASSWORD not in bot.log and "Traceback" not in bot.log


async def test_the_fake_routes_guilds_by_shard_and_rejects_a_second_identify() -> None:
    fake = FakeDiscord(shard_count=2, guild_ids=(GUILD_ID, OTHER_GUILD_ID))
    await fake.start()
    identify = {"op": 2, "d": {"token": TOKEN, "shard": [1, 2], "intents": 1, "properties": {}}}
    try:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(fake.gateway_url)
            assert (await first.receive_json())["op"] == 10  # HELLO
            await first.send_json(identify)
            ready = await first.receive_json()
            assert ready["t"] == "READY" and ready["d"]["guilds"] == [{"id": str(OTHER_GUILD_ID), "unavailable": True}]
            second = await session.ws_connect(fake.gateway_url)
            await second.receive_json()
            await second.send_json(identify)
            closed = await second.receive()
            assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 4005)
            assert len(fake.rejected_identifies) == 1 and len(fake.identifies) == 1
            await first.close()
    finally:
        await fake.close()
