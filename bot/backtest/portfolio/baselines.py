"""What the portfolio is measured against: target policies for the same ``PortfolioCore``,
each run on its own engine over the same bars with the same planner, fees and slippage (no
futures sleeve: all the capital is spot, and no breaker stops them):

- ``hold_core``: buy-and-hold of the core, the core assets in their ``portfolio.core``
  shares of the whole capital, bought at the first rebalance and never traded again;
- ``equal_weight``: an equal-weight rotation without signals: at every rebalance the
  ``EQUAL_WEIGHT_TOKENS`` most-traded eligible tokens (USDT volume over
  ``rotation.liquidity_lookback_h``, the leaders' liquidity rule), each 1/N of the capital,
  traded with the same drift band, residual rule and minimum trade as the portfolio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.config import Settings
from bot.portfolio.allocate import Allocation, prices_of
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule
from bot.portfolio.holdings import Holdings, value
from bot.portfolio.rebalance import SpotMarket, SpotPlan, SpotPlanner, spot_prices_of
from bot.portfolio.roles import RolePlan
from bot.portfolio.selection import MarketStats
from bot.portfolio.targets import CORE, ROTATIONAL, TokenTarget, compute_targets, q
from bot.signals.evaluation import Evaluation

EQUAL_WEIGHT_TOKENS = 10
_ZERO, _ONE = Decimal(0), Decimal(1)
Weights = Callable[[Evaluation, MarketStats, PortfolioConfig], dict[str, tuple[str, Decimal]]]


@dataclass(slots=True)
class Baseline:
    """A spot-only target policy with a fixed rule (``PortfolioCore.policy``): the planner's
    orders toward ``weights``, no futures role; ``once``: trade the first time only."""

    name: str
    weights: Weights
    once: bool = False
    done: bool = False

    def __call__(
        self,
        cfg: PortfolioConfig,
        ev: Evaluation,
        stats: MarketStats,
        holdings: Holdings,
        markets: Mapping[str, SpotMarket],
    ) -> Allocation:
        prices = prices_of(ev)
        spot_prices = spot_prices_of(prices, markets)  # the coins at the venue's spot prices
        val = value(holdings, prices, spot_prices)
        if val.nav <= 0:
            raise ValueError(f"the portfolio is worth {val.nav} USDT: nothing to allocate")
        wanted = self.weights(ev, stats, cfg)
        # A token without a price at this close waits in cash (a one-off purchase waits for
        # every price).
        want = {s: bw for s, bw in wanted.items() if s in prices}
        sectors = {r.symbol: r.sector for r in ev.symbols}
        tokens = {
            s: TokenTarget(s, bucket, sectors.get(s), w, Explanation(Rule.TARGET_CORE, self.name))
            for s, (bucket, w) in want.items()
        }
        invested = sum((w for _, w in want.values()), _ZERO)
        targets = replace(
            compute_targets(cfg, ev, stats), tokens=tokens, futures_weight=_ZERO,
            spot_share=_ONE, cash_weight=_ONE - invested,
        )  # fmt: skip
        if self.once and (self.done or len(want) < len(wanted)):
            c = holdings.cash
            plan = SpotPlan(val.nav, [], [], _ZERO, None, c, c, _ZERO)
        else:
            plan = SpotPlanner(targets, holdings, val, spot_prices, markets, cfg, sectors).run()
            self.done = True
        return Allocation(ev.t, holdings, val, prices, targets, plan, RolePlan([]), spot_prices)


def core_weights(
    ev: Evaluation, stats: MarketStats, cfg: PortfolioConfig
) -> dict[str, tuple[str, Decimal]]:
    """The core assets in their shares of the whole capital."""
    return {s: (CORE, q(share)) for s, share in cfg.core.assets.items()}


def equal_weights(
    ev: Evaluation, stats: MarketStats, cfg: PortfolioConfig
) -> dict[str, tuple[str, Decimal]]:
    """1/N each for the N most-traded eligible tokens with a price now."""
    qv = stats.quote_volume
    usable = [
        r.symbol
        for r in ev.symbols
        if r.eligible and r.close is not None and math.isfinite(r.close) and r.close > 0
    ]
    top = sorted(usable, key=lambda s: (-qv.get(s, 0.0), s))[:EQUAL_WEIGHT_TOKENS]
    if not top:
        return {}
    w = q(_ONE / len(top))
    return {s: (ROTATIONAL, w) for s in top}


def baselines() -> list[Baseline]:
    """The two baselines, fresh (a policy remembers whether it has traded)."""
    return [Baseline("hold_core", core_weights, once=True), Baseline("equal_weight", equal_weights)]


def baseline_settings(settings: Settings) -> Settings:
    """The portfolio's settings for a baseline: the whole capital in the spot sleeve and
    breakers that never fire (a baseline is a rule, not a risk-managed strategy)."""
    s = settings.model_copy(deep=True)
    s.portfolio.spot_share = _ONE
    s.risk.max_drawdown = 1.0
    s.risk.daily_loss_limit = 1.0
    return s
