from __future__ import annotations

from bot.infra.cooldown import Cooldown, MemoryCooldown, StoreCooldown, cooldown_for
from tests.fakes import FakeClock


async def test_five_per_thirty_seconds_then_wait() -> None:
    clock = FakeClock(1000.0)
    cooldown: Cooldown = MemoryCooldown(5, 30.0, clock)
    for _ in range(5):
        assert await cooldown.retry_after(1) == 0.0
        clock.now += 1
    assert await cooldown.retry_after(1) == 25.0  # the first use (at t=0) frees up at t=30; now is t=5
    assert await cooldown.retry_after(2) == 0.0  # other users are unaffected
    clock.now += 25
    assert await cooldown.retry_after(1) == 0.0


def test_idle_users_are_swept() -> None:
    clock = FakeClock(1000.0)
    cooldown = MemoryCooldown(5, 30.0, clock)
    for user in range(1000):
        cooldown.check(user)
    clock.now += 31
    cooldown.check(5000)
    assert cooldown.tracked_users() == 1


def test_two_cooldowns_count_separately() -> None:
    """No module-level state: each owner (bot, server, test) has its own window."""
    clock = FakeClock(1000.0)
    first, second = MemoryCooldown(1, 30.0, clock), MemoryCooldown(1, 30.0, clock)
    assert first.check(7) == 0.0
    assert second.check(7) == 0.0
    assert first.check(7) == 30.0


async def test_the_bots_cooldown_is_five_commands_per_thirty_seconds() -> None:
    """The product's rate and window, asserted directly (the tests above pass their own)."""
    clock = FakeClock(1000.0)
    cooldown = MemoryCooldown(clock=clock)
    assert (cooldown.rate, cooldown.per) == (5, 30.0)
    for _ in range(5):
        assert await cooldown.retry_after(1) == 0.0
    assert await cooldown.retry_after(1) == 30.0  # the sixth command in the same second waits the whole window
    clock.advance(29.9)
    assert await cooldown.retry_after(1) > 0
    clock.advance(0.1)
    assert await cooldown.retry_after(1) == 0.0


def test_every_process_kind_gets_the_same_window() -> None:
    class Shared:
        shared = True

    class Local:
        shared = False

    shared, local = cooldown_for(Shared()), cooldown_for(Local())  # type: ignore[arg-type]
    assert isinstance(shared, StoreCooldown) and isinstance(local, MemoryCooldown)
    assert (shared.rate, shared.per) == (local.rate, local.per) == (5, 30.0)
