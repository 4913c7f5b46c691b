"""`python -m bot health` (the Docker HEALTHCHECK) and `python -m bot backup PATH`.

Health asks the store itself (Store.check: a real read, bounded in time, on a store opened only to look: nothing is
created, migrated or locked): unusable store, or one at another schema -> unhealthy, with the reason; with a token,
the gateway heartbeat the bot writes every HEARTBEAT_SECONDS must be recent. With BOT_DATABASE_URL the store is
PostgreSQL (its URL is shown without the password).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bot.infra.settings import Settings
from bot.store import store_for

HEARTBEAT_KEY = "gateway_heartbeat"


def heartbeat_key(shard_ids: list[int] | None) -> str:
    """Each process of a cluster beats for its own shards, so one stopped process is not hidden by the others."""
    return HEARTBEAT_KEY if not shard_ids else f"{HEARTBEAT_KEY}:{','.join(map(str, shard_ids))}"


HEARTBEAT_SECONDS = 30.0


def check_health(settings: Settings, *, now: float | None = None) -> tuple[bool, str]:
    healthy, message, heartbeat = asyncio.run(_store_heartbeat(settings, heartbeat_key(settings.shard_ids)))
    if not healthy:
        return False, message
    if not settings.has_token:
        return True, f"ok: {message} (console mode, no gateway)"
    if heartbeat is None:
        return False, "the gateway has not been seen yet"
    age = (now or time.time()) - float(heartbeat)
    if age > settings.health_max_age_seconds:
        return False, f"the gateway was last seen {age:.0f} s ago (limit {settings.health_max_age_seconds} s)"
    return True, f"ok: gateway seen {age:.0f} s ago"


async def _store_heartbeat(settings: Settings, key: str) -> tuple[bool, str, str | None]:
    async with store_for(settings, migrate=False) as store:
        problem = await store.check()
        if problem is not None:
            return False, problem if problem.startswith("store ") else f"no store: {problem}", None
        heartbeat = await store.get_meta(key)
        return True, f"store {store.description} readable" if store.shared else "store readable", heartbeat


def backup(settings: Settings, target: Path) -> int:
    """SQLite's online backup: consistent even while the bot is writing. Returns the backup's size in bytes."""
    if not settings.db_path.exists():
        raise FileNotFoundError(f"no store at {settings.db_path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()
    return target.stat().st_size
