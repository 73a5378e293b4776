"""The portfolio backtest's weights after a rebalance: fractions of NAV by bucket, sector and token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.portfolio.holdings import Holdings, value
from bot.portfolio.rebalance import bucket_of
from bot.portfolio.targets import CORE, ROTATIONAL, SPECULATIVE, Targets

BUCKETS = (CORE, ROTATIONAL, SPECULATIVE)


@dataclass(frozen=True, slots=True)
class Weights:
    """The portfolio after one rebalance: weights (fractions of NAV) by bucket, sector and
    token; ``cash`` is the spot sleeve's USDT, ``futures`` the collateral plus uPnL."""

    t: int
    nav: Decimal
    buckets: dict[str, Decimal]
    sectors: dict[str, Decimal]
    tokens: dict[str, Decimal]


def weights_of(
    h: Holdings,
    prices: Mapping[str, Decimal],
    targets: Targets,
    cfg: Any,
    sectors: Mapping[str, str | None],
    t: int,
    spot_prices: Mapping[str, Decimal] | None = None,
) -> Weights:
    """The holdings' weights by bucket, sector and token: the coins at ``spot_prices`` (the
    spot markets' prices in the planner's units, as the fills are; default ``prices``), the
    perps at ``prices``."""
    val = value(h, prices, spot_prices)
    nav = val.nav
    buckets = dict.fromkeys((*BUCKETS, "cash", "futures"), Decimal(0))
    by_sector: dict[str, Decimal] = {}
    tokens: dict[str, Decimal] = {}
    for s, v in val.spot.items():
        w = v / nav
        tokens[s] = w
        b = bucket_of(s, sectors.get(s), targets, cfg)
        buckets[b] += w
        key = "core" if b == CORE else str(sectors.get(s) or "other")
        by_sector[key] = by_sector.get(key, Decimal(0)) + w
    buckets["cash"] = val.cash / nav
    buckets["futures"] = val.futures_value / nav
    return Weights(t, nav, buckets, by_sector, tokens)
