"""What the portfolio is measured against, traded on their own engines over the same bars with
the same planner, fees and slippage (no futures sleeve: all the capital is spot):

- ``hold_core``: buy-and-hold of the core, the core assets in their ``portfolio.core``
  shares of the whole capital, bought at the first rebalance and never traded again;
- ``equal_weight``: an equal-weight rotation without signals: at every rebalance the
  ``EQUAL_WEIGHT_TOKENS`` most-traded eligible tokens (USDT volume over
  ``rotation.liquidity_lookback_h``, the leaders' liquidity rule), each 1/N of the capital,
  traded with the same drift band, residual rule and minimum trade as the portfolio.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.backtest.portfolio.book import Book
from bot.config import Settings
from bot.domain import Side
from bot.portfolio.allocate import prices_of
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule
from bot.portfolio.holdings import MissingPrice, value
from bot.portfolio.rebalance import SpotPlanner
from bot.portfolio.selection import MarketStats
from bot.portfolio.targets import CORE, ROTATIONAL, Targets, TokenTarget, q
from bot.signals.evaluation import Evaluation

EQUAL_WEIGHT_TOKENS = 10
_ZERO, _ONE = Decimal(0), Decimal(1)


@dataclass(slots=True)
class Baseline:
    """A spot-only strategy with fixed rules; ``weights`` picks its targets."""

    name: str
    book: Book
    weights: Callable[[Evaluation, MarketStats, PortfolioConfig], dict[str, tuple[str, Decimal]]]
    once: bool = False
    done: bool = False

    def rebalance(
        self, ev: Evaluation, stats: MarketStats, template: Targets, cfg: PortfolioConfig
    ) -> None:
        """Trade toward the baseline's weights with the portfolio's planner."""
        if self.once and self.done:
            return
        prices = prices_of(ev)
        wanted = self.weights(ev, stats, cfg)
        # A token without a price at this close waits in cash (a one-off purchase waits for
        # every price).
        want = {s: bw for s, bw in wanted.items() if s in prices}
        if self.once and len(want) < len(wanted):
            return
        sectors = {r.symbol: r.sector for r in ev.symbols}
        tokens = {
            s: TokenTarget(s, bucket, sectors.get(s), w, Explanation(Rule.TARGET_CORE, self.name))
            for s, (bucket, w) in want.items()
        }
        invested = sum((w for _, w in want.values()), _ZERO)
        targets = replace(
            template, tokens=tokens, futures_weight=_ZERO, spot_share=_ONE,
            cash_weight=_ONE - invested,
        )  # fmt: skip
        h = self.book.holdings()
        try:
            val = value(h, prices)
        except MissingPrice:
            return
        plan = SpotPlanner(targets, h, val, prices, self.book.markets(), cfg, sectors).run()
        for o in plan.orders:
            if o.side is Side.SELL:
                self.book.spot(o)
        for o in plan.orders:
            if o.side is Side.BUY:
                self.book.spot(o, cash_cap=self.book.holdings().cash)
        self.done = True


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


def baselines_for(settings: Settings, make_book: Callable[[], Book]) -> list[Baseline]:
    """The two baselines, each on a fresh engine of the same settings."""
    return [
        Baseline("hold_core", make_book(), core_weights, once=True),
        Baseline("equal_weight", make_book(), equal_weights),
    ]
