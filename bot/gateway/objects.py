"""discord.py objects (Embed, View, File) for an answer, built from bot.discord_wire's JSON of it.

The gateway sends through discord.py, which serialises these objects back into the same JSON the HTTP endpoint
sends (tests/test_wire_parity.py holds both paths to every golden answer). Buttons and selects are plain items whose
custom_id carries all state: no view is registered for them, the cog's listener hands clicks to the handler.
"""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.answers.model import Answer
from bot.discord_wire import message as wire

NO_MENTIONS = discord.AllowedMentions.none()


def build_embed(answer: Answer) -> discord.Embed:
    return discord.Embed.from_dict(wire.embed(answer))


def build_view(answer: Answer) -> discord.ui.View:
    """The answer's rows as a View (needs a running event loop, as every discord.py View does)."""
    view = discord.ui.View(timeout=None)
    for row, action_row in enumerate(wire.components(answer)):
        for item in action_row["components"]:
            view.add_item(_item(item, row))
    return view


def _item(data: dict[str, Any], row: int) -> discord.ui.Item[Any]:
    if data["type"] == wire.STRING_SELECT:
        options = [
            discord.SelectOption(label=o["label"], value=o["value"], default=o["default"]) for o in data["options"]
        ]
        return discord.ui.Select(
            custom_id=data["custom_id"], placeholder=data.get("placeholder"), options=options, row=row
        )
    return discord.ui.Button(
        style=discord.ButtonStyle(data["style"]),
        label=data["label"],
        custom_id=data["custom_id"],
        disabled=data["disabled"],
        row=row,
    )


def build_files(answer: Answer, image: bytes | None) -> list[discord.File]:
    if answer.image and image is not None:
        return [discord.File(io.BytesIO(image), filename=answer.image)]
    return []
