"""Store writes that no answer waits for: tracked, bounded in number, failures logged, drained on close.

A cache or snapshot write is a convenience, not the point of a command, so the reply never waits for one: another
process holding SQLite's write lock (a write waits up to WRITE_TIMEOUT_SECONDS, 1.5 s) must not push an answer past
Discord's 3-second window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# A burst of 200 different asks queues ~100 cache writes on an idle machine; each holds an answer or a ~16 KB chart.
DEFAULT_MAX_PENDING = 256
DEFAULT_DRAIN_SECONDS = 5.0


class BackgroundWrites:
    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.max_pending = max_pending
        self.dropped = 0  # writes skipped because too many were pending (a stuck store): derived data only
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, write: Coroutine[Any, Any, Any], what: str) -> bool:
        """Start `write` in the background; False (and the coroutine closed unrun) when the queue is full or closed."""
        if self._closed or len(self._tasks) >= self.max_pending:
            write.close()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:  # a stuck store under a burst: not a line per ask
                log.warning(
                    "store: skipped a background write (%s): %d pending, %d skipped so far; "
                    "the store is slow or locked",
                    what,
                    self.pending,
                    self.dropped,
                )
            return False
        task = asyncio.get_running_loop().create_task(write, name=f"store-write:{what}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, what))
        return True

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("store: background %s write failed", what, exc_info=exc)

    async def drain(self, timeout: float = DEFAULT_DRAIN_SECONDS) -> None:
        """Wait for the pending writes (up to `timeout`), then cancel what is left."""
        if not self._tasks:
            return
        _, left = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in left:
            task.cancel()
        if left:
            log.warning("store: gave up on %d background write(s) after %.1f s", len(left), timeout)
            await asyncio.wait(left)

    async def close(self, timeout: float = DEFAULT_DRAIN_SECONDS) -> None:
        self._closed = True
        await self.drain(timeout)
