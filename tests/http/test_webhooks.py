"""Issue 18 item 9: deferred answers delivered through Discord's rate limits, outages and nonsense headers.

The end-to-end test runs the real `serve` process against the fake Discord in a 12 s global 429 window; the rest
drive `Webhooks` in-process against a loopback aiohttp server with the real aiohttp client.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.http.webhooks import MAX_WAIT, RateLimits, Webhooks, retry_after
from bot.interactions import Interaction, Kind, Reply, ReplyKind
from tests.http.helpers import command, serve_against_fake

RATE_LIMIT_WINDOW = 12.0
ANSWERS = 50


async def test_50_deferred_answers_are_delivered_through_a_12_s_global_429(tmp_path: Path) -> None:
    """Before: three attempts with waits capped at 5 s, each answer on its own: 0 of 50 delivered."""
    async with serve_against_fake(tmp_path) as run:
        serve, fake = run.serve, run.fake
        fake.rate_limited_until = time.monotonic() + RATE_LIMIT_WINDOW
        payloads = [command("inflow", {"allocation": f"{n / 10:.1f}%"}) for n in range(1, ANSWERS + 1)]
        first = await asyncio.gather(*(serve.post(p) for p in payloads))
        assert [a.body for a in first] == [{"type": 5}] * ANSWERS  # all deferred, to be finished by PATCH
        replies = await asyncio.gather(*(fake.wait_reply(p["token"], timeout=RATE_LIMIT_WINDOW + 30) for p in payloads))
    assert run.exit_code == 0, serve.log
    assert [r.kind for r in replies] == ["edit_original"] * ANSWERS
    assert all(r.body["embeds"][0]["title"].startswith("If ") for r in replies)
    # one shared state: the answers waited for the global window together instead of hammering it
    assert 0 < fake.rate_limited_answers <= 2 * ANSWERS, fake.rate_limited_answers
    assert "not delivered" not in serve.log and "Traceback" not in serve.log


# ---------------------------------------------------------------- retry_after: what a 429 asks for


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, {"retry_after": 1.234, "global": True}, (1.234, True)),
        ({"Retry-After": "7", "X-RateLimit-Reset-After": "2.5"}, {"retry_after": 0.75}, (0.75, False)),
        ({"Retry-After": "7", "X-RateLimit-Reset-After": "2.5"}, None, (2.5, False)),
        ({"Retry-After": "7", "X-RateLimit-Global": "true"}, None, (7.0, True)),
        ({"Retry-After": "3", "X-RateLimit-Scope": "global"}, "not json", (3.0, True)),
        (
            {"Retry-After": format_datetime(datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=9), usegmt=True)},
            None,
            (9.0, False),
        ),
        ({"Retry-After": "Wed, 99 Foo 2026 99:99:99 GMT"}, None, (1.0, False)),  # a broken HTTP date
        ({"Retry-After": "nan"}, {"retry_after": "nan"}, (1.0, False)),
        ({"Retry-After": "inf"}, {"retry_after": float("inf")}, (1.0, False)),
        ({"Retry-After": "-5"}, {"retry_after": -5}, (1.0, False)),
        ({"X-RateLimit-Reset-After": "garbage"}, {"retry_after": [1, 2]}, (1.0, False)),
        ({"Retry-After": "86400"}, None, (MAX_WAIT, False)),  # a day: waited in steps, re-read on each answer
        ({}, {"retry_after": 1e308 * 10}, (1.0, False)),
    ],
)
def test_retry_after_is_read_safely(headers: dict[str, str], body: object, expected: tuple[float, bool]) -> None:
    """Before: an HTTP-date Retry-After raised ValueError outside the handler; `nan` slept an arbitrary time; the
    JSON body's retry_after and global were ignored."""
    seconds, is_global = retry_after(headers, body, now=NOW)
    assert (round(seconds, 3), is_global) == expected


