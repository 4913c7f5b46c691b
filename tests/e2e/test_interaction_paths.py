"""The gateway path over the shared handler: stale and forged component ids, mentions on edits, the error path's
log line, and the same message data from the gateway, the HTTP endpoint and `ask --json`."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nacl.signing import SigningKey

from tests.e2e.helpers import Harness
from tests.helpers import scrubbed_env
from tests.http.helpers import command, start_serve

HANDLER_LOG = "bot.interactions.handler"


def _outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.fields["outcome"] for r in caplog.records if r.name == HANDLER_LOG and hasattr(r, "fields")]


# ---------------------------------------------------------------- components


async def test_every_edit_disables_mentions_on_the_wire(harness: Harness) -> None:
    """Issue 10: allowed_mentions is sent with updates in place (type 7) and with PATCH @original edits too."""
    fake = harness.fake
    token = await fake.command("opinions")
    first = await fake.wait_reply(token)
    next_page = first.data["components"][0]["components"][1]["custom_id"]
    update = await fake.wait_reply(await fake.click(token, next_page))
    assert update.body["type"] == 7 and update.data["allowed_mentions"] == {"parse": []}
    inflow = await fake.command("inflow", {"allocation": "4%"})
    edit = await fake.wait_reply(inflow)
    assert edit.kind == "edit_original" and edit.body["allowed_mentions"] == {"parse": []}
    toggle = edit.body["components"][-1]["components"][-1]["custom_id"]
    toggled = await fake.wait_reply(await fake.click(inflow, toggle))
    assert toggled.kind == "edit_original" and toggled.body["allowed_mentions"] == {"parse": []}


async def test_nothing_accumulates_per_message_sent(harness: Harness) -> None:
    """Buttons carry their state in the custom_id: discord.py must not keep a view for every message sent."""
    fake = harness.fake
    for name, options in (("opinions", {}), ("401k", {}), ("sources", {}), ("opinions", {"stance": "critical"})):
        token = await fake.command(name, options, user_id=777)
        first = await fake.wait_reply(token)
        await fake.wait_reply(await fake.click(token, first.data["components"][-1]["components"][-1]["custom_id"]))
    views = harness.bot._connection._view_store
    assert views._views == {} and views._synced_message_views == {}


# ---------------------------------------------------------------- outcome log lines


async def test_cooldown_and_internal_errors_log_their_outcome_line(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = harness.fake
    with caplog.at_level(logging.INFO):
        for _ in range(6):
            await fake.wait_reply(await fake.command("sources", user_id=4242))

        async def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("kaboom")

        monkeypatch.setattr(harness.core, "respond", explode)
        reply = await fake.wait_reply(await fake.command("401k", user_id=4343))
        gc.collect()  # an unretrieved task exception would be reported now
        await asyncio.sleep(0)
    outcomes = _outcomes(caplog)
    assert outcomes[:6] == ["answered"] * 5 + ["cooldown"]
    error_id = re.search(r"`([0-9a-f]{8})`", reply.embed["description"])
    assert error_id is not None and outcomes[6] == f"error:{error_id.group(1)}"
    assert "never retrieved" not in caplog.text and "TypeError" not in caplog.text


async def test_an_error_outside_the_handler_is_answered_and_logged_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The tree's error path: it used to raise TypeError on dict(interaction.namespace) and lose the log line."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("transport broke")

    monkeypatch.setattr(harness.bot.gateway.handler, "handle", broken)
    with caplog.at_level(logging.INFO):
        reply = await harness.fake.wait_reply(await harness.fake.command("opinions", {"stance": "cautious"}))
        gc.collect()
        await asyncio.sleep(0)
    assert reply.data["flags"] == 64
    error_id = re.search(r"`([0-9a-f]{8})`", reply.embed["description"])
    assert error_id is not None
    lines = [r for r in caplog.records if r.name == HANDLER_LOG and hasattr(r, "fields")]
    assert [r.fields["outcome"] for r in lines] == [f"error:{error_id.group(1)}"]
    assert lines[0].fields["options"] == {"stance": "cautious"}
    assert "transport broke" in caplog.text
    assert "never retrieved" not in caplog.text and "TypeError" not in caplog.text


# ---------------------------------------------------------------- one message, three paths


async def _ask_json(line: str, lang: str, tmp_path: Path) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "ask",
        line,
        "--lang",
        lang,
        "--json",
        "--offline",
        cwd=tmp_path,
        env=scrubbed_env(BOT_DB_PATH=str(tmp_path / "ask.sqlite3")),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    loaded: dict[str, Any] = json.loads(out)
    return loaded


CASES = [
    ("/opinions stance:supportive", "opinions", {"stance": "supportive"}, "en-US", "en"),
    ("/401k topic:risks", "401k", {"topic": "risks"}, "zh-TW", "zh-TW"),
    ("/sources", "sources", {}, "en-US", "en"),
    ("/inflow 1% pool:retirement", "inflow", {"allocation": "1%", "pool": "retirement"}, "zh-TW", "zh-TW"),
    ("/faq question:rule-status", "faq", {"question": "rule-status"}, "zh-CN", "zh-CN"),
    ("/faq", "faq", {}, "en-US", "en"),
]


async def test_gateway_http_and_ask_json_send_the_same_message_data(harness: Harness, tmp_path: Path) -> None:
    fake = harness.fake
    async with aiohttp.ClientSession() as session:
        env = {"BOT_DB_PATH": str(tmp_path / "serve.sqlite3"), "BOT_DISCORD_API_URL": fake.api_base}
        serve = await start_serve(SigningKey.generate(), env, session, cwd=tmp_path)
        try:
            for line, name, options, locale, lang in CASES:
                for _ in range(2):  # the second ask of /inflow is answered at once (type 4), like the others
                    token = await fake.command(name, options, locale=locale, user_id=hash(line) % 10**9)
                    gateway = await fake.wait_reply(token)
                    payload = command(name, options, locale=locale)
                    http = await serve.post(payload)
                    if http.body["type"] == 5:
                        await fake.wait_reply(payload["token"], timeout=15)
                assert gateway.body["type"] == 4 and http.body["type"] == 4, line
                ask = await _ask_json(line, lang, tmp_path)
                as_sent = json.dumps(gateway.data, ensure_ascii=False)
                assert json.dumps(http.data, ensure_ascii=False) == as_sent, line
                assert json.dumps(ask, ensure_ascii=False) == as_sent, line
                assert [name for name, _ in gateway.files] == [name for name, _ in http.files]
        finally:
            assert await serve.stop() == 0
