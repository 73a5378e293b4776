"""The trading core's state and what it shows: the market snapshots and the account view
the risk manager checks every intent against, the positions the signals see, and the equity
snapshot each cycle persists. Nothing here talks to the venue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.config import Settings
from bot.domain import (
    BalanceReport,
    Instrument,
    Ticker,
    TradingState,
)
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler, ReconcileReport
from bot.observability.metrics import Metrics
from bot.risk import (
    AccountView,
    MarketSnapshot,
    RiskManager,
    StateRequest,
    Transition,
)
from bot.risk import TradingStateMachine as StateMachine
from bot.runtime.account import EquityMarks, OrderRate, build_view
from bot.runtime.cashflows import CashFlowTracker
from bot.runtime.journal import Journal
from bot.runtime.market import MarketSnapshots, PredictedFunding
from bot.runtime.protection import ProtectiveStops
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import PositionView
from bot.storage.records import EquitySnapshot
from bot.venues.base import Venue

_ZERO = Decimal(0)

# Persists a state change, then commits it (the trading state only moves once stored).
StatePersister = Callable[[StateRequest], Awaitable[None]]
TransitionPersister = Callable[[Transition | None], Awaitable[None]]


@dataclass(slots=True)
class CycleReport:
    """What one cycle did (logged as ``cycle_done``)."""

    t: int
    state: TradingState
    decisions: int = 0
    entries: list[str] = field(default_factory=list)
    exits: list[str] = field(default_factory=list)
    rejections: dict[str, list[str]] = field(default_factory=dict)
    reconcile: ReconcileReport | None = None
    latency_s: float = 0.0
    equity: Decimal = Decimal(0)


class CoreViews:
    """The trading core's state (set by ``TradingCore.__init__``) and the views built from it."""

    settings: Settings
    venue: Venue
    instruments: dict[str, Instrument]
    signals: SignalEngine
    risk: RiskManager
    state: StateMachine
    orders: OrderManager
    portfolio: Portfolio
    reconciler: Reconciler
    journal: Journal
    change_state: StatePersister
    commit_transition: TransitionPersister
    clock: Callable[[], int]
    metrics: Metrics | None
    marks: EquityMarks
    order_rate: OrderRate
    stops: ProtectiveStops
    # Leverage set for an entry whose position has not taken it over yet (checked against
    # the venue meanwhile); a position's own ``leverage`` is the plan after that.
    leverage: dict[str, Decimal]
    balance: BalanceReport | None  # the venue's, as the last sync read it
    kill_requested: bool
    cash_flows: CashFlowTracker | None  # set by the daemon's start-up (RELIABILITY.md #35)
    # Symbols being delisted or settling (RELIABILITY.md #43): no entry, positions closed.
    closing: dict[str, str]

    def market_snapshots(
        self,
        tickers: Mapping[str, Ticker],
        missing: frozenset[str],
        intervals: Mapping[str, float],
        received_ms: int,
    ) -> Mapping[str, MarketSnapshot]:
        # Lazy: only the symbols the risk checks and signals read are converted.
        return MarketSnapshots(tickers, missing, intervals, received_ms)

    def account_view(self, now: int, market: Mapping[str, MarketSnapshot]) -> AccountView:
        """What the risk manager checks an intent against: balance, positions, state, market."""
        balance = self.balance or BalanceReport(Decimal(0), Decimal(0), Decimal(0), now)
        return build_view(
            now_ms=now,
            balance=balance,
            positions=self.portfolio.positions.values(),
            marks=self.marks,
            state=self.state.state,
            instruments=self.instruments,
            market=market,
            recent_orders=self.order_rate.recent(now),
            poll_interval_ms=int(self.settings.exchange.poll_interval_s * 1000),
        )

    def position_views(self) -> list[PositionView]:
        return [
            PositionView(p.symbol, p.side, p.opened_ms, float(p.entry_price))
            for p in self.portfolio.positions.values()
        ]

    @staticmethod
    def predicted_f8h(market: Mapping[str, MarketSnapshot]) -> Mapping[str, float]:
        return PredictedFunding(market)

    def equity_snapshot(self, ts: int) -> EquitySnapshot | None:
        """The account at ``ts`` as the last sync saw it (None before the first sync)."""
        balance = self.balance
        if balance is None:
            return None
        # One pass over the positions (every bar of a backtest records one), summed in the
        # same order as two ``sum()``s would.
        exposure = open_risk = _ZERO
        for p in self.portfolio.positions.values():
            exposure += p.qty * p.entry_price
            if p.stop_price is not None:
                open_risk += abs(p.entry_price - p.stop_price) * p.qty
        return EquitySnapshot(
            ts=ts,
            equity=balance.equity,
            wallet=balance.wallet_balance,
            upnl=balance.equity - balance.wallet_balance,
            exposure=exposure,
            net_flows=self.marks.flows,
            open_risk=open_risk,
        )
