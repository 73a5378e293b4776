"""The one decision pipeline (ARCHITECTURE.md): on each closed bar, sync with the venue,
evaluate signals, check every intent with the risk manager, send orders, keep the stops, and
persist decisions and equity. Backtest, replay, paper, testnet and live all run this code;
only the venue and the clock differ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.config import Settings
from bot.data.panel import Panel
from bot.domain import (
    BalanceReport,
    Instrument,
    Order,
    OrderIntent,
    OrderType,
    Position,
    PositionReport,
    PositionSide,
    Ticker,
    TradingState,
)
from bot.execution.orders import ENTRY_INTENTS, NewOrder, OrderManager
from bot.execution.portfolio import Portfolio, position_from_report
from bot.execution.reconcile import Reconciler, ReconcileReport
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import (
    AccountView,
    Approved,
    MarketSnapshot,
    Rejected,
    RiskManager,
    StateRequest,
    Transition,
)
from bot.risk import TradingStateMachine as StateMachine
from bot.runtime.account import EquityMarks, OrderRate, build_view
from bot.runtime.cashflows import CashFlowTracker
from bot.runtime.journal import Journal
from bot.runtime.market import MarketSnapshots, PredictedFunding
from bot.runtime.protection import ProtectiveStops, market_close
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation, PositionView
from bot.storage.records import EquitySnapshot
from bot.venues.base import Venue

log = get_logger("rotor.cycle")

# The cycle report's code for an entry held back while an earlier one is unsettled.
ENTRY_UNSETTLED = "ENTRY_UNSETTLED"

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


class TradingCore:
    """Signals → risk → orders → persistence for one account."""

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
        # Leverage set for an entry whose position has not taken it over yet (checked against
        # the venue meanwhile); a position's own ``leverage`` is the plan after that.
        self.leverage: dict[str, Decimal] = {}
        self.balance: BalanceReport | None = None
        self.last_report: CycleReport | None = None
        self.kill_requested = False
        self.cash_flows: CashFlowTracker | None = None  # set by the daemon (RELIABILITY.md #35)
        # Symbols being delisted or settling (RELIABILITY.md #43): no entry, positions closed.
        self.closing: dict[str, str] = {}

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
    ) -> CycleReport:
        """Run one bar-close cycle for panel bar ``j`` (the last closed bar)."""
        started = time.perf_counter()
        now = self.clock()
        report = CycleReport(t=panel.close_time(j), state=self.state.state)
        report.reconcile = await self.sync()
        market = self.market_snapshots(
            tickers, missing_bars, funding_interval_h or {}, ticker_ms or now
        )
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
            evaluation = self.signals.evaluate(
                panel, j, self.position_views(), self.predicted_f8h(market)
            )
            report.decisions = len(evaluation.decisions)
            await self._exits(evaluation, market, report)
            await self._entries(evaluation, market, report)
            await self.stops.ensure(self.portfolio.positions)
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

    def halted_and_flat(self) -> bool:
        """HALTED with no position and no open order: nothing can trade until a resume."""
        return (
            self.state.state is TradingState.HALTED
            and not self.portfolio.positions
            and not self.orders.open_orders()
        )

    async def sync(self) -> ReconcileReport:
        """Reconcile orders, fills, positions and balance with the venue."""
        rec = await self.reconciler.run()
        if self.cash_flows is None:
            # The pass ended by reading the balance: that read serves (a venue call fewer).
            self.balance = rec.balance or await self.venue.fetch_balance()
        else:  # the transfers read beside the balance; those it reflects are applied
            balance, flows = await asyncio.gather(
                self.venue.fetch_balance(), self.cash_flows.fetch()
            )
            self.balance = balance
            await self.cash_flows.apply(flows, balance.ts)
        await self.check_leverage()
        await self.stops.restore(self.portfolio.positions)
        return rec

    async def resync(self) -> ReconcileReport:
        """The periodic reconciliation between bars: sync, then put back a protective stop
        that went missing (cancelled by hand) at once, not at the next bar (#38)."""
        rec = await self.sync()
        if not self.kill_requested:
            await self.stops.ensure(self.portfolio.positions)
        return rec

    # ------------------------------------------------------------------ intents

    async def _exits(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        targets = {ex.symbol: ",".join(ex.reasons) for ex in evaluation.exits}
        for symbol, why in self.closing.items():  # delisting: out before the delivery
            targets.setdefault(symbol, f"DELISTING: {why}")
        for symbol, reason in targets.items():
            pos = self.portfolio.positions.get(symbol)
            if pos is None:
                continue
            snap = market.get(symbol)
            ref = (snap.mark if snap and snap.mark else None) or pos.entry_price
            intent = OrderIntent(
                symbol=symbol,
                side=pos.side,
                kind="exit",
                reference_price=ref,
                qty=pos.qty,
                reduce_only=True,
                sector=pos.sector,
                reason=reason,
            )
            if await self._send(intent, market, report):
                report.exits.append(symbol)

    async def _entries(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        for entry in evaluation.entries:
            if entry.symbol in self.portfolio.positions:
                continue
            if entry.symbol in self.reconciler.venue_positions:
                # The venue holds a position rotor has not booked (its fills are late, or it
                # is not ours): a second entry could double it (RELIABILITY.md #37, #40).
                report.rejections.setdefault(entry.symbol, []).append(ENTRY_UNSETTLED)
                log.warning("entry_unsettled", symbol=entry.symbol, orders=["venue position"])
                continue
            if entry.symbol in self.closing:
                log.info("entry_skipped", symbol=entry.symbol, why=self.closing[entry.symbol])
                continue
            unsettled = self.unsettled_entries(entry.symbol)
            if unsettled:
                # An earlier entry may still fill (its outcome is unknown, or it is resting):
                # a second one could double the position (RELIABILITY.md #40).
                report.rejections.setdefault(entry.symbol, []).append(ENTRY_UNSETTLED)
                log.warning(
                    "entry_unsettled",
                    symbol=entry.symbol,
                    orders=[f"{o.client_order_id}:{o.status.value}" for o in unsettled],
                )
                continue
            if await self._send(entry.to_order_intent(), market, report):
                report.entries.append(entry.symbol)

    async def _send(
        self, intent: OrderIntent, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> bool:
        """Risk-check one intent against a fresh view, then send it; True when it filled."""
        decision = self.risk.check(intent, self.account_view(self.clock(), market))
        for request in decision.state_requests:
            await self.change_state(request)
        if isinstance(decision, Rejected):
            codes = [c.value for c in decision.codes]
            report.rejections.setdefault(intent.symbol, []).extend(codes)
            for code in codes:
                if self.metrics:
                    self.metrics.risk_rejections.labels(reason=code).inc()
            log.info(
                "risk_rejected",
                symbol=intent.symbol,
                kind=intent.kind,
                codes=codes,
                detail=[r.message for r in decision.reasons],
            )
            return False
        return await self._execute(decision)

    async def _execute(self, ok: Approved) -> bool:
        intent = ok.intent
        if intent.kind in ENTRY_INTENTS:
            await self._set_leverage(ok.symbol, ok.leverage_used)
            self.stops.plan(ok.symbol, ok.stop_price)
        new = NewOrder(
            symbol=ok.symbol,
            side=ok.side,
            type=OrderType.MARKET,
            qty=ok.qty,
            intent=intent.kind,
            reduce_only=ok.reduce_only,
            reason=intent.reason[:200],
            planned_stop=ok.stop_price if intent.kind in ENTRY_INTENTS else None,
        )
        self.order_rate.record(self.clock())
        result = await self.orders.submit(new)
        log.info(
            "intent_executed",
            symbol=ok.symbol,
            kind=intent.kind,
            outcome=result.outcome,
            qty=str(ok.qty),
            leverage=str(ok.leverage_used),
            stop=str(ok.stop_price),
            liq=str(ok.liquidation_price),
            risk=str(ok.risk_amount),
        )
        if result.outcome != "confirmed":
            return False
        await self.sync()  # apply the fill now so the next check sees the new position
        pos = self.portfolio.positions.get(ok.symbol)
        if pos is not None and intent.kind in ENTRY_INTENTS:
            pos.leverage = ok.leverage_used
            self.leverage.pop(ok.symbol, None)
            pos.stop_price = ok.stop_for(pos, self.instruments.get(ok.symbol))
            self.stops.plan(ok.symbol, pos.stop_price)
            if pos.liquidation_price is None:  # the venue's own, read by the sync, wins
                pos.liquidation_price = ok.liquidation_price
            await self.check_leverage(ok.symbol)  # the venue's leverage and liq vs the stop
            await self.journal.save_position(pos, self.clock())
            await self.stops.ensure(self.portfolio.positions)
        if pos is None:
            self.stops.forget(ok.symbol)
        return True

    async def _set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Before every entry, never cached: the leverage may have been changed by hand on the
        venue since rotor last set it (RELIABILITY.md #32); "not modified" is success."""
        await self.venue.set_leverage(symbol, leverage)
        self.leverage[symbol] = leverage  # the plan of the entry in flight

    async def check_leverage(self, only: str | None = None) -> None:
        """The venue's leverage and liquidation price of each open position against rotor's
        plan (RELIABILITY.md #32): a leverage changed by hand, or a liquidation price on the
        wrong side of the stop, alerts; the leverage is set back at once, so the position is
        as planned before the next cycle."""
        for symbol, vp in self.reconciler.venue_positions.items():
            pos = self.portfolio.positions.get(symbol)
            if (only is not None and symbol != only) or pos is None:
                continue
            planned = self.leverage.get(symbol, pos.leverage)
            problems = []
            if vp.leverage != planned:
                problems.append(f"leverage {vp.leverage} on the venue, {planned} planned")
            liq, stop = vp.liquidation_price, pos.stop_price
            long = pos.side is PositionSide.LONG
            if liq is not None and stop is not None and (liq >= stop if long else liq <= stop):
                problems.append(f"liquidation price {liq} is not beyond the stop {stop}")
            if not problems:
                continue
            log.error("venue_position_mismatch", symbol=symbol, problems=problems, alert=True)
            if vp.leverage != planned:
                await self.venue.set_leverage(symbol, planned)
                log.warning("venue_leverage_corrected", symbol=symbol, leverage=str(planned))

    def unsettled_entries(self, symbol: str) -> list[Order]:
        """Entry orders in ``symbol`` not settled yet (sent, unknown, resting, part-filled)."""
        return [o for o in self.orders.open_orders(symbol) if o.intent in ENTRY_INTENTS]

    # ------------------------------------------------------------------ closing

    def approve_close(
        self, intent: OrderIntent, *, held: Position | None = None
    ) -> NewOrder | None:
        """A reduce-only market close for ``intent`` (kill switch, end of data), through the
        risk manager like every order, against rotor's books or ``held``; None (and an error
        log) if it refuses."""
        decision = self._approve_reducing(intent, "close_rejected", held=held)
        return None if decision is None else market_close(decision)

    def approve_venue_close(self, held: PositionReport) -> NewOrder | None:
        """The kill switch's close of a position the venue reports, approved against that
        position (the venue is the source of truth: rotor's books may not know it, #29)."""
        intent = OrderIntent(
            symbol=held.symbol,
            side=held.side,
            kind="kill",
            reference_price=held.mark_price,
            qty=held.qty,
            reduce_only=True,
            reason="kill switch",
            source="kill",
        )
        inst = self.instruments.get(held.symbol)
        sector = None if inst is None else inst.sector
        return self.approve_close(intent, held=position_from_report(held, self.clock(), sector))

    def _approve_reducing(
        self, intent: OrderIntent, refused_event: str, *, held: Position | None = None
    ) -> Approved | None:
        """The risk manager's answer for a reduce-only intent (no market data needed), checked
        against rotor's books or, given ``held``, against that position as the venue reports
        it; a refusal is logged as an error under ``refused_event``."""
        view = self.account_view(self.clock(), {})
        if held is not None:
            others = tuple(p for p in view.positions if p.symbol != held.symbol)
            view = dataclasses.replace(view, positions=(*others, held))
        decision = self.risk.check(intent, view)
        if isinstance(decision, Rejected):
            log.error(
                refused_event,
                symbol=intent.symbol,
                kind=intent.kind,
                codes=[c.value for c in decision.codes],
            )
            return None
        return decision

    async def close_out(self, reason: str) -> None:
        """Close every position at market (the end of a replay or a backtest), then sync."""
        for pos in list(self.portfolio.positions.values()):
            intent = OrderIntent(
                symbol=pos.symbol,
                side=pos.side,
                kind="exit",
                reference_price=pos.entry_price,
                qty=pos.qty,
                reduce_only=True,
                reason=reason,
            )
            new = self.approve_close(intent)
            if new is not None:
                await self.orders.submit(new)
        await self.sync()

    # ------------------------------------------------------------------ views

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
        positions = self.portfolio.positions.values()
        return EquitySnapshot(
            ts=ts,
            equity=balance.equity,
            wallet=balance.wallet_balance,
            upnl=balance.equity - balance.wallet_balance,
            exposure=sum((p.qty * p.entry_price for p in positions), Decimal(0)),
            net_flows=self.marks.flows,
            open_risk=sum(
                (
                    abs(p.entry_price - p.stop_price) * p.qty
                    for p in positions
                    if p.stop_price is not None
                ),
                Decimal(0),
            ),
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
