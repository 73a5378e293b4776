"""The one decision pipeline (ARCHITECTURE.md): on each closed bar, sync with the venue,
evaluate signals, check every intent with the risk manager, send orders, keep the stops, and
persist decisions and equity. Backtest, replay, paper, testnet and live all run this code;
only the venue and the clock differ.

``TradingCore`` is layered, one concept per module, each layer using only those below it:
``views`` (the core's state, the account view, snapshots) ← ``sync`` (the venue's word
overrides the books) ← ``closing`` (approved reduce-only closes) ← ``intents`` (where an order
is born) ← this module (the cycle that runs them in order on each closed bar).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal

from bot.config import Settings
from bot.data.panel import Panel
from bot.domain import (
    Instrument,
    Ticker,
    TradingState,
)
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import (
    MarketSnapshot,
    RiskManager,
)
from bot.risk import TradingStateMachine as StateMachine
from bot.runtime.account import EquityMarks, OrderRate
from bot.runtime.intents import Intents
from bot.runtime.journal import Journal
from bot.runtime.protection import ProtectiveStops
from bot.runtime.views import CycleReport, StatePersister, TransitionPersister
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation
from bot.venues.base import Venue

log = get_logger("rotor.cycle")


class TradingCore(Intents):
    """Signals → risk → orders → persistence for one account.

    The core is built in layers, one concept per module: ``views`` (its state, the account
    view and snapshots), ``sync`` (the venue's word overrides the books), ``closing``
    (approved reduce-only closes), ``intents`` (where an order is born) and, here, the cycle.
    """

    def __init__(
        self,
        settings: Settings,
        venue: Venue,
        instruments: Mapping[str, Instrument],
        signals: SignalEngine,
        risk: RiskManager,
        state: StateMachine,
        orders: OrderManager,
        portfolio: Portfolio,
        reconciler: Reconciler,
        *,
        journal: Journal,
        change_state: StatePersister,
        commit_transition: TransitionPersister,
        clock: Callable[[], int],
        metrics: Metrics | None = None,
        marks: EquityMarks | None = None,
    ) -> None:
        self.settings = settings
        self.venue = venue
        self.instruments = dict(instruments)
        self.signals = signals
        self.risk = risk
        self.state = state
        self.orders = orders
        self.portfolio = portfolio
        self.reconciler = reconciler
        self.journal = journal
        self.change_state = change_state
        self.commit_transition = commit_transition
        self.clock = clock
        self.metrics = metrics
        self.marks = marks or EquityMarks()
        self.order_rate = OrderRate()
        self.stops = ProtectiveStops(
            orders,
            venue,
            journal,
            self._approve_reducing,
            clock,
            settings.execution.stop_trigger_by,
            instruments=self.instruments,
            adopted_stop_distance=Decimal(
                str(
                    signals.spec.stop_pct
                    if signals.spec.stop_mode == "fixed"
                    else settings.risk.stop_max_pct
                )
            ),
        )
        self.leverage = {}
        self.balance = None
        self.last_report: CycleReport | None = None
        self.kill_requested = False
        self.cash_flows = None
        self.closing = {}

    # ------------------------------------------------------------------ the cycle

    async def on_bar(
        self,
        panel: Panel,
        j: int,
        tickers: Mapping[str, Ticker],
        *,
        missing_bars: frozenset[str] = frozenset(),
        funding_interval_h: Mapping[str, float] | None = None,
        ticker_ms: int | None = None,
        market: Mapping[str, MarketSnapshot] | None = None,
    ) -> CycleReport:
        """Run one bar-close cycle for panel bar ``j`` (the last closed bar).

        ``market``: the cycle's snapshots when the caller already built them
        (``market_snapshots`` of these same tickers, missing bars, intervals and time)."""
        started = time.perf_counter()
        now = self.clock()
        report = CycleReport(t=panel.close_time(j), state=self.state.state)
        rec = report.reconcile = await self.sync()
        # ``is None``, not truthiness: a lazy mapping (the backtest's) would count its symbols.
        intervals = funding_interval_h if funding_interval_h is not None else {}
        if market is None:
            market = self.market_snapshots(tickers, missing_bars, intervals, ticker_ms or now)
        view = self.account_view(now, market)
        # HALTED and flat is where a kill ends; a breaker that still fires (the drawdown stays
        # below the peak until an operator resumes) has nothing left to flatten, so it must not
        # re-run the kill switch every bar. HALTED with a position (adopted, or opened by hand)
        # does run it again.
        settled = self.halted_and_flat()
        for request in self.risk.breakers(view):
            if request.kill and settled:
                continue
            await self.change_state(request)
            self.kill_requested |= request.kill
        # A timed REDUCING (daily loss) ends at the next UTC day; only this path loosens it.
        await self.commit_transition(self.state.propose_tick(now))
        evaluation: Evaluation | None = None
        if not self.kill_requested and not settled:
            evaluation = self._evaluate(panel, j, market)
            if evaluation is not None:
                report.decisions = len(evaluation.decisions)
                await self._exits(evaluation, market, report)
                await self._entries(evaluation, market, report)
            await self.stops.ensure(self.portfolio.positions, rec.open_orders)
        report.state = self.state.state
        await self._persist(evaluation, report)
        report.latency_s = time.perf_counter() - started
        if self.metrics:
            self.metrics.cycle_latency.observe(report.latency_s)
            self.metrics.last_cycle.set(report.t / 1000)
        self.last_report = report
        busy = bool(report.entries or report.exits or report.rejections)
        quiet = not busy and self.settings.mode == "replay"
        (log.debug if quiet else log.info)(
            "cycle_done",
            bar_close=report.t,
            state=report.state.value,
            decisions=report.decisions,
            entries=report.entries,
            exits=report.exits,
            rejections=report.rejections,
            equity=str(report.equity),
            latency_ms=round(report.latency_s * 1000, 2),
        )
        return report

    def _evaluate(
        self, panel: Panel, j: int, market: Mapping[str, MarketSnapshot]
    ) -> Evaluation | None:
        """The signals at bar ``j``'s close; None: this cycle takes no decision from them
        (the entries and exits do not run; the breakers and the stops still do)."""
        return self.signals.evaluate(panel, j, self.position_views(), self.predicted_f8h(market))

    def halted_and_flat(self) -> bool:
        """HALTED with no position and no open order: nothing can trade until a resume."""
        return (
            self.state.state is TradingState.HALTED
            and not self.portfolio.positions
            and not self.orders.open_orders()
        )

    async def _persist(self, evaluation: Evaluation | None, report: CycleReport) -> None:
        snap = self.equity_snapshot(self.clock())
        if snap is None:
            return
        balance = self.balance
        assert balance is not None
        report.equity = balance.equity
        await self.journal.write_cycle(evaluation, snap)
        if self.metrics:
            self.metrics.publish_account(
                balance.equity,
                self.marks.peak or balance.equity,
                self.portfolio.positions.values(),
                self.state.state,
            )
