"""Prometheus metrics: the handler counts each interaction once, by command, language and outcome; the exposition
is parsed with prometheus-client's own parser; labels stay bounded; each process owns its registry."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.domain.facts import Facts
from bot.infra.cooldown import MemoryCooldown
from bot.infra.metrics import Metrics, command_label, outcome_label
from bot.infra.services import watched
from bot.interactions import Interaction, InteractionHandler, Kind, ReplyKind
from bot.store import SQLiteStore, Store
from tests.helpers import REPO

USER, GUILD = 42, 7


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed by prometheus-client: (name, sorted labels) -> value."""
    parsed: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def interactions(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    return {
        (labels["command"], labels["language"], labels["outcome"]): value
        for (name, pairs), value in samples(metrics).items()
        if name == "k401_interactions_total"
        for labels in [dict(pairs)]
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with SQLiteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


def _handler(facts: Facts, renderer: Renderer, store: Store, *, rate: int = 1000, **kwargs: Any) -> InteractionHandler:
    return InteractionHandler(Core(facts, renderer, store=store), store, MemoryCooldown(rate, 30.0), **kwargs)


def _command(name: str, options: dict[str, Any] | None = None, locale: str = "en-US", **kw: Any) -> Interaction:
    fields: dict[str, Any] = {"locale": locale, "user_id": USER, "guild_id": GUILD} | kw
    return Interaction(Kind.COMMAND, name=name, options=options or {}, **fields)


async def test_each_interaction_is_counted_once_by_command_language_and_outcome(
    facts: Facts, renderer: Renderer, store: Store
) -> None:
    handler = _handler(facts, renderer, store)
    sent = [
        _command("401k", locale="zh-TW"),
        _command("401k", locale="zh-TW"),
        _command("401k", {"topic": "scale"}, locale="zh-CN"),
        _command("sources"),
        _command("opinions", {"stance": "nonsense"}),  # input error
        _command("inflow", {"allocation": "abc"}, locale="zh-TW"),  # input error
        Interaction(Kind.PING),  # not an interaction a user sees: not counted
    ]
    for interaction in sent:
        outcome = await handler.handle(interaction)
        if outcome.final is not None:
            await outcome.final
    assert interactions(handler.metrics) == {
        ("401k", "zh-TW", "answered"): 2,
        ("401k", "zh-CN", "answered"): 1,
        ("sources", "en", "answered"): 1,
        ("opinions", "en", "input_error"): 1,
        ("inflow", "zh-TW", "input_error"): 1,
    }
    assert value(handler.metrics, "k401_interaction_ack_seconds_count") == 6
    assert value(handler.metrics, "k401_interaction_final_seconds_count") == 6
    # The first /401k in zh-TW was drawn, the second came from the answer cache; errors never touch the cache.
    assert value(handler.metrics, "k401_answer_cache_requests_total", result="miss") == 3
    assert value(handler.metrics, "k401_answer_cache_requests_total", result="hit") == 1


async def test_cooldown_deferred_and_internal_errors(
    facts: Facts, renderer: Renderer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = _handler(facts, renderer, store, rate=2, defer_after=0.05)
    release = asyncio.Event()
    original = handler.core.respond

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(handler.core, "respond", slow)
    deferred = await handler.handle(_command("opinions", locale="zh-CN"))
    assert deferred.reply.kind is ReplyKind.DEFERRED_MESSAGE and deferred.final is not None
    assert interactions(handler.metrics) == {}  # counted when its final answer is ready, not at the deferral
    release.set()
    await deferred.final
    refused = await handler.handle(_command("sources"))  # second of a rate of 2: allowed
    assert refused.reply.answer is not None and not refused.reply.answer.is_error
    cooled = await handler.handle(_command("sources"))  # third: the cooldown answers
    assert cooled.reply.answer is not None and cooled.reply.answer.is_error

    broken = _handler(facts, renderer, store)

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(broken.core, "respond", boom)
    monkeypatch.setattr(broken.core, "peek", lambda *a, **k: None)
    failed = await broken.handle(_command("401k", locale="zh-TW"))
    if failed.final is not None:
        await failed.final
    assert interactions(handler.metrics) == {
        ("opinions", "zh-CN", "deferred"): 1,
        ("sources", "en", "answered"): 1,
        ("sources", "en", "cooldown"): 1,
    }
    assert interactions(broken.metrics) == {("401k", "zh-TW", "internal_error"): 1}
    # The deferral was the first response (about 0.05 s); the final answer came later.
    assert value(handler.metrics, "k401_interaction_ack_seconds_bucket", le="0.5") == 3


def test_a_late_first_response_is_counted_as_late() -> None:
    metrics = Metrics()
    metrics.record_interaction("401k", "en", "answered", ack_seconds=3.4, final_seconds=3.4, deferred=False)
    metrics.record_interaction("inflow", "en", "answered", ack_seconds=2.0, final_seconds=5.0, deferred=True)
    assert interactions(metrics) == {("401k", "en", "late"): 1, ("inflow", "en", "deferred"): 1}


def test_labels_are_bounded() -> None:
    assert command_label("inflow") == "inflow"
    assert command_label("inflow:component") == "inflow:component"
    assert command_label("component") == "component"
    assert command_label("x" * 50) == "other"
    assert command_label("inflow:1234567890") == "other"
    assert outcome_label("input_error:bad_allocation") == "input_error"
    assert outcome_label("error:7f3a") == "internal_error"
    assert outcome_label("stale_component") == "input_error"
    metrics = Metrics()
    for i in range(100):
        metrics.record_interaction(f"cmd{i}", f"xx-{i}", "weird", ack_seconds=0.01, final_seconds=0.01, deferred=False)
    assert interactions(metrics) == {("other", "unknown", "input_error"): 100}


def test_every_process_owns_its_registry() -> None:
    first, second = Metrics(), Metrics()
    first.record_cache(True)
    assert value(first, "k401_answer_cache_requests_total", result="hit") == 1
    assert value(second, "k401_answer_cache_requests_total", result="hit") == 0


async def test_charts_market_and_store_are_read_at_scrape_time(facts: Facts, renderer: Renderer, store: Store) -> None:
    market: Any = SimpleNamespace(fetches={"ok": 3, "error": 1}, last_fetched_at=None)
    core = Core(facts, renderer, store=store)
    metrics = watched(Metrics(), core, store, market)
    assert math.isnan(value(metrics, "k401_market_snapshot_age_seconds"))  # no snapshot yet
    market.last_fetched_at = time.time() - 60
    assert 59 < value(metrics, "k401_market_snapshot_age_seconds") < 120
    core.charts.rendered, core.charts.skipped, core.charts.failed = 5, 2, 1
    assert value(metrics, "k401_charts_total", result="drawn") == 5
    assert value(metrics, "k401_charts_total", result="skipped") == 2
    assert value(metrics, "k401_charts_total", result="failed") == 1
    assert value(metrics, "k401_chart_queue_depth") == 0
    assert value(metrics, "k401_market_fetches_total", outcome="ok") == 3
    assert value(metrics, "k401_market_fetches_total", outcome="error") == 1
    assert value(metrics, "k401_market_fetches_total", outcome="implausible") == 0
    assert value(metrics, "k401_store_backing_off") == 0
    logging.getLogger("bot.store.sqlite").warning("a store operation failed")
    logging.getLogger("bot.other").warning("not the store")
    assert value(metrics, "k401_store_errors_total") == 1
    metrics.close()
    logging.getLogger("bot.store.sqlite").warning("after close: not counted")
    assert value(metrics, "k401_store_errors_total") == 1
    await core.close()


def _every_metric(store: Store, core: Core) -> Metrics:
    market: Any = SimpleNamespace(fetches={}, last_fetched_at=None)
    metrics = watched(Metrics(), core, store, market)
    metrics.watch_gateway(lambda: [(0, 0.05), (1, float("inf"))], lambda: 1)
    metrics.record_interaction("401k", "en", "answered", ack_seconds=0.01, final_seconds=0.01, deferred=False)
    return metrics


async def test_names_follow_prometheus_conventions(facts: Facts, renderer: Renderer, store: Store) -> None:
    core = Core(facts, renderer, store=store)
    metrics = _every_metric(store, core)
    families = list(text_string_to_metric_families(metrics.render().decode()))
    metrics.close()
    await core.close()
    assert {f.name for f in families} >= {
        "k401_interactions",
        "k401_interaction_ack_seconds",
        "k401_interaction_final_seconds",
        "k401_answer_cache_requests",
        "k401_charts",
        "k401_chart_queue_depth",
        "k401_market_fetches",
        "k401_market_snapshot_age_seconds",
        "k401_store_errors",
        "k401_store_backing_off",
        "k401_gateway_shard_latency_seconds",
        "k401_gateway_connected_shards",
    }
    for family in families:
        assert family.name.startswith("k401_") and family.documentation, family.name
        if family.type == "counter":
            assert {s.name for s in family.samples} <= {f"{family.name}_total", f"{family.name}_created"}
        if family.type == "histogram":
            assert family.name.endswith("_seconds")
        for sample in family.samples:
            assert not {"user", "guild", "channel", "user_id", "guild_id"} & set(sample.labels), sample


async def test_the_grafana_dashboard_only_uses_metrics_the_bot_exports(
    facts: Facts, renderer: Renderer, store: Store
) -> None:
    core = Core(facts, renderer, store=store)
    metrics = _every_metric(store, core)
    exported = {s.name for f in text_string_to_metric_families(metrics.render().decode()) for s in f.samples}
    metrics.close()
    await core.close()
    dashboard = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    used = {
        name for panel in dashboard["panels"] for t in panel["targets"] for name in re.findall(r"k401_\w+", t["expr"])
    }
    assert len(used) >= 10
    assert used <= exported, used - exported
    scrape = (REPO / "deploy" / "prometheus.yml").read_text(encoding="utf-8")
    assert "metrics_path: /metrics" in scrape and '"bot-a:8080", "bot-b:8080"' in scrape


async def test_a_chart_that_misses_its_deadline_counts_as_skipped_and_timed_out(
    facts: Facts, renderer: Renderer, store: Store
) -> None:
    gate = threading.Event()

    def slow_renderer(*args: Any) -> bytes:
        gate.wait(10)
        return b"\x89PNG\r\n\x1a\n"

    core = Core(facts, renderer, store=store, chart_renderer=slow_renderer, chart_deadline_seconds=0.1)
    metrics = watched(Metrics(), core, store, None)
    response = await asyncio.wait_for(core.respond(parse_request("/inflow 2%", facts), "en"), 10)
    assert response.chart_skipped
    assert value(metrics, "k401_chart_queue_depth") == 1  # still being drawn, for the next ask
    gate.set()
    await core.drain()
    assert value(metrics, "k401_charts_total", result="timed_out") == 1
    assert value(metrics, "k401_charts_total", result="skipped") == 1
    assert value(metrics, "k401_charts_total", result="drawn") == 1
    assert value(metrics, "k401_chart_queue_depth") == 0
    metrics.close()
    await core.close()
