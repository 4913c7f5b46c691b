"""A raw interaction payload (Discord's JSON, as the HTTP endpoint receives it) into an Interaction.

Everything is checked for type and shape: a signed but malformed body raises BadInteraction, never anything else.
"""

from __future__ import annotations

from typing import Any

from bot.interactions.model import BadInteraction, Interaction, Kind, OptionValue

MAX_OPTIONS = 25
MAX_CUSTOM_IDS = 25 * 5  # five rows of five components


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInteraction(f"{what} is not an object")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadInteraction(f"{what} is not a string")
    return value


MAX_SNOWFLAKE = 2**63 - 1  # Discord ids are signed 64-bit; anything larger cannot be stored (or be real)


def _snowflake(value: Any, what: str, *, limit: int | None = MAX_SNOWFLAKE) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
        if limit is None or number <= limit:
            return number
    raise BadInteraction(f"{what} is not a snowflake")


def _options(data: dict[str, Any]) -> tuple[dict[str, OptionValue], str | None]:
    raw = data.get("options", [])
    if not isinstance(raw, list) or len(raw) > MAX_OPTIONS:
        raise BadInteraction("options is not a list of at most 25")
    options: dict[str, OptionValue] = {}
    focused = None
    for option in raw:
        option = _dict(option, "option")
        name = _str(option.get("name"), "option name")
        value = option.get("value")
        if isinstance(value, bool | str):
            options[name] = value
        elif isinstance(value, int | float):
            options[name] = str(value)
        else:
            raise BadInteraction(f"option {name!r} has no usable value")
        if option.get("focused") is True:
            focused = name
    return options, focused


def _custom_ids(components: Any, found: list[str]) -> None:
    """Every custom_id in a message's component tree (action rows hold buttons and selects)."""
    if not isinstance(components, list):
        return
    for component in components:
        if not isinstance(component, dict) or len(found) >= MAX_CUSTOM_IDS:
            continue
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str):
            found.append(custom_id)
        _custom_ids(component.get("components"), found)


def from_payload(body: Any) -> Interaction:
    body = _dict(body, "body")
    try:
        kind = Kind(body.get("type"))
    except ValueError:
        raise BadInteraction(f"unknown interaction type {body.get('type')!r}") from None
    application_id = str(_snowflake(body.get("application_id"), "application_id"))
    token = _str(body.get("token"), "token")
    if kind is Kind.PING:
        return Interaction(Kind.PING, application_id=application_id, token=token)
    data = _dict(body.get("data"), "data")
    member = body.get("member")
    permissions = 0
    if member is not None:
        member = _dict(member, "member")
        user = _dict(member.get("user"), "member.user")
        permissions = _snowflake(member.get("permissions", "0"), "member.permissions", limit=None)  # a bitfield
    else:
        user = _dict(body.get("user"), "user")
    guild_id = _snowflake(body["guild_id"], "guild_id") if body.get("guild_id") is not None else None
    locale = body.get("locale")
    common: dict[str, Any] = {
        "locale": locale if isinstance(locale, str) else None,
        "user_id": _snowflake(user.get("id"), "user.id"),
        "guild_id": guild_id,
        "permissions": permissions,
        "application_id": application_id,
        "token": token,
    }
    if kind is Kind.COMPONENT:
        values = data.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadInteraction("values is not a list of strings")
        message = body.get("message")
        found: list[str] = []
        if isinstance(message, dict):
            _custom_ids(message.get("components"), found)
        return Interaction(
            kind,
            custom_id=_str(data.get("custom_id"), "custom_id"),
            values=tuple(values),
            message_custom_ids=tuple(found),
            **common,
        )
    options, focused = _options(data)
    return Interaction(kind, name=_str(data.get("name"), "command name"), options=options, focused=focused, **common)
