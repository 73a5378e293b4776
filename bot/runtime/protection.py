"""The protective stop every position carries.

Planned when the risk manager approves an entry, moved onto the fill when the entry gapped
(``Approved.stop_for``), restored from storage after a restart (RELIABILITY.md #3) unless the
fill went through it, and kept on the venue as a reduce-only stop-market order that passes the
risk manager like every order (``StopKeeper`` re-places a missing or mis-sized one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from bot.domain import OrderIntent, OrderType, Position, TriggerBy
from bot.execution.orders import NewOrder, OrderManager
from bot.execution.stops import STOP_INTENT, StopKeeper
from bot.observability.logging import get_logger
from bot.risk import Approved
from bot.runtime.journal import Journal
from bot.venues.base import Venue

log = get_logger("rotor.cycle")

# Risk approval of a reduce-only intent; None (logged under the event name) when refused.
ReduceApprover = Callable[[OrderIntent, str], Approved | None]


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
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.approve = approve
        self.clock = clock
        self.trigger_by = TriggerBy(trigger_by)
        self.planned: dict[str, Decimal] = {}  # symbol -> stop price from the approval
        self.keeper = StopKeeper(orders, self.order_for)

    def plan(self, symbol: str, stop: Decimal | None) -> None:
        """Remember the stop of an approved entry (None: nothing to remember)."""
        if stop is not None:
            self.planned[symbol] = stop

    def forget(self, symbol: str) -> None:
        self.planned.pop(symbol, None)

    async def restore(self, positions: Mapping[str, Position]) -> None:
        """Give every position without a stop price its planned one; after a restart that is
        the stop stored with the entry order, unless the fill gapped through it (a stop on the
        wrong side protects nothing)."""
        for symbol, pos in positions.items():
            if pos.stop_price is not None:
                continue
            planned = self.planned.get(symbol)
            if planned is None:
                planned = await self.journal.planned_stop(symbol)
                if planned is not None and pos.side.sign * (pos.entry_price - planned) <= 0:
                    log.error(
                        "stored_stop_unusable",
                        symbol=symbol,
                        stop=str(planned),
                        entry=str(pos.entry_price),
                        alert=True,
                    )
                    planned = None
                self.plan(symbol, planned)
            if planned is not None:
                pos.stop_price = planned
                await self.journal.save_position(pos, self.clock())

    async def ensure(self, positions: dict[str, Position]) -> None:
        """One stop order per position on the venue, of the right size and side."""
        await self.keeper.ensure(positions, await self.venue.fetch_open_orders())

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
