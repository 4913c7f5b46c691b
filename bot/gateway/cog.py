"""The slash commands: declarations for Discord (names, options, translations) and glue to the gateway transport.

Loaded as an extension (`bot.load_extension("bot.gateway.cog")`); each callback hands plain option values to the
transport-neutral handler through `bot.gateway`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.requests import LANGUAGE_CHOICES, Topic
from bot.discord_wire.components import looks_like_ours
from bot.domain.facts import STANCES
from bot.domain.inflow import Pool
from bot.gateway.translator import key_str

if TYPE_CHECKING:
    from bot.gateway.client import K401Bot

F = TypeVar("F", bound=Callable[..., Any])


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

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Clicks on our buttons and menus (the commands themselves arrive through the tree)."""
        if interaction.type is not discord.InteractionType.component or not isinstance(interaction.data, dict):
            return
        custom_id = interaction.data.get("custom_id")
        if isinstance(custom_id, str) and looks_like_ours(custom_id):
            raw_values = interaction.data.get("values")
            values = [v for v in raw_values if isinstance(v, str)] if isinstance(raw_values, list) else []
            await self.bot.gateway.component(interaction, custom_id, values)

    @app_commands.command(
        name="401k", description=key_str("What a 401(k) is and what the 7 Aug 2025 order could change", "commands.401k")
    )
    @_rename("topic")
    @_describe(topic="Which part to explain (default: overview)")
    @app_commands.choices(topic=_choices("topics", tuple(Topic), _TOPIC_NAMES))
    async def k401(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await self.bot.gateway.command(interaction, "401k", {"topic": topic})

    @app_commands.command(
        name="inflow", description=key_str("Estimate new crypto buying if retirement money moves in", "commands.inflow")
    )
    @_rename("allocation", "pool")
    @_describe(
        allocation="Share of the pool moving into crypto, e.g. 2%, 0.5% or 1-5%",
        pool="Which retirement money (default: 401(k) plans)",
    )
    @app_commands.choices(pool=_choices("pools", tuple(Pool), _POOL_NAMES))
    async def inflow(
        self,
        interaction: discord.Interaction[Any],
        allocation: app_commands.Range[str, 1, 32],
        pool: str | None = None,
    ) -> None:
        await self.bot.gateway.command(interaction, "inflow", {"allocation": allocation, "pool": pool})

    @inflow.autocomplete("allocation")
    async def allocation_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.bot.gateway.autocomplete(interaction, "inflow", "allocation", current)

    @app_commands.command(
        name="opinions", description=key_str("What analysts say about the order, by stance", "commands.opinions")
    )
    @_rename("stance", "analyst")
    @_describe(stance="Only views with this stance", analyst="One analyst's full quote")
    @app_commands.choices(stance=_choices("stances", STANCES, _STANCE_NAMES))
    async def opinions(
        self,
        interaction: discord.Interaction[Any],
        stance: str | None = None,
        analyst: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        await self.bot.gateway.command(interaction, "opinions", {"stance": stance, "analyst": analyst})

    @opinions.autocomplete("analyst")
    async def analyst_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.bot.gateway.autocomplete(interaction, "opinions", "analyst", current)

    @app_commands.command(
        name="sources", description=key_str("Every figure with its source and date", "commands.sources")
    )
    async def sources(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.gateway.command(interaction, "sources", {})

    @app_commands.command(
        name="language", description=key_str("Choose the language of the bot's answers to you", "commands.language")
    )
    @_rename("language", "server")
    @_describe(
        language="Your language for answers (leave empty to see the current one)",
        server="Set the server default instead (needs Manage Server)",
    )
    @app_commands.choices(language=_choices("languages", LANGUAGE_CHOICES, _LANGUAGE_NAMES))
    async def language(
        self, interaction: discord.Interaction[Any], language: str | None = None, server: bool = False
    ) -> None:
        await self.bot.gateway.command(interaction, "language", {"language": language, "server": server})

    @app_commands.command(
        name="faq",
        description=key_str(
            "What readers ask about their own money today, answered with dated sources", "commands.faq"
        ),
    )
    @_rename("question")
    @_describe(question="Which question (leave empty to see them all); type a word to search")
    async def faq(
        self, interaction: discord.Interaction[Any], question: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        await self.bot.gateway.command(interaction, "faq", {"question": question})

    @faq.autocomplete("question")
    async def question_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.bot.gateway.autocomplete(interaction, "faq", "question", current)


async def setup(bot: K401Bot) -> None:
    """Extension entry point (`bot.load_extension("bot.gateway.cog")`)."""
    await bot.add_cog(AnswersCog(bot))
