"""`serve` under overload: an interaction whose id says it is already past Discord's 3 s acknowledgement deadline is
dropped before the handler runs (503), counted once as "late" and logged in one line, never a traceback; a fresh
one is answered, and an id whose time is implausible (a clock far off, a fake) is never dropped."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from nacl.signing import SigningKey

from bot.interactions.deadline import DISCORD_EPOCH_MS
from tests.http.helpers import command, start_serve
from tests.http.test_metrics_serve import moved, scrape, series


def _id_made(at: float) -> str:
    return str((int(at * 1000) - DISCORD_EPOCH_MS) << 22)


async def test_a_late_interaction_is_dropped_unanswered_and_counted_a_fresh_one_is_answered(tmp_path: Path) -> None:
    env = {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(SigningKey.generate(), env, session, cwd=tmp_path)
        try:
            before = await scrape(session, f"{serve.url}/metrics")
            late = await serve.post({**command("401k"), "id": _id_made(time.time() - 10.0)})
            late_again = await serve.post({**command("sources"), "id": _id_made(time.time() - 10.0)})
            fresh = await serve.post({**command("sources"), "id": _id_made(time.time())})
            skewed = await serve.post({**command("sources"), "id": _id_made(time.time() - 3600.0)})
            after = await scrape(session, f"{serve.url}/metrics")
        finally:
            code = await serve.stop()
    assert code == 0, serve.log
    assert (late.status, late.body) == (503, {"error": "interaction past its acknowledgement deadline"})
    assert late_again.status == 503
    assert fresh.status == 200 and fresh.body["type"] == 4 and fresh.embed["title"]
    assert skewed.status == 200 and skewed.body["type"] == 4  # an hour old: a clock or a fake, not a backlog
    assert moved(before, after, "k401_interactions_total") == {
        series("401k", "unknown", "late"): 1,
        series("sources", "unknown", "late"): 1,
        series("sources", "en", "answered"): 2,
    }
    assert moved(before, after, "k401_interaction_ack_seconds_count") == {(): 2}  # only the two answered
    log = serve.log
    assert "Traceback" not in log
    assert not any(line.startswith("/401k") or " /401k" in line for line in log.splitlines())  # no handler, no line
    dropped = [line for line in log.splitlines() if "past its acknowledgement deadline; dropped" in line]
    assert len(dropped) == 1, log  # rate-limited: one line for the burst
