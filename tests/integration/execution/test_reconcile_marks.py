"""Reconciliation over a venue that tracks its account's changes (the in-process simulator's
``ChangeTracking``): a pass reads only what can have changed, and finds what a full pass finds."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from bot.domain import (
    ExecutionReport,
    FundingPayment,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TriggerBy,
)
from bot.execution.orders import NewOrder
from bot.execution.reconcile import Reconciler
from bot.sim.engine import SimEngine
from bot.sim.venue import SimVenue

D = Decimal


class CountingVenue(SimVenue):
    """The simulator, counting the reads of the lists a reconciliation pass compares."""

    def __init__(self, engine: SimEngine) -> None:
        super().__init__(engine)
        self.reads: Counter[str] = Counter()

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        self.reads["open_orders"] += 1
        return await super().fetch_open_orders(symbol)

    async def fetch_account_events(
        self, since_ms: int
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        self.reads["events_window"] += 1
        return await super().fetch_account_events(since_ms)

    async def fetch_account_events_after(
        self, mark: tuple[int, ...]
    ) -> tuple[list[ExecutionReport], list[FundingPayment]]:
        self.reads["events_after"] += 1
        return await super().fetch_account_events_after(mark)


def reconciler(rig: Any) -> Reconciler:
    return Reconciler(
        rig.venue, rig.repo, rig.orders, rig.portfolio, prefix="rtr", policy="adopt", clock=rig.now
    )


def stop(qty: str, trigger: str) -> NewOrder:
    return NewOrder(
        "BTCUSDT",
        Side.SELL,
        OrderType.STOP_MARKET,
        D(qty),
        intent="stop",
        trigger_price=D(trigger),
        trigger_by=TriggerBy.MARK,
        reduce_only=True,
    )


async def test_a_pass_reads_only_what_can_have_changed(make_rig: Any) -> None:
    rig = await make_rig(CountingVenue)
    venue: CountingVenue = rig.venue
    rec = reconciler(rig)
    await rig.orders.submit(NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("3"), intent="entry"))
    sl = (await rig.orders.submit(stop("3", "80"))).order
    first = await rec.run()  # the first pass reads the time window
    assert first.new_fills == 1 and venue.reads == {"open_orders": 1, "events_window": 1}
    assert [o.client_order_id for o in first.open_orders] == [sl.client_order_id]

    rig.engine.advance(2)  # flat prices: nothing fills, nothing settles
    venue.reads.clear()
    quiet = await rec.run()
    assert venue.reads == {}, "unchanged venue and orders: the lists are not read again"
    assert quiet.new_fills == 0 and quiet.settled_orders == [] and quiet.discrepancies == 0
    assert quiet.open_orders == first.open_orders
    assert quiet.balance is not None and quiet.balance.ts == rig.engine.now_ms  # read afresh
    assert rec.venue_positions["BTCUSDT"].ts == rig.engine.now_ms
    assert rig.portfolio.positions["BTCUSDT"].qty == D("3")

    # rotor's own view of an order changed (a query that failed marks it UNKNOWN): the pass
    # compares again and takes the venue's word.
    sl.status = OrderStatus.UNKNOWN
    await rec.run()
    assert venue.reads == {"open_orders": 1, "events_after": 1}
    assert sl.status is OrderStatus.ACCEPTED

    # A change on the venue (the stop cancelled by hand, a fill of a hand-placed order):
    # the pass reads the orders and only the events listed since the last mark.
    rig.engine.cancel_order("BTCUSDT", order_link_id=sl.client_order_id)
    rig.engine.place_order("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), order_link_id="hand-1")
    venue.reads.clear()
    changed = await rec.run()
    assert venue.reads == {"open_orders": 1, "events_after": 1}
    assert changed.settled_orders == [f"{sl.client_order_id}:CANCELED"]
    assert changed.new_fills == 1, "the hand-placed fill, once"
    assert rig.portfolio.positions["BTCUSDT"].qty == D("4")
    again = await rec.run(since_ms=0)  # the whole window again: everything was applied once
    assert again.new_fills == 0 and again.discrepancies == 0
