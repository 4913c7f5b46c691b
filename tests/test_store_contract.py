"""One contract, both backends: every test here runs against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from bot.domain.facts import Facts
from bot.infra.market import MarketData
from bot.store import MalformedId, SQLiteStore, Store, StoreUnavailable
from bot.store.base import SNAPSHOTS_KEPT, Preference
from bot.store.postgres import PostgresStore
from tests.fake_market import FakeMarketAPI
from tests.fakes import FakeClock

Factory = Callable[..., Store]


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """Opens stores on one database of this test's own: two calls are two 'processes' sharing it."""
    if request.param == "sqlite":
        path = tmp_path / "contract.sqlite3"
        return lambda **kw: SQLiteStore(path, **kw)
    url: str = request.getfixturevalue("pg_url")
    return lambda **kw: PostgresStore(url, **kw)


@pytest.fixture
def unusable_store(request: pytest.FixtureRequest, tmp_path: Path, new_store: Factory) -> Store:
    blocker = tmp_path / "file"
    blocker.write_text("a regular file: nothing can be created below it", encoding="utf-8")
    if isinstance(new_store(), SQLiteStore):
        return SQLiteStore(blocker / "db" / "bot.sqlite3")
    return PostgresStore("postgresql://postgres@127.0.0.1:1/nothing", connect_timeout=1)


async def test_opens_migrated_and_reopens(new_store: Factory) -> None:
    async with new_store() as store:
        assert store.available and store.problem is None
        await store.set_meta("k", "v")
    async with new_store() as store:  # migrations are not re-run over existing tables
        assert store.available and await store.get_meta("k") == "v"


