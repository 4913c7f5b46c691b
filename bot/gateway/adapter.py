"""The gateway transport: discord.py interactions to the neutral handler and its replies back through discord.py.

Thin on purpose: what to answer is decided by bot.interactions; this module only converts and delivers. It also
tracks interactions in flight, so shutdown can let deferred answers finish (bounded) instead of leaving "thinking…".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands

from bot.answers.model import Answer
from bot.gateway.objects import NO_MENTIONS, build_embed, build_files, build_view
from bot.infra.memo import LruCache
from bot.interactions import (
    DRAIN_SECONDS,
    Delivery,
    Interaction,
    InteractionHandler,
    Kind,
    Outcome,
    Reply,
    ReplyKind,
    delivery_of,
)
from bot.interactions.deadline import too_late
from bot.interactions.model import OptionValue

log = logging.getLogger(__name__)

UNKNOWN_INTERACTION = 10062  # Discord's error code for an interaction past its acknowledgement deadline


def is_unknown_interaction(error: BaseException) -> bool:
    return isinstance(error, discord.NotFound) and error.code == UNKNOWN_INTERACTION


def message_custom_ids(message: discord.Message | None) -> tuple[str, ...]:
    """The custom_ids on the message a component is attached to (rows of buttons and selects)."""
    if message is None:
        return ()
    found: list[str] = []
    for component in message.components:
        for child in getattr(component, "children", None) or [component]:
            custom_id = getattr(child, "custom_id", None)
            if isinstance(custom_id, str):
                found.append(custom_id)
    return tuple(found)


def neutral(
    interaction: discord.Interaction[Any],
    kind: Kind,
    *,
    name: str = "",
    options: Mapping[str, OptionValue | None] | None = None,
    custom_id: str = "",
    values: tuple[str, ...] = (),
    focused: str | None = None,
) -> Interaction:
    """The plain-data Interaction the handler takes, from what discord.py parsed."""
    return Interaction(
        kind,
        name=name,
        custom_id=custom_id,
        options={k: v for k, v in (options or {}).items() if v is not None},
        values=values,
        focused=focused,
        locale=interaction.locale.value,
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        permissions=interaction.permissions.value,
        application_id=str(interaction.application_id),
        token=interaction.token,
        message_custom_ids=message_custom_ids(interaction.message) if kind is Kind.COMPONENT else (),
    )


class GatewayTransport:
    def __init__(self, handler: InteractionHandler) -> None:
        self.handler = handler
        # Built embeds and views of non-ephemeral answers, reused across sends (views here are fully dynamic).
        self._built: LruCache[str, tuple[discord.Embed, discord.ui.View]] = LruCache(256, 3600.0)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.dropped_late = 0  # interactions dropped unanswered: they arrived past the acknowledgement deadline
        self.acks_late = 0  # acknowledgements Discord refused as too late (counted, never retried)

    def count_late(self, what: str) -> None:
        """One line for the first and every 100th, not a traceback per interaction when the bot is behind."""
        total = self.dropped_late + self.acks_late
        if total == 1 or total % 100 == 0:
            log.warning(
                "overloaded: %s (%d dropped before any work, %d acknowledgements too late so far)",
                what,
                self.dropped_late,
                self.acks_late,
            )

    # ------------------------------------------------------------------ entry points (the cog and components)

    async def command(
        self, interaction: discord.Interaction[Any], name: str, options: Mapping[str, OptionValue | None]
    ) -> None:
        await self._run(interaction, neutral(interaction, Kind.COMMAND, name=name, options=options))

    async def component(self, interaction: discord.Interaction[Any], custom_id: str, values: list[str]) -> None:
        await self._run(interaction, neutral(interaction, Kind.COMPONENT, custom_id=custom_id, values=tuple(values)))

    async def autocomplete(
        self, interaction: discord.Interaction[Any], name: str, focused: str, current: str
    ) -> list[app_commands.Choice[str]]:
        options: dict[str, OptionValue | None] = {k: v for k, v in interaction.namespace if isinstance(v, str | bool)}
        options[focused] = current
        outcome = await self.handler.handle(
            neutral(interaction, Kind.AUTOCOMPLETE, name=name, options=options, focused=focused)
        )
        return [app_commands.Choice(name=n, value=v) for n, v in outcome.reply.choices]

    async def _run(self, interaction: discord.Interaction[Any], neutral_interaction: Interaction) -> None:
        if too_late(interaction.id, time.time()):
            self.dropped_late += 1
            self.handler.metrics.record_dropped_late(neutral_interaction.name or "component")
            self.count_late("an interaction arrived past its acknowledgement deadline; dropped")
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.deliver(interaction, await self.handler.handle(neutral_interaction))
        except discord.NotFound as exc:
            if not is_unknown_interaction(exc) or interaction.response.is_done():
                raise
            self.acks_late += 1  # Discord no longer knows it: nothing to retry, nobody to apologise to
            self.count_late("Discord refused an acknowledgement as too late")
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """Let interactions in flight finish (at most `timeout` seconds); returns how many were still running."""
        pending = {t for t in self._in_flight if not t.done() and t is not asyncio.current_task()}
        if not pending:
            return 0
        log.info("waiting for %d interaction(s) in flight", len(pending))
        _, still = await asyncio.wait(pending, timeout=timeout)
        return len(still)

    # ------------------------------------------------------------------ delivery

    @staticmethod
    def _build(answer: Answer) -> tuple[discord.Embed, discord.ui.View]:
        view = build_view(answer)
        # A stopped view still serialises its components, but discord.py does not keep it per message: clicks
        # reach the handler through the cog's listener, and nothing accumulates per message sent.
        view.stop()
        return build_embed(answer), view

    def _parts(self, reply: Reply) -> tuple[discord.Embed, discord.ui.View]:
        assert reply.answer is not None
        if reply.key is None or reply.answer.ephemeral:
            return self._build(reply.answer)
        built = self._built.get(reply.key)
        if built is None:
            built = self._build(reply.answer)
            self._built.put(reply.key, built)
        return built

    def _message_kwargs(self, reply: Reply) -> dict[str, Any]:
        answer: Answer | None = reply.answer
        assert answer is not None
        embed, view = self._parts(reply)
        kwargs: dict[str, Any] = {
            "embed": embed,
            "view": view,
            "allowed_mentions": NO_MENTIONS,
            "ephemeral": answer.ephemeral,
            "content": answer.content,
        }
        files = build_files(answer, reply.image)
        if files:
            kwargs["files"] = files
        return kwargs

    def _edit_kwargs(self, reply: Reply) -> dict[str, Any]:
        assert reply.answer is not None
        embed, view = self._parts(reply)
        return {
            "embed": embed,
            "view": view,
            "allowed_mentions": NO_MENTIONS,
            "content": reply.answer.content,
            "attachments": build_files(reply.answer, reply.image),
        }

    async def deliver(self, interaction: discord.Interaction[Any], outcome: Outcome) -> None:
        first = outcome.reply
        response = interaction.response
        match first.kind:
            case ReplyKind.MESSAGE:
                await response.send_message(**self._message_kwargs(first))
            case ReplyKind.UPDATE:
                await response.edit_message(**self._edit_kwargs(first))
            case ReplyKind.DEFERRED_MESSAGE:
                await response.defer(thinking=True, ephemeral=first.ephemeral)
            case ReplyKind.DEFERRED_UPDATE:
                await response.defer()
            case _:
                raise ValueError(f"the gateway does not send {first.kind!r} here")
        if outcome.final is None:
            return
        final = await outcome.final
        if delivery_of(first, final) is Delivery.FOLLOW_UP:
            await interaction.followup.send(**self._message_kwargs(final))  # an error: private, the message stays
        else:
            await interaction.edit_original_response(**self._edit_kwargs(final))

    async def send_error(self, interaction: discord.Interaction[Any], answer: Answer) -> None:
        """An apology from outside the handler (the tree's error path): a message, or a follow-up if answered."""
        kwargs = self._message_kwargs(Reply(ReplyKind.MESSAGE, answer))
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
