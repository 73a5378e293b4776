"""Storage-level records that have no home in ``bot.domain`` (runs, equity, state events,
closed positions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import PositionSide, TradingState


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """Account equity at one cycle: ``equity = wallet + upnl``; exposure is gross notional."""

    ts: int
    equity: Decimal
    wallet: Decimal
    upnl: Decimal
    exposure: Decimal
    open_risk: Decimal
    net_flows: Decimal = Decimal(0)  # deposits minus withdrawals known at ``ts``


@dataclass(frozen=True, slots=True)
class TradingStateEvent:
    """One persisted trading-state transition (RISK.md, "Trading state")."""

    ts: int
    old_state: TradingState
    new_state: TradingState
    reason: str
    source: str  # limit, signal, api, cli, file, ...
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One daemon (or backtest) run; ``order_seq`` is the last client-id sequence handed out."""

    run_id: str
    mode: str
    started_ms: int
    config_hash: str = ""
    version: str = ""
    host: str = ""
    pid: int = 0
    ended_ms: int | None = None
    end_reason: str | None = None
    order_seq: int = 0


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position that closed: how, at what price, and what it made (PnL, fees, funding).

    ``how`` is ``close`` (rotor's or a stop's fill), ``liquidation`` (a venue BustTrade/ADL),
    ``flip`` (a fill larger than the position) or ``vanished`` (gone from the venue with no
    fill seen; ``exit_price`` is then unknown).
    """

    symbol: str
    side: PositionSide
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    how: str
    opened_ms: int
    closed_ms: int
    exec_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnbookedOrder:
    """An order the venue reported fills on (``filled_qty``) that the stored executions do
    not add up to yet (``booked_qty``): its executions are late (RELIABILITY.md #37)."""

    key: str  # the order's key (client id, or ``venue:<orderId>``)
    symbol: str
    venue_order_id: str
    filled_qty: Decimal
    booked_qty: Decimal
    updated_ms: int  # when the venue's fill report was stored
