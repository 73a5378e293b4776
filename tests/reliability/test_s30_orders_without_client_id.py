"""RELIABILITY.md #30: orders without a client id (placed in the venue's web UI, or a position
TP/SL set there, ``orderLinkId: ""``) are tracked by venue order id: one row per venue order
however many passes see it, never a duplicate insert (which the daemon would take for a
database outage), and cancelled by venue order id. Through ccxt against the simulator's HTTP
face, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import OrderStatus
from tests.reliability.conftest import Rig
from tests.reliability.invariants import assert_nothing_lost

D = Decimal


async def hand_order(rig: Rig, **fields: Any) -> str:
    """An order placed in the venue's web UI: no orderLinkId at all; returns its orderId."""
    body = {"category": "linear", "symbol": "BTCUSDT", **fields}
    status, reply = await rig.sim.bybit("POST", "/v5/order/create", body)
    assert status == 200 and reply["retCode"] == 0, reply
    assert reply["result"]["orderLinkId"] == ""
    return str(reply["result"]["orderId"])


async def test_s30_hand_orders_are_tracked_once_by_venue_id_and_cancelled_by_it(rig: Rig) -> None:
    limit_id = await hand_order(rig, side="Buy", orderType="Limit", qty="1", price="80")
    stop_id = await hand_order(
        rig,
        side="Buy",
        orderType="Market",
        qty="1",
        triggerPrice="130",
        triggerDirection=1,
    )
    first = await rig.reconcile()
    second = await rig.reconcile()  # the same orders again: no second insert
    await rig.reconcile()
    assert sorted(first.adopted_orders) == sorted([f"venue:{limit_id}", f"venue:{stop_id}"])
    assert second.adopted_orders == []
    rows = [o for o in await rig.repo.list_open_orders() if o.symbol == "BTCUSDT"]
    assert sorted(o.venue_order_id or "" for o in rows) == sorted([limit_id, stop_id])
    assert all(o.client_order_id.startswith("venue:") and o.intent == "foreign" for o in rows)

    # Cancelled by venue order id (the venue has no client id to cancel by).
    for key in (f"venue:{limit_id}", f"venue:{stop_id}"):
        result = await rig.orders.cancel(key)
        assert result.order.status is OrderStatus.CANCELED, result
    _status, body = await rig.sim.bybit(
        "GET", "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"}
    )
    assert body["result"]["list"] == []
    await rig.reconcile()
    assert await rig.repo.list_open_orders() == []
    stored = await rig.repo.get_order(f"venue:{limit_id}")
    assert stored is not None and stored.status is OrderStatus.CANCELED
    assert_nothing_lost(await rig.books())


async def test_s30_hand_order_that_fills_settles_by_venue_id(rig: Rig) -> None:
    limit_id = await hand_order(rig, side="Buy", orderType="Limit", qty="1", price="99.5")
    await rig.reconcile()
    await rig.advance(1)  # the bar's low (99) fills it
    report = await rig.reconcile()
    assert report.settled_orders == [f"venue:{limit_id}:FILLED"]
    stored = await rig.repo.get_order(f"venue:{limit_id}")
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.filled_qty == D("1")
    assert rig.portfolio.positions["BTCUSDT"].qty == D("1")
    assert_nothing_lost(await rig.books())
