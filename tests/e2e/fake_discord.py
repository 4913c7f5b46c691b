"""A small fake Discord on 127.0.0.1: the REST routes and the gateway that discord.py uses, nothing more.

The unmodified bot is pointed at it by changing only discord.py's API base URL (`discord.http.Route.BASE`).
Tests drive it like Discord would: dispatch INTERACTION_CREATE on the gateway, then read what the bot sent back
to the interaction callback, the @original message edits and the follow-ups.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web
from aiohttp.test_utils import TestServer

try:  # discord.py asks for zstd-stream when zstandard is installed, zlib-stream otherwise
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None

APP_ID = 1_300_000_000_000_000_001
GUILD_ID = 1_300_000_000_000_000_002  # on shard 0 of 2
OTHER_GUILD_ID = GUILD_ID + (1 << 22)  # on shard 1 of 2
CHANNEL_ID = 1_300_000_000_000_000_003
USER_ID = 1_300_000_000_000_000_004
TIMESTAMP = "2026-11-30T02:00:00.000000+00:00"
ADMIN_PERMISSIONS = str(1 << 3)
MEMBER_PERMISSIONS = str((1 << 11) | (1 << 10))  # send messages + view channel: no Manage Server

BOT_USER = {
    "id": str(APP_ID),
    "username": "k401",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
    "public_flags": 0,
    "flags": 0,
}


def user(user_id: int = USER_ID, name: str = "saver") -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "public_flags": 0,
    }


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type to exactly "application/json": no charset suffix.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


@dataclass
class Reply:
    """One thing the bot sent for an interaction."""

    kind: str  # "callback", "edit_original", "followup"
    body: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)
    received_at: float = field(default_factory=time.perf_counter)

    @property
    def data(self) -> dict[str, Any]:
        """The message part: a callback's `data`, or the whole body of an edit or a follow-up."""
        return self.body.get("data") or {} if self.kind == "callback" else self.body

    @property
    def embed(self) -> dict[str, Any]:
        embeds: list[dict[str, Any]] = self.data.get("embeds") or []
        return embeds[0] if embeds else {}


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule for which shard receives a guild's events."""
    return (guild_id >> 22) % shard_count


@dataclass
class _Connection:
    """One gateway websocket (one shard), with its own compression stream and sequence numbers."""

    ws: web.WebSocketResponse
    compress: Callable[[bytes], bytes] | None
    shard: int | None = None
    seq: int = 0


