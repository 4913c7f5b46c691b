"""An Answer as discord.py objects, and as the exact JSON (or multipart) bodies discord.py sends for it.

`ask --json` prints message_payload(); the gateway bot sends send_kwargs() / edit_kwargs(); the HTTP endpoint sends
callback_params() / webhook_params(). All come from the same objects, serialised with discord.py's own functions, so
the three paths cannot drift apart. Every body carries allowed_mentions {"parse": []}, edits included.
"""

from __future__ import annotations

import io
import json
from typing import Any

import discord
from discord.http import MultipartParameters, handle_message_parameters
from discord.webhook.async_ import interaction_message_response_params

from bot.answers.components import control_custom_id
from bot.answers.model import Answer, fit_to_limits
from bot.discord_wire.components import answer_button, topic_select

NO_MENTIONS = discord.AllowedMentions.none()
CHANNEL_MESSAGE_WITH_SOURCE = 4
UPDATE_MESSAGE = 7


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
            view.add_item(topic_select(custom_id, control.label, options))
        else:
            button = answer_button(custom_id, control.label, disabled=control.disabled)
            button.row = 1
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


def edit_kwargs(answer: Answer, image: bytes | None = None) -> dict[str, Any]:
    """Keyword arguments for InteractionResponse.edit_message / edit_original_response (an edit in place).

    `attachments` replaces the message's files (none when the new answer has no chart); mentions stay disabled.
    """
    return {
        "embed": build_embed(answer),
        "view": build_view(answer),
        "allowed_mentions": NO_MENTIONS,
        "content": answer.content,
        "attachments": build_files(answer, image),
    }


def _flags(ephemeral: bool) -> Any:
    if not ephemeral:
        return discord.utils.MISSING
    flags = discord.MessageFlags._from_value(0)
    flags.ephemeral = True
    return flags


def callback_params(kind: int, answer: Answer, image: bytes | None = None) -> MultipartParameters:
    """The whole interaction callback body for a message (4) or an update in place (7), as discord.py builds it."""
    if kind == UPDATE_MESSAGE:
        kwargs = edit_kwargs(answer, image)
        params = interaction_message_response_params(type=kind, previous_allowed_mentions=NO_MENTIONS, **kwargs)
    else:
        kwargs = send_kwargs(answer, image)
        flags = _flags(kwargs.pop("ephemeral"))
        params = interaction_message_response_params(type=kind, flags=flags, **kwargs)
    kwargs["view"].stop()
    return params


def webhook_params(answer: Answer, image: bytes | None = None, *, edit: bool) -> MultipartParameters:
    """The body of PATCH .../messages/@original (edit=True) or of a follow-up POST, as discord.py builds it."""
    if edit:
        kwargs = edit_kwargs(answer, image)
    else:
        kwargs = send_kwargs(answer, image)
        kwargs["flags"] = _flags(kwargs.pop("ephemeral"))
    params = handle_message_parameters(previous_allowed_mentions=NO_MENTIONS, **kwargs)
    kwargs["view"].stop()
    return params


def multipart_parts(params: MultipartParameters) -> list[tuple[str, bytes, str | None]]:
    """A multipart body as (field name, bytes, file name) parts, files read into memory."""
    parts = []
    for part in params.multipart or []:
        value = part["value"]
        data = value.encode() if isinstance(value, str) else value if isinstance(value, bytes) else value.read()
        parts.append((str(part["name"]), data, part.get("filename")))
    return parts


def params_json(params: MultipartParameters) -> dict[str, Any]:
    """The JSON part of a body: the payload itself, or the payload_json part of a multipart body."""
    if params.payload is not None:
        return params.payload
    part = next(p for p in params.multipart or [] if p["name"] == "payload_json")
    loaded: dict[str, Any] = json.loads(part["value"])
    return loaded


def message_payload(answer: Answer, image: bytes | None = None) -> dict[str, Any]:
    """The JSON body of the interaction response's message ("data"), exactly as discord.py builds it."""
    data: dict[str, Any] = params_json(callback_params(CHANNEL_MESSAGE_WITH_SOURCE, answer, image))["data"]
    return data
