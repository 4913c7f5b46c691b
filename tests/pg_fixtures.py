"""PostgreSQL for tests: the real server at BOT_TEST_DATABASE_URL, one new database per test, dropped afterwards.

Registered from tests/conftest.py (`pytest_plugins`). Unset, the variable defaults to the local server at
DEFAULT_URL; without a server there, tests that ask for `pg_url` skip with one line saying why.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

ENV = "BOT_TEST_DATABASE_URL"
# Unset, the tests try the usual local server (trust auth), so the README's one test command uses it where it runs.
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def with_database(url: str, name: str, *, password: str | None = None) -> str:
    """The same server URL pointing at another database (optionally with a password, for redaction tests)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0] or 'postgres'}:{password}@{hostport}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", parts.query, ""))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server() -> str:
    url = os.environ.get(ENV) or DEFAULT_URL
    try:
        asyncio.run(_admin(url, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        pytest.skip(f"no PostgreSQL at {ENV} ({type(exc).__name__}: {exc})")
    return url


def create_database(server: str) -> str:
    name = f"k401_test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}" TEMPLATE template0'))
    return name


def drop_database(server: str, name: str) -> None:
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL to a new, empty database of this test's own."""
    name = create_database(pg_server)
    try:
        yield with_database(pg_server, name)
    finally:
        drop_database(pg_server, name)
