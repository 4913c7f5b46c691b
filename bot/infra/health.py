"""`python -m bot health` (the Docker HEALTHCHECK) and `python -m bot backup PATH`.

Health reads the store without changing it: unusable store -> unhealthy, with the reason; with a token, the gateway
heartbeat the bot writes every HEARTBEAT_SECONDS must be recent. With BOT_DATABASE_URL the store is PostgreSQL
(its URL is shown without the password).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

from bot.infra.settings import Settings
from bot.store.sqlite import foreign_file_problem

HEARTBEAT_KEY = "gateway_heartbeat"


def heartbeat_key(shard_ids: list[int] | None) -> str:
    """Each process of a cluster beats for its own shards, so one stopped process is not hidden by the others."""
    return HEARTBEAT_KEY if not shard_ids else f"{HEARTBEAT_KEY}:{','.join(map(str, shard_ids))}"


HEARTBEAT_SECONDS = 30.0
PG_HEALTH_TIMEOUT_SECONDS = 3.0


def check_health(settings: Settings, *, now: float | None = None) -> tuple[bool, str]:
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        healthy, message, heartbeat = asyncio.run(_postgres_heartbeat(url, heartbeat_key(settings.shard_ids)))
    else:
        healthy, message, heartbeat = _sqlite_heartbeat(settings.db_path, heartbeat_key(settings.shard_ids))
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


def _sqlite_heartbeat(path: Path, key: str) -> tuple[bool, str, str | None]:
    if not path.exists():
        return False, f"store {path} does not exist (has the bot started?)", None
    problem = foreign_file_problem(path)
    if problem is not None:
        return False, f"no store: {problem}", None
    first: sqlite3.Error | None = None
    for query in ("?mode=ro", "?immutable=1"):  # immutable: a WAL file on a read-only mount, as the bot reads it
        try:
            with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + query, uri=True, timeout=2)) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    return False, f"no store: {path} failed its integrity check", None
                row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            first = first or exc
            continue
        return True, "store readable", None if row is None else str(row[0])
    return False, f"no store: {path} is unusable: {first}", None


async def _postgres_heartbeat(url: str, key: str) -> tuple[bool, str, str | None]:
    import asyncpg

    from bot.store.postgres import describe_error, host_port, migrations, safe_url

    try:
        conn = await asyncpg.connect(url, timeout=PG_HEALTH_TIMEOUT_SECONDS)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError, ValueError) as exc:
        return False, f"no store: cannot reach PostgreSQL at {host_port(url)}: {describe_error(exc, url)}", None
    try:
        async with asyncio.timeout(PG_HEALTH_TIMEOUT_SECONDS):
            if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
                return False, f"no store: PostgreSQL {safe_url(url)} has no tables yet (has the bot started?)", None
            version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
            heartbeat = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        return False, f"no store: PostgreSQL {safe_url(url)} is not usable: {describe_error(exc, url)}", None
    finally:
        conn.terminate()
    if version != migrations()[-1][0]:
        return False, f"no store: PostgreSQL {safe_url(url)} is at schema {version} (has the bot started?)", None
    return True, f"store PostgreSQL {safe_url(url)} readable", None if heartbeat is None else str(heartbeat)


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
