"""Replies as HTTP bodies: JSON, or multipart/form-data (payload_json + the chart) when there is a file.

The message JSON is discord.py's own (bot.discord_wire.payload), so it is byte for byte what the gateway path sends.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from discord.http import MultipartParameters

from bot.discord_wire.payload import callback_params, multipart_parts, webhook_params
from bot.infra.memo import LruCache
from bot.interactions import Reply, ReplyKind

EPHEMERAL = 1 << 6
BUILT_BODIES = 512


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str


def to_json(value: Any) -> bytes:
    # discord.py's own encoding when orjson is absent: compact, ASCII-escaped.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


def json_body(value: Any) -> Body:
    return Body(to_json(value), "application/json")


def multipart_body(parts: list[tuple[str, bytes, str | None]]) -> Body:
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        content_type = "application/octet-stream" if filename else "application/json"
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        )
        chunks += [data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return Body(b"".join(chunks), f"multipart/form-data; boundary={boundary}")


def params_body(params: MultipartParameters) -> Body:
    if params.payload is not None:
        return json_body(params.payload)
    return multipart_body(multipart_parts(params))


class ReplyBodies:
    """Callback bodies for replies; a public answer's body is built once per reply key and reused."""

    def __init__(self) -> None:
        self._built: LruCache[str, Body] = LruCache(BUILT_BODIES, 3600.0)

    def callback(self, reply: Reply) -> Body:
        match reply.kind:
            case ReplyKind.PONG | ReplyKind.DEFERRED_UPDATE:
                return json_body({"type": int(reply.kind)})
            case ReplyKind.DEFERRED_MESSAGE:
                return json_body({"type": 5, **({"data": {"flags": EPHEMERAL}} if reply.ephemeral else {})})
            case ReplyKind.AUTOCOMPLETE:
                choices = [{"name": name, "value": value} for name, value in reply.choices]
                return json_body({"type": 8, "data": {"choices": choices}})
        assert reply.answer is not None
        key = f"{int(reply.kind)}:{reply.key}" if reply.key is not None and not reply.answer.ephemeral else None
        if key is not None and (built := self._built.get(key)) is not None:
            return built
        body = params_body(callback_params(int(reply.kind), reply.answer, reply.image))
        if key is not None:
            self._built.put(key, body)
        return body


def webhook_body(reply: Reply, *, edit: bool) -> Body:
    assert reply.answer is not None
    return params_body(webhook_params(reply.answer, reply.image, edit=edit))
