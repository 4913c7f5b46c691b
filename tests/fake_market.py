"""A CoinGecko-compatible fake served on 127.0.0.1, with switchable failure modes and request counting."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

GOOD_GLOBAL: dict[str, Any] = {"data": {"total_market_cap": {"usd": 3_123_456_789_012.5, "eur": 1}, "updated_at": 1}}
GOOD_PRICES: dict[str, Any] = {"bitcoin": {"usd": 91234.5}, "ethereum": {"usd": 3012.25}}


class FakeMarketAPI:
    """mode: ok | slow | 429 | 500 | garbage | zero | negative | shape | huge"""

    def __init__(self) -> None:
        self.mode = "ok"
        self.hits: Counter[str] = Counter()
        self.api_keys: list[str | None] = []
        self.delay = 0.05
        app = web.Application()
        app.router.add_get("/api/v3/global", self._global)
        app.router.add_get("/api/v3/simple/price", self._prices)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api/v3"))

    async def __aenter__(self) -> FakeMarketAPI:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    async def _global(self, request: web.Request) -> web.StreamResponse:
        self.hits["global"] += 1
        self.api_keys.append(request.headers.get("x-cg-demo-api-key"))
        await asyncio.sleep(self.delay)  # long enough for concurrent askers to pile up
        return await self._respond(
            {"data": {"total_market_cap": {"usd": self._cap()}}}
            if self.mode in ("zero", "negative", "huge")
            else GOOD_GLOBAL
        )

    async def _prices(self, request: web.Request) -> web.StreamResponse:
        self.hits["prices"] += 1
        return await self._respond(GOOD_PRICES)

    def _cap(self) -> float:
        return {"zero": 0.0, "negative": -5e12, "huge": 1e30}[self.mode]

    async def _respond(self, body: dict[str, Any]) -> web.StreamResponse:
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "429":
            return web.json_response({"status": {"error_code": 429}}, status=429)
        if self.mode == "500":
            return web.Response(status=500, text="oops")
        if self.mode == "garbage":
            return web.Response(text="<html>not json", content_type="application/json")
        if self.mode == "shape":
            return web.json_response({"data": [1, 2, 3]})
        return web.json_response(body)
