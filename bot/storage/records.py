"""Storage-level records that have no home in ``bot.domain`` (runs, equity, state events)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import TradingState


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """Account equity at one cycle: ``equity = wallet + upnl``; exposure is gross notional."""

    ts: int
    equity: Decimal
    wallet: Decimal
    upnl: Decimal
    exposure: Decimal
    open_risk: Decimal


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
