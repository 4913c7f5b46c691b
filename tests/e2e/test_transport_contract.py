"""What the interaction handler owns behaves the same through either transport: one suite, run on both.

The gateway (discord.py against the loopback fake Discord) and the HTTP endpoint (`serve`, a real process) are thin:
cooldowns, stale and forged components, and the language of a refusal are decided by bot.interactions, so each test
here runs on both and asserts the same thing. Transport-specific behaviour (signatures, sync, shards) is tested in
tests/http and tests/e2e.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.helpers import Harness
from tests.http.helpers import Serve, click, command, message_from, next_id, serve_against_fake


@dataclass
class Sent:
    """A reply as Discord got it, and the message Discord now shows for the interaction (None: no new message)."""

    type: int
    data: dict[str, Any]
    message: dict[str, Any]

    @property
    def embed(self) -> dict[str, Any]:
        embeds: list[dict[str, Any]] = self.data.get("embeds") or []
        return embeds[0] if embeds else {}


class Transport(Protocol):
    async def command(
        self, name: str, options: dict[str, Any] | None = None, *, locale: str = "en-US", user_id: int | None = None
    ) -> Sent: ...

    async def click(self, on: Sent, custom_id: str, *, values: list[str] | None = None, locale: str = "en-US") -> Sent:
        """Click a component on the message `on` made; the reply, and what that message shows afterwards."""
        ...


class GatewayTransport:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.tokens: dict[int, str] = {}

    async def command(
        self, name: str, options: dict[str, Any] | None = None, *, locale: str = "en-US", user_id: int | None = None
    ) -> Sent:
        token = await self.fake.command(name, options, locale=locale, user_id=user_id)
        reply = await self.fake.wait_reply(token)
        sent = Sent(int(reply.body.get("type", 4)), reply.data, self.fake.messages[token])
        self.tokens[id(sent)] = token
        return sent

    async def click(self, on: Sent, custom_id: str, *, values: list[str] | None = None, locale: str = "en-US") -> Sent:
        token = self.tokens[id(on)]
        reply = await self.fake.wait_reply(await self.fake.click(token, custom_id, values=values, locale=locale))
        on.message = self.fake.messages[token]
        return Sent(int(reply.body.get("type", 4)), reply.data, reply.data)


class HttpTransport:
    def __init__(self, serve: Serve, fake: FakeDiscord) -> None:
        self.serve = serve
        self.fake = fake

    async def _post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = await self.serve.post(payload)
        kind = int(answer.body["type"])
        if kind in (5, 6):  # deferred: the real answer arrives as a webhook at the fake Discord
            return kind, (await self.fake.wait_reply(payload["token"], timeout=15)).data
        return kind, answer.data

    async def command(
        self, name: str, options: dict[str, Any] | None = None, *, locale: str = "en-US", user_id: int | None = None
    ) -> Sent:
        kind, data = await self._post(command(name, options, locale=locale, user_id=user_id or next_id()))
        return Sent(kind, data, message_from(data))

    async def click(self, on: Sent, custom_id: str, *, values: list[str] | None = None, locale: str = "en-US") -> Sent:
        kind, data = await self._post(click(on.message, custom_id, values=values, locale=locale))
        if kind == 7:  # an update in place: Discord's copy of the message becomes the new answer
            on.message = {**on.message, **message_from(data), "id": on.message["id"]}
        return Sent(kind, data, data)


@pytest.fixture(params=["gateway", "http"])
def transport(request: pytest.FixtureRequest) -> Transport:
    found: Transport = request.getfixturevalue(f"{request.param}_transport")
    return found


@pytest.fixture
async def gateway_transport(harness: Harness) -> GatewayTransport:
    return GatewayTransport(harness.fake)


@pytest.fixture
async def http_transport(tmp_path: Path) -> AsyncIterator[HttpTransport]:
    async with serve_against_fake(tmp_path) as run:
        yield HttpTransport(run.serve, run.fake)
    assert run.exit_code == 0 and "Traceback" not in run.serve.log, run.serve.log


async def test_cooldown_after_five_quick_commands(transport: Transport) -> None:
    me = next_id()
    replies = [await transport.command("sources", user_id=me) for _ in range(6)]
    assert [r.data.get("flags", 0) & 64 for r in replies[:5]] == [0] * 5
    assert replies[5].type == 4 and replies[5].data["flags"] == 64
    assert re.fullmatch(r"You're going a bit fast — try again in \d+ s\.", replies[5].embed["description"])


@pytest.mark.parametrize(("locale", "text"), [("en-US", "out of date"), ("zh-TW", "過期"), ("zh-CN", "过期")])
async def test_an_id_that_looks_like_ours_but_does_not_decode_is_out_of_date(
    transport: Transport, locale: str, text: str
) -> None:
    first = await transport.command("sources", locale=locale)
    first.message["components"][0]["components"][0]["custom_id"] = "k4|sources|en|x|"  # as Discord would carry it
    before = json.dumps(first.message)
    reply = await transport.click(first, "k4|sources|en|x|", locale=locale)
    assert reply.type == 4 and reply.data["flags"] == 64  # a private message in the clicker's language
    assert text in reply.embed["description"]
    assert json.dumps(first.message) == before  # the answer clicked on is left as it was


async def test_a_language_panel_id_forged_onto_a_public_answer_does_not_replace_it(transport: Transport) -> None:
    first = await transport.command("opinions", {"stance": "critical"})
    before = json.dumps(first.message)
    for forged in ("k4|language|en|0||", "k4|401k|en|0|risks|", "k4|help|zh-TW|0||", "k4s|401k|en|0||"):
        reply = await transport.click(first, forged, values=["risks"] if forged.startswith("k4s") else None)
        assert reply.type == 4 and reply.data["flags"] == 64, forged  # never an update of the answer
        assert "out of date" in reply.embed["description"]
    assert json.dumps(first.message) == before


async def test_a_button_updates_the_answer_in_place(transport: Transport) -> None:
    first = await transport.command("sources")
    page = next(
        c["custom_id"] for row in first.data["components"] for c in row["components"] if "|1|" in c["custom_id"]
    )
    reply = await transport.click(first, page)
    assert reply.type == 7 and "flags" not in reply.data
    assert reply.embed["title"] == first.embed["title"] and reply.embed != first.embed


async def test_a_refusal_is_in_the_users_saved_language(transport: Transport) -> None:
    """The handler picks a reply's language (saved preference over client locale), errors and refusals included."""
    me = next_id()
    await transport.command("language", {"language": "zh-TW"}, user_id=me)
    bad = await transport.command("inflow", {"allocation": "abc"}, user_id=me)
    assert bad.data["flags"] == 64 and "abc" in bad.embed["description"]
    assert not bad.embed["description"].isascii()  # Chinese, though the client is en-US
