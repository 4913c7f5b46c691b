"""The serve process's life: start-up errors, health, and SIGTERM with an interaction in flight."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from nacl.signing import SigningKey

from tests.e2e.fake_discord import FakeDiscord
from tests.fake_market import FakeMarketAPI
from tests.helpers import scrubbed_env
from tests.http.helpers import command, start_serve


def _slow_market_env(tmp_path: Path, fake: FakeDiscord, market: FakeMarketAPI) -> dict[str, str]:
    """serve's settings with live market data from the (slowed) fake API, so answers are still being made."""
    return {
        "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"),
        "BOT_DISCORD_API_URL": fake.api_base,
        "BOT_MARKET_ENABLED": "1",
        "BOT_MARKET_API_URL": market.base_url,
    }


async def test_sigterm_finishes_a_deferred_answer_then_exits_0(tmp_path: Path) -> None:
    """Without the drain, the PATCH never goes out and the user is left on "thinking…" forever."""
    fake = FakeDiscord()
    await fake.start()
    async with FakeMarketAPI() as market, aiohttp.ClientSession() as session:
        market.delay = 1.0  # the market source is slow: the answer is still being made when SIGTERM arrives
        serve = await start_serve(
            SigningKey.generate(), _slow_market_env(tmp_path, fake, market), session, cwd=tmp_path
        )
        try:
            payload = command("inflow", {"allocation": "2%"})
            first = await serve.post(payload)
            assert first.body == {"type": 5}
            assert not fake.replies.get(payload["token"])  # not finished yet
            code = await serve.stop()  # SIGTERM
        finally:
            if serve.proc.returncode is None:
                serve.proc.kill()
        await fake.close()
    assert code == 0, serve.log
    reply = fake.replies[payload["token"]][0]
    assert reply.kind == "edit_original"
    assert reply.body["embeds"][0]["title"] == "If 2% of 401(k) plan assets went into crypto"
    assert "waiting for 1 deferred answer" in serve.log
    assert "Traceback" not in serve.log


async def test_no_new_requests_are_taken_while_draining(tmp_path: Path) -> None:
    fake = FakeDiscord()
    await fake.start()
    async with FakeMarketAPI() as market, aiohttp.ClientSession() as session:
        market.delay = 1.0
        serve = await start_serve(
            SigningKey.generate(), _slow_market_env(tmp_path, fake, market), session, cwd=tmp_path
        )
        await serve.post(command("inflow", {"allocation": "3%"}))
        serve.proc.send_signal(15)
        await asyncio.wait_for(_until_refused(serve.url, session), 10)
        serve.proc.send_signal(15)  # a second SIGTERM (an impatient supervisor) does not cut the drain short
        code = await asyncio.wait_for(serve.proc.wait(), 30)
        assert code == 0, serve.log
    await fake.close()


async def _until_refused(url: str, session: aiohttp.ClientSession) -> None:
    """Poll until the listening socket is closed (a signal, not a sleep: each try returns or fails at once)."""
    while True:
        try:
            async with session.get(f"{url}/healthz") as response:
                assert response.status in (200, 503)
        except aiohttp.ClientConnectionError:
            return
        await asyncio.sleep(0)


async def test_healthz_is_503_when_the_store_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's folder should be")
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(
            SigningKey.generate(), {"BOT_DB_PATH": str(blocker / "bot.sqlite3")}, session, cwd=tmp_path
        )
        try:
            status, body = await serve.health()
            assert status == 503 and body["store"] == "unavailable"
            ping = await serve.post({"type": 1, "application_id": "1", "token": "t", "id": "2"})
            assert ping.body == {"type": 1}  # answering goes on without a store
        finally:
            assert await serve.stop() == 0


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "DISCORD_PUBLIC_KEY is not set"),
        ("abc", "DISCORD_PUBLIC_KEY does not look like a public key"),
        ("zz" * 32, "DISCORD_PUBLIC_KEY does not look like a public key"),
    ],
)
async def test_missing_or_malformed_public_key_is_one_line_and_exit_2(
    tmp_path: Path, key: str | None, message: str
) -> None:
    env = scrubbed_env(**({"DISCORD_PUBLIC_KEY": key} if key is not None else {}))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", "0", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)


async def _health(key: SigningKey, port: str, tmp_path: Path) -> tuple[int, str]:
    env = scrubbed_env(DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(), BOT_HTTP_PORT=port)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "health", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_health_command_checks_the_endpoint_in_http_mode(tmp_path: Path) -> None:
    """The Docker HEALTHCHECK (`python -m bot health`) in a serve container: a public key and no token."""
    key = SigningKey.generate()
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(key, {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}, session, cwd=tmp_path)
        port = serve.url.rsplit(":", 1)[1]
        try:
            code, out = await _health(key, port, tmp_path)
            assert code == 0 and out.startswith("ok: http://127.0.0.1:"), out
        finally:
            assert await serve.stop() == 0
    code, out = await _health(key, port, tmp_path)
    assert code == 1 and "did not answer" in out
