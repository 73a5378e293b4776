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
from tests.reliability.conftest import Rig, hand_order
from tests.reliability.invariants import assert_nothing_lost

D = Decimal
# Each venue shows a hand order differently (Bybit: no client id; Binance: a made-up one).
pytestmark = pytest.mark.parametrize("face", VENUES)


def open_on_venue(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in state["orders"] if o["orderStatus"] in ("New", "Untriggered")]


async def test_s30_hand_orders_are_tracked_once_by_venue_id_and_cancelled_by_it(rig: Rig) -> None:
    limit_id, limit_key = await hand_order(rig.sim, "BTCUSDT", "Buy", "1", price="80")
    stop_id, stop_key = await hand_order(rig.sim, "BTCUSDT", "Buy", "1", trigger="130")
    assert limit_key != limit_id and stop_key != stop_id, "no client id given"
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
    _limit_id, limit_key = await hand_order(rig.sim, "BTCUSDT", "Buy", "1", price="99.5")
    await rig.reconcile()
    await rig.advance(1)  # the bar's low (99) fills it
    report = await rig.reconcile()
    assert report.settled_orders == [f"{limit_key}:FILLED"]
    stored = await rig.repo.get_order(limit_key)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.filled_qty == D("1")
    assert rig.portfolio.positions["BTCUSDT"].qty == D("1")
    assert_nothing_lost(await rig.books())
