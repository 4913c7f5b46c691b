"""Prometheus metrics: every metric of the bot, defined once, in a registry owned by the process's Metrics object.

No import-time global registry: `open_services` makes one Metrics per process (tests make their own), the transports
call its small record_* methods, and what other parts already count (charts drawn or skipped, the market snapshot,
the store's back-off, the gateway's shards) is read at scrape time by collectors that look at those objects, so the
core needs no metric code of its own.

Labels are bounded sets: command names come from config/commands.toml (anything else is "other"), languages are the
three the bot speaks, outcomes are fixed below. No user, guild or channel id is ever a label.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.answers.requests import Command
from bot.domain.language import LANGS

log = logging.getLogger(__name__)

DISCORD_ACK_SECONDS = 3.0  # Discord drops an interaction whose first response comes later than this
MARKET_OUTCOMES = ("ok", "implausible", "error")
OUTCOMES = ("answered", "deferred", "cooldown", "input_error", "internal_error", "late")
COMMANDS = frozenset(c.value for c in Command)
# Seconds: the ack must be inside Discord's 3 s; a final answer may take longer after a deferral.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0)
FINAL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)


def command_label(name: str) -> str:
    """A slash command, "<command>:component" for a click on an answer's buttons, else "other" (bounded)."""
    base, _, suffix = name.partition(":")
    if base in COMMANDS and suffix in ("", "component"):
        return name
    return "component" if name == "component" else "other"


def language_label(lang: str | None) -> str:
    return lang if lang in LANGS else "unknown"


def outcome_label(logged: str) -> str:
    """The handler's log outcome ("answered", "cooldown", "input_error:<code>", "error:<id>", "stale_component")
    as one of OUTCOMES: the code and the error id stay in the log line, never in a label."""
    if logged in ("answered", "cooldown"):
        return logged
    if logged.startswith("error:"):
        return "internal_error"
    return "input_error"  # input_error:<code>, stale_component


class _ChartSource(Protocol):
    """The chart service's own counters (bot/answers/charts.py)."""

    rendered: int
    skipped: int
    timed_out: int
    failed: int

    @property
    def queued(self) -> int: ...


