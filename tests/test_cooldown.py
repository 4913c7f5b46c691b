from __future__ import annotations

from bot.infra.cooldown import Cooldown, MemoryCooldown


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_five_per_thirty_seconds_then_wait() -> None:
    clock = Clock()
    cooldown: Cooldown = MemoryCooldown(5, 30.0, clock)
    for _ in range(5):
        assert await cooldown.retry_after(1) == 0.0
        clock.now += 1
    assert await cooldown.retry_after(1) == 25.0  # the first use (at t=0) frees up at t=30; now is t=5
    assert await cooldown.retry_after(2) == 0.0  # other users are unaffected
    clock.now += 25
    assert await cooldown.retry_after(1) == 0.0


def test_idle_users_are_swept() -> None:
    clock = Clock()
    cooldown = MemoryCooldown(5, 30.0, clock)
    for user in range(1000):
        cooldown.check(user)
    clock.now += 31
    cooldown.check(5000)
    assert cooldown.tracked_users() == 1


def test_two_cooldowns_count_separately() -> None:
    """No module-level state: each owner (bot, server, test) has its own window."""
    clock = Clock()
    first, second = MemoryCooldown(1, 30.0, clock), MemoryCooldown(1, 30.0, clock)
    assert first.check(7) == 0.0
    assert second.check(7) == 0.0
    assert first.check(7) == 30.0
