"""An Answer as discord.py objects, and as the exact JSON message payload discord.py sends for it.

`ask --json` prints message_payload(); the bot sends send_kwargs(): both come from the same objects, and
message_payload() serialises them with discord.py's own function, so they cannot drift apart.
"""

from __future__ import annotations

import io
import json
from typing import Any

import discord
from discord.webhook.async_ import interaction_message_response_params

from bot.components import control_custom_id
from bot.discord_app.components import AnswerButton, TopicSelect
from bot.render import Answer, fit_to_limits

NO_MENTIONS = discord.AllowedMentions.none()
CHANNEL_MESSAGE_WITH_SOURCE = 4


def build_embed(answer: Answer) -> discord.Embed:
    answer = fit_to_limits(answer)
    embed = discord.Embed(
        title=answer.title,
        description=answer.description or None,
        colour=discord.Colour(answer.color),
        url=answer.url,
    )
    for f in answer.fields:
        embed.add_field(name=f.name, value=f.value, inline=f.inline)
    if answer.footer:
        embed.set_footer(text=answer.footer)
    if answer.image:
        embed.set_image(url=f"attachment://{answer.image}")
    return embed


def build_view(answer: Answer) -> discord.ui.View:
    """Selects on row 0, buttons on row 1 (needs a running event loop, as every discord.py View does)."""
    view = discord.ui.View(timeout=None)
    for control in answer.controls:
        custom_id = control_custom_id(answer, control)
        if control.kind == "select":
            options = [
                discord.SelectOption(label=label, value=value, default=value == control.value)
                for value, label in control.options
            ]
            view.add_item(TopicSelect(custom_id, control.label, options))
        else:
            button = AnswerButton(custom_id, control.label, disabled=control.disabled)
            button.item.row = 1
            view.add_item(button)
    return view


def build_files(answer: Answer, image: bytes | None) -> list[discord.File]:
    if answer.image and image is not None:
        return [discord.File(io.BytesIO(image), filename=answer.image)]
    return []


def send_kwargs(answer: Answer, image: bytes | None = None) -> dict[str, Any]:
    """Keyword arguments for InteractionResponse.send_message / followup.send."""
    kwargs: dict[str, Any] = {
        "embed": build_embed(answer),
        "view": build_view(answer),
        "allowed_mentions": NO_MENTIONS,
        "ephemeral": answer.ephemeral,
        "content": answer.content,  # None, as send_message passes when there is no text
    }
    files = build_files(answer, image)
    if files:
        kwargs["files"] = files
    return kwargs


def message_payload(answer: Answer, image: bytes | None = None) -> dict[str, Any]:
    """The JSON body of the interaction response's message ("data"), exactly as discord.py builds it."""
    kwargs = send_kwargs(answer, image)
    flags: Any = discord.utils.MISSING
    if kwargs.pop("ephemeral"):
        flags = discord.MessageFlags._from_value(0)
        flags.ephemeral = True
    params = interaction_message_response_params(type=CHANNEL_MESSAGE_WITH_SOURCE, flags=flags, **kwargs)
    if params.payload is not None:
        data: dict[str, Any] = params.payload["data"]
    else:  # with a file, discord.py sends multipart: the JSON travels in the payload_json part
        part = next(p for p in params.multipart or [] if p["name"] == "payload_json")
        data = json.loads(part["value"])["data"]
    kwargs["view"].stop()
    return data
