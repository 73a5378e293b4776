"""RELIABILITY.md #30: orders without a client id (placed in the venue's web UI, or a position
TP/SL set there, ``orderLinkId: ""``) are tracked by venue order id: one row per venue order
however many passes see it, never a duplicate insert (which the daemon would take for a
database outage), and cancelled by venue order id. Through ccxt against the simulator's HTTP
face, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.domain import OrderStatus
from tests.conftest import VENUES
from tests.reliability.conftest import Rig
from tests.reliability.invariants import assert_nothing_lost

D = Decimal
# Each venue shows a hand order differently (Bybit: no client id; Binance: a made-up one).
pytestmark = pytest.mark.parametrize("face", VENUES)


async def hand_order(rig: Rig, kind: str, side: str, price: str) -> tuple[str, str]:
    """An order placed in the venue's web UI without a client id (``kind`` limit or stop);
    returns its venue order id and the key rotor tracks it under: Bybit leaves it without
    one (``orderLinkId: ""``: keyed by venue order id), Binance makes one up (``web_…``)."""
    sim = rig.sim
    if sim.venue == "binanceusdm":
        q: dict[str, Any] = {"symbol": "BTCUSDT", "side": side.upper(), "quantity": "1"}
        if kind == "stop":
            q |= {"algoType": "CONDITIONAL", "type": "STOP_MARKET", "triggerPrice": price}
            status, reply, _h = await sim.binance("POST", "/fapi/v1/algoOrder", q)
            assert status == 200, reply
            return str(reply["algoId"]), str(reply["clientAlgoId"])
        q |= {"type": "LIMIT", "timeInForce": "GTC", "price": price}
        status, reply, _h = await sim.binance("POST", "/fapi/v1/order", q)
        assert status == 200, reply
        assert str(reply["clientOrderId"]).startswith("web_"), reply
        return str(reply["orderId"]), str(reply["clientOrderId"])
    body: dict[str, Any] = {"category": "linear", "symbol": "BTCUSDT", "side": side, "qty": "1"}
    if kind == "stop":
        body |= {"orderType": "Market", "triggerPrice": price, "triggerDirection": 1}
    else:
        body |= {"orderType": "Limit", "price": price}
    status, reply = await sim.bybit("POST", "/v5/order/create", body)
    assert status == 200 and reply["retCode"] == 0, reply
    assert reply["result"]["orderLinkId"] == ""
    venue_id = str(reply["result"]["orderId"])
    return venue_id, f"venue:{venue_id}"


def open_on_venue(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in state["orders"] if o["orderStatus"] in ("New", "Untriggered")]


async def test_s30_hand_orders_are_tracked_once_by_venue_id_and_cancelled_by_it(rig: Rig) -> None:
    limit_id, limit_key = await hand_order(rig, "limit", "Buy", "80")
    stop_id, stop_key = await hand_order(rig, "stop", "Buy", "130")
    first = await rig.reconcile()
    second = await rig.reconcile()  # the same orders again: no second insert
    await rig.reconcile()
    assert sorted(first.adopted_orders) == sorted([limit_key, stop_key])
    assert second.adopted_orders == []
    rows = [o for o in await rig.repo.list_open_orders() if o.symbol == "BTCUSDT"]
    assert sorted(o.venue_order_id or "" for o in rows) == sorted([limit_id, stop_id])
    assert sorted(o.client_order_id for o in rows) == sorted([limit_key, stop_key])
    assert all(o.intent == "foreign" for o in rows)

    # Cancelled by venue order id on Bybit (it has no client id to cancel by).
    for key in (limit_key, stop_key):
        result = await rig.orders.cancel(key)
        assert result.order.status is OrderStatus.CANCELED, result
    assert open_on_venue(await rig.sim.state()) == []
    await rig.reconcile()
    assert await rig.repo.list_open_orders() == []
    stored = await rig.repo.get_order(limit_key)
    assert stored is not None and stored.status is OrderStatus.CANCELED
    assert_nothing_lost(await rig.books())


async def test_s30_hand_order_that_fills_settles_by_venue_id(rig: Rig) -> None:
    _limit_id, limit_key = await hand_order(rig, "limit", "Buy", "99.5")
    await rig.reconcile()
    await rig.advance(1)  # the bar's low (99) fills it
    report = await rig.reconcile()
    assert report.settled_orders == [f"{limit_key}:FILLED"]
    stored = await rig.repo.get_order(limit_key)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.filled_qty == D("1")
    assert rig.portfolio.positions["BTCUSDT"].qty == D("1")
    assert_nothing_lost(await rig.books())
