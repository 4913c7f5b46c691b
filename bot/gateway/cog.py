"""The slash commands, generated from config/commands.toml ([slash.*] and the labels), and glue to the transport.

Loaded as an extension (`bot.load_extension("bot.gateway.cog")`). Each command's callback hands its plain option
values to the transport-neutral handler through the gateway transport (bot.gateway.adapter); nothing here knows what
a command answers. Adding a command is a [slash.NAME] entry with its labels, and a case in the handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_wire.components import looks_like_ours
from bot.domain.facts import Labels, SlashCommand, SlashOption
from bot.gateway.translator import key_str

if TYPE_CHECKING:
    from bot.gateway.client import K401Bot

Callback = Callable[..., Coroutine[Any, Any, None]]


def _annotation(option: SlashOption) -> Any:
    if option.type == "boolean":
        return bool
    if option.max_length is not None:
        return app_commands.Range[str, 1, option.max_length]
    return str


def _parameter(option: SlashOption) -> inspect.Parameter:
    default: Any = inspect.Parameter.empty if option.required else (False if option.type == "boolean" else None)
    annotation = _annotation(option)
    if not option.required and option.type != "boolean":
        annotation = annotation | None
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def build_command(
    bot: K401Bot, name: str, declared: SlashCommand, labels: Labels
) -> app_commands.Command[Any, ..., None]:
    """One slash command: options, English texts with translation keys, choices and autocomplete from the config."""

    async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
        await bot.gateway.command(interaction, name, options)

    interaction_parameter = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # discord.py reads the signature
        [interaction_parameter, *(_parameter(o) for o in declared.options)]
    )
    callback.__qualname__ = callback.__name__ = f"slash_{name}"
    decorated: Any = callback
    for option in declared.options:
        texts = labels.option_names[option.name], labels.option_descriptions[option.name]
        decorated = app_commands.rename(**{option.name: key_str(texts[0].en, f"option_names.{option.name}")})(decorated)
        decorated = app_commands.describe(**{option.name: key_str(texts[1].en, f"option_descriptions.{option.name}")})(
            decorated
        )
        if option.choices is not None:
            group: dict[str, Any] = getattr(labels, option.choices)
            choices = [
                app_commands.Choice(name=key_str(text.en, f"{option.choices}.{value}"), value=value)
                for value, text in group.items()
            ]
            decorated = app_commands.choices(**{option.name: choices})(decorated)
        if option.autocomplete:
            decorated = app_commands.autocomplete(**{option.name: _suggest(bot, name, option.name)})(decorated)
    description = key_str(labels.commands[name].en, f"commands.{name}")
    return app_commands.command(name=name, description=description)(decorated)


def _suggest(bot: K401Bot, command: str, option: str) -> Callable[..., Any]:
    async def suggest(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await bot.gateway.autocomplete(interaction, command, option, current)

    return suggest


class AnswersCog(commands.Cog):
    def __init__(self, bot: K401Bot) -> None:
        self.bot = bot
        labels = bot.core.facts.labels
        self.slash_commands = [build_command(bot, name, declared, labels) for name, declared in labels.slash.items()]

    async def cog_load(self) -> None:
        for command in self.slash_commands:
            self.bot.tree.add_command(command)

    async def cog_unload(self) -> None:
        for command in self.slash_commands:
            self.bot.tree.remove_command(command.name)

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


async def setup(bot: K401Bot) -> None:
    """Extension entry point (`bot.load_extension("bot.gateway.cog")`)."""
    await bot.add_cog(AnswersCog(bot))
