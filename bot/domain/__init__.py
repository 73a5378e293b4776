"""Pure domain types: no I/O, no imports from the rest of rotor.

Money and quantities in orders, fills, positions and balances are ``Decimal``.
Market data (bars, tickers) are floats because signal maths runs on numpy; convert
at the boundary with the venue's precision (``Instrument.round_qty_down`` etc.).
Times are integer UTC milliseconds unless a field says otherwise.
"""

from bot.domain.instrument import Instrument, LeverageTier
from bot.domain.market import Bar, FundingRate, OpenInterest, Ticker
from bot.domain.orders import (
    TERMINAL_STATUSES,
    IllegalTransition,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TriggerBy,
    check_transition,
)
from bot.domain.records import (
    Action,
    CashFlow,
    Decision,
    FundingPayment,
    OrderIntent,
    Position,
    PositionSide,
    TradingState,
    WalletTransfer,
)
from bot.domain.reports import BalanceReport, ExecutionReport, OrderReport, PositionReport

__all__ = [
    "TERMINAL_STATUSES",
    "Action",
    "BalanceReport",
    "Bar",
    "CashFlow",
    "Decision",
    "ExecutionReport",
    "FundingPayment",
    "FundingRate",
    "IllegalTransition",
    "Instrument",
    "LeverageTier",
    "OpenInterest",
    "Order",
    "OrderIntent",
    "OrderReport",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionReport",
    "PositionSide",
    "Side",
    "Ticker",
    "TradingState",
    "TriggerBy",
    "WalletTransfer",
    "check_transition",
]
