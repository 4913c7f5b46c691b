"""What keeps `serve` answering under hostile or broken clients: deadlines, a connection cap, one-line fault logs.

- Headers: a connection must deliver a request's headers within HEADER_SECONDS of connecting (or of its last
  response); an idle keep-alive connection is closed after the same time (aiohttp's keep-alive timer does both).
- Body: read within BODY_SECONDS, else 408. Any Content-Encoding but identity: 415 before a byte is decompressed
  (Discord never compresses interaction bodies; aiohttp's own decompression is switched off).
- Connections: at most `connection_cap()` open, below the process's descriptor limit (RLIMIT_NOFILE, read at
  start). At the cap a new connection makes room by closing the oldest one that is not serving a verified
  interaction, so 1,100 slow clients cannot keep Discord or the load balancer's /healthz out.
- Faults (malformed requests, bodies cut off, refused encodings, accept errors): one line each, at most one line per
  kind every FAULT_LOG_SECONDS, with the number held back; never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

HEADER_SECONDS = 10.0
BODY_SECONDS = 10.0
RESERVED_DESCRIPTORS = 192  # store, PostgreSQL pool, outgoing webhook connections, logs, a burst of accepts
MAX_CONNECTIONS = 10_000
MIN_CONNECTIONS = 16
FAULT_LOG_SECONDS = 10.0
DETAIL_CHARS = 80


def open_file_limit() -> int | None:
    """The soft RLIMIT_NOFILE of this process (None: unlimited)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def connection_cap(limit: int | None = None) -> int:
    """How many client connections may be open at once, with room left for everything else the process opens."""
    if limit is None:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, limit - RESERVED_DESCRIPTORS))


def one_line(text: object) -> str:
    """Untrusted text for a log line: printable ASCII only (escapes otherwise), shortened."""
    value = ascii(str(text))[1:-1]
    return value if len(value) <= DETAIL_CHARS else value[:DETAIL_CHARS] + "..."


class FaultLog:
    """One WARNING line per fault, at most one per kind every `interval` seconds; the next line says how many were
    held back. A flood of bad requests costs a line per kind per interval, not a traceback each."""

    def __init__(
        self, logger: logging.Logger, interval: float = FAULT_LOG_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def note(self, kind: str, detail: str = "") -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = self.clock()
        if now < self._next.get(kind, 0.0):
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._next[kind] = now + self.interval
        held = self._held.pop(kind, 0)
        more = f" (and {held} more in the last {self.interval:.0f} s)" if held else ""
        self.logger.warning("%s%s%s", kind, f": {detail}" if detail else "", more)


class ServerLog:
    """Stands in for aiohttp's server logger: what it would log as an exception with a traceback ("Error handling
    request" for a malformed request, "Unhandled exception") becomes one rate-limited fault line."""

    def __init__(self, faults: FaultLog) -> None:
        self.faults = faults

    def exception(self, msg: str, *args: Any, exc_info: Any = None, **_: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if msg.startswith("Error handling request") and exc is not None and _is_bad_request(exc):
            self.faults.note("malformed request refused (400)", one_line(getattr(exc, "message", None) or exc))
        elif exc is not None:
            self.faults.note("error while handling a connection", f"{type(exc).__name__}: {one_line(exc)}")
        else:
            self.faults.note("error while handling a connection", one_line(msg % args if args else msg))

    error = warning = exception

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass  # aiohttp's debug lines (a client that left early, a non-HTTP first line) are noise here

    info = debug

    def isEnabledFor(self, level: int) -> bool:  # the logging.Logger API
        return level >= logging.WARNING


def _is_bad_request(exc: BaseException) -> bool:
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(exc, HttpProcessingError)


def accept_error_handler(faults: FaultLog) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """A loop exception handler: asyncio's `socket.accept() out of system resource` (EMFILE and the like; it retries
    by itself a second later) becomes one rate-limited line instead of a traceback per attempt."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            faults.note("cannot accept connections", one_line(getattr(exc, "strerror", None) or exc))
            return
        loop.default_exception_handler(context)

    return handle


class ConnectionGuard:
    """The protocol factory for the listening socket: at the cap, close the oldest connection that is not serving a
    verified interaction before taking the new one (descriptors stay below the limit, so accept never fails)."""

    def __init__(self, server: web.Server, cap: int, faults: FaultLog, busy: Callable[[object], bool]) -> None:
        self.server = server
        self.cap = cap
        self.faults = faults
        self.busy = busy

    def __call__(self) -> asyncio.BaseProtocol:
        self._make_room()
        return self.server()

    def _make_room(self) -> None:
        connections = self.server.connections  # oldest first
        open_ = [c for c in connections if c.transport is not None and not c.transport.is_closing()]
        if len(open_) < self.cap:
            return
        for handler in open_:
            if not self.busy(handler):
                handler.force_close()
                self.faults.note(
                    f"connection cap ({self.cap}) reached: closing the oldest connection that has sent no verified "
                    "interaction"
                )
                return


class GuardedSite(web.BaseSite):
    """A TCP site like aiohttp's TCPSite, whose connections go through a ConnectionGuard."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: Callable[[web.Server], ConnectionGuard]):
        super().__init__(runner)
        self._host, self._port = host, port
        self._guard = guard
        self.port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard(server), self._host, self._port, backlog=self._backlog, reuse_address=True
        )
        sockets = self._server.sockets
        if sockets:
            self.port = sockets[0].getsockname()[1]
