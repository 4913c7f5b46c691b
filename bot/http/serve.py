"""`python -m bot serve`: the HTTP interactions endpoint as a process.

Start-up prints one line, `listening on http://HOST:PORT`, once the socket accepts (tests and scripts wait on it).
SIGTERM/SIGINT: stop accepting, finish requests and deferred answers in flight, close the store, exit 0 — the whole
stop within STOP_SECONDS (one deadline: what the drain leaves unfinished is closed, not waited for again).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from bot.http.limits import (
    HEADER_SECONDS,
    ConnectionGuard,
    GuardedSite,
    ServerLog,
    accept_error_handler,
    connection_cap,
    open_file_limit,
)
from bot.http.server import InteractionServer
from bot.http.signature import PublicKeyError, SignatureVerifier, load_public_key
from bot.http.webhooks import Webhooks
from bot.infra.cooldown import cooldown_for
from bot.infra.metrics import start_metrics_server
from bot.infra.services import SharedStoreUnreachable, open_services
from bot.infra.settings import Settings
from bot.interactions import DRAIN_SECONDS, InteractionHandler

log = logging.getLogger(__name__)

STOP_SECONDS = DRAIN_SECONDS  # SIGTERM to exit (the one drain bound), documented in the README, below compose's 20 s
CLOSE_SECONDS = 1.0  # of which the last part: close connections still open, the outgoing session and the store
SERVE_DRAIN_SECONDS = STOP_SECONDS - CLOSE_SECONDS  # the interactions in flight get the rest


async def serve(
    settings: Settings, host: str, port: int, *, drain_seconds: float = STOP_SECONDS - CLOSE_SECONDS
) -> int:
    verifier = SignatureVerifier(load_public_key(settings.discord_public_key))
    # Replicas must not answer from private, divergent state: a configured but unreachable PostgreSQL is fatal.
    async with open_services(settings, require_shared_store=True) as services:
        metrics = services.metrics
        handler = InteractionHandler(services.core, services.store, cooldown_for(services.store), metrics=metrics)
        webhooks = Webhooks(services.session, str(settings.discord_api_url))
        server = InteractionServer(handler, verifier, webhooks, services.store)
        app = server.app()
        metrics_runner = None
        if settings.metrics_port is None:  # /metrics beside /interactions: the proxy forwards /interactions only
            app.router.add_get("/metrics", metrics.handle_metrics)
        else:
            metrics_runner, _ = await start_metrics_server(metrics, settings.metrics_host, settings.metrics_port)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(accept_error_handler(server.faults))
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=CLOSE_SECONDS / 2,  # the drain has already waited: close what is left
            keepalive_timeout=HEADER_SECONDS,  # headers within this long of connecting; idle keep-alive as long
            auto_decompress=False,  # a compressed body is refused (415), never inflated
            lingering_time=1.0,  # after a refusal, read what is still coming for at most 1 s, then close
            logger=ServerLog(server.faults),
        )
        await runner.setup()
        limit = open_file_limit()
        cap = connection_cap(limit)
        site = GuardedSite(
            runner, host, port, lambda s: ConnectionGuard(s, cap, server.faults, busy=server.working.__contains__)
        )
        await site.start()
        services.core.charts.warm_in_background()  # the worker's cold start must not fall on the first /inflow
        actual_port = site.port
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        gc.freeze()  # start-up objects live for the whole run: keep full collections from re-scanning them
        print(f"listening on http://{host}:{actual_port}", flush=True)
        log.info(
            "serving interactions on http://%s:%d/interactions (at most %d connections; open file limit %s)",
            host,
            actual_port,
            cap,
            limit if limit is not None else "unlimited",
        )
        await stop.wait()
        # From here on a repeated SIGTERM must not cut the drain short (the bound below still holds).
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("shutting down: finishing interactions in flight (at most %.0f s)", drain_seconds)
        server.draining = True
        await site.stop()  # stop accepting; requests already received go on
        left = await server.drain(drain_seconds)
        if left:
            log.warning("closing with %d interaction(s) unfinished after %.0f s", left, drain_seconds)
        await runner.cleanup()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
    log.info("stopped")
    return 0


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.http_host
    port = settings.http_port if args.port is None else args.port
    try:
        load_public_key(settings.discord_public_key)
    except PublicKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(settings, host, port))
    except SharedStoreUnreachable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
