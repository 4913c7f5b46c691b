"""`python -m bot run` / `sync`: start the bot with its services, close them cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

import discord

from bot.gateway.client import K401Bot
from bot.infra.metrics import start_metrics_server
from bot.infra.services import SharedStoreUnreachable, open_services
from bot.infra.settings import Settings

log = logging.getLogger(__name__)
_TOKEN_SHAPE = re.compile(r"^[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}$")


def token_problem(settings: Settings) -> str | None:
    """One clear line about a missing or malformed token (never echoing it), or None."""
    if not settings.has_token or settings.discord_token is None:
        return (
            "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in the environment or .env"
        )
    if not _TOKEN_SHAPE.match(settings.discord_token.get_secret_value().strip()):
        return (
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts); check for stray quotes or spaces"
        )
    return None


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value().strip()
    async with open_services(settings, require_shared_store=True) as services:
        syncing = args.command == "sync"
        bot = K401Bot(
            services.core,
            services.store,
            dev_guild_id=settings.dev_guild_id,
            sync_on_start=not syncing,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,
            metrics=services.metrics,
        )
        metrics_runner = None
        if settings.metrics_port is not None and not syncing:
            metrics_runner, _ = await start_metrics_server(
                services.metrics, settings.metrics_host, settings.metrics_port
            )
        async with bot:
            if syncing:
                await bot.login(token)
                synced = await bot.sync_commands(force=args.force, guild_id=args.guild)
                print("synced" if synced else "commands unchanged since the last sync (use --force to sync anyway)")
                return 0
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            services.core.charts.warm_in_background()  # the worker's cold start must not fall on the first /inflow
            runner = asyncio.create_task(bot.start(token))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # re-raise a login failure
            log.info("shutting down")
            await bot.close()
            stopper.cancel()
            if metrics_runner is not None:
                await metrics_runner.cleanup()
    return 0


def run_discord(settings: Settings, args: argparse.Namespace) -> int:
    problem = token_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(settings, args))
    except SharedStoreUnreachable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except discord.LoginFailure:
        print("Discord rejected DISCORD_TOKEN (401): reset the token in the developer portal", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("Discord refused the requested intents", file=sys.stderr)
        return 2
