"""The answer cache: answers and charts by one key built from the canonical request, in memory first, then the store.

Nothing slow sits on the reply path: a store read has a short deadline (a miss after it, and then no reads for a
moment), and writes go to the background. Keys carry the data version (config, templates and the code that shapes an
answer), so an edit never serves an answer built by the old version, even from a store shared during a rolling deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import importlib.metadata
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.answers.model import Answer, answer_from_json, answer_to_json
from bot.answers.requests import InflowRequest, Request
from bot.domain.inflow import MarketCap
from bot.infra.background import BackgroundWrites
from bot.infra.memo import LruCache
from bot.store import Store

ANSWER_CACHE_TTL_SECONDS = 3600.0
CHART_CACHE_TTL_SECONDS = 86400.0
MEMORY_ANSWERS = 512
MEMORY_CHARTS = 64  # about 16 KB each
STORE_READ_SECONDS = 0.25  # a cache read slower than this (a locked or busy store) counts as a miss
STORE_BACKOFF_SECONDS = 2.0  # after such a read, the cache is not read at all for this long (one probe, not every ask)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

log = logging.getLogger(__name__)

# Modules whose code shapes an answer or chart: an upgrade that edits them must not serve answers cached by the old
# code (a shared PostgreSQL cache sees both versions during a rolling deploy).
_PACKAGE = Path(__file__).resolve().parent.parent  # bot/
_ANSWER_CODE = (
    "answers/build",
    "answers/model",
    "answers/render",
    "answers/formatting",
    "answers/requests",
    "answers/chart",
    "domain/language",
    "domain/simplified",
    "domain/inflow",
    "domain/allocation",
)


@functools.cache
def code_version() -> str:
    return hash_answer_code(_PACKAGE)


def hash_answer_code(package: Path) -> str:
    digest = hashlib.sha256()
    for name in _ANSWER_CODE:
        digest.update((package / f"{name}.py").read_bytes())
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        digest.update(importlib.metadata.version("opencc").encode())  # the converter's own tables change zh-CN text
    return digest.hexdigest()[:12]


def request_key(request: Request) -> str:
    """The request as its answer sees it: an allocation by its canonical spelling, not as typed (`2%`, `2 %` and
    `２％` are one answer). Every other request holds only canonical values (enums, ids) already."""
    if isinstance(request, InflowRequest):
        return f"InflowRequest({request.allocation.text},{request.pool.value})"
    return repr(request)


def market_key(request: Request, market_cap: MarketCap) -> str:
    """An /inflow answer depends on the market cap it used; nothing else does."""
    if not isinstance(request, InflowRequest):
        return "-"
    mc = market_cap
    return f"{mc.kind}:{mc.usd}:{mc.as_of}:{mc.age_minutes}"


class AnswerCache:
    """Counters (`hits`, `misses`, `slow_store_reads`, `writes.dropped`) are plain attributes for metrics to read."""

    def __init__(self, store: Store | None, data_version: str, writes: BackgroundWrites | None = None) -> None:
        self.store = store
        self.data_version = data_version
        self.writes = writes if writes is not None else BackgroundWrites()
        self.hits = 0
        self.misses = 0
        self.slow_store_reads = 0  # cache reads given up on (a locked or busy store)
        self._store_slow_until = 0.0  # monotonic time until which cache reads are skipped
        self._answers: LruCache[str, Answer] = LruCache(MEMORY_ANSWERS, ANSWER_CACHE_TTL_SECONDS)
        self._charts: LruCache[str, bytes] = LruCache(MEMORY_CHARTS, CHART_CACHE_TTL_SECONDS)

    # ------------------------------------------------------------------ keys (the one place they are written)

    def answer_key(self, request: Request, lang: str, page: int, market: str) -> str:
        return f"answer:{self.data_version}:{lang}:{page}:{request_key(request)}:{market}"

    def chart_key(self, request: Request, lang: str, market: str) -> str:
        return f"chart:{self.data_version}:{lang}:{request_key(request)}:{market}"

    # ------------------------------------------------------------------ answers

    def remembered(self, key: str) -> Answer | None:
        """The answer if it is in memory (no I/O)."""
        return self._answers.get(key)

    def variant(self, key: str, make: Callable[[], Answer]) -> Answer:
        """One object per key for an answer derived from another (with or without its chart): built once, so what a
        transport builds from it can be reused too. Kept in memory even without a store."""
        result = self._answers.get(key)
        if result is None:
            result = make()
            self._answers.put(key, result)
        return result

    async def answer(self, key: str, build: Callable[[], Answer]) -> tuple[Answer, bool]:
        """The answer and whether it came from a cache (memory first, then the store); built and stored if not."""
        if self.store is None:  # no store: no caching at all (benchmarks use this for the uncached path)
            return build(), False
        if (remembered := self._answers.get(key)) is not None:
            self.hits += 1
            return remembered, True
        if (cached := await self.read(key)) is not None:
            try:
                result = answer_from_json(cached)
            except Exception as exc:  # an entry from another version, or scribbled over: rebuild it
                log.warning("store: ignoring an unreadable cached answer (%s)", type(exc).__name__)
            else:
                self._answers.put(key, result)
                self.hits += 1
                return result, True
        self.misses += 1
        result = build()
        self._answers.put(key, result)
        self.writes.submit(_store_answer(self.store, key, result), "answer cache")
        return result, False

    # ------------------------------------------------------------------ charts

    def remembered_chart(self, key: str) -> bytes | None:
        return self._charts.get(key)

    async def chart(self, key: str) -> bytes | None:
        """A chart from memory or the store (only a real PNG counts), else None."""
        if (remembered := self._charts.get(key)) is not None:
            return remembered
        if (cached := await self.read(key)) is not None and cached.startswith(PNG_SIGNATURE):
            self._charts.put(key, cached)
            return cached
        return None

    def put_chart(self, key: str, png: bytes) -> None:
        if self.store is None:
            return
        self._charts.put(key, png)
        self.writes.submit(self.store.cache_put(key, png, CHART_CACHE_TTL_SECONDS), "chart cache")

    # ------------------------------------------------------------------ the store

    async def read(self, key: str) -> bytes | None:
        """A store cache read that gives up after STORE_READ_SECONDS: a locked store must not hold up an answer."""
        if self.store is None or time.monotonic() < self._store_slow_until:
            return None
        try:
            return await asyncio.wait_for(self.store.cache_get(key), STORE_READ_SECONDS)
        except TimeoutError:
            self._store_slow_until = time.monotonic() + STORE_BACKOFF_SECONDS
            self.slow_store_reads += 1
            if self.slow_store_reads == 1 or self.slow_store_reads % 100 == 0:  # not a line per ask in a burst
                log.warning(
                    "store: a cache read took over %.2f s (%d so far); answering without the cache",
                    STORE_READ_SECONDS,
                    self.slow_store_reads,
                )
            return None
        except Exception as exc:  # a cache is never worth an error: an odd entry is a miss
            log.warning("store: cache read failed (%s: %s); answering without the cache", type(exc).__name__, exc)
            return None


async def _store_answer(store: Store, key: str, result: Answer) -> None:
    # Serialised in the background too: the reply does not pay for it, and a failure is only logged.
    await store.cache_put(key, answer_to_json(result), ANSWER_CACHE_TTL_SECONDS)
