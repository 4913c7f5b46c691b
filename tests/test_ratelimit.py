from __future__ import annotations

from bot.discord_app.ratelimit import UserRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_per_thirty_seconds_then_wait() -> None:
    clock = Clock()
    limiter = UserRateLimiter(5, 30.0, clock)
    for _ in range(5):
        assert limiter.retry_after(1) == 0.0
        clock.now += 1
    assert limiter.retry_after(1) == 25.0  # the first use (at t=0) frees up at t=30; now is t=5
    assert limiter.retry_after(2) == 0.0  # other users are unaffected
    clock.now += 25
    assert limiter.retry_after(1) == 0.0


def test_idle_users_are_swept() -> None:
    clock = Clock()
    limiter = UserRateLimiter(5, 30.0, clock)
    for user in range(1000):
        limiter.retry_after(user)
    clock.now += 31
    limiter.retry_after(5000)
    assert len(limiter._hits) == 1
