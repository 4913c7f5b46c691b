"""Finishing a deferred interaction: PATCH .../webhooks/{application_id}/{token}/messages/@original (or a follow-up).

The interaction token is the only credential (no bot token). Retries are few and bounded: a token lives 15 minutes.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.http.wire import Body, webhook_body
from bot.interactions import Interaction, Reply

log = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_RETRY_AFTER = 5.0


class Webhooks:
    def __init__(self, session: aiohttp.ClientSession, api_url: str) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")

    async def edit_original(self, interaction: Interaction, reply: Reply) -> bool:
        url = f"{self.api_url}/webhooks/{interaction.application_id}/{interaction.token}/messages/@original"
        return await self._send("PATCH", url, webhook_body(reply, edit=True))

    async def follow_up(self, interaction: Interaction, reply: Reply) -> bool:
        url = f"{self.api_url}/webhooks/{interaction.application_id}/{interaction.token}"
        return await self._send("POST", url, webhook_body(reply, edit=False))

    async def _send(self, method: str, url: str, body: Body) -> bool:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.session.request(
                    method, url, data=body.data, headers={"Content-Type": body.content_type}, timeout=TIMEOUT
                ) as response:
                    if response.status < 300:
                        return True
                    retry = response.status == 429 or response.status >= 500
                    wait = float(response.headers.get("Retry-After", "0.5") or 0.5)
                    log.warning("%s webhook: HTTP %d (attempt %d)", method, response.status, attempt)
            except (aiohttp.ClientError, TimeoutError) as exc:
                retry, wait = True, 0.5
                log.warning("%s webhook failed: %s (attempt %d)", method, exc, attempt)
            if not retry or attempt == ATTEMPTS:
                return False
            await asyncio.sleep(min(max(wait, 0.1), MAX_RETRY_AFTER))
        return False
