"""Plain data in and out of the interaction handler: what Discord asked, and what to answer. No discord imports."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from bot.answers.model import Answer

# Discord's numbers, in one place: permission bits (https://discord.com/developers/docs/topics/permissions), the
# message flag of a private answer, and (below) interaction and callback types.
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
EPHEMERAL = 1 << 6

# How long a stopping process (gateway or HTTP) lets interactions in flight finish: deferred answers must not stay
# on "thinking…", and an orchestrator's grace period is usually longer.
DRAIN_SECONDS = 10.0

OptionValue = str | bool


class Kind(IntEnum):
    """Interaction types, numbered as Discord numbers them."""

    PING = 1
    COMMAND = 2
    COMPONENT = 3
    AUTOCOMPLETE = 4


class ReplyKind(IntEnum):
    """Interaction callback types, numbered as Discord numbers them."""

    PONG = 1
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    DEFERRED_UPDATE = 6
    UPDATE = 7
    AUTOCOMPLETE = 8


@dataclass(frozen=True)
class Interaction:
    kind: Kind
    name: str = ""  # the slash command's name (commands and autocomplete)
    custom_id: str = ""  # the clicked component's id
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    values: tuple[str, ...] = ()  # a select's chosen values
    focused: str | None = None  # the option being typed, for autocomplete
    locale: str | None = None
    user_id: int = 0
    guild_id: int | None = None
    permissions: int = 0  # the member's resolved permissions in this channel
    application_id: str = ""
    token: str = ""
    # The custom_ids on the message a component is attached to: they say what kind of answer that message is.
    message_custom_ids: tuple[str, ...] = ()

    def can_manage_server(self) -> bool:
        return self.guild_id is not None and bool(self.permissions & (MANAGE_GUILD | ADMINISTRATOR))


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    answer: Answer | None = None
    image: bytes | None = None  # the chart named by answer.image
    key: str | None = None  # identifies this exact reply, so a transport may reuse what it built from it
    choices: tuple[tuple[str, str], ...] = ()  # autocomplete (name, value)
    ephemeral: bool = False  # for a deferred message: whether the answer to come is private


@dataclass
class Outcome:
    """The first reply (within Discord's 3 s), and when that is a deferral, the task that makes the real one.

    The real reply edits the original message (`UPDATE` or `MESSAGE` after a deferred message), or, after a deferred
    component update, an ephemeral `MESSAGE` is sent as a follow-up and the clicked message stays as it was.
    """

    reply: Reply
    final: asyncio.Task[Reply] | None = None


class Delivery(Enum):
    """Where the real reply goes after a deferral."""

    EDIT_ORIGINAL = "edit_original"  # PATCH .../messages/@original
    FOLLOW_UP = "follow_up"  # a new (ephemeral) message; the clicked message stays as it was


def delivery_of(first: Reply, final: Reply) -> Delivery:
    """The one rule for a deferred answer, used by both transports: after a deferred component update, an error
    (a MESSAGE) is a private follow-up, so the clicked answer stays; everything else edits the original message."""
    if first.kind is ReplyKind.DEFERRED_UPDATE and final.kind is ReplyKind.MESSAGE:
        return Delivery.FOLLOW_UP
    return Delivery.EDIT_ORIGINAL


class BadInteraction(ValueError):
    """The payload is not an interaction this bot understands (HTTP answers 400)."""
