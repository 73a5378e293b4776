"""The three reports every venue adapter produces (ARCHITECTURE.md, pattern 3).

Reconciliation is written once against these, for every venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.orders import OrderStatus, OrderType, Side, TriggerBy
from bot.domain.records import PositionSide


@dataclass(frozen=True, slots=True)
class OrderReport:
    """The venue's view of one order."""

    symbol: str
    client_order_id: str
    venue_order_id: str
    side: Side
    type: OrderType
    status: OrderStatus
    qty: Decimal
    filled_qty: Decimal
    price: Decimal | None
    avg_fill_price: Decimal | None
    trigger_price: Decimal | None
    trigger_by: TriggerBy | None
    reduce_only: bool
    created_ms: int
    updated_ms: int
    reject_reason: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One fill; ``exec_id`` is the venue's unique execution id (fills apply once by it)."""

    exec_id: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal  # positive = paid
    ts: int
    is_maker: bool = False
    is_liquidation: bool = False
    fee_currency: str = "USDT"  # spot: the coin received (Bybit: the base coin on a buy)


@dataclass(frozen=True, slots=True)
class PositionReport:
    """The venue's view of one open position (one-way mode, isolated margin)."""

    symbol: str
    side: PositionSide
    qty: Decimal  # always > 0; side carries the direction
    entry_price: Decimal
    leverage: Decimal
    liquidation_price: Decimal | None
    margin: Decimal
    unrealized_pnl: Decimal
    mark_price: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class BalanceReport:
    """The USDT wallet."""

    wallet_balance: Decimal
    equity: Decimal  # wallet + unrealised PnL
    available: Decimal  # free margin
    ts: int