class FakeDiscord:
    # Each fake gets its own user: command cooldowns live on the (shared) command objects.
    _users = itertools.count(USER_ID)

    def __init__(self, *, shard_count: int = 1, guild_ids: tuple[int, ...] = (GUILD_ID,)) -> None:
        """shard_count > 1: each guild's events go to the connection that identified for its shard."""
        self.shard_count = shard_count
        self.guild_ids = guild_ids
        self.user_id = next(self._users)
        app = web.Application()
        api = "/api/v10"
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_get(f"{api}/gateway", self._gateway_bot)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._put_commands)
        app.router.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
        app.router.add_post(f"{api}/interactions/{{iid}}/{{token}}/callback", self._callback)
        app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        app.router.add_get(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._get_original)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        app.router.add_get("/gateway", self._gateway)
        self.server = TestServer(app, host="127.0.0.1")
        self.synced: dict[str, list[dict[str, Any]]] = {}  # "global" or a guild id -> last PUT payload
        self.sync_calls = 0
        self.replies: dict[str, list[Reply]] = {}  # interaction token -> what the bot sent
        self.messages: dict[str, dict[str, Any]] = {}  # token -> the interaction's message, as Discord keeps it
        self.identifies: list[dict[str, Any]] = []
        self.resumes = 0
        self.heartbeats = 0
        self.compressions: list[str] = []
        self.login_token: str | None = None
        self.reject_token = False
        self.callback_delay = 0.0
        # Webhook calls (PATCH @original, follow-ups) before this time.monotonic() get a global 429, as Discord sends
        # it: JSON retry_after and global, Retry-After in whole seconds, X-RateLimit-Global and -Scope.
        self.rate_limited_until = 0.0
        self.rate_limited_answers = 0
        self.refuse_callbacks = False  # answer every callback as Discord does after 3 s: 404, code 10062
        self.sync_delay = 0.0
        self._ids = itertools.count(1_400_000_000_000_000_000)
        self._changed = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None  # the latest connection (drop_gateway closes it)
        self._current: _Connection | None = None
        self._shards: dict[int, _Connection] = {}  # shard id -> the connection that identified for it
        self.rejected_identifies: list[dict[str, Any]] = []  # IDENTIFYs for a shard that was already connected
        self.ready = asyncio.Event()
        self.dispatched_at: dict[str, float] = {}  # interaction token -> when INTERACTION_CREATE went out

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        for conn in {id(c): c for c in [*self._shards.values(), *([self._current] if self._current else [])]}.values():
            if not conn.ws.closed:
                await conn.ws.close()
        await self.server.close()

    @property
    def api_base(self) -> str:
        return str(self.server.make_url("/api/v10"))

    @property
    def gateway_url(self) -> str:
        return str(self.server.make_url("/gateway")).replace("http://", "ws://")

    def next_id(self) -> str:
        return str(next(self._ids))

    # ------------------------------------------------------------------ REST

    async def _me(self, request: web.Request) -> web.Response:
        self.login_token = request.headers.get("Authorization")
        if self.reject_token:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(APP_ID),
                "name": "k401",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user(),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "redirect_uris": [],
            }
        )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            }
        )

    async def _put_commands(self, request: web.Request) -> web.Response:
        if self.sync_delay:  # a slow sync: processes starting together overlap while it is in flight
            await asyncio.sleep(self.sync_delay)
        body = await request.json()
        self.sync_calls += 1
        self.synced[request.match_info.get("guild", "global")] = body
        result = [
            {**cmd, "id": self.next_id(), "application_id": str(APP_ID), "version": "1", "type": cmd.get("type", 1)}
            for cmd in body
        ]
        return _json(result)

    async def _read_body(self, request: web.Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        if request.content_type.startswith("multipart/"):
            body: dict[str, Any] = {}
            files: list[tuple[str, bytes]] = []
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)  # discord.py sends flat multipart, never nested
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files.append((part.filename or "", bytes(await part.read())))
            return body, files
        return await request.json(), []

    def _message(self, token: str, data: dict[str, Any], files: list[tuple[str, bytes]]) -> dict[str, Any]:
        previous = self.messages.get(token, {})
        message = {
            "id": previous.get("id") or self.next_id(),
            "channel_id": str(CHANNEL_ID),
            "author": BOT_USER,
            "content": data.get("content", previous.get("content", "")),
            "embeds": data.get("embeds", previous.get("embeds", [])),
            "components": data.get("components", previous.get("components", [])),
            "attachments": [
                {
                    "id": self.next_id(),
                    "filename": name,
                    "size": len(blob),
                    "url": f"https://cdn.invalid/{name}",
                    "proxy_url": f"https://cdn.invalid/{name}",
                }
                for name, blob in files
            ]
            or previous.get("attachments", []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "type": 20,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "flags": data.get("flags", previous.get("flags", 0)),
            "application_id": str(APP_ID),
            "webhook_id": str(APP_ID),
        }
        self.messages[token] = message
        return message

    async def _record(self, token: str, reply: Reply) -> None:
        async with self._changed:
            self.replies.setdefault(token, []).append(reply)
            self._changed.notify_all()

    async def _callback(self, request: web.Request) -> web.Response:
        if self.callback_delay:
            await asyncio.sleep(self.callback_delay)
        token, iid = request.match_info["token"], request.match_info["iid"]
        body, files = await self._read_body(request)
        if self.refuse_callbacks:
            await self._record(token, Reply("refused", body, files))
            error = json.dumps({"message": "Unknown interaction", "code": 10062}).encode()
            return web.Response(body=error, status=404, headers={"Content-Type": "application/json"})
        kind = body.get("type")
        message = None
        if kind in (4, 5):  # a message, or "thinking…"
            message = self._message(token, body.get("data") or {}, files)
        elif kind in (6, 7):  # update the message the component is on
            message = self._message(token, body.get("data") or {}, files) if kind == 7 else self.messages.get(token)
        await self._record(token, Reply("callback", body, files))
        response: dict[str, Any] = {
            "interaction": {
                "id": iid,
                "type": 2,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
            }
        }
        if message is not None:
            response["resource"] = {"type": kind, "message": message}
        if request.query.get("with_response") in ("1", "true", "True"):
            return _json(response)
        return web.Response(status=204)

    def _rate_limited(self) -> web.Response | None:
        left = self.rate_limited_until - time.monotonic()
        if left <= 0:
            return None
        self.rate_limited_answers += 1
        headers = {"Retry-After": str(math.ceil(left)), "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
        body = {"message": "You are being rate limited.", "retry_after": round(left, 3), "global": True}
        return _json(body, 429, headers)

    async def _edit_original(self, request: web.Request) -> web.Response:
        if (limited := self._rate_limited()) is not None:
            return limited
        token = request.match_info["token"]
        body, files = await self._read_body(request)
        message = self._message(token, body, files)
        await self._record(token, Reply("edit_original", body, files))
        return _json(message)

    async def _get_original(self, request: web.Request) -> web.Response:
        return _json(self.messages.get(request.match_info["token"], {}))

    async def _followup(self, request: web.Request) -> web.Response:
        if (limited := self._rate_limited()) is not None:
            return limited
        token = request.match_info["token"]
        body, files = await self._read_body(request)
        await self._record(token, Reply("followup", body, files))
        return _json(self._message(self.next_id(), body, files))

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        compression = request.query.get("compress", "")
        self.compressions.append(compression)
        conn = _Connection(ws, self._compressor(compression))
        self._ws, self._current = ws, conn
        await self._send_to(conn, {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                self.heartbeats += 1
                await self._send_to(conn, {"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                shard = int((payload["d"].get("shard") or [0, 1])[0])
                holder = self._shards.get(shard)
                if holder is not None and holder is not conn and not holder.ws.closed:
                    self.rejected_identifies.append(payload["d"])
                    await ws.close(code=4005, message=b"shard already connected")
                    break
                self.identifies.append(payload["d"])
                conn.shard = shard
                self._shards[shard] = conn
                await self._identify(conn, payload["d"])
            elif op == 6:
                self.resumes += 1
                conn.shard = int(str(payload["d"]["session_id"]).rpartition("-")[2])  # fake-session-<shard>
                self._shards[conn.shard] = conn
                await self._dispatch_to(conn, "RESUMED", {})
                self.ready.set()
        return ws

    @staticmethod
    def _compressor(kind: str) -> Callable[[bytes], bytes] | None:
        if kind == "zlib-stream":
            stream = zlib.compressobj()
            return lambda data: stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)
        if kind == "zstd-stream" and zstandard is not None:
            zstream = zstandard.ZstdCompressor().compressobj()
            return lambda data: zstream.compress(data) + zstream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return None

    @staticmethod
    async def _send_to(conn: _Connection, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        if conn.compress is not None:
            await conn.ws.send_bytes(conn.compress(raw))
        else:
            await conn.ws.send_str(raw.decode())

    async def _dispatch_to(self, conn: _Connection, event: str, data: dict[str, Any]) -> None:
        conn.seq += 1
        await self._send_to(conn, {"op": 0, "t": event, "s": conn.seq, "d": data})

    def connection_for(self, guild_id: int | None) -> _Connection:
        """The connection that owns the guild's shard (the latest connection when not sharded)."""
        if self.shard_count > 1 and guild_id is not None:
            return self._shards[shard_of(guild_id, self.shard_count)]
        assert self._current is not None
        return self._current

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        guild = data.get("guild_id")
        await self._dispatch_to(self.connection_for(int(guild) if guild else None), event, data)

    def _guilds_of(self, shard: int) -> list[int]:
        return [g for g in self.guild_ids if self.shard_count == 1 or shard_of(g, self.shard_count) == shard]

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        guilds = self._guilds_of(conn.shard or 0)
        await self._dispatch_to(
            conn,
            "READY",
            {
                "v": 10,
                "user": BOT_USER,
                "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
                "session_id": f"fake-session-{conn.shard or 0}",
                "resume_gateway_url": self.gateway_url,
                "shard": data.get("shard", [0, 1]),
                "application": {"id": str(APP_ID), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
            },
        )
        for guild_id in guilds:
            await self._dispatch_to(conn, "GUILD_CREATE", self.guild(guild_id))
        self.ready.set()
        async with self._changed:
            self._changed.notify_all()

    async def wait_shards(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` shards have identified (each process of a cluster identifies for its own)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self._shards) >= count), timeout)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the gateway mid-session, as Discord does now and then; the bot must resume."""
        self.ready.clear()
        assert self._ws is not None
        await self._ws.close(code=code, message=b"fake outage")

    @staticmethod
    def guild(guild_id: int = GUILD_ID) -> dict[str, Any]:
        everyone = {
            "id": str(guild_id),
            "name": "@everyone",
            "permissions": MEMBER_PERMISSIONS,
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(guild_id),
            "name": "Crypto Club",
            "icon": None,
            "owner_id": str(USER_ID + 99),
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 2,
            "members": [],
            "channels": [
                {
                    "id": str(CHANNEL_ID),
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": str(guild_id),
                }
            ],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "large": False,
            "unavailable": False,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "premium_tier": 0,
            "nsfw_level": 0,
            "preferred_locale": "en-US",
            "afk_timeout": 300,
            "joined_at": TIMESTAMP,
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # ------------------------------------------------------------------ driving interactions

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        locale: str,
        user_id: int,
        permissions: str,
        message: dict[str, Any] | None = None,
        guild_id: int = GUILD_ID,
    ) -> tuple[str, dict[str, Any]]:
        token = f"tok-{self.next_id()}"
        payload: dict[str, Any] = {
            "id": self.next_id(),
            "application_id": str(APP_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild_id),
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID),
                "type": 0,
                "name": "general",
                "guild_id": str(guild_id),
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            },
            "locale": locale,
            "guild_locale": "en-US",
            "member": {
                "user": user(user_id),
                "roles": [],
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": permissions,
                "nick": None,
                "avatar": None,
                "pending": False,
            },
            "app_permissions": ADMIN_PERMISSIONS,
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(guild_id)},
            "attachment_size_limit": 10_485_760,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        return token, payload

    async def command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        locale: str = "en-US",
        user_id: int | None = None,
        permissions: str = MEMBER_PERMISSIONS,
        guild_id: int = GUILD_ID,
    ) -> str:
        """Send a slash command (to the shard that owns guild_id); returns the interaction token to wait on."""
        opts = [{"name": k, "type": 5 if isinstance(v, bool) else 3, "value": v} for k, v in (options or {}).items()]
        data = {"id": self.next_id(), "name": name, "type": 1, "options": opts}
        token, payload = self._interaction(
            2, data, locale=locale, user_id=user_id or self.user_id, permissions=permissions, guild_id=guild_id
        )
        self.dispatched_at[token] = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    async def autocomplete(self, name: str, options: dict[str, str], focused: str, *, locale: str = "en-US") -> str:
        opts = [
            {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
            for k, v in options.items()
        ]
        data = {"id": self.next_id(), "name": name, "type": 1, "options": opts}
        token, payload = self._interaction(4, data, locale=locale, user_id=self.user_id, permissions=MEMBER_PERMISSIONS)
        self.dispatched_at[token] = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    async def click(
        self, on_token: str, custom_id: str, *, values: list[str] | None = None, locale: str = "en-US"
    ) -> str:
        """Click a component of the message that interaction `on_token` produced."""
        message = self.messages[on_token]
        component_type = 3 if values is not None else 2
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        token, payload = self._interaction(
            3, data, locale=locale, user_id=self.user_id, permissions=MEMBER_PERMISSIONS, message=message
        )
        self.messages[token] = message  # an update edits this same message
        self.dispatched_at[token] = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    def forget(self, tokens: list[str]) -> None:
        """Drop what was kept for these interactions (long benchmark runs would otherwise grow without bound)."""
        for token in tokens:
            self.replies.pop(token, None)
            self.messages.pop(token, None)
            self.dispatched_at.pop(token, None)

    def latency(self, token: str, reply: Reply) -> float:
        """Seconds from dispatching the interaction to receiving this reply."""
        return reply.received_at - self.dispatched_at[token]

    async def wait_reply(self, token: str, *, final: bool = True, timeout: float = 10.0) -> Reply:
        """The bot's answer for an interaction: after a defer, the edit or follow-up that completes it."""

        def done() -> Reply | None:
            for reply in self.replies.get(token, []):
                if reply.kind == "callback" and reply.body.get("type") in (5, 6) and final:
                    continue  # a defer: keep waiting for the real content
                return reply
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: done() is not None), timeout)
        result = done()
        assert result is not None
        return result
