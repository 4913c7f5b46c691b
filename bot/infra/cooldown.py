"""Per-user cooldown: 5 commands per 30 s, as an object the handler is given (never a module global).

`Cooldown` is the interface the interaction handler uses; `MemoryCooldown` counts in this process only;
`StoreCooldown` counts in a store several processes share (replicas behind a load balancer, gateway clusters).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from bot.store.roles import CountingPreferences, LanguageReader, SavedLanguages

COOLDOWN_RATE, COOLDOWN_SECONDS = 5, 30.0


class Cooldown(Protocol):
    async def retry_after(self, user_id: int) -> float:
        """0 if the user may go ahead (and counts this use), else the seconds until they may."""
        ...

    async def languages_and_retry_after(
        self, user_id: int, guild_id: int | None, languages: LanguageReader
    ) -> tuple[SavedLanguages, float]:
        """The saved languages read from `languages`, and retry_after: what every command needs first, in one store
        round trip when the cooldown lives in that store."""
        ...


class MemoryCooldown:
    """O(1) per check however many people are active: idle users are swept at most once per `per` seconds.

    (discord.py's CooldownMapping sweeps every bucket on every check, which grows with the number of active users.)
    """

    def __init__(
        self, rate: int = COOLDOWN_RATE, per: float = COOLDOWN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.per = per
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._next_sweep = clock() + per

    async def retry_after(self, user_id: int) -> float:
        return self.check(user_id)

    async def languages_and_retry_after(
        self, user_id: int, guild_id: int | None, languages: LanguageReader
    ) -> tuple[SavedLanguages, float]:
        return await languages.get_languages(user_id, guild_id), self.check(user_id)

    def check(self, user_id: int) -> float:
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

    def tracked_users(self) -> int:
        return len(self._hits)


class StoreCooldown:
    """The same window, kept in a shared store, so it counts across every process answering interactions.

    The store keeps the languages too (CountingPreferences): it reads them in the statement that counts the use,
    so a command costs one round trip. `cooldown_for(store)` builds it from the store the handler is given.
    """

    def __init__(self, store: CountingPreferences, rate: int = COOLDOWN_RATE, per: float = COOLDOWN_SECONDS) -> None:
        self.store = store
        self.rate = rate
        self.per = per

    async def retry_after(self, user_id: int) -> float:
        return await self.store.cooldown_hit(user_id, self.rate, self.per)

    async def languages_and_retry_after(
        self, user_id: int, guild_id: int | None, languages: LanguageReader
    ) -> tuple[SavedLanguages, float]:
        """`languages` is not asked: the store that counts holds the languages and reads them in the same
        statement (the handler's store, as cooldown_for built this)."""
        user, guild, wait = await self.store.languages_and_cooldown(user_id, guild_id, self.rate, self.per)
        return (user, guild), wait


def cooldown_for(store: CountingPreferences) -> Cooldown:
    """A store several processes share keeps the window (they all count together); otherwise this process's memory
    is the cheaper, equally correct place."""
    return StoreCooldown(store) if store.shared else MemoryCooldown()
