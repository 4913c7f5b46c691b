"""Host-side helpers for scripts/image.sh's smoke checks (run with the checkout's venv: python scripts/image_smoke.py).

keypair                      print "<private hex> <public hex>": a fresh Ed25519 key for `serve`
ping URL PRIVATE [--wrong]   POST a signed PING (--wrong: signed by another key); print the status and body
discord-run -- PODMAN...     start the loopback fake Discord from the tests, run `PODMAN... <api base>` (a
                             container running `python -m bot run` pointed at it), send one /401k, stop the
                             container with SIGTERM; print one line
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def keypair() -> int:
    key = SigningKey.generate()
    print(key.encode().hex(), key.verify_key.encode().hex())
    return 0


def ping(url: str, private_hex: str, wrong: bool) -> int:
    key = SigningKey.generate() if wrong else SigningKey(bytes.fromhex(private_hex))
    body = json.dumps({"type": 1, "id": "1", "application_id": "1", "token": "t", "version": 1}).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": timestamp,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode())
    return 0


async def discord_run(podman: list[str]) -> int:
    from tests.e2e.fake_discord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    proc = await asyncio.create_subprocess_exec(
        *podman, fake.api_base, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await asyncio.wait_for(fake.ready.wait(), 120)
        started = time.perf_counter()
        token = await fake.command("401k", {}, locale="zh-TW")
        reply = await fake.wait_reply(token, timeout=30)
        seconds = time.perf_counter() - started
        title = reply.embed.get("title", "")
        proc.terminate()  # podman run (attached) passes SIGTERM on to the bot
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except (TimeoutError, AssertionError) as exc:
        proc.kill()
        out, _ = await proc.communicate()
        print(f"no /401k answer ({type(exc).__name__}); container output:\n{out.decode()[-3000:]}")
        return 1
    finally:
        await fake.close()
    if proc.returncode != 0 or not title:
        print(f"exit {proc.returncode}, title {title!r}; container output:\n{out.decode()[-3000:]}")
        return 1
    print(f"/401k answered in {seconds * 1000:.0f} ms with {title!r}; SIGTERM -> exit 0")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["keypair"]:
        return keypair()
    if argv[:1] == ["ping"]:
        return ping(argv[1], argv[2], "--wrong" in argv[3:])
    if argv[:2] == ["discord-run", "--"]:
        return asyncio.run(discord_run(argv[2:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
