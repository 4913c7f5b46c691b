"""/language through the fake Discord while another process holds the SQLite write lock: answered within 3 s."""

from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from tests.e2e.helpers import Harness

REPO = Path(__file__).resolve().parents[2]
HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


async def test_language_answers_in_time_and_honestly_while_the_file_is_locked(harness: Harness) -> None:
    fake, store = harness.fake, harness.store
    await store.set_language("user", fake.user_id, "zh-TW")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_WRITE_LOCK,
        str(store.path),
        stdin=PIPE,
        stdout=PIPE,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
        token = await fake.command("language", {"language": "en"})
        reply = await fake.wait_reply(token, timeout=5)
        assert fake.latency(token, reply) < 3.0  # Discord's window for the first response
        assert reply.data["flags"] == 64
        assert reply.embed["description"].startswith("目前無法儲存你的設定")  # still in the saved language
        other = await fake.wait_reply(await fake.command("401k", {"topic": "risks"}), timeout=5)
        assert other.embed["title"] == "風險與疑問"  # reads go on while the write lock is held
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        await holder.wait()
    saved = await fake.wait_reply(await fake.command("language", {"language": "en"}))
    assert saved.embed["description"].startswith("Saved: answers to you will be in **English**")
    assert await store.get_language("user", fake.user_id) == "en"
