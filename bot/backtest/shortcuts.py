"""The backtest's shortcuts for bars that change nothing (a mixin of ``BacktestRunner``).

Quiet bars. A cycle whose venue state has not changed since the last full cycle, whose
breakers and state timers are silent, whose evaluation has no exit and whose every entry one
of the risk manager's gates refuses (without a state request), and whose positions all hold
their stop,
would change nothing but the equity record. Such a bar runs exactly those checks, with the
pipeline's own methods, and records the equity; every other bar runs ``on_bar``. That keeps
per-bar work proportional to positions and candidates instead of the universe, and the
replay-equals-backtest test proves the trades do not change.

Skipped bars. After each cycle the signal engine names the next bar whose evaluation may hold
an intent (``SignalEngine.next_intent_at``: each entry rule's vectorised pre-filter, each held
position's exit rules as arrays, all next to the rules themselves). The bars before it are
quiet bars whose evaluation is known to be empty: they keep only the checks that do not come
from the signals (the venue unchanged, the breakers and state timers silent on this bar's
equity) and record the equity; any doubt sends the bar down the quiet-bar path above.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.backtest.data import BacktestData
from bot.backtest.signals import PrecomputedSignals
from bot.domain import OrderIntent
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.stops import is_stop
from bot.risk import AccountView, MarketSnapshot, RiskManager, TradingStateMachine
from bot.runtime.pipeline import TradingCore
from bot.sim.engine import SimEngine
from bot.sim.venue import SimVenue

# A skipped bar's account view: the breakers read the equity and its marks, not the market.
NO_MARKET: Mapping[str, MarketSnapshot] = {}


class Shortcuts:
    """The proofs that a bar changes nothing but the equity record, with the pipeline's own
    objects; ``BacktestRunner`` sets the attributes and runs any other bar in full."""

    quiet_bars: bool
    skip: bool
    kill_pending: bool
    data: BacktestData
    signals: PrecomputedSignals
    engine: SimEngine
    venue: SimVenue
    core: TradingCore
    portfolio: Portfolio
    orders: OrderManager
    risk: RiskManager
    state: TradingStateMachine
    _mark: tuple[int, int, int]

    def _now(self) -> int:
        raise NotImplementedError

    def _venue_state(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def _count_rejection(self, code: str) -> None:
        raise NotImplementedError

    def _record_equity(self, now: int) -> None:
        raise NotImplementedError

    async def _quiet(self, j: int, now: int, market: Mapping[str, MarketSnapshot]) -> bool:
        """Run the checks of a cycle that would change nothing; False when it might."""
        core = self.core
        if not self.quiet_bars or self._venue_state() != self._mark:
            return False
        if self._halted_flat():
            # HALTED is only left by an operator's resume, which a backtest never sends, and the
            # core neither evaluates nor re-runs the kill switch on a flat HALTED account.
            self.kill_pending = False
            core.balance = await self.venue.fetch_balance()
            self._record_equity(now)
            return True
        if core.kill_requested:
            return False
        # An exit sends the bar down the full cycle whatever the account says: asked first
        # (the evaluation is pure and kept for the cycle; the balance read is the sync's).
        evaluation = self.signals.evaluate(
            self.data.panel, j, core.position_views(), core.predicted_f8h(market)
        )
        if evaluation.exits:
            return False
        view = await self._silent_account(now, market)
        if view is None:
            return False
        positions = self.portfolio.positions
        codes: list[str] = []
        for entry in evaluation.entries:
            if entry.symbol in positions:
                continue
            intent = entry.to_order_intent()
            code = self._refused_at_the_gates(intent, view)
            if not code:  # past every gate (sizing decides) or a state request
                return False
            codes.append(code)
        if not self._stops_in_place():
            return False
        for code in codes:
            self._count_rejection(code)
        self._record_equity(now)
        return True

    async def _silent_account(
        self, now: int, market: Mapping[str, MarketSnapshot]
    ) -> AccountView | None:
        """The cycle's balance read and account view (the equity marks move with it), or
        None when a breaker or a state timer has something to say on this bar."""
        core = self.core
        core.balance = await self.venue.fetch_balance()
        view = core.account_view(now, market)
        if self.risk.breakers(view) or self.state.propose_tick(now) is not None:
            return None
        return view

    def _next_intent(self, j: int) -> int:
        """The first bar after ``j`` whose evaluation may hold an intent, for the positions
        the cycle at ``j`` left; ``j + 1`` when the bars between may not be skipped (the
        protective stops not exactly as ``StopKeeper.ensure`` leaves them, a kill due)."""
        if not self.skip or self.kill_pending or not self._stops_in_place():
            return j + 1
        return self.signals.next_intent_at(j, self.core.position_views())

    async def _skipped(self) -> bool:
        """A quiet bar without its evaluation, which ``next_intent_at`` ruled out: the venue
        unchanged since the last cycle (no fill, no order: the stops still in place), no kill,
        the breakers and state timers silent; records the equity. False when in doubt (the
        bar then takes the quiet-bar path, which repeats the balance read: idempotent)."""
        if self._venue_state() != self._mark or self.core.kill_requested or self._halted_flat():
            return False
        now = self._now()
        if await self._silent_account(now, NO_MARKET) is None:
            return False
        self._record_equity(now)
        return True

    def _refused_at_the_gates(self, intent: OrderIntent, view: AccountView) -> str | None:
        """The risk manager's first stage for an entry, alone (``RiskManager.gates``: state,
        breakers, stale data, price, funding, order rate, position counts).

        ``check`` refuses every intent a gate has a reason against, with the gates' codes
        first, and only the gates raise state requests, so a gate reason settles the decision
        without sizing: returns its first code; "" when a gate asks for a state change, None
        when every gate passes (then sizing decides: the bar runs the full cycle, which sizes
        it once).
        """
        codes, requests = self.risk.gates(intent, view)
        if requests:
            return ""
        return codes[0].value if codes else None

    def _halted_flat(self) -> bool:
        return self.core.halted_and_flat() and not self.engine.positions

    def _stops_in_place(self) -> bool:
        """Exactly the stops ``StopKeeper.ensure`` would leave: one per position, right size."""
        positions = self.portfolio.positions
        seen: set[str] = set()
        for order in self.orders.open_orders():
            if not is_stop(order):
                continue
            pos = positions.get(order.symbol)
            if pos is None or order.symbol in seen:
                return False
            if order.qty != pos.qty or order.side != pos.side.exit_side:
                return False
            seen.add(order.symbol)
        return len(seen) == len(positions)
