"""Spot markets as every venue face shows them to the portfolio (issue #20).

rotor names a spot market ``spot:<exchange id>`` (``spot:BTCUSDT``): Bybit gives the spot and
the perpetual market the same id, so the prefix is what tells the order manager, the
database and the venue adapters which one an order is for. The ccxt adapter
(``bot.venues.ccxt_spot``) and the engine's venues (``bot.sim.spot_venue``: replay and paper)
both read their spot markets and coins into these types.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

SPOT_PREFIX = "spot:"
QUOTE = "USDT"


def spot_id(market_id: str) -> str:
    """rotor's name of a spot market (``BTCUSDT`` → ``spot:BTCUSDT``)."""
    return SPOT_PREFIX + market_id


def is_spot(symbol: str) -> bool:
    return symbol.startswith(SPOT_PREFIX)


def market_id(symbol: str) -> str:
    """The exchange's id of a rotor spot name (``spot:BTCUSDT`` → ``BTCUSDT``)."""
    return symbol.removeprefix(SPOT_PREFIX)


@dataclasses.dataclass(frozen=True, slots=True)
class SpotInfo:
    """One spot market as the venue lists it."""

    symbol: str  # BTCUSDT
    base: str  # BTC
    qty_step: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class SpotHolding:
    """Coins of one spot market in the wallet, and the market's last price."""

    market: SpotInfo
    qty: Decimal
    price: Decimal

    @property
    def value(self) -> Decimal:
        return self.qty * self.price


TO_FUTURES, TO_SPOT = "MAIN_UMFUTURE", "UMFUTURE_MAIN"  # Binance's universal transfer types


@dataclasses.dataclass(frozen=True, slots=True)
class VenueTransfer:
    """One USDT transfer between the spot and the futures wallet, as the venue lists it."""

    tran_id: str
    kind: str  # TO_FUTURES or TO_SPOT
    amount: Decimal  # > 0
    ts: int
