"""`python -m bot health` in HTTP mode: ask the local serve process's /healthz (Docker HEALTHCHECK, scripts)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from bot.infra.settings import Settings

TIMEOUT_SECONDS = 5.0


def http_mode(settings: Settings) -> bool:
    """A public key and no bot token: this container runs `serve`, so health asks the endpoint."""
    return bool(settings.discord_public_key) and not settings.has_token


def probe(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{settings.http_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
            return True, f"ok: {url} answered {body.get('status', 'ok')}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{url} did not answer: {getattr(exc, 'reason', exc)}"
