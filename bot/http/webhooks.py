"""Finishing a deferred interaction: PATCH .../webhooks/{application_id}/{token}/messages/@original (or a follow-up).

The interaction token is the only credential (no bot token), and it lives 15 minutes: a deferred answer is retried
until DELIVERY_SECONDS after the interaction arrived (a bounded number of attempts), honouring Discord's rate limits
— the JSON body's `retry_after` and `global`, `X-RateLimit-Reset-After`, `Retry-After` in seconds or as an HTTP
date — through one RateLimits per process, so a global 429 pauses every answer once instead of each finding out on
its own. Nonsense values (nan, inf, negative, garbage) fall back to a short wait. A final failure is one log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bot.http.wire import Body, webhook_body
from bot.interactions import Interaction, Reply

log = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 15 * 60.0
DELIVERY_SECONDS = TOKEN_LIFETIME_SECONDS - 60.0  # stop a minute before the token expires
MAX_ATTEMPTS = 60
TIMEOUT = aiohttp.ClientTimeout(total=10)
DEFAULT_WAIT = 1.0  # a 429 without a usable figure
MAX_WAIT = 60.0  # one wait at most; a longer limit is re-read on the next answer
MAX_BACKOFF = 30.0  # after 5xx or no answer: 0.5, 1, 2, ... s, at most this
MAX_ERROR_BODY = 64 * 1024


def _seconds(text: object) -> float | None:
    """A finite, non-negative number of seconds, or None (nan, inf, negative, garbage)."""
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _http_date_seconds(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def retry_after(headers: Mapping[str, str], body: Any, *, now: float | None = None) -> tuple[float, bool]:
    """How long a 429 asks to wait, and whether the limit is global. The JSON body first (Discord's own figure,
    with decimals), then X-RateLimit-Reset-After, then Retry-After (seconds or an HTTP date); at most MAX_WAIT."""
    data = body if isinstance(body, dict) else {}
    is_global = data.get("global") is True or str(headers.get("X-RateLimit-Global", "")).lower() == "true"
    is_global = is_global or str(headers.get("X-RateLimit-Scope", "")).lower() == "global"
    retry_header = str(headers.get("Retry-After", ""))
    candidates = (
        _seconds(data.get("retry_after")) if "retry_after" in data else None,
        _seconds(headers["X-RateLimit-Reset-After"]) if "X-RateLimit-Reset-After" in headers else None,
        _seconds(retry_header) if retry_header else None,
        _http_date_seconds(retry_header, time.time() if now is None else now) if retry_header else None,
    )
    wait = next((c for c in candidates if c is not None), DEFAULT_WAIT)
    return min(wait, MAX_WAIT), is_global


class RateLimits:
    """Discord's rate-limit state for this process: the global limit, and per-route buckets (a webhook's route is
    per interaction token). Every answer waits for what applies to it before sending."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.global_until = 0.0
        self.buckets: dict[str, float] = {}

    def wait_for(self, route: str) -> float:
        return max(0.0, self.global_until - self.clock(), self.buckets.get(route, 0.0) - self.clock())

    def limited(self, route: str, seconds: float, *, is_global: bool) -> None:
        until = self.clock() + seconds
        if is_global:
            self.global_until = max(self.global_until, until)
        else:
            self.buckets[route] = max(self.buckets.get(route, 0.0), until)

    def exhausted(self, route: str, headers: Mapping[str, str]) -> None:
        """A success that used the bucket's last request: the next one on this route waits for the reset."""
        reset = _seconds(headers.get("X-RateLimit-Reset-After", ""))
        if headers.get("X-RateLimit-Remaining") == "0" and reset is not None:
            self.buckets[route] = self.clock() + min(reset, MAX_WAIT)

    def forget(self, route: str) -> None:
        self.buckets.pop(route, None)


class Webhooks:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.limits = limits or RateLimits(clock)
        self.clock = clock

    async def edit_original(self, interaction: Interaction, reply: Reply, *, deadline: float | None = None) -> bool:
        url = f"{self.api_url}/webhooks/{interaction.application_id}/{interaction.token}/messages/@original"
        return await self._send("PATCH", url, webhook_body(reply, edit=True), interaction.token, deadline)

    async def follow_up(self, interaction: Interaction, reply: Reply, *, deadline: float | None = None) -> bool:
        url = f"{self.api_url}/webhooks/{interaction.application_id}/{interaction.token}"
        return await self._send("POST", url, webhook_body(reply, edit=False), interaction.token, deadline)

    async def _send(self, method: str, url: str, body: Body, route: str, deadline: float | None) -> bool:
        """True once Discord took the answer; False (after one log line) when it cannot be delivered in time."""
        started = self.clock()
        deadline = started + DELIVERY_SECONDS if deadline is None else deadline
        last = "not sent"
        backoff = 0.5
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                wait = self.limits.wait_for(route)
                if self.clock() + wait >= deadline:
                    break
                if wait:
                    await asyncio.sleep(wait)
                    continue  # the state may have moved on while waiting (another answer saw a new 429)
                try:
                    async with self.session.request(
                        method, url, data=body.data, headers={"Content-Type": body.content_type}, timeout=TIMEOUT
                    ) as response:
                        if response.status < 300:
                            self.limits.exhausted(route, response.headers)
                            return True
                        last = f"HTTP {response.status}"
                        if response.status == 429:
                            seconds, is_global = retry_after(response.headers, await _json_of(response))
                            self.limits.limited(route, seconds, is_global=is_global)
                            log.debug(
                                "%s webhook: 429 for %.2f s (global=%s, attempt %d)",
                                method,
                                seconds,
                                is_global,
                                attempt,
                            )
                            continue
                        if response.status < 500:
                            break  # 400/401/403/404: the token has expired or the body is refused; retrying won't help
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = type(exc).__name__
                log.debug("%s webhook: %s (attempt %d)", method, last, attempt)
                pause = min(backoff, MAX_BACKOFF) * random.uniform(0.8, 1.2)
                backoff *= 2
                if self.clock() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
        finally:
            self.limits.forget(route)
        log.warning(
            "deferred answer not delivered: %s %s after %.0f s (last: %s)",
            method,
            "@original" if method == "PATCH" else "follow-up",
            self.clock() - started,
            last,
        )
        return False


async def _json_of(response: aiohttp.ClientResponse) -> Any:
    try:
        return json.loads(await response.content.read(MAX_ERROR_BODY))
    except (ValueError, aiohttp.ClientError, TimeoutError):
        return None
