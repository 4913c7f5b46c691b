from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.answers import AnswerContext
from bot.core import Core
from bot.facts import Facts, load_facts
from bot.inflow import MarketCap
from bot.render import Renderer

pytest_plugins = ["tests.pg_fixtures"]


@pytest.fixture(scope="session")
def facts() -> Facts:
    return load_facts()


@pytest.fixture(scope="session")
def renderer(facts: Facts) -> Renderer:
    return Renderer(facts)


@pytest.fixture(scope="session")
def ctx(facts: Facts, renderer: Renderer) -> AnswerContext:
    return AnswerContext(facts, renderer, MarketCap.from_config(facts))


@pytest.fixture
def core(facts: Facts, renderer: Renderer) -> Core:
    return Core(facts, renderer)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test touches the real network, a real token or a database outside its own temp folder."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("BOT_MARKET_ENABLED", "0")
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path_factory.mktemp("db") / "bot.sqlite3"))


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """main() installs root log handlers on stderr; keep them from outliving a test's captured streams."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
