"""POST /interactions and GET /healthz on aiohttp.web.

Order of checks for an interaction: size (413) -> signature and timestamp (401) -> JSON (400) -> an interaction id
already received, a replay (409) -> shape (400) -> handler.
Nothing is parsed, and nothing touches the store, before the signature is verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from bot.http.replay import ReplayGuard
from bot.http.signature import SignatureVerifier
from bot.http.webhooks import Webhooks
from bot.http.wire import Body, ReplyBodies, json_body
from bot.interactions import (
    BadInteraction,
    Delivery,
    Interaction,
    InteractionHandler,
    Outcome,
    delivery_of,
    from_payload,
)
from bot.store import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # 1 MiB
HEALTH_TIMEOUT_SECONDS = 2.0
HEALTH_PROBE_KEY = "http_health_probe"


def _response(body: Body, status: int = 200) -> web.Response:
    return web.Response(body=body.data, status=status, headers={"Content-Type": body.content_type})


def _error(status: int, message: str) -> web.Response:
    return _response(json_body({"error": message}), status)


class InteractionServer:
    def __init__(
        self,
        handler: InteractionHandler,
        verifier: SignatureVerifier,
        webhooks: Webhooks,
        store: Store,
        replays: ReplayGuard | None = None,
    ) -> None:
        self.handler = handler
        self.replays = replays or ReplayGuard(store)
        self.verifier = verifier
        self.webhooks = webhooks
        self.store = store
        self.bodies = ReplyBodies()
        self.draining = False
        self.requests_in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._deferred: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/interactions", self.interactions)
        app.router.add_get("/healthz", self.healthz)
        return app

    # ------------------------------------------------------------------ interactions

    async def interactions(self, request: web.Request) -> web.Response:
        self.requests_in_flight += 1
        self._idle.clear()
        try:
            return await self._interaction(request)
        finally:
            self.requests_in_flight -= 1
            if self.requests_in_flight == 0:
                self._idle.set()

    async def _interaction(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, "body over 1 MiB")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "body over 1 MiB")
        headers = request.headers
        if not self.verifier.verify(headers.get("X-Signature-Timestamp"), headers.get("X-Signature-Ed25519"), raw):
            return _error(401, "invalid request signature")
        try:
            body = json.loads(raw)
            if not await self.replays.first_time(body):
                return _error(409, "interaction already received")
            interaction = from_payload(body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and BadInteraction are ValueErrors
            reason = str(exc) if isinstance(exc, BadInteraction) else "body is not JSON"
            return _error(400, reason)
        outcome = await self.handler.handle(interaction)
        if outcome.final is not None:
            self._finish_later(interaction, outcome)
        return _response(self.bodies.callback(outcome.reply))

    def _finish_later(self, interaction: Interaction, outcome: Outcome) -> None:
        task = asyncio.ensure_future(self._finish(interaction, outcome))
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    async def _finish(self, interaction: Interaction, outcome: Outcome) -> None:
        """The real answer after a deferral: edit the original message, or (an error after a deferred component
        update) an ephemeral follow-up, leaving the clicked message as it was."""
        assert outcome.final is not None
        try:
            final = await outcome.final
            if delivery_of(outcome.reply, final) is Delivery.FOLLOW_UP:
                delivered = await self.webhooks.follow_up(interaction, final)
            else:
                delivered = await self.webhooks.edit_original(interaction, final)
            if not delivered:
                log.warning("a deferred answer could not be delivered to Discord")
        except Exception:
            log.exception("finishing a deferred interaction failed")

    # ------------------------------------------------------------------ health

    async def healthz(self, request: web.Request) -> web.Response:
        status: dict[str, Any] = {"status": "ok", "store": "ok", "in_flight": self.requests_in_flight}
        if self.draining:
            status.update(status="draining")
        elif not await self._store_answers():
            status.update(status="unavailable", store="unavailable")
        return _response(json_body(status), 200 if status["status"] == "ok" else 503)

    async def _store_answers(self) -> bool:
        """A real read through the store (reads that swallow errors would say "ok" with the database gone)."""
        if not self.store.available:
            return False
        try:
            problem = await asyncio.wait_for(self.store.check(), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            return False
        return problem is None

    # ------------------------------------------------------------------ shutdown

    async def drain(self, timeout: float) -> int:
        """Wait (at most `timeout` s) for requests in flight and deferred answers; returns how many were left."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        pending = set(self._deferred)
        if pending:
            log.info("waiting for %d deferred answer(s)", len(pending))
            await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
        return self.requests_in_flight + sum(1 for t in self._deferred if not t.done())
