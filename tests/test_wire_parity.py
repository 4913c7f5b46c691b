"""bot.discord_wire builds Discord's JSON without discord.py; here discord.py builds it too, for every golden answer.

The reference below is how the bot built its messages before (discord.py objects made straight from the Answer,
serialised by discord.py's own functions). Both the HTTP bodies (bot.discord_wire.message) and the gateway's objects
(bot.gateway.objects, sent through discord.py) must match it byte for byte: a message, an ephemeral one, an update in
place, a deferred answer's edit and follow-up, each with and without a chart.
"""

from __future__ import annotations

import io
import json
from typing import Any

import discord
import pytest
from discord.http import MultipartParameters, handle_message_parameters
from discord.webhook.async_ import interaction_message_response_params

from bot.answers.build import AnswerContext
from bot.answers.components import control_custom_id
from bot.answers.model import Answer, fit_to_limits
from bot.discord_wire import message as wire
from bot.gateway import objects
from bot.interactions import ReplyKind
from tests import golden

NONE = discord.AllowedMentions.none()


# ------------------------------------------------------------------ the reference: discord.py from the Answer


def reference_embed(answer: Answer) -> discord.Embed:
    answer = fit_to_limits(answer)
    embed = discord.Embed(
        title=answer.title, description=answer.description or None, colour=discord.Colour(answer.color), url=answer.url
    )
    for f in answer.fields:
        embed.add_field(name=f.name, value=f.value, inline=f.inline)
    if answer.footer:
        embed.set_footer(text=answer.footer)
    if answer.image:
        embed.set_image(url=f"attachment://{answer.image}")
    return embed


def reference_view(answer: Answer) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for control in answer.controls:
        custom_id = control_custom_id(answer, control)
        if control.kind == "select":
            options = [
                discord.SelectOption(label=label, value=value, default=value == control.value)
                for value, label in control.options
            ]
            view.add_item(discord.ui.Select(custom_id=custom_id, placeholder=control.label or None, options=options))
        else:
            button = discord.ui.Button[Any](
                style=discord.ButtonStyle.secondary, label=control.label, custom_id=custom_id, disabled=control.disabled
            )
            button.row = 1
            view.add_item(button)
    return view


Build = tuple[discord.Embed, discord.ui.View, list[discord.File]]


def reference(answer: Answer, image: bytes | None) -> Build:
    files = [discord.File(io.BytesIO(image), filename=answer.image)] if answer.image and image is not None else []
    return reference_embed(answer), reference_view(answer), files


def gateway(answer: Answer, image: bytes | None) -> Build:
    return objects.build_embed(answer), objects.build_view(answer), objects.build_files(answer, image)


def flags(ephemeral: bool) -> Any:
    if not ephemeral:
        return discord.utils.MISSING
    value = discord.MessageFlags._from_value(0)
    value.ephemeral = True
    return value


def discordpy_callback(kind: ReplyKind, answer: Answer, built: Build) -> MultipartParameters:
    embed, view, files = built
    common: dict[str, Any] = {"embed": embed, "view": view, "allowed_mentions": NONE, "content": answer.content}
    if kind is ReplyKind.UPDATE:
        common.update(previous_allowed_mentions=NONE, attachments=files)
    else:
        common.update(flags=flags(answer.ephemeral), **({"files": files} if files else {}))
    return interaction_message_response_params(type=kind, **common)


def discordpy_webhook(answer: Answer, built: Build, *, edit: bool) -> MultipartParameters:
    embed, view, files = built
    common: dict[str, Any] = {"embed": embed, "view": view, "allowed_mentions": NONE, "content": answer.content}
    if edit:
        common.update(attachments=files)
    else:
        common.update(flags=flags(answer.ephemeral), **({"files": files} if files else {}))
    return handle_message_parameters(previous_allowed_mentions=NONE, **common)


def parts(params: MultipartParameters) -> list[tuple[str, bytes, str | None]]:
    """discord.py's body as (name, bytes, file name): the JSON payload alone, or its multipart parts."""
    if params.payload is not None:
        return [("payload_json", wire.to_json(params.payload), None)]
    found = []
    for part in params.multipart or []:
        value = part["value"]
        data = value.encode() if isinstance(value, str) else value.read()
        found.append((str(part["name"]), data, part.get("filename")))
    return found


def wire_parts(body: wire.WireBody) -> list[tuple[str, bytes, str | None]]:
    return body.parts() if body.files else [("payload_json", wire.to_json(body.payload), None)]


# ------------------------------------------------------------------ every golden answer, every way it is sent


def variants(ctx: AnswerContext) -> list[tuple[str, Answer]]:
    found = []
    for path, _, answer in golden.answers(ctx):
        found.append((path, answer))
        if not answer.ephemeral:
            found.append((path + " (ephemeral)", _ephemeral(answer)))
    return found


def _ephemeral(answer: Answer) -> Answer:
    from dataclasses import replace

    return replace(answer, ephemeral=True)


@pytest.mark.parametrize("image", [b"\x89PNG chart bytes", None], ids=["chart", "no-chart"])
async def test_http_bodies_and_gateway_objects_are_what_discord_py_builds(
    ctx: AnswerContext, image: bytes | None
) -> None:
    compared = 0
    for name, answer in variants(ctx):
        for kind in (ReplyKind.MESSAGE, ReplyKind.UPDATE):
            expected = parts(discordpy_callback(kind, answer, reference(answer, image)))
            assert wire_parts(wire.callback(kind, answer, image)) == expected, (name, kind)
            assert parts(discordpy_callback(kind, answer, gateway(answer, image))) == expected, (name, kind)
        for edit in (True, False):
            expected = parts(discordpy_webhook(answer, reference(answer, image), edit=edit))
            assert wire_parts(wire.webhook(answer, image, edit=edit)) == expected, (name, edit)
            assert parts(discordpy_webhook(answer, gateway(answer, image), edit=edit)) == expected, (name, edit)
        compared += 1
    assert compared > 300  # every golden answer, public and private


async def test_ask_json_is_the_callback_data(ctx: AnswerContext) -> None:
    for _, _, answer in golden.answers(ctx):
        params = discordpy_callback(ReplyKind.MESSAGE, answer, reference(answer, golden.CHART))
        payload = params.payload or json.loads(parts(params)[0][1])
        assert wire.message_payload(answer, golden.CHART) == payload["data"]
