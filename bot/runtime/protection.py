"""The protective stop every position carries.

Planned when the risk manager approves an entry, moved onto the fill when the entry gapped
(``Approved.stop_for``), restored from storage after a restart (RELIABILITY.md #3) unless the
fill went through it, and kept on the venue as a reduce-only stop-market order that passes the
risk manager like every order (``StopKeeper`` re-places a missing or mis-sized one). A position
no rotor entry opened (adopted) gets the stop policy's stop at the current mark price: the
strategy's fixed stop, else ``risk.stop_max_pct`` (RELIABILITY.md #41); a planned stop lives
only while its position or its entry order does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from bot.domain import Instrument, OrderIntent, OrderReport, OrderType, Position, TriggerBy
from bot.execution.orders import ENTRY_INTENTS, NewOrder, OrderManager
from bot.execution.stops import STOP_INTENT, StopKeeper
from bot.observability.logging import get_logger
from bot.risk import Approved
from bot.risk.sizing import stop_price_for
from bot.runtime.journal import Journal
from bot.venues.base import Venue

log = get_logger("rotor.cycle")

# Risk approval of a reduce-only intent; None (logged under the event name) when refused.
ReduceApprover = Callable[[OrderIntent, str], Approved | None]


def market_close(decision: Approved) -> NewOrder:
    """The reduce-only market order of an approved reducing intent (a close)."""
    intent = decision.intent
    return NewOrder(
        symbol=decision.symbol,
        side=decision.side,
        type=OrderType.MARKET,
        qty=decision.qty,
        intent=intent.kind,
        reduce_only=True,
        reason=intent.reason,
    )


class ProtectiveStops:
    """Stop prices per symbol and the stop orders that carry them."""

    def __init__(
        self,
        orders: OrderManager,
        venue: Venue,
        journal: Journal,
        approve: ReduceApprover,
        clock: Callable[[], int],
        trigger_by: str,
        *,
        instruments: Mapping[str, Instrument] | None = None,
        adopted_stop_distance: Decimal = Decimal("0.09"),
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.approve = approve
        self.clock = clock
        self.trigger_by = TriggerBy(trigger_by)
        self.instruments = instruments if instruments is not None else {}
        self.adopted_stop_distance = adopted_stop_distance
        self.planned: dict[str, Decimal] = {}  # symbol -> stop price from the approval
        self.keeper = StopKeeper(orders, self.order_for, self.close_crossed)

    def plan(self, symbol: str, stop: Decimal | None) -> None:
        """Remember the stop of an approved entry (None: nothing to remember)."""
        if stop is not None:
            self.planned[symbol] = stop

    def forget(self, symbol: str) -> None:
        self.planned.pop(symbol, None)

    async def restore(self, positions: Mapping[str, Position]) -> None:
        """Give every position without a stop price its stop: the one planned with the entry
        that opened it (after a restart, the one stored with that entry order) unless the fill
        gapped through it (a stop on the wrong side protects nothing), else the stop policy's
        at the current price (a position rotor did not open)."""
        pending = {o.symbol for o in self.keeper.orders.open_orders() if o.intent in ENTRY_INTENTS}
        for symbol in [s for s in self.planned if s not in positions and s not in pending]:
            del self.planned[symbol]  # its position closed: it belongs to no later one
        for symbol, pos in positions.items():
            if pos.stop_price is not None:
                continue
            planned = self.planned.get(symbol)
            if planned is None:
                planned = await self.journal.planned_stop(symbol, pos.opened_ms)
                if planned is not None and pos.side.sign * (pos.entry_price - planned) <= 0:
                    log.error(
                        "stored_stop_unusable",
                        symbol=symbol,
                        stop=str(planned),
                        entry=str(pos.entry_price),
                        alert=True,
                    )
                    planned = None
            if planned is None:
                planned = await self._policy_stop(pos)
            self.plan(symbol, planned)
            if planned is not None:
                pos.stop_price = planned
                await self.journal.save_position(pos, self.clock())

    async def _policy_stop(self, pos: Position) -> Decimal | None:
        """The stop policy's stop for ``pos`` at the venue's current mark price."""
        ticker = (await self.venue.fetch_tickers()).get(pos.symbol)
        mark = Decimal(str(ticker.mark or ticker.last)) if ticker is not None else Decimal(0)
        if not mark.is_finite() or mark <= 0:
            log.error("adopted_stop_no_price", symbol=pos.symbol, alert=True)
            return None
        inst = self.instruments.get(pos.symbol)
        tick = inst.tick_size if inst is not None else Decimal(0)
        stop = stop_price_for(pos.side, mark, self.adopted_stop_distance, tick)
        log.warning(
            "adopted_stop_from_policy",
            symbol=pos.symbol,
            mark=str(mark),
            distance=str(self.adopted_stop_distance),
            stop=str(stop),
        )
        return stop

    async def ensure(self, positions: dict[str, Position], venue_open: list[OrderReport]) -> None:
        """One stop order per position on the venue, of the right size and side, against the
        open orders the reconciliation that just ran read (``ReconcileReport.open_orders``);
        a stop sent since that read is asked about by itself."""
        await self.keeper.ensure(positions, venue_open)

    def order_for(self, pos: Position) -> NewOrder | None:
        """The protective stop order for ``pos``, through the risk manager like every order."""
        assert pos.stop_price is not None
        intent = OrderIntent(
            symbol=pos.symbol,
            side=pos.side,
            kind="stop",
            reference_price=pos.stop_price,
            qty=pos.qty,
            reduce_only=True,
            sector=pos.sector,
            reason="protective stop",
        )
        decision = self.approve(intent, "stop_rejected")
        if decision is None:
            return None
        return NewOrder(
            symbol=pos.symbol,
            side=pos.side.exit_side,
            type=OrderType.STOP_MARKET,
            qty=decision.qty,
            intent=STOP_INTENT,
            trigger_price=pos.stop_price,
            trigger_by=self.trigger_by,
            reduce_only=True,
            reason="protective stop",
        )

    async def close_crossed(self, pos: Position) -> None:
        """The price already crossed the stop, so the venue refused it: do what the stop would
        have done, a reduce-only market close (through the risk manager), and alert."""
        intent = OrderIntent(
            symbol=pos.symbol,
            side=pos.side,
            kind="stop_close",
            reference_price=pos.stop_price or pos.entry_price,
            qty=pos.qty,
            reduce_only=True,
            sector=pos.sector,
            reason="stop already crossed",
        )
        decision = self.approve(intent, "stop_close_rejected")
        if decision is None:
            return
        result = await self.keeper.orders.submit(market_close(decision))
        log.error(
            "stop_crossed_closed",
            symbol=pos.symbol,
            stop=str(pos.stop_price),
            qty=str(decision.qty),
            outcome=result.outcome,
            alert=True,
        )
