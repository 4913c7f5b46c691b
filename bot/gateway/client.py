"""The Discord bot: an AutoShardedBot over the shared core, with one error path and stateless components."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.build import new_error_id
from bot.answers.core import Core
from bot.gateway.adapter import GatewayTransport, is_unknown_interaction, neutral
from bot.gateway.objects import NO_MENTIONS
from bot.gateway.translator import LabelTranslator
from bot.infra.cooldown import Cooldown, cooldown_for
from bot.infra.health import HEARTBEAT_SECONDS, heartbeat_key
from bot.infra.metrics import Metrics
from bot.interactions import DRAIN_SECONDS, InteractionHandler, Kind, log_interaction
from bot.store import Store

log = logging.getLogger(__name__)

SYNC_HASH_KEY = "command_sync_hash"
COG_EXTENSION = "bot.gateway.cog"
SYNC_LEASE_SECONDS = 30.0


def intents() -> discord.Intents:
    """Nothing privileged: slash commands need no message content and no member list."""
    return discord.Intents(guilds=True)


class K401Tree(app_commands.CommandTree["K401Bot"]):
    """The error path for whatever escapes the handler (which answers its own errors): localised, ephemeral,
    a follow-up when already answered, and always the interaction's log line."""

    async def on_error(self, interaction: discord.Interaction[K401Bot], error: app_commands.AppCommandError) -> None:
        bot = interaction.client
        name = getattr(interaction.command, "name", "?")
        if is_unknown_interaction(getattr(error, "original", error)) and not interaction.response.is_done():
            bot.gateway.acks_late += 1  # past its deadline: an apology would fail the same way; never retried
            bot.gateway.count_late("Discord refused an acknowledgement as too late")
            return
        error_id = new_error_id()
        log.error("error %s in /%s", error_id, name, exc_info=getattr(error, "original", error))
        # The namespace iterates as (name, value) pairs; it is not a mapping.
        options = {k: v for k, v in interaction.namespace}
        neutral_interaction = neutral(interaction, Kind.COMMAND, name=name)
        try:
            await bot.gateway.send_error(interaction, await bot.handler.apology(neutral_interaction, error_id))
        finally:
            log_interaction(neutral_interaction, name, options, None, f"error:{error_id}")


class K401Bot(commands.AutoShardedBot):
    def __init__(
        self,
        core: Core,
        store: Store,
        *,
        cooldown: Cooldown | None = None,
        dev_guild_id: int | None = None,
        sync_on_start: bool = True,
        guild_ready_timeout: float = 2.0,
        drain_seconds: float = DRAIN_SECONDS,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # A gateway cluster: this process runs shard_ids of shard_count (None: discord.py decides, all shards).
        shards: dict[str, Any] = {"shard_count": shard_count, **({"shard_ids": shard_ids} if shard_ids else {})}
        super().__init__(
            **shards,
            command_prefix=commands.when_mentioned,  # no prefix commands; slash commands only
            intents=intents(),
            tree_cls=K401Tree,
            allowed_mentions=NO_MENTIONS,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            max_messages=None,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.core = core
        self.store = store
        self.dev_guild_id = dev_guild_id
        self.sync_on_start = sync_on_start
        self.drain_seconds = drain_seconds
        self.handler = InteractionHandler(core, store, cooldown or cooldown_for(store), metrics=metrics)
        self.handler.metrics.watch_gateway(
            lambda: [(shard_id, shard.latency) for shard_id, shard in self.shards.items()],
            lambda: sum(not shard.is_closed() for shard in self.shards.values()),
        )
        self.gateway = GatewayTransport(self.handler)
        self._heartbeats: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        await self.tree.set_translator(LabelTranslator(self.core.facts))
        await self.load_extension(COG_EXTENSION)
        self._heartbeats = asyncio.create_task(self._write_heartbeats(), name="k401-heartbeat")
        if self.sync_on_start:
            await self.sync_commands()
            if self.dev_guild_id:
                await self.sync_commands(guild_id=self.dev_guild_id)

    # ------------------------------------------------------------------ health

    def gateway_connected(self) -> bool:
        return self.is_ready() and any(not shard.is_closed() for shard in self.shards.values())

    async def _write_heartbeats(self) -> None:
        """`python -m bot health` reads this timestamp: the gateway was connected at that moment."""
        while not self.is_closed():
            if self.gateway_connected():
                await self.store.set_meta(heartbeat_key(self.shard_ids), str(time.time()))
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def on_ready(self) -> None:
        # Start-up objects (config, templates, discord.py state) live for the whole run: keep the collector
        # from re-scanning them on every full collection, which otherwise shows up as latency spikes.
        gc.freeze()
        await self.store.set_meta(heartbeat_key(self.shard_ids), str(time.time()))
        log.info("ready: %d guild(s), %d shard(s)", len(self.guilds), self.shard_count or 1)

    async def close(self) -> None:
        """Finish interactions in flight (bounded: deferred answers must not stay on "thinking…"), then close."""
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        if not self.is_closed():
            left = await self.gateway.drain(self.drain_seconds)
            if left:
                log.warning("closing with %d interaction(s) still running after %.0f s", left, self.drain_seconds)
        await super().close()

    # ------------------------------------------------------------------ command sync

    async def command_payload(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """The full payload a sync would send, translations included."""
        translator = self.tree.translator
        commands_ = self.tree.get_commands(guild=guild)
        if translator is None:
            return [c.to_dict(self.tree) for c in commands_]
        return [await c.get_translated_payload(self.tree, translator) for c in commands_]

    async def sync_commands(self, *, force: bool = False, guild_id: int | None = None) -> bool:
        """Sync only when the payload changed since the last sync (or when forced); True if it synced."""
        payload = await self.command_payload()
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        key = f"{SYNC_HASH_KEY}:{guild_id or 'global'}"
        # Processes starting together take turns; whoever comes second finds the hash already stored.
        async with self.store.lease(f"sync:{key}", SYNC_LEASE_SECONDS, wait_seconds=SYNC_LEASE_SECONDS):
            if not force and await self.store.get_meta(key) == digest:
                log.info("commands unchanged since the last sync; not syncing")
                return False
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
            await self.store.set_meta(key, digest)
        log.info("synced %d commands (%s)", len(payload), f"guild {guild_id}" if guild_id else "global")
        return True
