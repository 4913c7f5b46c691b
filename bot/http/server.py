"""POST /interactions and GET /healthz on aiohttp.web.

Order of checks for an interaction: Content-Encoding (415) -> size (413) -> body within BODY_SECONDS (408) ->
signature and timestamp (401) -> JSON (400) -> an interaction id already received, a replay (409) -> shape (400) ->
past Discord's acknowledgement deadline by its id's own time, dropped unanswered (503) -> handler. Nothing is
parsed or decompressed, and nothing touches the store, before the signature is verified.
Refusals and broken connections are one rate-limited log line each (bot.http.limits), never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.http.limits import BODY_SECONDS, FaultLog, one_line
from bot.http.replay import ReplayGuard
from bot.http.signature import SignatureVerifier
from bot.http.webhooks import DELIVERY_SECONDS, Webhooks
from bot.http.wire import Body, ReplyBodies, json_body
from bot.interactions import (
    BadInteraction,
    Delivery,
    Interaction,
    InteractionHandler,
    Kind,
    Outcome,
    delivery_of,
    from_payload,
)
from bot.interactions.deadline import too_late
from bot.store import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # 1 MiB
HEALTH_TIMEOUT_SECONDS = 2.0
HEALTH_PROBE_KEY = "http_health_probe"


def _response(body: Body, status: int = 200) -> web.Response:
    return web.Response(body=body.data, status=status, headers={"Content-Type": body.content_type})


def _error(status: int, message: str) -> web.Response:
    return _response(json_body({"error": message}), status)


def _snowflake(body: Any) -> int:
    """The interaction's id as a number (0, which carries no plausible time, when it is not one)."""
    raw = body.get("id") if isinstance(body, dict) else None
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) <= 20 else 0


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
        self.faults = FaultLog(log)
        self.working: set[object] = set()  # connections serving a verified interaction: never closed to make room
        self.dropped_late = 0  # interactions dropped unanswered: they arrived past the acknowledgement deadline

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/interactions", self.interactions)
        app.router.add_get("/healthz", self.healthz)
        return app

    # ------------------------------------------------------------------ interactions

    async def interactions(self, request: web.Request) -> web.Response:
        self.requests_in_flight += 1
        try:
            return await self._interaction(request)
        finally:
            self.requests_in_flight -= 1
            if request.protocol in self.working:
                self.working.discard(request.protocol)
                if not self.working:
                    self._idle.set()

    async def _interaction(self, request: web.Request) -> web.Response:
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", ""):
            # Discord never compresses interaction bodies; decompressing a stranger's gzip bomb costs seconds of CPU.
            self.faults.note("compressed request refused (415)", f"Content-Encoding {one_line(encoding)}")
            return _error(415, "Content-Encoding must be identity")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, "body over 1 MiB")
        raw = await self._read_body(request)
        if isinstance(raw, web.Response):
            return raw
        headers = request.headers
        if not self.verifier.verify(headers.get("X-Signature-Timestamp"), headers.get("X-Signature-Ed25519"), raw):
            return _error(401, "invalid request signature")
        self.working.add(request.protocol)  # a verified interaction: the drain waits for it, the cap spares it
        self._idle.clear()
        try:
            body = json.loads(raw)
            if not await self.replays.first_time(body):
                return _error(409, "interaction already received")
            interaction = from_payload(body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and BadInteraction are ValueErrors
            reason = str(exc) if isinstance(exc, BadInteraction) else "body is not JSON"
            return _error(400, reason)
        if interaction.kind is not Kind.PING and too_late(_snowflake(body), time.time()):
            return self._drop_late(interaction)
        outcome = await self.handler.handle(interaction)
        if outcome.final is not None:
            self._finish_later(interaction, outcome)
        return _response(self.bodies.callback(outcome.reply))

    def _drop_late(self, interaction: Interaction) -> web.Response:
        """An interaction past its acknowledgement deadline (a backlog under overload): Discord has already shown
        the user "did not respond" and discards whatever we send, so the handler never runs. 503 rather than a
        callback: no reply body would be read, a 5xx is honest that the cause is ours (we fell behind) and shows in
        proxies' error rates, and a POST is not retried by proxies; a retry would meet the replay guard's 409."""
        self.dropped_late += 1
        if interaction.kind is not Kind.AUTOCOMPLETE:  # autocomplete is never in the interaction metrics
            self.handler.metrics.record_dropped_late(interaction.name or "component")
        self.faults.note(
            "overloaded: an interaction arrived past its acknowledgement deadline; dropped (503)",
            f"{self.dropped_late} dropped so far",
        )
        return _error(503, "interaction past its acknowledgement deadline")

    async def _read_body(self, request: web.Request) -> bytes | web.Response:
        """The raw body, or the error response for a body that is too big, too slow, cut off or malformed."""
        try:
            return await asyncio.wait_for(request.read(), BODY_SECONDS)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "body over 1 MiB")
        except TimeoutError:
            self.faults.note(f"request body not received within {BODY_SECONDS:.0f} s (408)")
            return _error(408, "request body too slow")
        except ConnectionError:
            self.faults.note("client disconnected before sending the whole body")
            return _error(400, "incomplete body")
        except HttpProcessingError as exc:
            self.faults.note("malformed request body refused (400)", one_line(exc.message or exc))
            return _error(400, "malformed body")

    def _finish_later(self, interaction: Interaction, outcome: Outcome) -> None:
        deadline = time.monotonic() + DELIVERY_SECONDS  # the interaction token's life, counted from its arrival
        task = asyncio.ensure_future(self._finish(interaction, outcome, deadline))
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    async def _finish(self, interaction: Interaction, outcome: Outcome, deadline: float) -> None:
        """The real answer after a deferral: edit the original message, or (an error after a deferred component
        update) an ephemeral follow-up, leaving the clicked message as it was."""
        assert outcome.final is not None
        try:
            final = await outcome.final
            if delivery_of(outcome.reply, final) is Delivery.FOLLOW_UP:
                await self.webhooks.follow_up(interaction, final, deadline=deadline)
            else:  # (a final failure is logged once, by Webhooks)
                await self.webhooks.edit_original(interaction, final, deadline=deadline)
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
        """Wait (at most `timeout` s) for verified interactions in flight and deferred answers; returns how many were
        left. A request still sending its body is no interaction yet: it is not waited for."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        pending = set(self._deferred)
        if pending:
            log.info("waiting for %d deferred answer(s)", len(pending))
            await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
        return len(self.working) + sum(1 for t in self._deferred if not t.done())
