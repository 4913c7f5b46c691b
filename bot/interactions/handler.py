"""The one interaction handler behind both transports (gateway and HTTP): an Interaction in, an Outcome out.

It owns what an answer depends on besides the core: the answer language (explicit > user preference > server
default > client locale), the `/language server:true` permission check, the per-user cooldown, which component may
change which message, deferral when an answer is slow, and the one log line per interaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from bot.answers.build import new_error_id
from bot.answers.components import SELECT_OPTION, ComponentState, decode
from bot.answers.core import Core
from bot.answers.core import Response as CoreResponse
from bot.answers.model import Answer
from bot.answers.requests import Command, LanguageRequest, UserInputError, build_request
from bot.domain.language import Lang, lang_from_locale, parse_lang
from bot.infra.cooldown import Cooldown
from bot.infra.logs import InteractionLine, emit
from bot.infra.metrics import Metrics
from bot.interactions.autocomplete import allocation_choices, analyst_choices, question_choices
from bot.interactions.model import Interaction, Kind, Outcome, Reply, ReplyKind
from bot.store import Preferences, Scope, StoreUnavailable

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 2.0  # Discord waits 3 s for the first response; past this, acknowledge and finish later
SLOW_COMMANDS = frozenset({Command.INFLOW})  # may wait on market data and a chart: defer at once unless in memory
COMPONENT_COMMANDS = frozenset(
    {Command.K401, Command.INFLOW, Command.OPINIONS, Command.SOURCES, Command.HELP, Command.FAQ}
)


@dataclass
class _Tally:
    """What log_interaction said about the interaction being handled: the metrics count the same outcome."""

    command: str = "other"
    outcome: str = "error:unlogged"
    cache_hit: bool | None = None


# Set in each interaction's own task context (handle()), so log_interaction can fill in that interaction's tally.
_tally: contextvars.ContextVar[_Tally | None] = contextvars.ContextVar("k401_interaction_tally", default=None)


def log_interaction(
    interaction: Interaction,
    command: str,
    options: Mapping[str, object],
    started: float | None,
    outcome: str,
    *,
    cache_hit: bool | None = None,
) -> None:
    """One INFO line per interaction: what was asked, how fast, from the cache or not, how it ended."""
    tally = _tally.get()
    if tally is not None:
        tally.command, tally.outcome, tally.cache_hit = command, outcome, cache_hit
    if not log.isEnabledFor(logging.INFO):
        return
    latency = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    cache = None if cache_hit is None else ("hit" if cache_hit else "miss")
    emit(log, InteractionLine(command, options, interaction.locale, interaction.guild_id, latency, cache, outcome))


class InteractionHandler:
    def __init__(
        self,
        core: Core,
        store: Preferences,
        cooldown: Cooldown,
        *,
        defer_after: float = DEFER_AFTER_SECONDS,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self.core = core
        self.store = store
        self.cooldown = cooldown
        self.defer_after = defer_after

    # ------------------------------------------------------------------ entry point

    async def handle(self, interaction: Interaction) -> Outcome:
        """Never raises: an unexpected failure becomes an ephemeral, localised apology with an error id.

        The work runs as a task. It answers directly if it finishes within `defer_after` seconds; it defers at once
        when it reaches a step known to be slow (a cold chart, market data); either way the task then makes the real
        reply, which the transport delivers after the deferral.
        """
        if interaction.kind is Kind.PING:
            return Outcome(Reply(ReplyKind.PONG))
        if interaction.kind is Kind.AUTOCOMPLETE:
            try:
                return Outcome(await self._autocomplete(interaction))
            except Exception:  # suggestions are a nicety: offer none rather than fail
                log.exception("autocomplete for /%s failed", interaction.name)
                return Outcome(Reply(ReplyKind.AUTOCOMPLETE))
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()  # done when the reply is made or must be deferred

        def wake(*_: object) -> None:
            if not ready.done():
                ready.set_result(None)

        if interaction.kind is Kind.COMPONENT:
            name, deferred, ephemeral = "component", ReplyKind.DEFERRED_UPDATE, False
            work = self._component(interaction, started, wake)
        else:
            name, deferred = interaction.name, ReplyKind.DEFERRED_MESSAGE
            ephemeral = interaction.name == Command.LANGUAGE.value
            work = self._command(interaction, started, wake)
        tally, context = _Tally(), contextvars.copy_context()
        context.run(_tally.set, tally)
        task = loop.create_task(self._guarded(interaction, name, started, work), context=context)
        # One turn of the loop lets the task take its first step: an answer already in memory is complete by then,
        # and needs no deferral timer or wake-up (the common, cached case).
        await asyncio.sleep(0)
        if task.done():
            return Outcome(self._count(tally, task, started, deferred=False))
        if not ready.done():  # not finished and not known to be slow: wait until done or defer_after has passed
            task.add_done_callback(wake)
            timer = loop.call_later(self.defer_after - (time.perf_counter() - started), wake)
            await ready
            timer.cancel()
            if task.done():
                return Outcome(self._count(tally, task, started, deferred=False))
        acked = time.perf_counter() - started
        task.add_done_callback(lambda t: self._count(tally, t, started, deferred=True, ack_seconds=acked))
        return Outcome(Reply(deferred, ephemeral=ephemeral), final=task)

    def _count(
        self, tally: _Tally, task: asyncio.Task[Reply], started: float, *, deferred: bool, ack_seconds: float = 0.0
    ) -> Reply:
        """The metrics of one interaction whose final reply is ready; returns that reply."""
        if task.cancelled():  # shutting down: nothing was answered
            return Reply(ReplyKind.MESSAGE)
        reply = task.result()
        final_seconds = time.perf_counter() - started
        lang = reply.answer.lang if reply.answer is not None else None
        self.metrics.record_interaction(
            tally.command,
            lang,
            tally.outcome,
            ack_seconds=ack_seconds if deferred else final_seconds,
            final_seconds=final_seconds,
            deferred=deferred,
        )
        self.metrics.record_cache(tally.cache_hit)
        return reply

    async def _guarded(
        self, interaction: Interaction, name: str, started: float, work: Coroutine[Any, Any, Reply]
    ) -> Reply:
        try:
            return await work
        except Exception:
            error_id = new_error_id()
            log.exception("error %s in /%s", error_id, name)
            log_interaction(interaction, name, {}, started, f"error:{error_id}")
            return self._message(await self.apology(interaction, error_id))

    async def apology(self, interaction: Interaction, error_id: str) -> Answer:
        """The "something went wrong" answer, in the language this interaction would have been answered in: used
        here and by a transport's own error path (whatever escapes the handler)."""
        return self.core.internal_error(await self._safe_lang(interaction), error_id)

    # ------------------------------------------------------------------ language

    async def resolve_lang(self, interaction: Interaction, explicit: Lang | None = None) -> Lang:
        """Explicit choice > the user's /language > the server default > the Discord client's locale."""
        if explicit is not None:
            return explicit
        return self._pick_lang(await self.store.get_languages(interaction.user_id, interaction.guild_id), interaction)

    @staticmethod
    def _pick_lang(saved: tuple[str | None, str | None], interaction: Interaction) -> Lang:
        """The user's saved language, else the server's, else the client's locale."""
        for value in saved:
            lang = parse_lang(value)
            if lang is not None:
                return lang
        return lang_from_locale(interaction.locale)

    async def _safe_lang(self, interaction: Interaction) -> Lang:
        try:
            return await self.resolve_lang(interaction)
        except Exception:  # the apology must not fail on the store that failed
            return lang_from_locale(interaction.locale)

    # ------------------------------------------------------------------ slash commands

    @staticmethod
    def _message(answer: Answer, response: CoreResponse | None = None) -> Reply:
        if response is None:
            return Reply(ReplyKind.MESSAGE, answer)
        return Reply(ReplyKind.MESSAGE, answer, response.image, response.key)

    async def _command(self, interaction: Interaction, started: float, slow: Callable[[], None]) -> Reply:
        if interaction.name == Command.LANGUAGE.value:
            return await self._language(interaction, started)
        options = {k: v for k, v in interaction.options.items() if isinstance(v, str)}
        lang, refused = await self._admit(interaction, interaction.name, options, started)
        if refused is not None:
            return refused
        try:
            try:
                command = Command(interaction.name)
            except ValueError:
                raise UserInputError("unknown_command", command=interaction.name) from None
            request = build_request(command, options, self.core.facts)
        except UserInputError as exc:
            log_interaction(interaction, interaction.name, options, started, f"input_error:{exc.code}")
            return self._message(self.core.error(exc, lang))
        response = self.core.peek(request, lang)
        if response is None:
            if command in SLOW_COMMANDS:
                slow()  # defer now rather than after defer_after
            response = await self.core.respond(request, lang)
        log_interaction(interaction, interaction.name, options, started, "answered", cache_hit=response.cache_hit)
        return self._message(response.answer, response)

    async def _admit(
        self, interaction: Interaction, name: str, options: Mapping[str, object], started: float
    ) -> tuple[Lang, Reply | None]:
        """The answer language and, if the user is over the cooldown, the refusal: one store round trip when the
        cooldown is kept in the store (read and count in one statement), else one read."""
        saved, wait = await self.cooldown.languages_and_retry_after(
            interaction.user_id, interaction.guild_id, self.store
        )
        lang = self._pick_lang(saved, interaction)
        if wait <= 0:
            return lang, None
        log_interaction(interaction, name, options, started, "cooldown")
        return lang, self._message(self.core.error(UserInputError("cooldown", seconds=math.ceil(wait)), lang))

    async def _language(self, interaction: Interaction, started: float) -> Reply:
        chosen = interaction.options.get("language")
        language = chosen if isinstance(chosen, str) else None
        server = interaction.options.get("server") is True
        options = {"language": language, "server": server or None}
        current_lang, refused = await self._admit(interaction, "language", options, started)
        if refused is not None:
            return refused
        try:
            request = build_request(Command.LANGUAGE, {"language": language or None}, self.core.facts)
            assert isinstance(request, LanguageRequest)
            if server and not interaction.can_manage_server():
                raise UserInputError("not_allowed")
        except UserInputError as exc:
            log_interaction(interaction, "language", options, started, f"input_error:{exc.code}")
            return self._message(self.core.error(exc, current_lang))
        scope: Scope = "guild" if server else "user"
        ident = interaction.guild_id if server and interaction.guild_id is not None else interaction.user_id
        if request.language is None:
            saved = await self.store.get_language(scope, ident)
            log_interaction(interaction, "language", options, started, "answered")
            return self._message(self.core.language_answer(request, current_lang, saved or "auto"))
        try:
            await self.store.set_language(scope, ident, None if request.language == "auto" else request.language)
        except StoreUnavailable:
            log_interaction(interaction, "language", options, started, "input_error:settings_unavailable")
            return self._message(self.core.error(UserInputError("settings_unavailable"), current_lang))
        new_lang = await self.resolve_lang(interaction)
        log_interaction(interaction, "language", options, started, "answered")
        return self._message(self.core.language_answer(request, new_lang, request.language))

    # ------------------------------------------------------------------ components

    async def _component(self, interaction: Interaction, started: float, slow: Callable[[], None]) -> Reply:
        """A click: rebuild the request from the custom_id (plus a select's value) and re-render in place."""
        state = decode(interaction.custom_id)
        if state is None or not self._belongs(state, interaction.message_custom_ids):
            return await self._stale(interaction, started)
        name = f"{state.command.value}:component"
        options: dict[str, str | None] = dict(state.options)
        if interaction.values:
            options[SELECT_OPTION.get(state.command, "topic")] = interaction.values[0]
        try:
            request = build_request(state.command, options, self.core.facts)
        except UserInputError as exc:
            log_interaction(interaction, name, options, started, f"input_error:{exc.code}")
            return self._message(self.core.error(exc, state.lang))
        response = self.core.peek(request, state.lang, page=state.page)
        if response is None:
            if state.command in SLOW_COMMANDS:
                slow()  # defer now rather than after defer_after
            response = await self.core.respond(request, state.lang, page=state.page)
        log_interaction(interaction, name, options, started, "answered", cache_hit=response.cache_hit)
        return Reply(ReplyKind.UPDATE, response.answer, response.image, response.key)

    @staticmethod
    def _belongs(state: ComponentState, message_custom_ids: tuple[str, ...]) -> bool:
        """A component may only change a message of its own kind: the command its id names must be the command
        of the answer it is attached to (whose own components say so). A forged id on another answer is refused."""
        if state.command not in COMPONENT_COMMANDS:
            return False
        kinds = {s.command for s in map(decode, message_custom_ids) if s is not None}
        return kinds == {state.command}

    async def _stale(self, interaction: Interaction, started: float) -> Reply:
        lang = await self.resolve_lang(interaction)  # the clicker's language, not what a foreign id claims
        log_interaction(interaction, "component", {"custom_id": interaction.custom_id}, started, "stale_component")
        return self._message(self.core.error(UserInputError("stale_component"), lang))

    # ------------------------------------------------------------------ autocomplete

    async def _autocomplete(self, interaction: Interaction) -> Reply:
        current = interaction.options.get(interaction.focused or "", "")
        current = current if isinstance(current, str) else ""
        if interaction.name == Command.INFLOW.value and interaction.focused == "allocation":
            lang = await self._safe_lang(interaction)
            return Reply(ReplyKind.AUTOCOMPLETE, choices=allocation_choices(self.core.facts, current, lang))
        if interaction.name == Command.OPINIONS.value and interaction.focused == "analyst":
            return Reply(ReplyKind.AUTOCOMPLETE, choices=analyst_choices(self.core.facts, current))
        if interaction.name == Command.FAQ.value and interaction.focused == "question":
            lang = await self._safe_lang(interaction)
            return Reply(ReplyKind.AUTOCOMPLETE, choices=question_choices(self.core.facts, current, lang))
        return Reply(ReplyKind.AUTOCOMPLETE)
