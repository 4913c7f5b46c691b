"""Stateless buttons and selects: plain discord.py items whose custom_id carries all state (bot.answers.components).

No view is registered for them: the cog's interaction listener hands every click on an id that looks like ours to
the interaction handler, so they keep working after a restart, on any shard and in any replica, and an id that looks
like ours but does not decode (or does not belong to the message) gets "this button is out of date".
"""

from __future__ import annotations

from typing import Any

import discord

from bot.answers.components import PREFIX, SELECT_PREFIX

OUR_PREFIXES = (PREFIX + "|", SELECT_PREFIX + "|")


def looks_like_ours(custom_id: str) -> bool:
    return custom_id.startswith(OUR_PREFIXES)


def answer_button(custom_id: str, label: str = "\u200b", *, disabled: bool = False) -> discord.ui.Button[Any]:
    return discord.ui.Button(style=discord.ButtonStyle.secondary, label=label, custom_id=custom_id, disabled=disabled)


def topic_select(
    custom_id: str, placeholder: str = "", options: list[discord.SelectOption] | None = None
) -> discord.ui.Select[Any]:
    return discord.ui.Select(custom_id=custom_id, placeholder=placeholder or None, options=options or [], row=0)
