"""One real `python -m bot serve` process per test module, with a loopback fake Discord for deferred answers."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from nacl.signing import SigningKey

from tests.e2e.fake_discord import FakeDiscord
from tests.http.helpers import Serve, start_serve


@dataclass
class Endpoint:
    serve: Serve
    fake: FakeDiscord
    db_path: Path

    def store_rows(self) -> dict[str, int]:
        """How many rows each table of the serve process's store holds (read-only, from outside the process)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}

    def preference(self, scope: str, ident: int) -> str | None:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT language FROM preferences WHERE scope = ? AND id = ?", (scope, ident)).fetchone()
        return str(row[0]) if row else None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def endpoint(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Endpoint]:
    fake = FakeDiscord()
    await fake.start()
    folder = tmp_path_factory.mktemp("serve")
    db_path = folder / "bot.sqlite3"
    env = {"BOT_DB_PATH": str(db_path), "BOT_DISCORD_API_URL": fake.api_base}
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(SigningKey.generate(), env, session, cwd=folder)
        try:
            yield Endpoint(serve, fake, db_path)
        finally:
            code = await serve.stop()
            await fake.close()
    assert code == 0, serve.log
    assert "Traceback" not in serve.log, serve.log
