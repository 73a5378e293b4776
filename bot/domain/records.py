"""Positions, funding payments, order intents, decisions and the trading state."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.domain.orders import Side


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short (RISK.md's ``s``)."""
        return 1 if self is PositionSide.LONG else -1

    @property
    def entry_side(self) -> Side:
        return Side.BUY if self is PositionSide.LONG else Side.SELL

    @property
    def exit_side(self) -> Side:
        return Side.SELL if self is PositionSide.LONG else Side.BUY


class TradingState(StrEnum):
    """RISK.md: ACTIVE allows everything, REDUCING only reduce-only orders and cancels,
    HALTED only cancels and the kill switch's flattening. Leaving HALTED takes ``resume``."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Action(StrEnum):
    ENTER_LONG = "enter_long"
    ENTER_SHORT = "enter_short"
    EXIT = "exit"
    NONE = "none"
    PORTFOLIO = "portfolio"  # a portfolio-mode record (holding, target, order, role)


@dataclass(slots=True)
class Position:
    """An open position as rotor tracks it."""

    symbol: str
    side: PositionSide
    qty: Decimal
    entry_price: Decimal
    leverage: Decimal
    opened_ms: int
    stop_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    margin: Decimal = Decimal(0)
    sector: str | None = None
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    entry_bar: int | None = None  # index of the entry bar on the entry timeframe
    # The venue's time of the position report reconciliation last took its size from (an
    # adoption or a correction): every fill stamped at or before it is already in ``qty``.
    synced_ms: int = 0

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.side.sign * self.qty * (mark - self.entry_price)


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """``amount`` is signed cash: ``-side * qty * mark * rate`` (negative = paid)."""

    symbol: str
    ts: int
    rate: Decimal
    qty: Decimal
    mark: Decimal
    amount: Decimal
    venue_id: str = ""


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Money moved into or out of the trading account (a deposit, a withdrawal, a transfer
    between wallets): ``amount`` is signed (negative = out). Never profit or loss."""

    venue_id: str
    ts: int
    coin: str
    amount: Decimal
    kind: str  # the venue's own type, e.g. Bybit's TRANSFER_IN / TRANSFER_OUT


@dataclass(frozen=True, slots=True)
class WalletTransfer:
    """USDT moved between the account's own wallets (Binance: spot and USDⓈ-M, the
    portfolio's sleeves). rotor stores it before sending it (``client_id``, its own); the
    venue's id (Binance ``tranId``) once the venue has answered or its history shows it.
    ``kind`` is the venue's type (``MAIN_UMFUTURE``: spot → futures; ``UMFUTURE_MAIN``).
    ``status``: ``pending`` (stored, outcome not known), ``done``, ``failed`` (not made)."""

    client_id: str
    kind: str
    coin: str
    amount: Decimal  # > 0
    created_ms: int
    status: str = "pending"
    tran_id: str | None = None
    done_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the strategy (or an operator) wants; the risk manager turns it into an order.

    Entries carry a stop distance (a fraction of price, never of margin); exits and the
    kill switch's flattening are reduce-only and carry the quantity to close.
    """

    symbol: str
    side: PositionSide  # the position side this intent concerns
    kind: str  # "entry", "exit", "stop", "kill", "hedge"
    reference_price: Decimal
    stop_distance: Decimal | None = None
    qty: Decimal | None = None  # for exits; entries are sized by the risk manager
    reduce_only: bool = False
    size_factor: Decimal = Decimal(1)  # e.g. 0.5 in risk-off with risk_off_action = half
    sector: str | None = None
    reason: str = ""
    source: str = "signal"  # signal, api, cli, file, limit
    leverage: Decimal | None = None  # requested leverage for an entry; None = risk.leverage


@dataclass(frozen=True, slots=True)
class Decision:
    """One explainable signal record (STRATEGY.md, "Output")."""

    t: int
    symbol: str
    sector: str | None
    action: Action
    reasons: tuple[str, ...] = ()
    scores: dict[str, Any] = field(default_factory=dict)
