"""Stateless buttons and selects: discord.py DynamicItems whose custom_id carries all state (bot.components).

They keep working after a restart and on any shard; a click is handed to the bot's component handler.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.components import PREFIX, SELECT_PREFIX, decode

if TYPE_CHECKING:
    from bot.discord_app.client import K401Bot


async def _dispatch(interaction: discord.Interaction[Any], custom_id: str, values: list[str]) -> None:
    state = decode(custom_id)
    bot: K401Bot = interaction.client
    if state is not None:
        await bot.handle_component(interaction, state, values)


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(PREFIX) + r"\|.+"):
    def __init__(self, custom_id: str, label: str = "\u200b", *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.secondary, label=label, custom_id=custom_id, disabled=disabled)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> AnswerButton:
        label = getattr(item, "label", None) or "\u200b"
        return cls(match.string, label, disabled=bool(getattr(item, "disabled", False)))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _dispatch(interaction, self.item.custom_id or "", [])


class TopicSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=re.escape(SELECT_PREFIX) + r"\|.+"):
    def __init__(
        self, custom_id: str, placeholder: str = "", options: list[discord.SelectOption] | None = None
    ) -> None:
        super().__init__(
            discord.ui.Select(custom_id=custom_id, placeholder=placeholder or None, options=options or [], row=0)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TopicSelect:
        return cls(match.string, getattr(item, "placeholder", "") or "", list(getattr(item, "options", [])))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _dispatch(interaction, self.item.custom_id, list(self.item.values))
