"""One writer at a time, with a member's own write served before queued background writes.

A plain asyncio.Lock is first come, first served: a `/language` save would wait behind up to 256 cache writes
queued by earlier answers, and could run out of its reply-path time while its turn never came.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteQueue:
    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._background: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._background).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed the turn just as the caller gave up: pass it on
                self.release()
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._background):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a caller that timed out while queueing has gone
                    waiter.set_result(None)
                    return  # still busy: the turn passed to that caller
        self._busy = False

    @property
    def waiting(self) -> int:
        return sum(not w.done() for q in (self._urgent, self._background) for w in q)