async def test_cache_round_trip_expiry_and_sweep(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(clock=clock) as store:
        assert await store.cache_put("k", b"\x00bytes\xff", ttl_seconds=60)
        assert await store.cache_get("k") == b"\x00bytes\xff"
        assert await store.cache_get("missing") is None
        clock.now += 61
        assert await store.cache_get("k") is None
        assert await store.cache_put("other", b"x", 60)
        assert await store.cache_count() == 1  # the expired entry was swept


async def test_cache_is_bounded_oldest_evicted_first(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(max_cache_entries=3, clock=clock) as store:
        for i in range(5):
            clock.now += 1
            await store.cache_put(f"k{i}", b"v", 3600)
        assert await store.cache_count() == 3
        assert await store.cache_get("k0") is None and await store.cache_get("k1") is None
        assert await store.cache_get("k4") == b"v"


async def test_language_preferences_all_languages_and_reset(new_store: Factory) -> None:
    async with new_store() as store:
        await store.set_language("user", 42, "zh-TW")
        await store.set_language("user", 43, "zh-CN")
        await store.set_language("guild", 2**62, "en")  # Discord ids are 64-bit
        with pytest.raises(ValueError):
            await store.set_language("user", 44, "fr")
    async with new_store() as store:
        assert await store.get_language("user", 42) == "zh-TW"
        assert await store.get_language("user", 43) == "zh-CN"
        assert await store.get_language("guild", 2**62) == "en"
        assert await store.get_language("guild", 42) is None  # scopes are separate
        await store.set_language("user", 42, None)  # back to automatic
        assert await store.get_language("user", 42) is None


async def test_a_choice_made_through_one_process_applies_at_once_in_another(new_store: Factory) -> None:
    async with new_store() as first, new_store() as second:
        assert await second.get_language("user", 7) is None  # looked up (and absent) before the change
        await first.set_language("user", 7, "zh-TW")
        assert await second.get_language("user", 7) == "zh-TW"
        await second.set_language("user", 7, "en")
        assert await first.get_language("user", 7) == "en"
        await first.set_language("user", 7, None)
        assert await second.get_language("user", 7) is None


async def test_a_warm_lookup_still_sees_another_process_s_change_at_once(new_store: Factory) -> None:
    async with new_store() as first, new_store() as second:
        for _ in range(3):  # whatever a backend keeps in memory is warm now
            assert await first.get_languages(1, 5) == (None, None)
        await second.set_language("user", 1, "zh-TW")
        assert await first.get_languages(1, 5) == ("zh-TW", None)
        await second.set_language("guild", 5, "zh-CN")
        assert await first.get_languages(1, 5) == ("zh-TW", "zh-CN")
        assert await first.get_language("guild", 5) == "zh-CN"
        await second.set_language("user", 1, None)
        assert await first.get_languages(1, 5) == (None, "zh-CN")
        await second.import_preferences([Preference("user", 1, "en", 2e9)])
        assert await first.get_language("user", 1) == "en"


async def test_meta_values_and_prefix_listing(new_store: Factory) -> None:
    async with new_store() as store:
        assert await store.get_meta("command_sync_hash:global") is None
        assert await store.set_meta("command_sync_hash:global", "abc")
        assert await store.set_meta("command_sync_hash:123", "def")
        assert await store.set_meta("command_sync_hash:global", "abd")
        assert await store.set_meta("gateway_heartbeat", "1.5")
        assert await store.get_meta("command_sync_hash:global") == "abd"
        assert await store.meta_items("command_sync_hash:") == [
            ("command_sync_hash:123", "def"),
            ("command_sync_hash:global", "abd"),
        ]


async def test_market_snapshots_newest_wins_and_history_is_bounded(new_store: Factory) -> None:
    async with new_store() as store:
        assert await store.latest_snapshot() is None
        for i in range(SNAPSHOTS_KEPT + 5):
            assert await store.save_snapshot(1000.0 + i, f'{{"n": {i}}}')
        assert await store.save_snapshot(500.0, '{"n": "old"}')  # an older fetch arriving late does not win
        assert await store.latest_snapshot() == (1000.0 + SNAPSHOTS_KEPT + 4, f'{{"n": {SNAPSHOTS_KEPT + 4}}}')


async def test_cooldown_counts_uses_across_processes(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(clock=clock) as first, new_store(clock=clock) as second:
        assert await first.cooldown_hit(1, rate=2, per=30.0) == 0
        clock.now += 10
        assert await second.cooldown_hit(1, rate=2, per=30.0) == 0
        clock.now += 5
        assert await first.cooldown_hit(1, rate=2, per=30.0) == pytest.approx(15.0)  # oldest use leaves at +30
        assert await second.cooldown_hit(2, rate=2, per=30.0) == 0  # another user is not affected
        clock.now += 15
        assert await second.cooldown_hit(1, rate=2, per=30.0) == 0  # the first use has left the window
        assert await first.cooldown_hit(1, rate=2, per=30.0) == pytest.approx(10.0)


async def test_concurrent_uses_by_one_user_are_each_counted(new_store: Factory) -> None:
    async with new_store() as first, new_store() as second:
        results = await asyncio.gather(*(s.cooldown_hit(9, rate=5, per=60.0) for s in (first, second) * 5))
    assert sorted(r == 0 for r in results) == [False] * 5 + [True] * 5


async def test_a_lease_has_one_holder_until_released_or_expired(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(clock=clock) as first, new_store(clock=clock) as second:
        assert await first.try_lease("market", 600)
        assert not await second.try_lease("market", 600)
        assert await first.try_lease("market", 600)  # the holder may renew it
        assert await second.try_lease("sync", 60)  # names are independent
        clock.now += 601
        assert await second.try_lease("market", 600)  # expired: free for anyone
        await first.release_lease("market")  # not the holder: no effect
        assert not await first.try_lease("market", 600)
        await second.release_lease("market")
        assert await first.try_lease("market", 600)


async def test_lease_context_waits_for_the_other_holder(new_store: Factory) -> None:
    async with new_store() as first, new_store() as second:
        order: list[str] = []

        async def hold(store: Store, name: str) -> None:
            async with store.lease("sync", 30, wait_seconds=10) as held:
                assert held
                order.append(f"{name} in")
                await asyncio.sleep(0.3)
                order.append(f"{name} out")

        await asyncio.gather(hold(first, "a"), hold(second, "b"))
        assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
        async with first.lease("sync", 30, wait_seconds=0) as held, second.lease("sync", 30, wait_seconds=0.2) as other:
            assert held and not other


async def test_preferences_export_and_idempotent_import_newer_wins(new_store: Factory) -> None:
    clock = FakeClock(2000.0)
    async with new_store(clock=clock) as store:
        await store.set_language("user", 1, "en")  # updated at 2000: newer than the import's row for user 1
        rows = [
            Preference("user", 1, "zh-TW", 1000.0),
            Preference("user", 2, "zh-CN", 1500.0),
            Preference("guild", 3, "zh-TW", 1500.0),
        ]
        assert await store.import_preferences(rows) == 2
        assert await store.import_preferences(rows) == 0  # idempotent
        assert await store.preferences() == [
            Preference("guild", 3, "zh-TW", 1500.0),
            Preference("user", 1, "en", 2000.0),
            Preference("user", 2, "zh-CN", 1500.0),
        ]


async def test_an_unusable_store_answers_nothing_and_refuses_settings(unusable_store: Store) -> None:
    async with unusable_store as store:
        assert not store.available and store.problem
        assert await store.cache_get("k") is None
        assert not await store.cache_put("k", b"v", 60)
        assert await store.get_language("user", 1) is None
        assert await store.get_meta("k") is None and not await store.set_meta("k", "v")
        assert await store.latest_snapshot() is None and not await store.save_snapshot(1.0, "{}")
        assert await store.cooldown_hit(1, 1, 30.0) == 0  # never lock people out because the store is down
        with pytest.raises(StoreUnavailable):
            await store.set_language("user", 1, "en")


async def test_processes_sharing_a_store_make_one_market_request_per_ttl(new_store: Factory, facts: Facts) -> None:
    clock = FakeClock()
    async with (
        FakeMarketAPI() as api,
        aiohttp.ClientSession() as session,
        new_store(clock=clock) as first,
        new_store(clock=clock) as second,
        new_store(clock=clock) as third,
    ):
        markets = [
            MarketData(session, api.base_url, facts, store=s, ttl_seconds=600, clock=clock)
            for s in (first, second, third)
        ]
        caps = await asyncio.gather(*(m.market_cap() for m in markets))  # all at once: one holds the lease
        for market in markets:
            await market._writes.drain()  # the holder stores its snapshot in the background
        assert api.hits["global"] == 1
        assert sum(c.kind == "live" for c in caps) >= 1
        later = [await m.market_cap() for m in markets]  # the others now read what the holder stored
        assert api.hits["global"] == 1
        assert [(c.kind, c.usd) for c in later] == [("live", Decimal("3123456789012.5"))] * 3
        clock.now += 601  # the TTL is over: again exactly one request between them
        await asyncio.gather(*(m.market_cap() for m in markets))
        assert api.hits["global"] == 2


async def test_user_and_server_language_in_one_read(new_store: Factory) -> None:
    async with new_store() as store:
        assert await store.get_languages(1, 2) == (None, None)
        await store.set_language("guild", 2, "zh-TW")
        await store.set_language("user", 2, "en")  # same id, other scope: not the server's
        assert await store.get_languages(1, 2) == (None, "zh-TW")
        await store.set_language("user", 1, "zh-CN")
        assert await store.get_languages(1, 2) == ("zh-CN", "zh-TW")
        assert await store.get_languages(1, None) == ("zh-CN", None)  # a DM has no server


async def test_languages_and_cooldown_read_both_and_count_the_use_across_processes(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(clock=clock) as first, new_store(clock=clock) as second:
        await second.set_language("guild", 5, "zh-TW")
        assert await first.languages_and_cooldown(1, 5, rate=2, per=30.0) == (None, "zh-TW", 0.0)
        await second.set_language("user", 1, "zh-CN")
        clock.now += 10
        assert await second.languages_and_cooldown(1, None, rate=2, per=30.0) == ("zh-CN", None, 0.0)  # a DM
        user, guild, wait = await first.languages_and_cooldown(1, 5, rate=2, per=30.0)
        assert (user, guild) == ("zh-CN", "zh-TW")
        assert wait == pytest.approx(20.0)  # the third use within 30 s: the first leaves the window at +30
        assert await second.cooldown_hit(1, rate=2, per=30.0) == pytest.approx(20.0)  # the same window
        assert await first.languages_and_cooldown(2, 6, rate=2, per=30.0) == (None, None, 0.0)


async def test_an_unusable_store_lets_a_process_act_alone_on_both_backends(unusable_store: Store) -> None:
    async with unusable_store as store:
        assert await store.try_lease("market_fetch", 600)  # nothing to coordinate through: not "someone else has it"
        assert await store.first_sighting("interaction:1", 600) is None  # cannot say; the caller's memory decides
        assert await store.check() == store.problem


async def test_a_healthy_store_passes_its_check(new_store: Factory) -> None:
    async with new_store() as store:
        assert await store.check() is None


async def test_ids_at_or_above_2_63_are_malformed_not_errors(new_store: Factory) -> None:
    async with new_store() as store:
        await store.set_language("user", 2**63 - 1, "en")  # the largest id there is
        assert await store.get_language("user", 2**63 - 1) == "en"
        for ident in (2**63, 2**64 - 1, -1):
            with pytest.raises(MalformedId):
                await store.set_language("user", ident, "en")
            assert await store.get_language("guild", ident) is None
            assert await store.get_languages(ident, 1) == (None, None)
            assert await store.get_languages(1, ident) == (None, None)
            assert await store.cooldown_hit(ident, 5, 30.0) == 0
            assert await store.languages_and_cooldown(ident, None, 5, 30.0) == (None, None, 0.0)
        await store.set_language("user", 1, "zh-TW")  # the store is fine afterwards
        assert await store.get_language("user", 1) == "zh-TW"


async def test_an_interaction_is_first_seen_once_across_processes_within_its_window(new_store: Factory) -> None:
    clock = FakeClock()
    async with new_store(clock=clock) as first, new_store(clock=clock) as second:
        assert await first.first_sighting("interaction:1", 600) is True
        assert await second.first_sighting("interaction:1", 600) is False
        assert await first.first_sighting("interaction:1", 600) is False
        assert await second.first_sighting("interaction:2", 600) is True
        clock.now += 601
        assert await second.first_sighting("interaction:1", 600) is True  # the window has passed


async def test_a_reset_is_a_dated_choice_that_an_older_import_does_not_undo(new_store: Factory) -> None:
    clock = FakeClock(2000.0)
    async with new_store(clock=clock) as store:
        await store.set_language("user", 1, "zh-TW")
        clock.now = 3000.0
        await store.set_language("user", 1, None)
        assert await store.get_language("user", 1) is None
        assert await store.get_languages(1, None) == (None, None)
        assert await store.preferences() == [Preference("user", 1, None, 3000.0)]
        assert await store.import_preferences([Preference("user", 1, "en", 2500.0)]) == 0  # older than the reset
        assert await store.get_language("user", 1) is None
        assert await store.import_preferences([Preference("user", 1, "en", 3500.0)]) == 1  # newer: it wins
        assert await store.get_language("user", 1) == "en"
