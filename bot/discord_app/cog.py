"""The slash commands: thin glue from Discord options to the core's requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.allocation import AllocationError, parse_allocation
from bot.discord_app.ratelimit import UserRateLimiter
from bot.discord_app.translator import key_str
from bot.facts import STANCES, Facts, Lang
from bot.formatting import money, percent
from bot.inflow import Pool, inflow_usd, pool_fact
from bot.requests import LANGUAGE_CHOICES, Command, Topic

if TYPE_CHECKING:
    from bot.discord_app.client import K401Bot

F = TypeVar("F", bound=Callable[..., Any])
COOLDOWN_RATE, COOLDOWN_SECONDS = 5, 30.0
LIMITER = UserRateLimiter(COOLDOWN_RATE, COOLDOWN_SECONDS)  # shared by every command: 5 commands per user per 30 s
ALLOCATION_SUGGESTIONS = ("1%", "2%", "5%", "10%", "1-5%", "0.5%")


def _describe(**options: str) -> Callable[[F], F]:
    return cast(
        Callable[[F], F],
        app_commands.describe(**{k: key_str(v, f"option_descriptions.{k}") for k, v in options.items()}),
    )


def _rename(*names: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], app_commands.rename(**{n: key_str(n, f"option_names.{n}") for n in names}))


def _choices(group: str, values: tuple[str, ...], english: dict[str, str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=key_str(english[v], f"{group}.{v}"), value=v) for v in values]


_TOPIC_NAMES = {
    "overview": "Overview",
    "rules": "How a 401(k) works",
    "scale": "How big the money is",
    "order": "The executive order",
    "channels": "How crypto would get in",
    "impact": "Market reaction and impact",
    "risks": "Risks and open questions",
    "timeline": "Timeline: before and after the order",
}
_POOL_NAMES = {"401k": "401(k) plans", "dc": "All DC plans", "retirement": "All US retirement assets"}
_STANCE_NAMES = {"supportive": "Supportive", "cautious": "Cautious", "critical": "Critical"}
_LANGUAGE_NAMES = {
    "en": "English",
    "zh-TW": "繁體中文 (Traditional Chinese)",
    "zh-CN": "简体中文 (Simplified Chinese)",
    "auto": "Automatic (from your Discord language)",
}


class AnswersCog(commands.Cog):
    def __init__(self, bot: K401Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="401k", description=key_str("What a 401(k) is and what the 7 Aug 2025 order could change", "commands.401k")
    )
    @_rename("topic")
    @_describe(topic="Which part to explain (default: overview)")
    @app_commands.choices(topic=_choices("topics", tuple(Topic), _TOPIC_NAMES))
    @LIMITER.check()
    async def k401(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await self.bot.run_command(interaction, Command.K401, {"topic": topic})

    @app_commands.command(
        name="inflow", description=key_str("Estimate new crypto buying if retirement money moves in", "commands.inflow")
    )
    @_rename("allocation", "pool")
    @_describe(
        allocation="Share of the pool moving into crypto, e.g. 2%, 0.5% or 1-5%",
        pool="Which retirement money (default: 401(k) plans)",
    )
    @app_commands.choices(pool=_choices("pools", tuple(Pool), _POOL_NAMES))
    @LIMITER.check()
    async def inflow(
        self,
        interaction: discord.Interaction[Any],
        allocation: app_commands.Range[str, 1, 32],
        pool: str | None = None,
    ) -> None:
        await self.bot.run_command(interaction, Command.INFLOW, {"allocation": allocation, "pool": pool}, defer=True)

    @inflow.autocomplete("allocation")
    async def allocation_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return allocation_choices(self.bot.core.facts, current, await self.bot.resolve_lang(interaction))

    @app_commands.command(
        name="opinions", description=key_str("What analysts say about the order, by stance", "commands.opinions")
    )
    @_rename("stance", "analyst")
    @_describe(stance="Only views with this stance", analyst="One analyst's full quote")
    @app_commands.choices(stance=_choices("stances", STANCES, _STANCE_NAMES))
    @LIMITER.check()
    async def opinions(
        self,
        interaction: discord.Interaction[Any],
        stance: str | None = None,
        analyst: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        await self.bot.run_command(interaction, Command.OPINIONS, {"stance": stance, "analyst": analyst})

    @opinions.autocomplete("analyst")
    async def analyst_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return analyst_choices(self.bot.core.facts, current)

    @app_commands.command(
        name="sources", description=key_str("Every figure with its source and date", "commands.sources")
    )
    @LIMITER.check()
    async def sources(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.run_command(interaction, Command.SOURCES, {})

    @app_commands.command(
        name="language", description=key_str("Choose the language of the bot's answers to you", "commands.language")
    )
    @_rename("language", "server")
    @_describe(
        language="Your language for answers (leave empty to see the current one)",
        server="Set the server default instead (needs Manage Server)",
    )
    @app_commands.choices(language=_choices("languages", LANGUAGE_CHOICES, _LANGUAGE_NAMES))
    @LIMITER.check()
    async def language(
        self, interaction: discord.Interaction[Any], language: str | None = None, server: bool = False
    ) -> None:
        await self.bot.set_language(interaction, language, server=server)


def allocation_choices(facts: Facts, current: str, language: Lang) -> list[app_commands.Choice[str]]:
    """What the user typed, if it parses, with a preview of the 401(k) figure; then well-formed examples."""
    values: list[str] = []
    typed = current.strip()[:32]
    if typed:
        try:
            parse_allocation(typed)
            values.append(typed)
        except AllocationError:
            pass
    values += [s for s in ALLOCATION_SUGGESTIONS if s not in values and (not typed or s.startswith(typed[:1]))]
    if len(values) < 2:
        values += [s for s in ALLOCATION_SUGGESTIONS if s not in values]
    pool = pool_fact(facts, Pool.K401).amount
    choices = []
    for value in values[:25]:
        allocation = parse_allocation(value)
        low, high = (money(inflow_usd(p, pool), language) for p in (allocation.low, allocation.high))
        amount = low if low == high else f"{low}–{high}"
        shown = value if allocation.is_range else percent(allocation.low, language, max_fraction_digits=4)
        choices.append(app_commands.Choice(name=f"{shown} → {amount} (401(k))"[:100], value=value))
    return choices


def analyst_choices(facts: Facts, current: str) -> list[app_commands.Choice[str]]:
    needle = current.strip().lower()
    return [
        app_commands.Choice(name=f"{o.name.en} — {o.organisation.en}"[:100], value=o.id)
        for o in facts.opinions
        if not needle or needle in o.name.en.lower() or needle in o.organisation.en.lower() or needle in o.id
    ][:25]
