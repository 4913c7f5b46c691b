"""A CoinGecko-compatible fake served on 127.0.0.1, with switchable failure and hostile modes, counting requests."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

GOOD_GLOBAL: dict[str, Any] = {"data": {"total_market_cap": {"usd": 3_123_456_789_012.5, "eur": 1}, "updated_at": 1}}
GOOD_PRICES: dict[str, Any] = {"bitcoin": {"usd": 91234.5}, "ethereum": {"usd": 3012.25}}
FLOOD_CHUNK = b"1.5," * 16_384  # 64 KiB of numbers: the slowest thing to parse into Decimals
KEY_HEADERS = ("x-cg-demo-api-key", "x-cg-pro-api-key")
FLOOD_HEAD = b'{"data": {"total_market_cap": {"usd": 3e12}}, "pad": ['
FLOOD_TAIL = b"1.5]}"


def _flood_chunks(size: int) -> int:
    return (size - len(FLOOD_HEAD) - len(FLOOD_TAIL)) // len(FLOOD_CHUNK)


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """A flood body of `size` bytes gzipped (~1000:1); built once, off the loop, before a test measures it."""
    return gzip.compress(FLOOD_HEAD + FLOOD_CHUNK * _flood_chunks(size) + FLOOD_TAIL, 9)


class FakeMarketAPI:
    """mode: ok | slow | 429 | 500 | garbage | zero | negative | shape | huge | nan | deep | trickle | huge_header
    | flood (a chunked body of `flood_bytes`) | flood_declared (the same with its Content-Length)
    | gzip_bomb (a tiny gzip body that inflates to `flood_bytes`) | redirect (302 to `redirect_to` + path).

    `prices` replaces the /simple/price body (e.g. an absurd BTC price). Every request, on any path, is counted
    and the API key header it carried is recorded.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.hits: Counter[str] = Counter()
        self.api_keys: list[str | None] = []
        self.delay = 0.05
        self.prices: dict[str, Any] | str = GOOD_PRICES  # a str is sent as it is (for numbers JSON floats cannot hold)
        self.flood_bytes = 32 * 2**20
        self.flood_sent = 0  # bytes of a flood body the client accepted before hanging up
        self.redirect_to = ""
        self.cookies_received = 0
        app = web.Application()
        app.router.add_get("/api/v3/global", self._global)
        app.router.add_get("/api/v3/simple/price", self._prices)
        app.router.add_route("*", "/{tail:.*}", self._anything_else)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api/v3"))

    async def __aenter__(self) -> FakeMarketAPI:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def _record(self, request: web.Request, name: str) -> None:
        self.hits[name] += 1
        self.cookies_received += len(request.cookies)
        self.api_keys.append(next((request.headers[h] for h in KEY_HEADERS if h in request.headers), None))

    async def _anything_else(self, request: web.Request) -> web.StreamResponse:
        self._record(request, "other")
        return web.json_response(GOOD_GLOBAL)

    async def _global(self, request: web.Request) -> web.StreamResponse:
        self._record(request, "global")
        await asyncio.sleep(self.delay)  # long enough for concurrent askers to pile up
        if self.mode in ("flood", "flood_declared", "gzip_bomb"):
            return await self._flood(request)
        if self.mode == "trickle":  # headers at once, then a byte now and then: only the total timeout stops it
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            for byte in b'{"data": {"total_market_cap": {"usd": 3e12}}}':
                await response.write(bytes([byte]))
                await asyncio.sleep(0.1)
            return response
        if self.mode == "huge_header":
            return web.json_response(GOOD_GLOBAL, headers={"X-Padding": "x" * 100_000})
        if self.mode == "cookies":  # a stranger trying to make us store and send back state
            response = web.json_response(GOOD_GLOBAL)
            for i in range(60):
                response.set_cookie(f"c{i}", "x" * 3000)
            return response
        if self.mode == "nan":
            return web.Response(text='{"data": {"total_market_cap": {"usd": NaN}}}', content_type="application/json")
        if self.mode == "deep":
            return web.Response(text="[" * 200_000 + "]" * 200_000, content_type="application/json")
        return await self._respond(
            {"data": {"total_market_cap": {"usd": self._cap()}}}
            if self.mode in ("zero", "negative", "huge")
            else GOOD_GLOBAL,
            request,
        )

    async def _prices(self, request: web.Request) -> web.StreamResponse:
        self._record(request, "prices")
        return await self._respond(self.prices, request)

    def _cap(self) -> float:
        return {"zero": 0.0, "negative": -5e12, "huge": 1e30}[self.mode]

    async def _flood(self, request: web.Request) -> web.StreamResponse:
        """A valid-looking /global whose padding never ends (well, after flood_bytes)."""
        head, tail, chunks = FLOOD_HEAD, FLOOD_TAIL, _flood_chunks(self.flood_bytes)
        if self.mode == "gzip_bomb":
            body = await asyncio.to_thread(gzip_bomb, self.flood_bytes)
            self.flood_sent = len(body)  # compressed: all of it fits in the socket buffers
            return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if self.mode == "flood_declared":
            response.content_length = len(head) + len(FLOOD_CHUNK) * chunks + len(tail)
        await response.prepare(request)
        try:
            for part in (head, *([FLOOD_CHUNK] * chunks), tail):
                await response.write(part)
                self.flood_sent += len(part)
        except (ConnectionError, RuntimeError):  # the client hung up: that is the point
            return response
        await response.write_eof()
        return response

    async def _respond(self, body: dict[str, Any] | str, request: web.Request) -> web.StreamResponse:
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "redirect":
            raise web.HTTPFound(self.redirect_to + request.path_qs.removeprefix("/api/v3"))
        if self.mode == "429":
            return web.json_response({"status": {"error_code": 429}}, status=429)
        if self.mode == "500":
            return web.Response(status=500, text="oops")
        if self.mode == "garbage":
            return web.Response(text="<html>not json", content_type="application/json")
        if self.mode == "shape":
            return web.json_response({"data": [1, 2, 3]})
        return web.Response(text=body if isinstance(body, str) else json.dumps(body), content_type="application/json")
