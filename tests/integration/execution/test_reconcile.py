"""Reconciliation and stop upkeep against the in-process simulator and a real database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.domain import OrderStatus, OrderType, Position, Side, TriggerBy
from bot.execution.orders import NewOrder
from bot.execution.reconcile import Reconciler, ReconcileRefused
from bot.execution.stops import StopKeeper

D = Decimal


def reconciler(rig: Any, policy: str = "adopt") -> Reconciler:
    return Reconciler(
        rig.venue, rig.repo, rig.orders, rig.portfolio, prefix="rtr", policy=policy, clock=rig.now
    )


def stop_for(pos: Position) -> NewOrder:
    return NewOrder(
        pos.symbol,
        pos.side.exit_side,
        OrderType.STOP_MARKET,
        pos.qty,
        intent="stop",
        trigger_price=pos.stop_price,
        trigger_by=TriggerBy.MARK,
        reduce_only=True,
    )


async def test_order_sent_but_never_stored_is_adopted(make_rig: Any) -> None:
    """SIGKILL between send and store: the venue has our order, the database does not."""
    rig = await make_rig()
    cid = rig.ids.make(7)
    rig.engine.place_order("BTCUSDT", Side.BUY, OrderType.MARKET, D("3"), order_link_id=cid)
    rig.engine.place_order(
        "BTCUSDT",
        Side.SELL,
        OrderType.STOP_MARKET,
        D("3"),
        trigger_price=D("80"),
        trigger_direction=2,
        reduce_only=True,
        order_link_id=rig.ids.make(8),
    )
    report = await reconciler(rig).run()
    assert report.adopted_orders == [
        rig.ids.make(8)
    ]  # the open stop; the filled entry comes via fills
    assert report.new_fills == 1
    assert report.adopted_positions == [] and report.corrected_positions == []
    pos = rig.portfolio.positions["BTCUSDT"]
    assert pos.qty == D("3")
    stored = await rig.repo.get_position("BTCUSDT")
    assert stored is not None and stored.qty == D("3")
    assert (await rig.repo.get_order(rig.ids.make(8))) is not None
    again = await reconciler(rig).run(since_ms=0)
    assert again.new_fills == 0 and again.discrepancies == 0, "fills apply once"


async def test_a_position_a_pass_opens_takes_the_venues_leverage(make_rig: Any) -> None:
    """SIGKILL before the entry's reply: the fill found at the restart opens the position at
    the leverage rotor set on the venue before the entry, not at 1 (which the leverage check
    would then "restore" on the venue; Binance refuses that, -2019)."""
    rig = await make_rig()
    await rig.venue.set_leverage("BTCUSDT", D(5))
    cid = rig.ids.make(7)
    rig.engine.place_order("BTCUSDT", Side.BUY, OrderType.MARKET, D("3"), order_link_id=cid)
    report = await reconciler(rig).run()
    assert report.new_fills == 1 and report.discrepancies == 0
    assert rig.portfolio.positions["BTCUSDT"].leverage == D(5)
    stored = await rig.repo.get_position("BTCUSDT")
    assert stored is not None and stored.leverage == D(5)


async def test_unknown_position_policies(make_rig: Any) -> None:
    """A position opened before rotor's sync window (its fills are not visible) is unknown."""
    rig = await make_rig()
    rig.engine.place_order("ETHUSDT", Side.SELL, OrderType.MARKET, D("2"), order_link_id="manual-1")
    rig.engine.advance(3)
    rig.clock_ms[0] = rig.engine.now_ms
    with pytest.raises(ReconcileRefused, match="ETHUSDT"):
        await reconciler(rig, policy="refuse").run(since_ms=rig.engine.now_ms)
    assert "ETHUSDT" not in rig.portfolio.positions
    report = await reconciler(rig, policy="adopt").run(since_ms=rig.engine.now_ms)
    assert report.adopted_positions == ["ETHUSDT"]
    pos = rig.portfolio.positions["ETHUSDT"]
    assert pos.qty == D("2") and pos.side.value == "short"
    stored = await rig.repo.get_position("ETHUSDT")
    assert stored is not None and stored.qty == D("2")


async def test_vanished_order_settled_by_query(make_rig: Any) -> None:
    rig = await make_rig()
    await rig.orders.submit(NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), intent="entry"))
    stop = await rig.orders.submit(
        NewOrder(
            "BTCUSDT",
            Side.SELL,
            OrderType.STOP_MARKET,
            D("1"),
            intent="stop",
            trigger_price=D("90"),
            trigger_by=TriggerBy.MARK,
            reduce_only=True,
        )
    )
    rig.engine.cancel_order("BTCUSDT", order_link_id=stop.order.client_order_id)  # by hand
    report = await reconciler(rig).run()
    assert report.settled_orders == [f"{stop.order.client_order_id}:CANCELED"]
    stored = await rig.repo.get_order(stop.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.CANCELED


async def test_stop_cancelled_by_hand_is_placed_again(make_rig: Any) -> None:
    rig = await make_rig()
    await rig.orders.submit(NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), intent="entry"))
    await reconciler(rig).run()
    rig.portfolio.positions["BTCUSDT"].stop_price = D("90")
    keeper = StopKeeper(rig.orders, stop_for)
    assert await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders()) == [
        "BTCUSDT"
    ]
    assert await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders()) == []
    first = [o for o in rig.engine.open_orders() if o.order_type is OrderType.STOP_MARKET]
    assert len(first) == 1
    rig.engine.cancel_order("BTCUSDT", order_id=first[0].order_id)
    assert await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders()) == [
        "BTCUSDT"
    ]
    live = [o for o in rig.engine.open_orders() if o.order_type is OrderType.STOP_MARKET]
    assert len(live) == 1 and live[0].order_id != first[0].order_id
    assert live[0].trigger_by is TriggerBy.MARK and live[0].reduce_only


async def test_stop_for_closed_position_is_cancelled(make_rig: Any) -> None:
    rig = await make_rig()
    await rig.orders.submit(NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), intent="entry"))
    await reconciler(rig).run()
    rig.portfolio.positions["BTCUSDT"].stop_price = D("90")
    keeper = StopKeeper(rig.orders, stop_for)
    await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders())
    await rig.orders.submit(
        NewOrder("BTCUSDT", Side.SELL, OrderType.MARKET, D("1"), intent="exit", reduce_only=True)
    )
    await reconciler(rig).run()
    assert "BTCUSDT" not in rig.portfolio.positions
    await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders())
    assert rig.engine.open_orders() == []
