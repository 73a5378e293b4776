"""RELIABILITY.md #4-#8: unknown positions, cancel/fill races, duplicate executions, partial
fills, and a protective stop cancelled by hand; all through ccxt against the simulator's HTTP
face, persisted to SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.domain import OrderStatus, OrderType, Position, Side, TriggerBy
from bot.execution.orders import NewOrder
from bot.execution.reconcile import ReconcileRefused
from bot.execution.stops import StopKeeper
from bot.observability.metrics import Metrics
from tests.conftest import VENUES
from tests.reliability.conftest import (
    START,
    Rig,
    build_rig,
    close_rig,
    faults_on,
    hand_cancel_stop,
    hand_market,
)
from tests.reliability.data import flat_dir
from tests.reliability.invariants import assert_nothing_lost
from tests.simserver import sim_server

D = Decimal
# Orders and fills are venue business: every scenario here runs on both faces.
pytestmark = pytest.mark.parametrize("face", VENUES)


def market(symbol: str, side: Side, qty: str, **kw: Any) -> NewOrder:
    return NewOrder(symbol, side, OrderType.MARKET, D(qty), intent=kw.pop("intent", "entry"), **kw)


def limit(symbol: str, side: Side, qty: str, price: str) -> NewOrder:
    return NewOrder(symbol, side, OrderType.LIMIT, D(qty), intent="entry", price=D(price))


async def test_s04_unknown_position_is_adopted_with_an_alert(rig: Rig) -> None:
    # Opened by hand on the venue (a foreign client id), before rotor's reading window.
    await hand_market(rig.sim, "ETHUSDT", "Sell", "3", "by-hand-1")
    await rig.advance(2)
    rig.reconciler.metrics = Metrics()
    with capture_logs() as logs:
        report = await rig.reconciler.run(since_ms=rig.now())
    assert report.adopted_positions == ["ETHUSDT"]
    adopted = [e for e in logs if e["event"] == "reconcile_position_adopted"]
    assert adopted and adopted[0]["alert"] is True and D(adopted[0]["qty"]) == 3
    alerts = rig.reconciler.metrics.alerts.labels(kind="position_adopted")._value.get()
    assert alerts == 1
    stored = await rig.repo.get_position("ETHUSDT")
    assert stored is not None and stored.side.value == "short" and stored.qty == D("3")
    books = await rig.books()
    assert books.db_positions == books.venue_positions == {"ETHUSDT": ("short", D("3"))}


async def test_s04_unknown_position_refused_by_policy(rig: Rig, restart: Any) -> None:
    await hand_market(rig.sim, "BTCUSDT", "Buy", "1", "by-hand-2")
    await rig.advance(2)
    strict = await restart(rig, policy="refuse")
    with pytest.raises(ReconcileRefused, match=r"BTCUSDT.*unknown_position_policy = 'refuse'"):
        await strict.reconciler.run(since_ms=strict.now())
    assert strict.portfolio.positions == {}, "never silently taken over"
    assert await strict.repo.list_positions() == []


async def test_s05_cancel_racing_a_fill_ends_filled(rig: Rig) -> None:
    sent = await rig.orders.submit(limit("BTCUSDT", Side.BUY, "2", "99.5"))
    assert sent.outcome == "confirmed" and sent.order.status is OrderStatus.ACCEPTED
    await rig.advance(1)  # the bar's low (99) fills the order on the venue
    # rotor has not seen the fill yet and cancels: the venue says "too late".
    result = await rig.orders.cancel(sent.order.client_order_id)
    assert result.order.status is OrderStatus.FILLED
    assert result.order.filled_qty == D("2")
    await rig.reconcile()
    books = await rig.books()
    assert books.db_positions == {"BTCUSDT": ("long", D("2"))}
    assert_nothing_lost(books)


async def test_s05_cancel_whose_reply_is_lost_ends_canceled(rig: Rig) -> None:
    sent = await rig.orders.submit(limit("BTCUSDT", Side.BUY, "2", "90"))
    await rig.sim.set_faults(faults_on(rig.sim, "cancel", kind="drop_response"))
    result = await rig.orders.cancel(sent.order.client_order_id)
    await rig.sim.set_faults([])
    assert result.order.status is OrderStatus.CANCELED
    await rig.reconcile()
    assert_nothing_lost(await rig.books())


async def test_s06_same_execution_from_poll_and_reconciliation_applies_once(
    rig: Rig, restart: Any
) -> None:
    sent = await rig.orders.submit(market("BTCUSDT", Side.BUY, "1.5"))
    assert sent.outcome == "confirmed"
    # The cycle's sync and a periodic reconciliation race on the same fill...
    first, second = await asyncio.gather(rig.reconcile(), rig.reconcile())
    assert first.new_fills + second.new_fills == 1
    # ...a later pass re-reads the same window, and a restart re-reads it again.
    again = await rig.reconciler.run(since_ms=0)
    assert again.new_fills == 0
    after = await restart(rig)
    assert (await after.reconciler.run(since_ms=0)).new_fills == 0
    assert after.portfolio.positions["BTCUSDT"].qty == D("1.5"), "not 3.0: applied once"
    execs = await after.repo.list_executions()
    assert len(execs) == 1
    books = await after.books()
    assert books.db_positions == {"BTCUSDT": ("long", D("1.5"))}
    assert_nothing_lost(books)


async def test_s07_partial_fill_then_cancel_keeps_the_filled_part(
    tmp_path: Path, migrated_url: str, face: str
) -> None:
    data = flat_dir(tmp_path / "thin")
    # At most 3 contracts trade at our price per bar (volume 1e6 x participation 3e-6).
    kw = {"partial_fills": True, "participation": D("0.000003")}
    async with sim_server(data, start_ms=START, engine_kwargs=kw, venue=face) as sim:
        rig = await build_rig(sim, migrated_url)
        try:
            sent = await rig.orders.submit(limit("BTCUSDT", Side.BUY, "10", "99.5"))
            await rig.advance(1)
            await rig.reconcile()
            order = rig.orders.orders[sent.order.client_order_id]
            assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_qty == D("3")
            result = await rig.orders.cancel(order.client_order_id)
            assert result.order.status is OrderStatus.CANCELED
            await rig.reconcile()
            stored = await rig.repo.get_order(order.client_order_id)
            assert stored is not None and stored.status is OrderStatus.CANCELED
            assert stored.filled_qty == D("3"), "the filled quantity is kept"
            [fill] = await rig.repo.list_executions()
            assert fill.qty == D("3") and fill.fee > 0, "and so are its fees"
            pos = rig.portfolio.positions["BTCUSDT"]
            assert pos.qty == D("3") and pos.fees == fill.fee
            assert_nothing_lost(await rig.books())
        finally:
            await close_rig(rig)


async def test_s08_stop_cancelled_by_hand_is_placed_again(rig: Rig) -> None:
    await rig.orders.submit(market("BTCUSDT", Side.BUY, "2"))
    await rig.reconcile()
    pos = rig.portfolio.positions["BTCUSDT"]
    pos.stop_price = D("90")

    def make_stop(p: Position) -> NewOrder:
        return NewOrder(
            p.symbol,
            p.side.exit_side,
            OrderType.STOP_MARKET,
            p.qty,
            intent="stop",
            trigger_price=p.stop_price,
            trigger_by=TriggerBy.MARK,
            reduce_only=True,
        )

    keeper = StopKeeper(rig.orders, make_stop)
    assert await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders()) == [
        "BTCUSDT"
    ]
    [first] = await rig.venue.fetch_open_orders()
    # Someone cancels the stop on the exchange's web page.
    await hand_cancel_stop(rig.sim, "BTCUSDT", first.client_order_id)
    # The next cycle's upkeep notices and places it again.
    placed = await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders())
    assert placed == ["BTCUSDT"]
    [second] = await rig.venue.fetch_open_orders()
    assert second.client_order_id != first.client_order_id
    assert second.trigger_price == D("90") and second.qty == D("2") and second.reduce_only
    old = await rig.repo.get_order(first.client_order_id)
    assert old is not None and old.status is OrderStatus.CANCELED
    # A cycle with the stop in place changes nothing.
    assert await keeper.ensure(rig.portfolio.positions, await rig.venue.fetch_open_orders()) == []
    await rig.reconcile()
    assert_nothing_lost(await rig.books())
