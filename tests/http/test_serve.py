"""`python -m bot serve` as a real process, driven over real HTTP with requests signed by a key made here."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from typing import Any

import pytest
from nacl.signing import SigningKey
from PIL import Image

from tests.e2e.fake_discord import ADMIN_PERMISSIONS, Reply
from tests.e2e.helpers import CLIENT_LOCALES, EVERY_COMMAND, check_limits
from tests.http.conftest import Endpoint
from tests.http.helpers import autocomplete, click, command, message_from, next_id, ping, sign

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def test_ping_is_answered_with_pong(endpoint: Endpoint) -> None:
    answer = await endpoint.serve.post(ping())
    assert answer.status == 200 and answer.body == {"type": 1}
    assert answer.content_type == "application/json"


async def test_healthz_reports_the_store(endpoint: Endpoint) -> None:
    status, body = await endpoint.serve.health()
    assert status == 200
    assert body["status"] == "ok" and body["store"] == "ok"


# ---------------------------------------------------------------- every command, both languages


@pytest.mark.parametrize("locale", CLIENT_LOCALES)
@pytest.mark.parametrize(
    ("name", "options"),
    EVERY_COMMAND,
)
async def test_every_command_answers_in_the_clients_language(
    endpoint: Endpoint, name: str, options: dict[str, str], locale: str
) -> None:
    payload = command(name, options, locale=locale)
    answer = await endpoint.serve.post(payload)
    assert answer.status == 200
    if answer.body["type"] == 5:  # /inflow, not yet in memory: acknowledged, finished by PATCH @original
        reply = await endpoint.fake.wait_reply(payload["token"])
        assert reply.kind == "edit_original"
        data = reply.body
    else:
        assert answer.body["type"] == 4
        data = answer.data
    check_limits(Reply("edit_original", data))  # the message, however it was delivered
    assert data["allowed_mentions"] == {"parse": []}
    title = data["embeds"][0]["title"]
    assert bool(CHINESE.search(title)) == (locale != "en-US"), title
    assert data.get("flags", 0) & 64 == (64 if name == "language" else 0)


async def test_serve_warms_the_chart_worker_when_it_starts(endpoint: Endpoint) -> None:
    """The worker's cold start takes seconds on a loaded machine, past the 2 s chart deadline: paid at start-up, not
    by the first /inflow (whose answer would go without a chart, and the next ask would be deferred)."""
    for _ in range(1200):  # waits for the line (at most 2 min), asserts nothing about how long it took
        if "chart: worker warmed" in endpoint.serve.log:
            break
        await asyncio.sleep(0.1)
    assert "chart: worker warmed" in endpoint.serve.log, endpoint.serve.log


async def test_inflow_figures_and_chart_over_http(endpoint: Endpoint) -> None:
    first = command("inflow", {"allocation": "2%"})
    deferred = await endpoint.serve.post(first)
    if deferred.body["type"] == 5:
        await endpoint.fake.wait_reply(first["token"])
    again = await endpoint.serve.post(command("inflow", {"allocation": "2%"}))
    assert again.body["type"] == 4  # now in memory: answered at once, as multipart with the chart
    assert again.content_type == "multipart/form-data"
    assert again.embed["description"].startswith("**$200 billion** of new buying")
    assert again.embed["image"]["url"] == "attachment://inflow.png"
    assert [name for name, _ in again.files] == ["inflow.png"]
    assert Image.open(io.BytesIO(again.files[0][1])).size == (1200, 675)
    zh = command("inflow", {"allocation": "1%", "pool": "retirement"}, locale="zh-TW")
    answer = await endpoint.serve.post(zh)
    data = (await endpoint.fake.wait_reply(zh["token"])).body if answer.body["type"] == 5 else answer.data
    assert data["embeds"][0]["description"].startswith("新增買盤 **4,810億美元**")


async def test_deferred_answer_is_a_valid_patch_to_original(endpoint: Endpoint) -> None:
    payload = command("inflow", {"allocation": "3.25%", "pool": "dc"})
    started = time.perf_counter()
    answer = await endpoint.serve.post(payload)
    assert time.perf_counter() - started < 3  # Discord's window for the first response
    assert answer.status == 200 and answer.body == {"type": 5}
    reply = await endpoint.fake.wait_reply(payload["token"])
    assert reply.kind == "edit_original"  # PATCH /webhooks/{application_id}/{token}/messages/@original
    assert reply.body["allowed_mentions"] == {"parse": []}
    assert reply.body["embeds"][0]["title"] == "If 3.25% of all DC plan assets went into crypto"
    assert reply.body["attachments"] == [{"id": 0, "filename": "inflow.png"}]
    assert [name for name, _ in reply.files] == ["inflow.png"]
    assert reply.files[0][1].startswith(b"\x89PNG")


# ---------------------------------------------------------------- components and autocomplete


async def test_menu_choice_updates_the_message_in_place(endpoint: Endpoint) -> None:
    first = await endpoint.serve.post(command("401k"))
    select = first.data["components"][0]["components"][0]
    update = await endpoint.serve.post(click(message_from(first.data), select["custom_id"], values=["risks"]))
    assert update.body["type"] == 7
    assert update.embed["title"] == "Risks and open questions"
    assert update.data["allowed_mentions"] == {"parse": []}
    options = update.data["components"][0]["components"][0]["options"]
    assert [o["value"] for o in options if o.get("default")] == ["risks"]


async def test_page_and_language_buttons(endpoint: Endpoint) -> None:
    first = await endpoint.serve.post(command("opinions"))
    buttons = first.data["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["Previous", "Next", "繁體中文", "简体中文"]
    page = await endpoint.serve.post(click(message_from(first.data), buttons[1]["custom_id"]))
    assert page.body["type"] == 7 and page.embed["footer"]["text"].startswith("Page 2/2")
    chinese = await endpoint.serve.post(click(message_from(page.data), buttons[2]["custom_id"]))
    assert chinese.body["type"] == 7 and CHINESE.search(chinese.embed["title"])
    assert chinese.data["allowed_mentions"] == {"parse": []}


async def test_inflow_language_toggle_after_a_deferral(endpoint: Endpoint) -> None:
    payload = command("inflow", {"allocation": "7%"})
    first = await endpoint.serve.post(payload)
    data = (await endpoint.fake.wait_reply(payload["token"])).body if first.body["type"] == 5 else first.data
    toggle = next(b for b in data["components"][-1]["components"] if b["label"] == "繁體中文")
    assert toggle["custom_id"] == "k4|inflow|zh-TW|0|7%|401k"
    clicked = click(message_from(data), toggle["custom_id"])
    update = await endpoint.serve.post(clicked)
    if update.body["type"] == 6:  # the chart is drawn off the request: deferred update, then PATCH @original
        edit = await endpoint.fake.wait_reply(clicked["token"])
        assert edit.kind == "edit_original" and edit.body["allowed_mentions"] == {"parse": []}
        title = edit.body["embeds"][0]["title"]
    else:
        assert update.body["type"] == 7
        title = update.embed["title"]
    assert title == "如果 401(k) 計畫資產的7%投入加密貨幣"


async def test_allocation_and_analyst_autocomplete(endpoint: Endpoint) -> None:
    answer = await endpoint.serve.post(autocomplete("inflow", {"allocation": "2"}, "allocation"))
    assert answer.body["type"] == 8
    choices = answer.body["data"]["choices"]
    assert choices[0] == {"name": "2% → $200 billion (401(k))", "value": "2"}
    assert len(choices) <= 25 and all(len(c["name"]) <= 100 for c in choices)
    zh = await endpoint.serve.post(autocomplete("inflow", {"allocation": "abc"}, "allocation", locale="zh-TW"))
    assert "億美元" in zh.body["data"]["choices"][0]["name"]
    analyst = await endpoint.serve.post(autocomplete("opinions", {"analyst": "ross"}, "analyst"))
    assert analyst.body["data"]["choices"] == [{"name": "Ted Rossman — Bankrate", "value": "rossman"}]
    # /faq (issue 20): typed in Simplified characters, answered in the clicker's language, best match first
    question = await endpoint.serve.post(autocomplete("faq", {"question": "罗斯"}, "question", locale="zh-CN"))
    assert question.body["data"]["choices"][0] == {"name": "罗斯或传统 401(k)：提取要缴税吗？", "value": "roth"}
    every = await endpoint.serve.post(autocomplete("faq", {"question": ""}, "question"))
    assert [c["value"] for c in every.body["data"]["choices"]][:2] == ["buy-today", "rule-status"]
    shown = await endpoint.serve.post(command("faq", {"question": "roth"}, locale="zh-TW"))
    assert shown.embed["title"] == "羅斯 401(k) 和傳統 401(k)：提領時要繳稅嗎？"


# ---------------------------------------------------------------- language, permissions, cooldown


async def test_language_preference_and_server_default(endpoint: Endpoint) -> None:
    me = next_id()
    saved = await endpoint.serve.post(command("language", {"language": "zh-TW"}, user_id=me))
    assert saved.data["flags"] == 64 and saved.embed["description"].startswith("已儲存")
    assert endpoint.preference("user", me) == "zh-TW"
    answer = await endpoint.serve.post(command("sources", locale="en-US", user_id=me))
    assert answer.embed["title"] == "每個數字的出處"
    denied = await endpoint.serve.post(command("language", {"language": "en", "server": True}))
    assert denied.data["flags"] == 64 and "Manage Server" in denied.embed["description"]
    allowed = await endpoint.serve.post(
        command("language", {"language": "en", "server": True}, locale="zh-TW", permissions=ADMIN_PERMISSIONS)
    )
    assert allowed.embed["description"].startswith("Saved")
    other = await endpoint.serve.post(command("sources", locale="zh-TW"))
    assert other.embed["title"] == "Where every figure comes from"  # the server default beats the locale
    await endpoint.serve.post(command("language", {"language": "auto", "server": True}, permissions=ADMIN_PERMISSIONS))


async def test_input_error_is_ephemeral_localised_and_pings_nobody(endpoint: Endpoint) -> None:
    answer = await endpoint.serve.post(command("inflow", {"allocation": "@everyone"}))
    assert answer.body["type"] == 4 and answer.data["flags"] == 64
    assert answer.embed["description"] == "“@\u200beveryone” is not a percentage. Try `2%`, `0.5%` or `1-5%`."
    zh = await endpoint.serve.post(command("inflow", {"allocation": "5-1%"}, locale="zh-TW"))
    assert "區間前後顛倒" in zh.embed["description"]


# ---------------------------------------------------------------- bad requests: refused, nothing stored


def _saving_request(user_id: int) -> dict[str, Any]:
    """A /language request that would write a preference if it got through."""
    return command("language", {"language": "zh-TW"}, user_id=user_id)


BAD_REQUESTS = {
    "no signature": (401, lambda key, body: {"Content-Type": "application/json"}),
    "signature not hex": (
        401,
        lambda key, body: {**sign(key, body), "X-Signature-Ed25519": "zz" * 64},
    ),
    "signature too short": (401, lambda key, body: {**sign(key, body), "X-Signature-Ed25519": "ab" * 10}),
    "signed by another key": (401, lambda key, body: sign(SigningKey.generate(), body)),
    "signature of another body": (401, lambda key, body: sign(key, body + b" ")),
    "timestamp six minutes old": (401, lambda key, body: sign(key, body, str(int(time.time()) - 360))),
    "timestamp six minutes ahead": (401, lambda key, body: sign(key, body, str(int(time.time()) + 360))),
    "timestamp not a number": (401, lambda key, body: sign(key, body, "yesterday")),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
async def test_bad_signatures_are_401_and_store_nothing(endpoint: Endpoint, case: str) -> None:
    status, headers = BAD_REQUESTS[case]
    me = next_id()
    body = json.dumps(_saving_request(me)).encode()
    before = endpoint.store_rows()
    answer = await endpoint.serve.post(None, body=body, headers=headers(endpoint.serve.key, body))
    assert answer.status == status
    assert endpoint.preference("user", me) is None
    assert endpoint.store_rows() == before


async def test_the_same_request_properly_signed_is_saved(endpoint: Endpoint) -> None:
    """The control for the cases above: they fail only because of what is wrong with them."""
    me = next_id()
    answer = await endpoint.serve.post(_saving_request(me))
    assert answer.status == 200 and endpoint.preference("user", me) == "zh-TW"


async def test_body_over_one_mib_is_413(endpoint: Endpoint) -> None:
    me = next_id()
    payload = _saving_request(me)
    payload["padding"] = "x" * (1 << 20)
    body = json.dumps(payload).encode()
    before = endpoint.store_rows()
    answer = await endpoint.serve.post(None, body=body, headers=sign(endpoint.serve.key, body))
    assert answer.status == 413
    assert endpoint.preference("user", me) is None and endpoint.store_rows() == before


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not JSON", b"{not json"),
        ("JSON but not an object", b"[1, 2, 3]"),
        ("unknown interaction type", json.dumps({**command("language", {"language": "zh-TW"}), "type": 99}).encode()),
        ("no data", json.dumps({k: v for k, v in command("sources").items() if k != "data"}).encode()),
        ("no user", json.dumps({k: v for k, v in command("sources").items() if k != "member"}).encode()),
        ("options not a list", json.dumps(command("sources") | {"data": {"name": "sources", "options": 5}}).encode()),
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
    ],
)
async def test_signed_but_malformed_is_400_and_stores_nothing(endpoint: Endpoint, case: str, body: bytes) -> None:
    before = endpoint.store_rows()
    answer = await endpoint.serve.post(None, body=body, headers=sign(endpoint.serve.key, body))
    assert answer.status == 400, case
    assert endpoint.store_rows() == before
