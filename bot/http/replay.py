"""Refuse a signed interaction that was already received: a captured request replayed within the signature window.

The signature check alone accepts the same signed body again for MAX_SKEW_SECONDS. Each interaction id is kept for
that long: in this process's memory, and, when the store is shared by several replicas, in the store too, so a
replay sent to another replica is refused as well. When the store cannot say (down, slow), memory decides: a replay
is then refused only by the replica that saw the original, and no genuine interaction is ever refused for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.http.signature import MAX_SKEW_SECONDS
from bot.store import Coordination

# A timestamp may be up to MAX_SKEW_SECONDS old or ahead: an id must be remembered for the whole span it can pass.
REPLAY_WINDOW_SECONDS = 2.0 * MAX_SKEW_SECONDS
MAX_REMEMBERED = 200_000  # ~700 interactions a second for the whole window; the oldest are forgotten first past it


class ReplayGuard:
    def __init__(self, store: Coordination | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store if store is not None and store.shared else None
        self.clock = clock
        self._seen: dict[str, float] = {}  # id -> when it may be forgotten, oldest first (insertion order)
        self.refused = 0

    async def first_time(self, body: Any) -> bool:
        """False when this body's interaction id was already received within the window (a replay)."""
        ident = body.get("id") if isinstance(body, dict) else None
        if not isinstance(ident, str) or not ident:
            return True  # no id: the payload check that follows refuses it as malformed
        now = self.clock()
        self._forget(now)
        if ident in self._seen:
            self.refused += 1
            return False
        self._seen[ident] = now + REPLAY_WINDOW_SECONDS
        if (
            self.store is not None
            and await self.store.first_sighting(f"interaction:{ident}", REPLAY_WINDOW_SECONDS) is False
        ):
            self.refused += 1
            return False
        return True

    def _forget(self, now: float) -> None:
        while self._seen:
            oldest, until = next(iter(self._seen.items()))
            if until > now and len(self._seen) < MAX_REMEMBERED:
                return
            del self._seen[oldest]
