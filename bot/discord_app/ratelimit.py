"""Per-user cooldown (5 commands per 30 s) that stays O(1) per check however many people are active.

discord.py's CooldownMapping sweeps every bucket on every check, which grows with the number of active users;
here idle users are swept at most once per `per` seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands


class UserRateLimiter:
    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._next_sweep = clock() + per

    def retry_after(self, user_id: int) -> float:
        """0 if the user may go ahead (and counts this use), else the seconds until they may."""
        now = self.clock()
        if now >= self._next_sweep:
            self._hits = {u: h for u, h in self._hits.items() if h and now - h[-1] < self.per}
            self._next_sweep = now + self.per
        hits = self._hits.setdefault(user_id, deque(maxlen=self.rate))
        while hits and now - hits[0] >= self.per:
            hits.popleft()
        if len(hits) >= self.rate:
            return self.per - (now - hits[0])
        hits.append(now)
        return 0.0

    def check(self) -> Callable[[Any], Any]:
        """An app_commands check raising CommandOnCooldown, so the tree's one error path answers it."""
        cooldown = app_commands.Cooldown(self.rate, self.per)

        async def predicate(interaction: discord.Interaction[Any]) -> bool:
            wait = self.retry_after(interaction.user.id)
            if wait > 0:
                raise app_commands.CommandOnCooldown(cooldown, wait)
            return True

        return app_commands.check(predicate)
