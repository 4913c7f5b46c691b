"""Discord's acknowledgement deadline, read from the interaction's own id (both transports drop on the same rule).

Discord drops an interaction not acknowledged within 3 s of its creation. One that reaches us this late (a backlog
under overload) is dropped before any work: answering it would only fail, and cost the live ones their time.
"""

from __future__ import annotations

ACK_DEADLINE_SECONDS = 3.0
ACK_MARGIN_SECONDS = 0.25  # the acknowledgement's own round trip
DISCORD_EPOCH_MS = 1_420_070_400_000


def interaction_age(snowflake: int, now: float) -> float | None:
    """Seconds since Discord created the interaction (its id holds the time), or None when that time is not
    plausible for a live event (a clock far off, or ids that carry no time): then nothing is dropped on age."""
    age = now - ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000
    return age if -5.0 < age < 60.0 else None


def too_late(snowflake: int, now: float) -> bool:
    age = interaction_age(snowflake, now)
    return age is not None and age > ACK_DEADLINE_SECONDS - ACK_MARGIN_SECONDS
