"""Fuzzing the real endpoint: random bodies, signatures and interaction shapes get 200/400/401/413, never 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.conftest import Endpoint
from tests.http.helpers import autocomplete, click, command, sign

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALLOWED = {200, 400, 401, 413}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
header_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=130)  # what HTTP can carry
headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Signature-Ed25519": st.one_of(header_text, st.binary(min_size=64, max_size=64).map(bytes.hex)),
        "X-Signature-Timestamp": st.one_of(header_text, st.integers(0, 2**40).map(str)),
    },
)


def _bases() -> list[dict[str, Any]]:
    opinions = {"type": 1, "components": [{"type": 2, "custom_id": "k4|opinions|en|0||", "label": "x", "style": 2}]}
    return [
        command("inflow", {"allocation": "2%"}),
        command("language", {"language": "zh-TW", "server": True}),
        autocomplete("inflow", {"allocation": "2"}, "allocation"),
        click({"components": [opinions]}, "k4|opinions|en|1||"),
    ]


async def _assert_alive(endpoint: Endpoint) -> None:
    assert endpoint.serve.proc.returncode is None, endpoint.serve.log
    status, _ = await endpoint.serve.health()
    assert status == 200


@FUZZ
@given(body=st.binary(max_size=2000), sent=headers)
async def test_random_bodies_and_signatures(endpoint: Endpoint, body: bytes, sent: dict[str, str]) -> None:
    answer = await endpoint.serve.post(None, body=body, headers=sent)
    assert answer.status == 401  # nothing unsigned gets past the signature check


@FUZZ
@given(value=json_values)
async def test_signed_random_json(endpoint: Endpoint, value: Any) -> None:
    body = json.dumps(value).encode()
    answer = await endpoint.serve.post(None, body=body, headers=sign(endpoint.serve.key, body))
    assert answer.status in ALLOWED and answer.status != 401


@FUZZ
@given(
    base=st.sampled_from(range(4)),
    path=st.sampled_from(
        [
            ("type",),
            ("token",),
            ("application_id",),
            ("guild_id",),
            ("locale",),
            ("member",),
            ("member", "permissions"),
            ("member", "user"),
            ("member", "user", "id"),
            ("data",),
            ("data", "name"),
            ("data", "options"),
            ("data", "custom_id"),
            ("data", "values"),
            ("message",),
            ("message", "components"),
        ]
    ),
    value=json_values,
)
async def test_signed_interactions_with_one_field_replaced(
    endpoint: Endpoint, base: int, path: tuple[str, ...], value: Any
) -> None:
    payload = _bases()[base]
    target = payload
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    answer = await endpoint.serve.post(payload)
    assert answer.status in (200, 400), (path, value, answer)


async def test_still_healthy_after_fuzzing(endpoint: Endpoint) -> None:
    await _assert_alive(endpoint)
