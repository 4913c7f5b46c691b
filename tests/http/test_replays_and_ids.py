"""Issue 18 items 12 and 15 through real `serve` processes: a replayed signed request is refused (by every replica
sharing a PostgreSQL store), and an id at or above 2^63 is malformed input, not an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from nacl.signing import SigningKey

from tests.e2e.fake_discord import FakeDiscord
from tests.http.helpers import command, sign, start_serve


async def test_a_replayed_request_is_refused_by_every_replica_sharing_postgresql(pg_url: str, tmp_path: Path) -> None:
    key = SigningKey.generate()
    fake = FakeDiscord()
    await fake.start()
    env = {"BOT_DATABASE_URL": pg_url, "BOT_DISCORD_API_URL": fake.api_base}
    try:
        async with aiohttp.ClientSession() as session:
            a = await start_serve(key, env, session, cwd=tmp_path)
            b = await start_serve(key, env, session, cwd=tmp_path)
            try:
                raw = json.dumps(command("help")).encode()
                headers = sign(key, raw)  # captured once, sent again as it was
                first = await a.post(None, body=raw, headers=headers)
                again = await a.post(None, body=raw, headers=headers)
                elsewhere = await b.post(None, body=raw, headers=headers)
                fresh = await b.post(command("help"))
            finally:
                codes = [await a.stop(), await b.stop()]
    finally:
        await fake.close()
    assert first.status == 200 and first.body["type"] == 4
    assert (again.status, again.body) == (409, {"error": "interaction already received"})
    assert (elsewhere.status, elsewhere.body) == (409, {"error": "interaction already received"})
    assert fresh.status == 200
    assert codes == [0, 0], a.log + b.log


async def test_a_replay_is_refused_by_a_lone_replica_on_sqlite(tmp_path: Path) -> None:
    key = SigningKey.generate()
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(key, {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}, session, cwd=tmp_path)
        try:
            raw = json.dumps(command("sources")).encode()
            headers = sign(key, raw)
            statuses = [(await serve.post(None, body=raw, headers=headers)).status for _ in range(3)]
        finally:
            assert await serve.stop() == 0, serve.log
    assert statuses == [200, 409, 409]


async def test_ids_at_or_above_2_63_are_malformed_input_on_both_backends(pg_url: str, tmp_path: Path) -> None:
    key = SigningKey.generate()
    for env in ({"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}, {"BOT_DATABASE_URL": pg_url}):
        async with aiohttp.ClientSession() as session:
            serve = await start_serve(key, env, session, cwd=tmp_path)
            try:
                answers = [
                    await serve.post(command("language", {"language": "en"}, user_id=2**63)),
                    await serve.post(command("help", user_id=2**64 - 1)),
                    await serve.post({**command("help"), "guild_id": str(2**63)}),
                    await serve.post(command("help", user_id=2**63 - 1)),  # the largest id there can be
                ]
            finally:
                assert await serve.stop() == 0, serve.log
        assert [(a.status, a.body.get("error")) for a in answers[:3]] == [
            (400, "user.id is not a snowflake"),
            (400, "user.id is not a snowflake"),
            (400, "guild_id is not a snowflake"),
        ], env
        assert answers[3].status == 200 and answers[3].body["type"] == 4
        assert "Traceback" not in serve.log and "internal" not in serve.log.lower(), serve.log
