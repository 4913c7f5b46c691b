"""Which clicks are ours: stateless buttons and selects whose custom_id carries all state (bot.answers.components).

No view is registered for them: the gateway's listener hands every click on an id that looks like ours to the
interaction handler, so they keep working after a restart, on any shard and in any replica, and an id that looks
like ours but does not decode (or does not belong to the message) gets "this button is out of date".
"""

from __future__ import annotations

from bot.answers.components import PREFIX, SELECT_PREFIX

OUR_PREFIXES = (PREFIX + "|", SELECT_PREFIX + "|")


def looks_like_ours(custom_id: str) -> bool:
    return custom_id.startswith(OUR_PREFIXES)
