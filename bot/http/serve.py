"""`python -m bot serve`: the HTTP interactions endpoint as a process.

Start-up prints one line, `listening on http://HOST:PORT`, once the socket accepts (tests and scripts wait on it).
SIGTERM/SIGINT: stop accepting, finish requests and deferred answers in flight (bounded), close the store, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from bot.http.server import InteractionServer
from bot.http.signature import PublicKeyError, SignatureVerifier, load_public_key
from bot.http.webhooks import Webhooks
from bot.infra.cooldown import cooldown_for
from bot.infra.services import SharedStoreUnreachable, open_services
from bot.infra.settings import Settings
from bot.interactions import DRAIN_SECONDS, InteractionHandler

log = logging.getLogger(__name__)


async def serve(settings: Settings, host: str, port: int, *, drain_seconds: float = DRAIN_SECONDS) -> int:
    verifier = SignatureVerifier(load_public_key(settings.discord_public_key))
    # Replicas must not answer from private, divergent state: a configured but unreachable PostgreSQL is fatal.
    async with open_services(settings, require_shared_store=True) as services:
        handler = InteractionHandler(services.core, services.store, cooldown_for(services.store))
        webhooks = Webhooks(services.session, str(settings.discord_api_url))
        server = InteractionServer(handler, verifier, webhooks, services.store)
        runner = web.AppRunner(server.app(), access_log=None, handle_signals=False, shutdown_timeout=drain_seconds)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = [s.getsockname() for s in (getattr(site._server, "sockets", None) or [])]
        actual_port = bound[0][1] if bound else port
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        gc.freeze()  # start-up objects live for the whole run: keep full collections from re-scanning them
        print(f"listening on http://{host}:{actual_port}", flush=True)
        log.info("serving interactions on http://%s:%d/interactions", host, actual_port)
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
