"""The floor for the HTTP benchmark: a bare aiohttp endpoint that verifies Discord's signature and returns a fixed
reply. Usage: floor_http.py PUBLIC_KEY_HEX  (prints `listening on http://127.0.0.1:PORT` when ready)."""

from __future__ import annotations

import asyncio
import gc
import sys

from aiohttp import web
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

REPLY = b'{"type":4,"data":{"content":"pong","allowed_mentions":{"parse":[]}}}'


async def main(key_hex: str) -> None:
    key = VerifyKey(bytes.fromhex(key_hex))

    async def interactions(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Signature-Timestamp", "")
        try:
            key.verify(stamp.encode() + body, bytes.fromhex(request.headers.get("X-Signature-Ed25519", "")))
        except (ValueError, BadSignatureError):
            return web.Response(status=401)
        return web.Response(body=REPLY, content_type="application/json")

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/interactions", interactions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    gc.freeze()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