# ---------------------------------------------------------------- Webhooks against a loopback Discord


Handler = Callable[[web.Request], web.Response]


@pytest_asyncio.fixture
async def discord() -> AsyncIterator[tuple[list[Handler], list[float], str]]:
    """A loopback webhook endpoint answering with the queued handlers in turn (then 200); records request times."""
    script: list[Handler] = []
    seen: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        await request.read()
        return script.pop(0)(request) if script else web.json_response({"id": "1"})

    app = web.Application()
    app.router.add_route("*", "/api/webhooks/{app}/{token}/messages/@original", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield script, seen, str(server.make_url("/api"))
    await server.close()


def _interaction() -> Interaction:
    return Interaction(kind=Kind.COMMAND, name="help", application_id="1", token="tok")


@functools.cache
def _reply() -> Reply:
    from bot.answers.build import AnswerContext, answer
    from bot.answers.render import Renderer
    from bot.answers.requests import SourcesRequest
    from bot.domain.facts import load_facts
    from bot.domain.inflow import MarketCap

    facts = load_facts()
    context = AnswerContext(facts, Renderer(facts), MarketCap.from_config(facts))
    return Reply(ReplyKind.MESSAGE, answer=answer(SourcesRequest(), "en", context))


def _status(status: int, headers: dict[str, str] | None = None, body: object = None) -> Handler:
    return lambda _: web.Response(status=status, headers=headers, body=json.dumps(body).encode() if body else None)


async def test_server_errors_and_an_http_date_are_retried_until_delivered(
    discord: tuple[list[Handler], list[float], str],
) -> None:
    script, seen, base = discord

    def in_3_s(_: web.Request) -> web.Response:  # an HTTP date, in whole seconds: 2-3 s from when it is sent
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
        return web.Response(status=429, headers={"Retry-After": when})

    script += [
        _status(500),
        _status(502),
        in_3_s,
        _status(429, {"Retry-After": "nan"}),
    ]
    async with aiohttp.ClientSession() as session:
        assert await Webhooks(session, base).edit_original(_interaction(), _reply())
    assert len(seen) == 5
    assert 1.5 < seen[3] - seen[2] < 4.0  # the HTTP date was honoured, not raised on


async def test_a_refused_or_expired_token_is_one_log_line_and_no_retry(
    discord: tuple[list[Handler], list[float], str], caplog: pytest.LogCaptureFixture
) -> None:
    script, seen, base = discord
    script.append(_status(404, body={"message": "Unknown Webhook", "code": 10015}))
    async with aiohttp.ClientSession() as session:
        with caplog.at_level(logging.DEBUG, logger="bot.http.webhooks"):
            assert not await Webhooks(session, base).edit_original(_interaction(), _reply())
    assert len(seen) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [warnings[0]] and "not delivered" in warnings[0] and "HTTP 404" in warnings[0]


async def test_delivery_stops_at_the_deadline_with_one_line(
    discord: tuple[list[Handler], list[float], str], caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 that outlasts the token's life: given up before the deadline, one WARNING line, bounded attempts."""
    script, seen, base = discord
    script += [_status(429, body={"retry_after": 0.4, "global": True})] * 100
    async with aiohttp.ClientSession() as session:
        webhooks = Webhooks(session, base)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="bot.http.webhooks"):
            delivered = await webhooks.edit_original(_interaction(), _reply(), deadline=started + 2.0)
    assert not delivered
    assert time.monotonic() - started < 2.2
    assert 3 <= len(seen) <= 6
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_one_global_limit_pauses_every_route() -> None:
    now = [100.0]
    limits = RateLimits(clock=lambda: now[0])
    limits.limited("a", 5.0, is_global=True)
    limits.limited("b", 2.0, is_global=False)
    assert limits.wait_for("c") == 5.0 and limits.wait_for("b") == 5.0
    now[0] = 106.0
    assert limits.wait_for("c") == 0.0
