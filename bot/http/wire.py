"""Replies as HTTP bodies: JSON, or multipart/form-data (payload_json + the chart) when there is a file.

The message bodies come from bot.discord_wire.message (no discord.py), byte for byte what the gateway path sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.discord_wire import message as wire
from bot.infra.memo import LruCache
from bot.interactions import Reply, ReplyKind
from bot.interactions.model import EPHEMERAL

BUILT_BODIES = 512


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str


def json_body(value: Any) -> Body:
    return Body(wire.to_json(value), "application/json")


def wire_body(body: wire.WireBody) -> Body:
    return Body(*body.encode())


class ReplyBodies:
    """Callback bodies for replies; a public answer's body is built once per reply key and reused."""

    def __init__(self) -> None:
        self._built: LruCache[str, Body] = LruCache(BUILT_BODIES, 3600.0)

    def callback(self, reply: Reply) -> Body:
        match reply.kind:
            case ReplyKind.PONG | ReplyKind.DEFERRED_UPDATE:
                return json_body({"type": int(reply.kind)})
            case ReplyKind.DEFERRED_MESSAGE:
                private = {"data": {"flags": EPHEMERAL}} if reply.ephemeral else {}
                return json_body({"type": int(reply.kind), **private})
            case ReplyKind.AUTOCOMPLETE:
                choices = [{"name": name, "value": value} for name, value in reply.choices]
                return json_body({"type": int(reply.kind), "data": {"choices": choices}})
        assert reply.answer is not None
        key = f"{int(reply.kind)}:{reply.key}" if reply.key is not None and not reply.answer.ephemeral else None
        if key is not None and (built := self._built.get(key)) is not None:
            return built
        body = wire_body(wire.callback(reply.kind, reply.answer, reply.image))
        if key is not None:
            self._built.put(key, body)
        return body


def webhook_body(reply: Reply, *, edit: bool) -> Body:
    assert reply.answer is not None
    return wire_body(wire.webhook(reply.answer, reply.image, edit=edit))
