"""One allocation: signals → targets → spot plan → futures roles, with every decision record.

Pure and synchronous like ``signals`` and ``risk``: the caller brings the evaluation, the
market statistics, the holdings and (optionally) the spot markets: their precisions and their
prices on the venue. Coins are valued and spot orders sized at the spot market's price where
the venue gives one (``spot_prices_of``), perpetuals at the perpetual's close.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import AllocationRecord
from bot.portfolio.holdings import Holdings, Valuation, value
from bot.portfolio.rebalance import SpotMarket, SpotPlan, SpotPlanner, spot_prices_of
from bot.portfolio.roles import RolePlan, RolePlanner
from bot.portfolio.selection import MarketStats
from bot.portfolio.targets import Targets, compute_targets
from bot.signals.evaluation import Evaluation


def prices_of(ev: Evaluation) -> dict[str, Decimal]:
    """The latest close of every symbol with a positive finite one: the perpetuals' prices
    (and the coins', per perpetual unit, where no spot price is known: ``spot_prices_of``)."""
    return {
        r.symbol: Decimal(repr(float(r.close)))
        for r in ev.symbols
        if r.close is not None and math.isfinite(r.close) and r.close > 0
    }


def funding_of(ev: Evaluation) -> dict[str, Decimal]:
    """Each symbol's latest F8h as a Decimal (for the risk manager's funding guard)."""
    return {
        r.symbol: Decimal(repr(float(r.funding_8h)))
        for r in ev.symbols
        if r.funding_8h is not None and math.isfinite(r.funding_8h)
    }


@dataclass(frozen=True, slots=True)
class Allocation:
    """Targets, the spot plan and the perp intents at ``t``, from the holdings valued then."""

    t: int
    holdings: Holdings
    valuation: Valuation
    prices: dict[str, Decimal]
    targets: Targets
    spot: SpotPlan
    roles: RolePlan
    spot_prices: dict[str, Decimal] = field(default_factory=dict)  # the coins' (per perp unit)

    def records(self) -> list[AllocationRecord]:
        """Every decision as a journal row (the daemon persists them)."""
        t, tg = self.t, self.targets
        out = [AllocationRecord(t, "bucket", b.name, b.explanation) for b in tg.buckets.values()]
        out += [
            AllocationRecord(t, "sector", f"{s.bucket}:{s.sector}", s.explanation)
            for s in tg.sectors
        ]
        out += [AllocationRecord(t, "target", s.symbol, s.explanation) for s in tg.tokens.values()]
        out += [AllocationRecord(t, "spot", ln.symbol, ln.explanation) for ln in self.spot.lines]
        if self.spot.transfer_explanation is not None:
            out.append(AllocationRecord(t, "transfer", "futures", self.spot.transfer_explanation))
        out += [
            AllocationRecord(t, "perp", a.intent.symbol, a.explanation) for a in self.roles.actions
        ]
        out += [AllocationRecord(t, "perp", subject, why) for subject, why in self.roles.notes]
        return out


def allocate(
    cfg: PortfolioConfig,
    ev: Evaluation,
    stats: MarketStats,
    holdings: Holdings,
    markets: Mapping[str, SpotMarket] | None = None,
) -> Allocation:
    """Compute targets, the rebalance and the roles' intents for ``holdings`` at ``ev.t``."""
    prices = prices_of(ev)
    spot_prices = spot_prices_of(prices, markets or {})
    val = value(holdings, prices, spot_prices)
    if val.nav <= 0:
        raise ValueError(f"the portfolio is worth {val.nav} USDT: nothing to allocate")
    targets = compute_targets(cfg, ev, stats)
    sector_of = {r.symbol: r.sector for r in ev.symbols}
    spot = SpotPlanner(targets, holdings, val, spot_prices, markets or {}, cfg, sector_of).run()
    roles = RolePlanner(cfg, ev, targets, spot, holdings, prices, stats).run()
    return Allocation(ev.t, holdings, val, prices, targets, spot, roles, spot_prices)