class Metrics:
    """The process's metrics and the registry they live in (render() is the /metrics body)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.interactions = Counter(
            "k401_interactions",
            "Interactions handled, by command, answer language and outcome (slash commands and clicks; not pings "
            "or autocomplete). deferred = answered after a deferral; late = first response after Discord's 3 s.",
            ["command", "language", "outcome"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            "k401_interaction_ack_seconds",
            "Time from receiving an interaction to its first response (the answer or a deferral).",
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.final_seconds = Histogram(
            "k401_interaction_final_seconds",
            "Time from receiving an interaction to its final answer being ready.",
            buckets=FINAL_BUCKETS,
            registry=r,
        )
        self.answer_cache = Counter(
            "k401_answer_cache_requests",
            "Answers looked up in the answer cache, by result (hit or miss).",
            ["result"],
            registry=r,
        )
        self.store_errors = Counter(
            "k401_store_errors",
            "Store operations that failed or timed out (each logged as a warning by the store).",
            registry=r,
        )
        for result in ("hit", "miss"):
            self.answer_cache.labels(result)
        self._store_log_handler: logging.Handler | None = None

    # ------------------------------------------------------------------ recording (called by the transports)

    def record_interaction(
        self,
        command: str,
        lang: str | None,
        outcome: str,
        *,
        ack_seconds: float,
        final_seconds: float,
        deferred: bool,
    ) -> None:
        """One interaction, counted once when its final reply is ready. outcome is the handler's log outcome;
        an answer made after a deferral is "deferred"; a first response later than Discord's 3 s is "late"."""
        label = outcome_label(outcome)
        if ack_seconds > DISCORD_ACK_SECONDS:
            label = "late"
        elif deferred and label == "answered":
            label = "deferred"
        self.interactions.labels(command_label(command), language_label(lang), label).inc()
        self.ack_seconds.observe(ack_seconds)
        self.final_seconds.observe(final_seconds)

    def record_dropped_late(self, command: str) -> None:
        """An interaction dropped unanswered, before any work, because it arrived past Discord's acknowledgement
        deadline (either transport): "late" like a late first response, language unknown (no answer was made), and
        no latency observed (nothing was acknowledged)."""
        self.interactions.labels(command_label(command), "unknown", "late").inc()

    def record_cache(self, hit: bool | None) -> None:
        if hit is not None:
            self.answer_cache.labels("hit" if hit else "miss").inc()

    # ------------------------------------------------------------------ watching (read at scrape time)

    def watch(self, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
        """Register a collector that reads some object's own state when /metrics is scraped."""
        self.registry.register(_Callback(name, collect))

    def watch_charts(self, charts: _ChartSource) -> None:
        def collect() -> Iterator[Metric]:
            yield GaugeMetricFamily("k401_chart_queue_depth", "Charts queued or being drawn.", value=charts.queued)
            drawn = CounterMetricFamily(
                "k401_charts",
                "Charts by result: drawn; skipped (left out of an answer to answer in time); timed_out (of the "
                "skipped: queued but not ready by the deadline); failed (the renderer failed).",
                labels=["result"],
            )
            drawn.add_metric(["drawn"], charts.rendered)
            drawn.add_metric(["skipped"], charts.skipped)
            drawn.add_metric(["timed_out"], charts.timed_out)
            drawn.add_metric(["failed"], charts.failed)
            yield drawn

        self.watch("charts", collect)

    def watch_market(
        self,
        fetches: Mapping[str, int],
        snapshot_time: Callable[[], float | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """fetches: the market source's own tally by outcome (ok, implausible, error)."""

        def collect() -> Iterator[Metric]:
            family = CounterMetricFamily(
                "k401_market_fetches",
                "Requests for live market data by outcome: ok, implausible (dropped), error (the last good snapshot "
                "or the config's figure is used).",
                labels=["outcome"],
            )
            for outcome in MARKET_OUTCOMES:
                family.add_metric([outcome], fetches.get(outcome, 0))
            yield family
            fetched_at = snapshot_time()
            age = math.nan if fetched_at is None else max(clock() - fetched_at, 0.0)
            yield GaugeMetricFamily(
                "k401_market_snapshot_age_seconds",
                "Age of the market snapshot answers use (NaN: none yet, the config's figure is used).",
                value=age,
            )

        self.watch("market", collect)

    def watch_store(self, backing_off: Callable[[], bool], logger: str = "bot.store") -> None:
        """Back-off state read at scrape time; errors counted from the store's own warnings (one per failure)."""

        def collect() -> Iterator[Metric]:
            yield GaugeMetricFamily(
                "k401_store_backing_off",
                "1 while the store fails fast after a timeout (back-off), else 0.",
                value=1.0 if backing_off() else 0.0,
            )

        self.watch("store", collect)
        handler = _CountingHandler(self.store_errors)
        logging.getLogger(logger).addHandler(handler)
        self._store_log_handler = handler

    def watch_gateway(self, latencies: Callable[[], list[tuple[int, float]]], connected: Callable[[], int]) -> None:
        def collect() -> Iterator[Metric]:
            latency = GaugeMetricFamily(
                "k401_gateway_shard_latency_seconds", "Heartbeat latency of each shard.", labels=["shard"]
            )
            for shard_id, seconds in latencies():
                latency.add_metric([str(shard_id)], seconds if math.isfinite(seconds) else math.nan)
            yield latency
            yield GaugeMetricFamily("k401_gateway_connected_shards", "Shards connected now.", value=connected())

        self.watch("gateway", collect)

    def close(self) -> None:
        if self._store_log_handler is not None:
            logging.getLogger("bot.store").removeHandler(self._store_log_handler)
            self._store_log_handler = None

    # ------------------------------------------------------------------ exposition

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def handle_metrics(self, request: web.Request) -> web.Response:
        """GET /metrics (aiohttp)."""
        response = web.Response(body=self.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self.handle_metrics)
        return app


async def start_metrics_server(metrics: Metrics, host: str, port: int) -> tuple[web.AppRunner, int]:
    """A separate listener for /metrics (gateway mode); returns the runner (cleanup() it) and the bound port."""
    runner = web.AppRunner(metrics.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets: list[Any] = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    log.info("metrics on http://%s:%d/metrics", host, bound)
    return runner, int(bound)


class _Callback(Collector):
    def __init__(self, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
        self.name = name
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


class _CountingHandler(logging.Handler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.WARNING)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        self._counter.inc()
