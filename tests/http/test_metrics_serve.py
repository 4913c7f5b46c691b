"""`serve`'s /metrics, scraped over HTTP from a real process and parsed with prometheus-client's parser: the
counters move by exactly the interactions sent; with BOT_METRICS_PORT it is on that listener only."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from nacl.signing import SigningKey
from prometheus_client.parser import text_string_to_metric_families

from tests.http.helpers import command, ping, serve_against_fake, start_serve

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(session: aiohttp.ClientSession, url: str) -> Samples:
    async with session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def moved(before: Samples, after: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """How much each series of `name` grew between two scrapes (series that did not move are left out)."""
    keys = {labels for (n, labels) in after if n == name}
    grown = {labels: after[(name, labels)] - before.get((name, labels), 0.0) for labels in keys}
    return {labels: delta for labels, delta in grown.items() if delta}


def series(command: str, language: str, outcome: str) -> tuple[tuple[str, str], ...]:
    return (("command", command), ("language", language), ("outcome", outcome))


async def test_serve_metrics_count_exactly_the_interactions_sent(tmp_path: Path) -> None:
    async with serve_against_fake(tmp_path) as run:
        serve, session = run.serve, run.session
        before = await scrape(session, f"{serve.url}/metrics")
        assert (await serve.post(ping())).status == 200  # a ping is not a user's interaction
        for locale in ("zh-TW", "zh-TW", "en-US"):
            assert (await serve.post(command("sources", locale=locale))).status == 200
        assert (await serve.post(command("inflow", {"allocation": "abc"}, locale="zh-CN"))).status == 200
        bad = await serve.post(command("sources"), key=SigningKey.generate())
        assert bad.status == 401  # refused before the handler: not counted
        after = await scrape(session, f"{serve.url}/metrics")
    assert run.exit_code == 0, serve.log
    assert moved(before, after, "k401_interactions_total") == {
        series("sources", "zh-TW", "answered"): 2,
        series("sources", "en", "answered"): 1,
        series("inflow", "zh-CN", "input_error"): 1,
    }
    assert moved(before, after, "k401_interaction_ack_seconds_count") == {(): 4}
    assert moved(before, after, "k401_answer_cache_requests_total") == {
        (("result", "miss"),): 2,
        (("result", "hit"),): 1,
    }
    for name in ("k401_chart_queue_depth", "k401_store_backing_off", "k401_store_errors_total"):
        assert (name, ()) in after, name


async def test_with_bot_metrics_port_metrics_leave_the_public_server(tmp_path: Path) -> None:
    env = {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3"), "BOT_METRICS_PORT": "0"}
    async with aiohttp.ClientSession() as session:
        serve = await start_serve(SigningKey.generate(), env, session, cwd=tmp_path)
        try:
            async with session.get(f"{serve.url}/metrics") as response:
                assert response.status == 404
            found = None
            for _ in range(100):  # the line was logged before "listening on"; stderr is read in the background
                if found := re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", serve.log):
                    break
                await asyncio.sleep(0.05)
            assert found, serve.log
            assert (await serve.post(command("sources", locale="zh-TW"))).status == 200
            after = await scrape(session, found.group(1))
        finally:
            code = await serve.stop()
    assert code == 0, serve.log
    assert after[("k401_interactions_total", series("sources", "zh-TW", "answered"))] == 1


@pytest.mark.parametrize("value", ["-1", "70000", "eighty"])
async def test_a_bad_metrics_port_is_one_clear_line(tmp_path: Path, value: str) -> None:
    from tests.helpers import run_cli

    result = run_cli("check-config", cwd=tmp_path, BOT_METRICS_PORT=value)
    assert result.returncode != 0
    assert "BOT_METRICS_PORT" in result.stdout + result.stderr
