"""RELIABILITY.md #1 (lost acknowledgement) and #2 (a submit that times out and placed nothing).

The simulator's fault injection drops the reply after applying the order, or holds the request
past the client's timeout without applying it; rotor's order manager talks to it through the
unmodified ccxt client. An order command never ends in a blind resend.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.domain import OrderStatus, OrderType, Side
from bot.execution.orders import NewOrder
from tests.conftest import VENUES
from tests.reliability.conftest import Rig, calls, faults_on
from tests.reliability.invariants import assert_nothing_lost

D = Decimal
# Unclear outcomes are venue business: every scenario here runs on both faces.
pytestmark = pytest.mark.parametrize("face", VENUES)


def buy(qty: str = "1") -> NewOrder:
    return NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D(qty), intent="entry")


async def creates(rig: Rig) -> int:
    return await calls(rig.sim, "create")


async def test_s01_lost_ack_is_found_by_a_targeted_query(rig: Rig) -> None:
    await rig.sim.set_faults(faults_on(rig.sim, "create", kind="drop_response", probability=1.0))
    result = await rig.orders.submit(buy())
    assert result.outcome == "confirmed", result
    assert result.order.status is OrderStatus.FILLED
    await rig.sim.set_faults([])
    await rig.reconcile()
    books = await rig.books()
    assert list(books.venue_orders) == [result.order.client_order_id], "exactly one order"
    assert await creates(rig) == 1, "create_order is never resent"
    assert books.db_positions == {"BTCUSDT": ("long", D("1"))}
    assert_nothing_lost(books)


async def test_s01_lost_ack_with_queries_failing_is_resolved_at_restart(
    rig: Rig, restart: Any
) -> None:
    """The reply is lost and the targeted query fails too: the order stays UNKNOWN (never
    resent) until the next process finds it by its client order id."""
    await rig.sim.set_faults(
        faults_on(rig.sim, "create", kind="drop_response", probability=1.0)
        + faults_on(rig.sim, "query", kind="error_rate", status=503)
    )
    result = await rig.orders.submit(buy("2"))
    assert result.outcome == "unknown"
    cid = result.order.client_order_id
    stored = await rig.repo.get_order(cid)
    assert stored is not None and stored.status is OrderStatus.UNKNOWN
    await rig.sim.set_faults([])
    after = await restart(rig)
    await after.reconcile()
    stored = await after.repo.get_order(cid)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.filled_qty == D("2") and stored.venue_order_id
    books = await after.books()
    assert list(books.venue_orders) == [cid]
    assert await creates(after) == 1
    assert books.db_positions == {"BTCUSDT": ("long", D("2"))}
    assert_nothing_lost(books)


async def test_s02_timeout_with_nothing_placed_ends_rejected_and_is_not_resent(rig: Rig) -> None:
    # The venue holds the request past the client's 2 s timeout and never applies it.
    await rig.sim.set_faults(faults_on(rig.sim, "create", kind="timeout", ms=3000))
    result = await rig.orders.submit(buy())
    assert result.outcome == "unknown", "not found yet: inside the grace period"
    assert result.order.status is OrderStatus.UNKNOWN
    await rig.sim.set_faults([])
    await rig.advance(1)  # an hour of venue time: past the grace period
    report = await rig.reconcile()
    cid = result.order.client_order_id
    assert report.settled_orders == [f"{cid}:REJECTED"]
    stored = await rig.repo.get_order(cid)
    assert stored is not None and stored.status is OrderStatus.REJECTED
    assert "not found on venue" in stored.reason
    assert await creates(rig) == 1, "nothing is sent again blindly"
    books = await rig.books()
    assert books.venue_orders == {} and books.db_positions == {}
    assert_nothing_lost(books)
