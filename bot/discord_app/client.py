"""The Discord bot: an AutoShardedBot over the shared core, with one error path and stateless components."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import math
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers import new_error_id
from bot.components import ComponentState
from bot.core import Core
from bot.discord_app.cog import AnswersCog
from bot.discord_app.components import AnswerButton, TopicSelect
from bot.discord_app.payload import NO_MENTIONS, build_files, send_kwargs
from bot.discord_app.translator import LabelTranslator
from bot.facts import Lang, parse_lang
from bot.health import HEARTBEAT_SECONDS, heartbeat_key
from bot.memo import LruCache
from bot.render import Answer
from bot.requests import Command, LanguageRequest, UserInputError, build_request, lang_from_locale
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

SYNC_HASH_KEY = "command_sync_hash"
SYNC_LEASE_SECONDS = 30.0


def intents() -> discord.Intents:
    """Nothing privileged: slash commands need no message content and no member list."""
    return discord.Intents(guilds=True)


def log_interaction(
    interaction: discord.Interaction[Any],
    command: str,
    options: dict[str, Any],
    started: float | None,
    outcome: str,
    *,
    cache_hit: bool | None = None,
) -> None:
    """One INFO line per interaction: what was asked, how fast, from the cache or not, how it ended."""
    if not log.isEnabledFor(logging.INFO):
        return
    shown_options = {k: v for k, v in options.items() if v is not None}
    fields = {
        "command": command,
        "options": shown_options,
        "locale": interaction.locale.value,
        "guild": interaction.guild_id,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        "cache": None if cache_hit is None else ("hit" if cache_hit else "miss"),
        "outcome": outcome,
    }
    shown = " ".join(f"{k}={v!r}" for k, v in shown_options.items())
    log.info(
        "/%s %s locale=%s %sms cache=%s outcome=%s",
        command,
        shown,
        fields["locale"],
        fields["latency_ms"],
        fields["cache"],
        outcome,
        extra={"fields": fields},
    )


def _without(kwargs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in keys}


class K401Tree(app_commands.CommandTree["K401Bot"]):
    """The one error path for slash commands: localised, ephemeral, follow-up when already answered."""

    async def on_error(self, interaction: discord.Interaction[K401Bot], error: app_commands.AppCommandError) -> None:
        bot = interaction.client
        lang = await bot.resolve_lang(interaction)
        name = getattr(interaction.command, "name", "?")
        if isinstance(error, app_commands.CommandOnCooldown):
            answer = bot.core.error(UserInputError("cooldown", seconds=math.ceil(error.retry_after)), lang)
            outcome = "cooldown"
        else:
            error_id = new_error_id()
            original = getattr(error, "original", error)
            log.error("error %s in /%s", error_id, name, exc_info=original)
            answer = bot.core.internal_error(lang, error_id)
            outcome = f"error:{error_id}"
        await bot.send(interaction, answer)
        log_interaction(interaction, name, dict(getattr(interaction, "namespace", {}) or {}), None, outcome)


class K401Bot(commands.AutoShardedBot):
    def __init__(
        self,
        core: Core,
        store: Store,
        *,
        dev_guild_id: int | None = None,
        sync_on_start: bool = True,
        guild_ready_timeout: float = 2.0,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
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
        self._heartbeats: asyncio.Task[None] | None = None
        # Built embeds and views of non-ephemeral answers, reused across sends (views here are fully dynamic).
        self._built: LruCache[str, dict[str, Any]] = LruCache(256, 3600.0)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(LabelTranslator(self.core.facts))
        await self.add_cog(AnswersCog(self))
        self.add_dynamic_items(AnswerButton, TopicSelect)
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
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        await super().close()

    # ------------------------------------------------------------------ language

    async def resolve_lang(self, interaction: discord.Interaction[Any], explicit: Lang | None = None) -> Lang:
        """Explicit choice > the user's /language > the server default > the Discord client's locale."""
        if explicit is not None:
            return explicit
        for saved in await self.store.get_languages(interaction.user.id, interaction.guild_id):
            lang = parse_lang(saved)
            if lang is not None:
                return lang
        return lang_from_locale(interaction.locale.value)

    # ------------------------------------------------------------------ answering

    async def send(
        self,
        interaction: discord.Interaction[Any],
        answer: Answer,
        *,
        edit: bool = False,
        image: bytes | None = None,
        key: str | None = None,
    ) -> None:
        """Answer, edit in place (edit=True, for components), or complete a deferred response.

        `key` (from the core's Response) lets a repeated answer reuse its embed and view; files are always new.
        """
        if key is not None and not answer.ephemeral:
            built = self._built.get(key)
            if built is None:
                built = send_kwargs(answer)
                self._built.put(key, built)
            kwargs = {**built, **({"files": build_files(answer, image)} if image is not None else {})}
        else:
            kwargs = send_kwargs(answer, image)
        response = interaction.response
        deferred_message = response.type is discord.InteractionResponseType.deferred_channel_message
        if edit and not response.is_done():
            await response.edit_message(
                **_without(kwargs, "ephemeral", "allowed_mentions", "files"), attachments=kwargs.get("files", [])
            )
        elif (edit or deferred_message) and response.is_done() and not answer.ephemeral:
            await interaction.edit_original_response(
                **_without(kwargs, "ephemeral", "files"), attachments=kwargs.get("files", [])
            )
        elif response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await response.send_message(**kwargs)

    async def run_command(
        self,
        interaction: discord.Interaction[Any],
        command: Command,
        options: dict[str, str | None],
        *,
        defer: bool = False,
    ) -> None:
        started = time.perf_counter()
        lang = await self.resolve_lang(interaction)
        try:
            request = build_request(command, options, self.core.facts)
        except UserInputError as exc:
            await self.send(interaction, self.core.error(exc, lang))
            log_interaction(interaction, command.value, options, started, f"input_error:{exc.code}")
            return
        response = self.core.peek(request, lang) if defer else None
        if response is None:
            if defer:  # market data and the chart may take a moment: acknowledge within Discord's 3 s
                await interaction.response.defer(thinking=True)
            response = await self.core.respond(request, lang)
        await self.send(interaction, response.answer, image=response.image, key=response.key)
        log_interaction(interaction, command.value, options, started, "answered", cache_hit=response.cache_hit)

    async def handle_component(
        self, interaction: discord.Interaction[Any], state: ComponentState, values: list[str]
    ) -> None:
        """A click: rebuild the request from the custom_id (plus a select's value) and re-render in place."""
        started = time.perf_counter()
        options: dict[str, str | None] = dict(state.options)
        if values:
            options["topic"] = values[0]
        name = f"{state.command.value}:component"
        try:
            try:
                request = build_request(state.command, options, self.core.facts)
            except UserInputError as exc:
                await self.send(interaction, self.core.error(exc, state.lang))
                log_interaction(interaction, name, options, started, f"input_error:{exc.code}")
                return
            response = self.core.peek(request, state.lang, page=state.page)
            if response is None:
                if state.command is Command.INFLOW:
                    await interaction.response.defer()
                response = await self.core.respond(request, state.lang, page=state.page)
            await self.send(interaction, response.answer, edit=True, image=response.image, key=response.key)
            log_interaction(interaction, name, options, started, "answered", cache_hit=response.cache_hit)
        except Exception:
            error_id = new_error_id()
            log.exception("error %s handling component %s", error_id, interaction.data)
            await self.send(interaction, self.core.internal_error(state.lang, error_id))
            log_interaction(interaction, name, options, started, f"error:{error_id}")

    async def set_language(self, interaction: discord.Interaction[Any], language: str | None, *, server: bool) -> None:
        current_lang = await self.resolve_lang(interaction)
        if server:
            perms = interaction.permissions  # resolved by Discord for this member in this channel
            if interaction.guild_id is None or not (perms.manage_guild or perms.administrator):
                await self.send(interaction, self.core.error(UserInputError("not_allowed"), current_lang))
                return
        scope, ident = ("guild", interaction.guild_id) if server else ("user", interaction.user.id)
        assert ident is not None
        if language is None:
            saved = await self.store.get_language(scope, ident)  # type: ignore[arg-type]
            answer = self.core.language_answer(LanguageRequest(None), current_lang, saved or "auto")
            await self.send(interaction, answer)
            return
        try:
            await self.store.set_language(scope, ident, None if language == "auto" else language)  # type: ignore[arg-type]
        except StoreUnavailable:
            await self.send(interaction, self.core.error(UserInputError("settings_unavailable"), current_lang))
            return
        new_lang = await self.resolve_lang(interaction)
        await self.send(interaction, self.core.language_answer(LanguageRequest(language), new_lang, language))

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
