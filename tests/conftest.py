from __future__ import annotations

import pytest

from bot.answers import AnswerContext
from bot.core import Core
from bot.facts import Facts, load_facts
from bot.inflow import MarketCap
from bot.render import Renderer


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
