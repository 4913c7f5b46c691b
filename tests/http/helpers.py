"""The real `python -m bot serve` process, signed requests to it, and Discord-shaped interaction payloads."""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nacl.signing import SigningKey

from tests.e2e.fake_discord import APP_ID, CHANNEL_ID, GUILD_ID, MEMBER_PERMISSIONS, TIMESTAMP, FakeDiscord, user
from tests.helpers import scrubbed_env

READY_PREFIX = "listening on "
_ids = itertools.count(1_500_000_000_000_000_000)


def next_id() -> int:
    return next(_ids)


# ---------------------------------------------------------------- payloads, shaped as Discord sends them


def interaction(
    kind: int,
    data: dict[str, Any] | None,
    *,
    locale: str = "en-US",
    user_id: int | None = None,
    permissions: str = MEMBER_PERMISSIONS,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(next_id()),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"tok-{next_id()}",
        "version": 1,
        "guild_id": str(GUILD_ID),
        "channel_id": str(CHANNEL_ID),
        "locale": locale,
        "guild_locale": "en-US",
        "member": {
            "user": user(user_id or next_id()),
            "roles": [],
            "joined_at": TIMESTAMP,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": permissions,
        },
        "app_permissions": MEMBER_PERMISSIONS,
        "entitlements": [],
        "context": 0,
    }
    if data is not None:
        payload["data"] = data
    if message is not None:
        payload["message"] = message
    return payload


def ping() -> dict[str, Any]:
    return {"id": str(next_id()), "application_id": str(APP_ID), "type": 1, "token": f"tok-{next_id()}", "version": 1}


def command(name: str, options: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    opts = [{"name": k, "type": 5 if isinstance(v, bool) else 3, "value": v} for k, v in (options or {}).items()]
    return interaction(2, {"id": str(next_id()), "name": name, "type": 1, "options": opts}, **kwargs)


def autocomplete(name: str, options: Mapping[str, str], focused: str, **kwargs: Any) -> dict[str, Any]:
    opts = [
        {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})} for k, v in options.items()
    ]
    return interaction(4, {"id": str(next_id()), "name": name, "type": 1, "options": opts}, **kwargs)


def message_from(data: dict[str, Any]) -> dict[str, Any]:
    """The message Discord keeps for an answer's `data` (what a click on it carries back)."""
    return {
        "id": str(next_id()),
        "channel_id": str(CHANNEL_ID),
        "type": 20,
        "content": data.get("content") or "",
        "embeds": data.get("embeds", []),
        "components": data.get("components", []),
        "flags": data.get("flags", 0),
        "timestamp": TIMESTAMP,
    }


def click(message: dict[str, Any], custom_id: str, *, values: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": 3 if values is not None else 2}
    if values is not None:
        data["values"] = values
    return interaction(3, data, message=message, **kwargs)


# ---------------------------------------------------------------- signing and posting


def sign(key: SigningKey, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    signature = key.sign(stamp.encode() + body).signature.hex()
    return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}


@dataclass
class Answer:
    """What the endpoint answered: status, the JSON body (payload_json for multipart) and any files."""

    status: int
    body: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)
    content_type: str = ""
    raw: bytes = b""

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.body.get("data") or {}
        return data

    @property
    def embed(self) -> dict[str, Any]:
        embeds: list[dict[str, Any]] = self.data.get("embeds") or []
        return embeds[0] if embeds else {}


async def read_answer(response: aiohttp.ClientResponse) -> Answer:
    if response.content_type.startswith("multipart/"):
        body: dict[str, Any] = {}
        files: list[tuple[str, bytes]] = []
        reader = aiohttp.MultipartReader.from_response(response)
        async for part in reader:
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                files.append((part.filename or "", bytes(await part.read())))
        return Answer(response.status, body, files, response.content_type)
    raw = await response.read()
    parsed = json.loads(raw) if response.content_type == "application/json" and raw else {}
    return Answer(response.status, parsed, [], response.content_type, raw)


# ---------------------------------------------------------------- the serve process


@dataclass
class Serve:
    """A running `python -m bot serve --port 0`, found ready by its `listening on` line (no sleeps)."""

    proc: asyncio.subprocess.Process
    url: str
    key: SigningKey
    session: aiohttp.ClientSession
    stderr: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None

    async def post(
        self,
        payload: Any,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: SigningKey | None = None,
        timestamp: str | None = None,
    ) -> Answer:
        raw = body if body is not None else json.dumps(payload).encode()
        sent = headers if headers is not None else sign(key or self.key, raw, timestamp)
        async with self.session.post(f"{self.url}/interactions", data=raw, headers=sent) as response:
            return await read_answer(response)

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.session.get(f"{self.url}/healthz") as response:
            return response.status, await response.json()

    async def stop(self, timeout: float = 30) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._drain is not None:
            await self._drain
        return code

    @property
    def log(self) -> str:
        return "".join(self.stderr)


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


# `python -m bot`, with `import discord` failing (a None entry in sys.modules makes any import of it raise).
SERVE_WITHOUT_DISCORD = (
    "import sys; sys.modules['discord'] = None; from bot.__main__ import main; sys.exit(main(sys.argv[1:]))"
)


async def start_serve(
    key: SigningKey,
    env: Mapping[str, str],
    session: aiohttp.ClientSession,
    *,
    cwd: Path,
    timeout: float = 60,
    open_files: int | None = None,
) -> Serve:
    """`python -m bot serve --port 0` in `cwd` (a test's temp folder: no .env there) with a scrubbed environment;
    `open_files` lowers its descriptor limit (RLIMIT_NOFILE), as a container's 1,024 would.

    discord.py is made unimportable in that process (SERVE_WITHOUT_DISCORD): every HTTP test is also the proof that
    the HTTP transport never needs it.
    """
    full_env = scrubbed_env(DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(), LOG_LEVEL="INFO", **env)

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVE_WITHOUT_DISCORD,
        "serve",
        "--port",
        "0",
        cwd=cwd,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=limit_files if open_files is not None else None,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr: list[str] = []
    drain = asyncio.ensure_future(_collect(proc.stderr, stderr))
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    if not line.startswith(READY_PREFIX):
        await proc.wait()
        await drain
        raise AssertionError(f"serve did not start: {line!r}\n{''.join(stderr)}")
    return Serve(proc, line[len(READY_PREFIX) :].strip(), key, session, stderr, drain)


@dataclass
class ServeAgainstFake:
    serve: Serve
    fake: FakeDiscord
    session: aiohttp.ClientSession
    exit_code: int | None = None  # set once the context is left (serve stopped with SIGTERM)


@asynccontextmanager
async def serve_against_fake(folder: Path) -> AsyncIterator[ServeAgainstFake]:
    """`serve` in `folder` with a SQLite file there, delivering deferred answers to a fresh loopback fake Discord.
    Leaving the context stops it (SIGTERM, exit code kept in `exit_code`) and closes the fake."""
    fake = FakeDiscord()
    await fake.start()
    env = {"BOT_DB_PATH": str(folder / "bot.sqlite3"), "BOT_DISCORD_API_URL": fake.api_base}
    try:
        async with aiohttp.ClientSession() as session:
            run = ServeAgainstFake(await start_serve(SigningKey.generate(), env, session, cwd=folder), fake, session)
            try:
                yield run
            finally:
                run.exit_code = await run.serve.stop()
    finally:
        await fake.close()
