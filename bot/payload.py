"""An Answer as the exact JSON message payload the bot sends to Discord (also what `ask --json` prints)."""

from __future__ import annotations

from typing import Any

import discord

from bot.components import control_custom_id
from bot.render import Answer, fit_to_limits

EPHEMERAL_FLAG = 1 << 6
BUTTON_SECONDARY = 2


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


def component_rows(answer: Answer) -> list[dict[str, Any]]:
    """Selects get a row each; buttons share one row (at most 5 per row)."""
    rows: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []
    for control in answer.controls:
        custom_id = control_custom_id(answer, control)
        if control.kind == "select":
            options = [
                {"label": label, "value": value, "default": value == control.value} for value, label in control.options
            ]
            select = {
                "type": 3,
                "custom_id": custom_id,
                "placeholder": control.label,
                "min_values": 1,
                "max_values": 1,
                "options": options,
                "disabled": control.disabled,
            }
            rows.append({"type": 1, "components": [select]})
        else:
            buttons.append(
                {
                    "type": 2,
                    "style": BUTTON_SECONDARY,
                    "label": control.label,
                    "custom_id": custom_id,
                    "disabled": control.disabled,
                }
            )
    for start in range(0, len(buttons), 5):
        rows.append({"type": 1, "components": buttons[start : start + 5]})
    return rows


def message_payload(answer: Answer) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "content": answer.content or "",
        "embeds": [build_embed(answer).to_dict()],
        "components": component_rows(answer),
        "allowed_mentions": {"parse": []},
        "attachments": [{"id": 0, "filename": answer.image}] if answer.image else [],
    }
    if answer.ephemeral:
        payload["flags"] = EPHEMERAL_FLAG
    return payload
