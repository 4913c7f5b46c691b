"""Two `serve` replicas sharing one store: any replica answers any interaction, and shared state is shared.

Run over both stores: PostgreSQL (the real server at BOT_TEST_DATABASE_URL, a database of this module's own) is what
replicas are deployed on; one SQLite file shared by two processes also keeps preferences right. The cooldown window
is shared only through PostgreSQL (with SQLite each process counts its own: one process is what SQLite is for).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from nacl.signing import SigningKey

from tests.e2e.fake_discord import FakeDiscord
from tests.http.helpers import Serve, click, command, message_from, next_id, start_serve
from tests.pg_fixtures import create_database, drop_database, with_database

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Replicas:
    a: Serve
    b: Serve
    fake: FakeDiscord
    backend: str


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def shared_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The settings that put both replicas on one store (a new PostgreSQL database, or one SQLite file)."""
    if request.param == "sqlite":
        yield {"BOT_DB_PATH": str(tmp_path_factory.mktemp("replicas") / "shared.sqlite3")}
        return
    server = request.getfixturevalue("pg_server")  # skips, saying why, without a PostgreSQL server
    name = create_database(server)
    try:
        yield {"BOT_DATABASE_URL": with_database(server, name)}
    finally:
        drop_database(server, name)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replicas(shared_store: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicas]:
    folder = tmp_path_factory.mktemp("replicas-cwd")
    fake = FakeDiscord()
    await fake.start()
    key = SigningKey.generate()  # one application: both replicas check the same public key
    env = {**shared_store, "BOT_DISCORD_API_URL": fake.api_base}
    backend = "postgres" if "BOT_DATABASE_URL" in shared_store else "sqlite"
    try:
        async with aiohttp.ClientSession() as session:
            a = await start_serve(key, env, session, cwd=folder)
            b = await start_serve(key, env, session, cwd=folder)
            try:
                yield Replicas(a, b, fake, backend)
            finally:
                codes = [await a.stop(), await b.stop()]
        assert codes == [0, 0], a.log + b.log
    finally:
        await fake.close()


async def test_a_button_made_by_one_replica_works_through_the_other(replicas: Replicas) -> None:
    first = await replicas.a.post(command("opinions"))
    next_page = first.data["components"][0]["components"][1]["custom_id"]
    update = await replicas.b.post(click(message_from(first.data), next_page))
    assert update.body["type"] == 7 and update.embed["footer"]["text"].startswith("Page 2/2")
    menu = await replicas.b.post(command("401k", locale="zh-TW"))
    select = menu.data["components"][0]["components"][0]["custom_id"]
    chosen = await replicas.a.post(click(message_from(menu.data), select, values=["order"], locale="zh-TW"))
    assert chosen.body["type"] == 7 and chosen.embed["title"] == "2025年8月7日的第14330號行政命令"


async def test_a_language_set_through_one_replica_is_used_by_the_other(replicas: Replicas) -> None:
    me = next_id()
    saved = await replicas.a.post(command("language", {"language": "zh-TW"}, user_id=me))
    assert saved.embed["description"].startswith("已儲存")
    answer = await replicas.b.post(command("sources", locale="en-US", user_id=me))
    assert answer.embed["title"] == "每個數字的出處"


async def test_the_cooldown_counts_across_replicas(replicas: Replicas) -> None:
    me = next_id()
    answers = [await (replicas.a if i % 2 else replicas.b).post(command("sources", user_id=me)) for i in range(6)]
    assert [a.data.get("flags", 0) for a in answers[:5]] == [0] * 5
    if replicas.backend == "sqlite":  # documented: SQLite is for one process, each process counts its own window
        assert answers[5].data.get("flags", 0) == 0
        return
    assert re.fullmatch(r"You're going a bit fast — try again in \d+ s\.", answers[5].embed["description"])
