"""The portfolio planner's holdings read from the venue: each perpetual's spot leg and the USDT split."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal

from bot.portfolio.holdings import Holdings, PerpHolding
from bot.portfolio.rebalance import SpotMarket
from bot.sim.spot import spot_symbol_of
from bot.venues.spot import SpotHolding, SpotInfo

_ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True, slots=True)
class SpotLeg:
    """A universe perpetual's spot market: the venue's market and coins per perp unit."""

    market: SpotInfo
    multiplier: Decimal

    def planner_market(self, perp: str, coin_price: Decimal | None = None) -> SpotMarket:
        """The market in the planner's units (the perpetual's: 1000PEPEUSDT = 1000 coins),
        with the venue's spot price per coin ``coin_price`` (None: unknown)."""
        m, k = self.market, self.multiplier
        price = coin_price * k if coin_price is not None and coin_price > 0 else None
        return SpotMarket(perp, m.qty_step / k, m.min_qty / k, m.min_notional, price)


def legs_of(perps: Iterable[str], markets: Mapping[str, SpotInfo]) -> dict[str, SpotLeg]:
    """Each perpetual's spot market on the venue (``1000PEPEUSDT`` → ``PEPEUSDT`` × 1000)."""
    out: dict[str, SpotLeg] = {}
    for perp in perps:
        sym, mult = spot_symbol_of(perp)
        if sym in markets:
            out[perp] = SpotLeg(markets[sym], mult)
    return out


def venue_holdings(
    usdt: Decimal,
    upnl: Decimal,
    coins: Iterable[SpotHolding],
    legs: Mapping[str, SpotLeg],
    perps: Iterable[PerpHolding],
    spot_share: Decimal,
    prices: Mapping[str, Decimal],
) -> Holdings:
    """The planner's holdings from what the venue shows: the coins of the legs' spot markets
    in perpetual units (others are left out; worth ``prices``, the coins' prices per
    perpetual unit: ``spot_prices_of``), and the USDT wallet split between the futures
    sleeve's collateral, ``min(USDT, (1 − spot_share) × NAV)``, and the spot cash (the rest)."""
    by_spot = {leg.market.symbol: (perp, leg) for perp, leg in legs.items()}
    spot: dict[str, Decimal] = {}
    for c in coins:
        hit = by_spot.get(c.market.symbol)
        if hit is not None:
            spot[hit[0]] = c.qty / hit[1].multiplier
    worth = sum((q * prices.get(s, _ZERO) for s, q in spot.items()), _ZERO)
    nav = usdt + worth + upnl
    collateral = max(_ZERO, min(usdt, (1 - spot_share) * nav))
    return Holdings(usdt - collateral, spot, collateral, tuple(perps))
