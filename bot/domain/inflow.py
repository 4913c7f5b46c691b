"""The one calculation module: inflow = allocation x pool, set against the crypto market cap. Exact Decimals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from bot.domain.allocation import Allocation
from bot.domain.facts import Fact, Facts, Localized
from bot.domain.language import Lang

SCENARIO_PERCENTS: tuple[Decimal, ...] = (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
_HUNDRED = Decimal(100)


class Pool(StrEnum):
    K401 = "401k"
    DC = "dc"
    RETIREMENT = "retirement"


def pool_fact(facts: Facts, pool: Pool) -> Fact:
    fact_id = {
        Pool.K401: facts.defaults.pool_401k,
        Pool.DC: facts.defaults.pool_dc,
        Pool.RETIREMENT: facts.defaults.pool_retirement,
    }[pool]
    return facts.fact(fact_id)


MarketCapKind = Literal["live", "cached", "config"]


@dataclass(frozen=True)
class MarketCap:
    """The total crypto market cap an answer compares with, and where it came from."""

    usd: Decimal
    as_of: dt.datetime | dt.date
    kind: MarketCapKind
    source: str
    age_minutes: int | None = None  # for a cached live value: how old it is
    btc_usd: Decimal | None = None
    eth_usd: Decimal | None = None
    source_text: Localized | None = None  # the source in every language, when it comes from the config
    fact_id: str | None = None  # the config fact this figure is, if any

    @classmethod
    def from_config(cls, facts: Facts) -> MarketCap:
        fact = facts.fact(facts.defaults.market_cap)
        if not isinstance(fact.as_of, dt.date):
            raise ValueError(f"the market-cap fact {fact.id!r} needs a date")
        publisher = facts.source_of(fact).publisher
        return cls(
            usd=fact.amount,
            as_of=fact.as_of,
            kind="config",
            source=publisher.en,
            source_text=publisher,
            fact_id=fact.id,
        )

    def source_in(self, lang: Lang) -> str:
        """Where the figure comes from, in the reader's language (a live API keeps its proper name)."""
        return self.source_text.get(lang) if self.source_text is not None else self.source


def inflow_usd(percent: Decimal, pool_usd: Decimal) -> Decimal:
    return pool_usd * percent / _HUNDRED


def share_of_market(amount_usd: Decimal, market_cap_usd: Decimal) -> Decimal:
    """Percent points of the market cap."""
    return amount_usd / market_cap_usd * _HUNDRED


@dataclass(frozen=True)
class Band:
    """One allocation applied to one pool; low == high unless the allocation was a range."""

    low_usd: Decimal
    high_usd: Decimal
    low_share: Decimal
    high_share: Decimal

    @property
    def is_range(self) -> bool:
        return self.low_usd != self.high_usd


@dataclass(frozen=True)
class ScenarioRow:
    percent: Decimal
    by_pool: dict[Pool, Band]
    is_users: bool


@dataclass(frozen=True)
class Estimate:
    allocation: Allocation
    pool: Pool
    pool_fact: Fact
    result: Band
    other_pools: dict[Pool, Band]
    scenarios: tuple[ScenarioRow, ...]
    market_cap: MarketCap

    @property
    def pool_as_of(self) -> dt.date:
        """The date the pool figure describes (pools are dated figures; check-config enforces it)."""
        as_of = self.pool_fact.as_of
        if not isinstance(as_of, dt.date):
            raise ValueError(f"pool fact {self.pool_fact.id!r} needs a date")
        return as_of


def band(allocation: Allocation, pool_usd: Decimal, market_cap_usd: Decimal) -> Band:
    low, high = inflow_usd(allocation.low, pool_usd), inflow_usd(allocation.high, pool_usd)
    return Band(low, high, share_of_market(low, market_cap_usd), share_of_market(high, market_cap_usd))


def estimate(allocation: Allocation, pool: Pool, facts: Facts, market_cap: MarketCap) -> Estimate:
    pools = {p: pool_fact(facts, p).amount for p in Pool}
    results = {p: band(allocation, usd, market_cap.usd) for p, usd in pools.items()}
    percents = set(SCENARIO_PERCENTS) | set(allocation.values)
    scenarios = tuple(
        ScenarioRow(
            percent=pct,
            by_pool={p: band(Allocation(pct, pct), usd, market_cap.usd) for p, usd in pools.items()},
            is_users=pct in allocation.values,
        )
        for pct in sorted(percents)
    )
    return Estimate(
        allocation=allocation,
        pool=pool,
        pool_fact=pool_fact(facts, pool),
        result=results[pool],
        other_pools={p: b for p, b in results.items() if p != pool},
        scenarios=scenarios,
        market_cap=market_cap,
    )


@dataclass(frozen=True)
class HeadlineCheck:
    """The article's own sum (1% of "401(k) total 12.5T" = 125B ≈ 3% of 3.8T) and the same sum on the right figures."""

    article_pool: Fact  # the press-rounded all-DC total the article calls 401(k)
    article_market: Fact  # the market cap as the article rounds it
    article_usd: Decimal
    article_share: Decimal
    pool: Fact  # 401(k) plan assets of the article's quarter
    market: Fact  # the order-day market cap
    usd: Decimal
    share: Decimal


HEADLINE_CHECK_PERCENT = Decimal(1)
ARTICLE_401K_FACT = "assets_401k_2025q1"  # the quarter the article uses (Q1 2025), kept for its correction


def headline_check(facts: Facts) -> HeadlineCheck:
    article_pool, article_market = facts.fact("assets_dc_press_rounding"), facts.fact("crypto_mcap_article")
    # The correction compares like with like: 401(k) assets of the article's quarter, the order-day market cap.
    pool, market = facts.fact(ARTICLE_401K_FACT), facts.fact(facts.defaults.market_cap)
    article_usd = inflow_usd(HEADLINE_CHECK_PERCENT, article_pool.amount)
    usd = inflow_usd(HEADLINE_CHECK_PERCENT, pool.amount)
    return HeadlineCheck(
        article_pool=article_pool,
        article_market=article_market,
        article_usd=article_usd,
        article_share=share_of_market(article_usd, article_market.amount),
        pool=pool,
        market=market,
        usd=usd,
        share=share_of_market(usd, market.amount),
    )
