"""`python -m bot health` (the Docker HEALTHCHECK) and `python -m bot backup PATH`.

Health reads the store without changing it: unusable store -> unhealthy; with a token, the gateway heartbeat the
bot writes every HEARTBEAT_SECONDS must be recent.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from bot.settings import Settings

HEARTBEAT_KEY = "gateway_heartbeat"
HEARTBEAT_SECONDS = 30.0


def check_health(settings: Settings, *, now: float | None = None) -> tuple[bool, str]:
    path = settings.db_path
    if not path.exists():
        return False, f"store {path} does not exist (has the bot started?)"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)) as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return False, f"store {path} failed its integrity check"
            row = db.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
    except sqlite3.Error as exc:
        return False, f"store {path} is unusable: {exc}"
    if not settings.has_token:
        return True, "ok: store readable (console mode, no gateway)"
    if row is None:
        return False, "the gateway has not been seen yet"
    age = (now or time.time()) - float(row[0])
    if age > settings.health_max_age_seconds:
        return False, f"the gateway was last seen {age:.0f} s ago (limit {settings.health_max_age_seconds} s)"
    return True, f"ok: gateway seen {age:.0f} s ago"


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
