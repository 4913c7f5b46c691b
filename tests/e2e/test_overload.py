"""Under overload: an interaction already past Discord's 3 s acknowledgement deadline is dropped before any work,
and an acknowledgement Discord refuses as too late is counted once, never retried and never a traceback."""

from __future__ import annotations

import itertools
import logging
import time

import pytest

from bot.interactions.deadline import DISCORD_EPOCH_MS, interaction_age, too_late
from tests.e2e.helpers import Harness


def _snowflake(at: float) -> int:
    return (int(at * 1000) - DISCORD_EPOCH_MS) << 22


def test_the_age_comes_from_the_id_only_when_it_is_plausible() -> None:
    now = time.time()
    age = interaction_age(_snowflake(now - 2.0), now)
    assert age is not None and abs(age - 2.0) < 0.01
    assert not too_late(_snowflake(now - 2.0), now)
    assert too_late(_snowflake(now - 3.0), now)
    assert interaction_age(1_400_000_000_000_000_000, now) is None  # a year-old id: a clock or a fake, not a backlog
    assert not too_late(1_400_000_000_000_000_000, now)


async def test_an_interaction_past_its_deadline_is_dropped_before_any_work(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    fake, gateway = harness.fake, harness.bot.gateway
    fake._ids = itertools.count(_snowflake(time.time() - 4.0))  # ids made 4 s ago: a backlog the bot is behind on
    with caplog.at_level(logging.INFO):
        late = await fake.command("401k")
        fake._ids = itertools.count(_snowflake(time.time()))
        live = await fake.wait_reply(await fake.command("sources"))
    assert live.body["type"] == 4
    assert late not in fake.replies and gateway.dropped_late == 1
    late_series = {"command": "401k", "language": "unknown", "outcome": "late"}
    assert gateway.handler.metrics.registry.get_sample_value("k401_interactions_total", late_series) == 1
    assert "Traceback" not in caplog.text and not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert not any(r.getMessage().startswith("/401k") for r in caplog.records)  # no work, no interaction line


async def test_an_acknowledgement_refused_as_too_late_is_counted_not_retried(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    fake, gateway = harness.fake, harness.bot.gateway
    fake.refuse_callbacks = True
    with caplog.at_level(logging.INFO):
        tokens = [await fake.command("401k", user_id=900 + i) for i in range(3)]
        for token in tokens:
            await fake.wait_reply(token, final=False)
    fake.refuse_callbacks = False
    answered = await fake.wait_reply(await fake.command("sources"))  # and the bot goes on answering
    assert answered.body["type"] == 4
    assert [len(fake.replies[t]) for t in tokens] == [1, 1, 1]  # one try each: no apology sent after it
    assert gateway.acks_late == 3
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), caplog.text
    assert sum("overloaded" in r.getMessage() for r in caplog.records) == 1  # one line, not one per interaction
