"""The transport-neutral interaction handler: plain data in (model.Interaction), a reply out (model.Outcome).

No discord imports here: the gateway adapter (bot.gateway) and the HTTP endpoint (bot.http) are thin transports.
"""

from bot.interactions.handler import InteractionHandler, log_interaction
from bot.interactions.model import (
    DRAIN_SECONDS,
    BadInteraction,
    Delivery,
    Interaction,
    Kind,
    Outcome,
    Reply,
    ReplyKind,
    delivery_of,
)
from bot.interactions.parse import from_payload

__all__ = [
    "DRAIN_SECONDS",
    "BadInteraction",
    "Delivery",
    "Interaction",
    "InteractionHandler",
    "Kind",
    "Outcome",
    "Reply",
    "ReplyKind",
    "delivery_of",
    "from_payload",
    "log_interaction",
]
