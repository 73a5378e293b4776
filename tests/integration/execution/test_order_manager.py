"""Order manager against the in-process simulator and a real database (both backends)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import OrderStatus, OrderType, Side, TriggerBy
from bot.execution.orders import NewOrder
from tests.integration.execution.conftest import LostAckVenue

D = Decimal


def market_buy(qty: str = "1", symbol: str = "BTCUSDT") -> NewOrder:
    return NewOrder(symbol, Side.BUY, OrderType.MARKET, D(qty), intent="entry")


async def test_confirmed_fill_is_persisted(make_rig: Any) -> None:
    rig = await make_rig()
    result = await rig.orders.submit(market_buy())
    assert result.outcome == "confirmed"
    assert result.order.status is OrderStatus.FILLED
    stored = await rig.repo.get_order(result.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert stored.venue_order_id == result.order.venue_order_id
    assert [o.order_link_id for o in rig.engine.orders] == [result.order.client_order_id]
    assert rig.orders.orders == {}  # terminal orders are no longer tracked in memory


async def test_persisted_before_send(make_rig: Any) -> None:
    rig = await make_rig()
    seen: list[OrderStatus | None] = []
    original = rig.venue.create_order

    async def spy(request: Any) -> Any:
        row = await rig.repo.get_order(request.client_order_id)
        seen.append(None if row is None else row.status)
        return await original(request)

    rig.venue.create_order = spy
    await rig.orders.submit(market_buy())
    assert seen == [OrderStatus.SUBMITTED]


async def test_lost_ack_resolved_by_query_exactly_one_order(make_rig: Any) -> None:
    rig = await make_rig(LostAckVenue, apply=True)
    result = await rig.orders.submit(market_buy("2"))
    assert result.outcome == "confirmed"
    assert result.order.status is OrderStatus.FILLED
    assert rig.venue.creates == 1, "create_order must never be retried"
    assert len(rig.engine.orders) == 1
    assert rig.engine.positions["BTCUSDT"].size == D("2")
    stored = await rig.repo.get_order(result.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED


async def test_timeout_nothing_placed_becomes_rejected_after_grace(make_rig: Any) -> None:
    rig = await make_rig(LostAckVenue, apply=False)
    result = await rig.orders.submit(market_buy())
    assert result.outcome == "unknown" and result.order.status is OrderStatus.UNKNOWN
    assert rig.engine.orders == []
    rig.clock_ms[0] += 61_000  # past the grace period: a query that finds nothing is final
    final = await rig.orders.resolve(result.order)
    assert final.outcome == "rejected" and final.order.status is OrderStatus.REJECTED
    assert rig.venue.creates == 1 and rig.engine.orders == []
    stored = await rig.repo.get_order(result.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.REJECTED


async def test_venue_rejection_is_recorded(make_rig: Any) -> None:
    rig = await make_rig()
    result = await rig.orders.submit(market_buy("100000"))  # far beyond the margin
    assert result.outcome == "rejected"
    stored = await rig.repo.get_order(result.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.REJECTED
    assert "110007" in stored.reason


async def test_duplicate_client_id_queries_existing_order(make_rig: Any) -> None:
    rig = await make_rig()
    cid = rig.ids.make(1)
    rig.engine.place_order("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), order_link_id=cid)
    result = await rig.orders.submit(market_buy("1"))  # the factory issues seq 1 again
    assert result.order.client_order_id == cid
    assert result.outcome == "confirmed" and result.order.status is OrderStatus.FILLED
    assert len(rig.engine.orders) == 1


async def test_stop_rests_and_cancel_confirms(make_rig: Any) -> None:
    rig = await make_rig()
    await rig.orders.submit(market_buy("1"))
    stop = NewOrder(
        "BTCUSDT",
        Side.SELL,
        OrderType.STOP_MARKET,
        D("1"),
        intent="stop",
        trigger_price=D("90"),
        trigger_by=TriggerBy.MARK,
        reduce_only=True,
    )
    placed = await rig.orders.submit(stop)
    assert placed.order.status is OrderStatus.ACCEPTED
    assert placed.order.client_order_id in rig.orders.orders
    cancelled = await rig.orders.cancel(placed.order.client_order_id)
    assert cancelled.order.status is OrderStatus.CANCELED
    stored = await rig.repo.get_order(placed.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.CANCELED
