"""Exchange-side protective stops: one reduce-only stop-market order, triggered by mark price,
for every open position. Checked every cycle against the venue's open orders and placed again
if it has gone missing (e.g. cancelled by hand on the venue, RELIABILITY.md #8). A stop the
venue refuses always alerts; one refused because the price already crossed it is replaced by a
reduce-only market close (``on_crossed``, RELIABILITY.md #36)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain import Order, OrderReport, OrderStatus, OrderType, Position
from bot.execution.client_ids import order_key
from bot.execution.orders import NewOrder, OrderManager
from bot.observability.logging import get_logger
from bot.venues.base import StopCrossedError

log = get_logger("rotor.stops")

STOP_INTENT = "stop"

# Builds the stop order for a position (through the risk manager); None = refused.
StopFactory = Callable[[Position], NewOrder | None]
# Closes a position whose stop the price already crossed.
CrossedHandler = Callable[[Position], Awaitable[None]]


def is_stop(order: Order) -> bool:
    return order.intent == STOP_INTENT and order.type is OrderType.STOP_MARKET


class StopKeeper:
    """Keeps the protective stops on the venue in line with the positions."""

    def __init__(
        self,
        orders: OrderManager,
        make_stop: StopFactory,
        on_crossed: CrossedHandler | None = None,
    ) -> None:
        self.orders = orders
        self.make_stop = make_stop
        self.on_crossed = on_crossed

    async def ensure(
        self, positions: dict[str, Position], venue_open: list[OrderReport]
    ) -> list[str]:
        """Place missing stops, replace wrong-sized ones, cancel orphans; return symbols placed."""
        on_venue = {order_key(r.client_order_id, r.venue_order_id) for r in venue_open}
        # A tracked stop the venue no longer lists: find out what happened to it.
        for order in [o for o in self.orders.open_orders() if is_stop(o)]:
            if order.client_order_id not in on_venue and order.status != OrderStatus.SUBMITTED:
                await self.orders.resolve(order)
        placed: list[str] = []
        for symbol, pos in positions.items():
            stops = [o for o in self.orders.open_orders(symbol) if is_stop(o)]
            good = [o for o in stops if o.qty == pos.qty and o.side == pos.side.exit_side]
            for extra in [o for o in stops if o not in good[:1]]:
                await self.orders.cancel(extra.client_order_id)
            if good:
                continue
            if pos.stop_price is None:
                log.error("position_without_stop_price", symbol=symbol, alert=True)
                continue
            new = self.make_stop(pos)
            if new is None:
                log.error("stop_refused_by_risk", symbol=symbol, alert=True)
                continue
            result = await self.orders.submit(new)
            log.info(
                "stop_placed",
                symbol=symbol,
                trigger=str(new.trigger_price),
                qty=str(new.qty),
                outcome=result.outcome,
                replaced=bool(stops),
            )
            if result.outcome == "rejected":
                crossed = isinstance(result.error, StopCrossedError)
                log.error(
                    "stop_rejected_by_venue",
                    symbol=symbol,
                    trigger=str(new.trigger_price),
                    crossed=crossed,
                    detail=result.detail[:300],
                    alert=True,
                )
                if crossed and self.on_crossed is not None:
                    await self.on_crossed(pos)
                continue
            placed.append(symbol)
        # Stops for positions that no longer exist would open a new position if triggered.
        for order in [o for o in self.orders.open_orders() if is_stop(o)]:
            if order.symbol not in positions:
                await self.orders.cancel(order.client_order_id)
        return placed
