"""What "flat" means for the portfolio when the kill switch fires (docs/portfolio.md).

Perps are always closed (reduce-only, RISK.md). Spot has no liquidation price, so selling the
anchors at a drawdown only locks the loss in: by default (``portfolio.kill_spot =
"keep_core"``) the kill switch sells the rotational and speculative holdings and keeps the
core; ``"all"`` sells every coin. Kill sells ignore the drift band, the residual rule and
``min_trade``; only the market's own minimum can leave dust behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import OrderIntent, Side
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import Explanation, Rule, plain
from bot.portfolio.holdings import Holdings
from bot.portfolio.rebalance import SpotMarket, SpotOrder, bucket_of, default_spot_market

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class KillPlan:
    """Spot sells, reduce-only perp closes, and what stays (core anchors or dust)."""

    spot: list[SpotOrder]
    perps: list[OrderIntent]
    kept: list[tuple[str, Explanation]] = field(default_factory=list)


def kill_plan(
    holdings: Holdings,
    prices: Mapping[str, Decimal],
    markets: Mapping[str, SpotMarket],
    cfg: PortfolioConfig,
    sector_of: Mapping[str, str | None],
    source: str = "limit",
) -> KillPlan:
    """The orders that make the portfolio flat in the configured sense (``source``: who
    fired the kill switch, as on every ``OrderIntent``)."""
    spot: list[SpotOrder] = []
    kept: list[tuple[str, Explanation]] = []
    for sym, qty in sorted(holdings.spot.items()):
        if qty <= 0:
            continue
        if cfg.kill_spot == "keep_core" and sym in cfg.core.assets:
            kept.append(
                (
                    sym,
                    Explanation(
                        Rule.KILL_KEEP_CORE, f"{sym}: core anchor kept (kill_spot = keep_core)"
                    ),
                )
            )
            continue
        # A market sell needs no price; without one the reference (and fee estimate) is 0.
        price = prices.get(sym, _ZERO)
        m = markets.get(sym) or (default_spot_market(sym, price) if price > 0 else None)
        q = m.floor(qty) if m is not None else qty
        if m is not None and (q < m.min_qty or q * price < m.min_notional):
            kept.append(
                (
                    sym,
                    Explanation(
                        Rule.KILL_DUST, f"{sym}: {plain(qty)} is dust below the market minimum"
                    ),
                )
            )
            continue
        text = f"kill switch: sell {plain(q)} {sym} (kill_spot = {cfg.kill_spot})"
        spot.append(
            SpotOrder(
                sym, Side.SELL, q, price, q * price * cfg.rebalance.spot_fee,
                bucket_of(sym, sector_of.get(sym), None, cfg), sector_of.get(sym),
                Explanation(Rule.KILL_SELL, text, numbers={"qty": q}),
            )
        )  # fmt: skip
    perps = [
        OrderIntent(
            symbol=p.symbol, side=p.side, kind="kill", reference_price=prices.get(p.symbol, p.entry_price),
            qty=p.qty, reduce_only=True, reason="portfolio:kill", source=source,
        )
        for p in holdings.perps
    ]  # fmt: skip
    return KillPlan(spot, perps, kept)
