"""An Answer as Discord's message JSON, and as the exact bodies Discord is sent for it: no discord.py needed.

Three paths send an answer and must not drift apart: `ask --json` prints message_payload(); the HTTP endpoint sends
callback() / webhook() bodies; the gateway hands discord.py objects built from embed() and components()
(bot.gateway.objects). The keys, their order and the JSON encoding are discord.py's own (2.x), so a body here is
byte for byte what discord.py would send; tests/test_wire_parity.py checks that for every golden answer. Every body
carries allowed_mentions {"parse": []}, edits included.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from bot.answers.components import control_custom_id
from bot.answers.model import Answer, fit_to_limits
from bot.interactions.model import EPHEMERAL, ReplyKind

NO_MENTIONS: dict[str, Any] = {"parse": []}  # nothing a message says pings anyone

# Component types and the one button style we use (https://discord.com/developers/docs/components/reference)
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SECONDARY = 2
SELECT_ROW, BUTTON_ROW = 0, 1


@dataclass(frozen=True)
class WireBody:
    """A request body: `payload` as JSON, or, when there are files, multipart: payload_json plus the files."""

    payload: dict[str, Any]
    files: tuple[tuple[str, bytes], ...] = ()  # (file name, bytes)

    def parts(self) -> list[tuple[str, bytes, str | None]]:
        """As multipart parts: (field name, bytes, file name)."""
        return [("payload_json", to_json(self.payload), None)] + [
            (f"files[{index}]", data, name) for index, (name, data) in enumerate(self.files)
        ]

    def encode(self) -> tuple[bytes, str]:
        """(body bytes, Content-Type)."""
        if not self.files:
            return to_json(self.payload), "application/json"
        boundary = uuid.uuid4().hex
        chunks: list[bytes] = []
        for name, data, filename in self.parts():
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            content_type = "application/octet-stream" if filename else "application/json"
            chunks.append(
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
            )
            chunks += [data, b"\r\n"]
        chunks.append(f"--{boundary}--\r\n".encode())
        return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def to_json(value: Any) -> bytes:
    # discord.py's own encoding when orjson is absent: compact, ASCII-escaped.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


# ---------------------------------------------------------------------------------------------- the parts


def embed(answer: Answer) -> dict[str, Any]:
    """The embed object, its keys in discord.py's order (Embed.to_dict)."""
    answer = fit_to_limits(answer)
    data: dict[str, Any] = {}
    if answer.footer:
        data["footer"] = {"text": answer.footer}
    if answer.image:
        data["image"] = {"url": f"attachment://{answer.image}"}
    if answer.fields:
        data["fields"] = [{"inline": f.inline, "name": f.name, "value": f.value} for f in answer.fields]
    data["flags"] = 0
    data["color"] = answer.color
    data["type"] = "rich"
    if answer.description:
        data["description"] = answer.description
    if answer.url:
        data["url"] = answer.url
    if answer.title:
        data["title"] = answer.title
    return data


def components(answer: Answer) -> list[dict[str, Any]]:
    """Action rows: the select on row 0, the buttons on row 1; each control's custom_id carries its whole state."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for control in answer.controls:
        custom_id = control_custom_id(answer, control)
        if control.kind == "select":
            item: dict[str, Any] = {
                "type": STRING_SELECT,
                "custom_id": custom_id,
                "min_values": 1,
                "max_values": 1,
                "disabled": False,
                "required": True,
            }
            if control.label:
                item["placeholder"] = control.label
            item["options"] = [
                {"label": label, "value": value, "default": value == control.value} for value, label in control.options
            ]
            rows.setdefault(SELECT_ROW, []).append(item)
        else:
            button = {"type": BUTTON, "style": SECONDARY, "disabled": control.disabled}
            rows.setdefault(BUTTON_ROW, []).append({**button, "label": control.label, "custom_id": custom_id})
    return [{"type": ACTION_ROW, "components": rows[row]} for row in sorted(rows)]


def _files(answer: Answer, image: bytes | None) -> tuple[tuple[str, bytes], ...]:
    return ((answer.image, image),) if answer.image and image is not None else ()


def _attachments(files: tuple[tuple[str, bytes], ...]) -> list[dict[str, Any]]:
    return [{"id": index, "filename": name} for index, (name, _) in enumerate(files)]


# ---------------------------------------------------------------------------------------------- whole bodies


def callback(kind: ReplyKind, answer: Answer, image: bytes | None = None) -> WireBody:
    """The interaction callback for a message (4) or an update in place (7), as discord.py's
    interaction_message_response_params builds it."""
    files = _files(answer, image)
    data: dict[str, Any] = {
        "tts": False,
        "embeds": [embed(answer)],
        "content": answer.content,
        "components": components(answer),
    }
    if kind is ReplyKind.UPDATE:
        data["allowed_mentions"] = NO_MENTIONS
        data["attachments"] = _attachments(files)  # an edit replaces the files: none when the new answer has none
    else:
        if answer.ephemeral:
            data["flags"] = EPHEMERAL
        data["allowed_mentions"] = NO_MENTIONS
        if files:
            data["attachments"] = _attachments(files)
    return WireBody({"type": int(kind), "data": data}, files)


def webhook(answer: Answer, image: bytes | None = None, *, edit: bool) -> WireBody:
    """The body of PATCH .../messages/@original (edit=True) or of a follow-up POST, as discord.py's
    handle_message_parameters builds it."""
    files = _files(answer, image)
    payload: dict[str, Any] = {
        "embeds": [embed(answer)],
        "content": answer.content,
        "components": components(answer),
        "tts": False,
    }
    if not edit and answer.ephemeral:
        payload["flags"] = EPHEMERAL
    payload["allowed_mentions"] = NO_MENTIONS
    if edit or files:
        payload["attachments"] = _attachments(files)
    return WireBody(payload, files)


def message_payload(answer: Answer, image: bytes | None = None) -> dict[str, Any]:
    """The message itself (the callback's "data"): what `ask --json` prints."""
    data: dict[str, Any] = callback(ReplyKind.MESSAGE, answer, image).payload["data"]
    return data
