from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.answers.build import AnswerContext
from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.domain.facts import Facts, load_facts
from bot.domain.inflow import MarketCap
from bot.infra.settings import Settings
from tests.fakes import open_core
from tests.no_skips import pytest_runtest_logreport, pytest_sessionfinish, pytest_terminal_summary

__all__ = ["pytest_runtest_logreport", "pytest_sessionfinish", "pytest_terminal_summary"]  # BOT_NO_SKIPS hooks

# Every environment variable that configures the bot; a developer's shell may have any of them set.
SETTING_NAMES = sorted(
    {f.alias for f in Settings.model_fields.values() if f.alias} | {"DISCORD_TOKEN", "DISCORD_TOKEN_FILE"}
)

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
async def core(facts: Facts, renderer: Renderer) -> AsyncIterator[Core]:
    async with open_core(facts, renderer) as built:  # closed after the test (its chart service included)
        yield built


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No test can see a real token, the checkout's .env, the network or a database outside its temp folder.

    Two independent guards against a token-bearing .env (an admin following the README has one in the checkout):
    the working directory is a fresh temp folder, and Settings reads no .env file at all. Subprocesses get the same
    from tests/helpers.py (temp cwd, scrubbed environment); tests/test_cli.py proves both.
    """
    workdir = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(workdir)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_MARKET_ENABLED", "0")
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path_factory.mktemp("db") / "bot.sqlite3"))
    return workdir


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """main() installs root log handlers on stderr; keep them from outliving a test's captured streams."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):  # a copy: removing while iterating skipped every other handler
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def pytest_configure(config: pytest.Config) -> None:
    # A token in the shell that started pytest must not reach code that reads os.environ before a fixture runs.
    for name in ("DISCORD_TOKEN", "DISCORD_TOKEN_FILE"):
        os.environ.pop(name, None)
