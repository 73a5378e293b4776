"""Orders, executions, funding and positions round-trip exactly, and apply once."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError

from bot.domain import (
    ExecutionReport,
    FundingPayment,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    TriggerBy,
)
from bot.storage.errors import DuplicateOrderError, OrderNotFoundError, UnknownRunError
from bot.storage.records import RunRecord
from bot.storage.repository import Repository

T0 = 1_700_000_000_000
# Values a float would corrupt: 1e-18, 20 integer digits with 18 decimals, 0.1 + 0.2.
TINY = Decimal("0.000000000000000001")
HUGE = Decimal("12345678901234567890.123456789012345678")
POINT3 = Decimal("0.3")


def _order(cid: str = "rtr-run1-1", **kw: object) -> Order:
    base = Order(
        client_order_id=cid,
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.STOP_MARKET,
        qty=TINY,
        price=HUGE,
        trigger_price=POINT3,
        trigger_by=TriggerBy.MARK,
        reduce_only=True,
        reason="stop for entry",
        intent="stop",
        created_ms=T0,
        updated_ms=T0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_order_insert_and_update_round_trip_decimals_exactly(repo: Repository) -> None:
    await repo.start_run(RunRecord("run1", "replay", T0))
    order = _order()
    await repo.insert_order(order, run_id="run1")

    got = await repo.get_order(order.client_order_id)
    assert got == order
    assert (got.qty, got.price, got.trigger_price) == (TINY, HUGE, POINT3)
    assert str(got.price) == str(HUGE)  # not 1.2345678901234568e+19

    order.transition(OrderStatus.SUBMITTED, T0 + 1)
    order.transition(OrderStatus.ACCEPTED, T0 + 2)
    order.venue_order_id = "v-123"
    order.transition(OrderStatus.PARTIALLY_FILLED, T0 + 3)
    order.filled_qty = TINY
    order.avg_fill_price = Decimal("0.1") + Decimal("0.2")
    order.fees = Decimal("-0.000000000000000005")  # a maker rebate
    assert await repo.update_order(order) is True

    got = await repo.get_order(order.client_order_id)
    assert got is not None
    assert got.status is OrderStatus.PARTIALLY_FILLED
    assert got.avg_fill_price == POINT3
    assert got.fees == Decimal("-0.000000000000000005")
    assert got.updated_ms == T0 + 3
    assert await repo.get_order_by_venue_id("v-123") == got
    assert [o.client_order_id for o in await repo.list_orders(run_id="run1")] == ["rtr-run1-1"]


async def test_more_than_18_decimals_round_half_even_the_same_on_both_backends(
    repo: Repository,
) -> None:
    await repo.insert_order(_order(qty=Decimal("1.0000000000000000005"), price=None))
    got = await repo.get_order("rtr-run1-1")
    assert got is not None
    assert got.qty == Decimal("1")  # ...0005 at the 19th place rounds to even
    assert got.price is None


async def test_float_money_is_refused(repo: Repository) -> None:
    with pytest.raises((TypeError, StatementError), match="float"):
        await repo.insert_order(_order(qty=0.1))  # type: ignore[arg-type]
    assert await repo.get_order("rtr-run1-1") is None


async def test_duplicate_client_id_and_unknown_run_are_refused(repo: Repository) -> None:
    await repo.insert_order(_order())
    with pytest.raises(DuplicateOrderError, match="rtr-run1-1"):
        await repo.insert_order(_order(qty=Decimal(1)))
    with pytest.raises(UnknownRunError, match="nope"):
        await repo.insert_order(_order("rtr-other-1"), run_id="nope")
    assert (await repo.get_order("rtr-run1-1")).qty == TINY  # type: ignore[union-attr]


async def test_conditional_update_and_missing_order(repo: Repository) -> None:
    order = _order()
    await repo.insert_order(order)
    order.transition(OrderStatus.SUBMITTED, T0 + 1)
    assert await repo.update_order(order, expect_status=OrderStatus.NEW) is True
    order.transition(OrderStatus.UNKNOWN, T0 + 2)
    # Someone else already moved it on: the compare-and-set refuses.
    assert await repo.update_order(order, expect_status=OrderStatus.NEW) is False
    assert (await repo.get_order(order.client_order_id)).status is OrderStatus.SUBMITTED  # type: ignore[union-attr]
    with pytest.raises(OrderNotFoundError):
        await repo.update_order(_order("rtr-missing-1"))


async def test_list_open_orders_skips_terminal_ones(repo: Repository) -> None:
    statuses = list(OrderStatus)
    for i, status in enumerate(statuses):
        await repo.insert_order(_order(f"rtr-o-{i}", status=status, symbol=f"S{i % 2}USDT"))
    open_ = await repo.list_open_orders()
    assert {o.status for o in open_} == {
        OrderStatus.NEW,
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.UNKNOWN,
    }
    assert [o.client_order_id for o in open_] == sorted(
        (o.client_order_id for o in open_), key=lambda c: int(c.rsplit("-", 1)[1])
    )
    assert all(o.symbol == "S0USDT" for o in await repo.list_open_orders("S0USDT"))


def _fill(exec_id: str, qty: str = "0.001") -> ExecutionReport:
    return ExecutionReport(
        exec_id=exec_id,
        symbol="ETHUSDT",
        client_order_id="rtr-run1-7",
        venue_order_id="v-7",
        side=Side.SELL,
        qty=Decimal(qty),
        price=Decimal("3012.45"),
        fee=Decimal("0.0016568475"),
        ts=T0,
        is_maker=True,
    )


async def test_duplicate_exec_id_is_applied_once(repo: Repository) -> None:
    assert await repo.record_execution(_fill("e-1")) is True
    assert await repo.record_execution(_fill("e-1", qty="999")) is False
    assert await repo.record_execution(_fill("e-2")) is True
    fills = await repo.list_executions(client_order_id="rtr-run1-7")
    assert [f.exec_id for f in fills] == ["e-1", "e-2"]
    assert fills[0] == _fill("e-1")  # the first report wins, exactly


async def test_funding_is_recorded_once_per_symbol_and_time(repo: Repository) -> None:
    pay = FundingPayment(
        "BTCUSDT", T0, Decimal("0.0001"), Decimal("0.5"), Decimal("43000.1"), Decimal("-2.150005")
    )
    assert await repo.record_funding(pay) is True
    assert await repo.record_funding(replace(pay, amount=Decimal("-99"))) is False
    assert await repo.record_funding(replace(pay, ts=T0 + 8 * 3_600_000)) is True
    assert await repo.record_funding(replace(pay, symbol="ETHUSDT")) is True
    stored = await repo.list_funding(symbol="BTCUSDT")
    assert [p.ts for p in stored] == [T0, T0 + 8 * 3_600_000]
    assert stored[0] == pay


async def test_positions_upsert_and_delete(repo: Repository) -> None:
    pos = Position(
        symbol="SOLUSDT",
        side=PositionSide.SHORT,
        qty=Decimal("12.3"),
        entry_price=Decimal("101.234"),
        leverage=Decimal("8"),
        opened_ms=T0,
        stop_price=Decimal("109.0"),
        liquidation_price=Decimal("113.123456789012345678"),
        margin=Decimal("155.6"),
        sector="L1",
        entry_bar=42,
    )
    await repo.upsert_position(pos, updated_ms=T0)
    assert await repo.get_position("SOLUSDT") == pos
    moved = replace(pos, qty=Decimal("6.15"), stop_price=Decimal("104.5"), funding=Decimal("-0.01"))
    await repo.upsert_position(moved, updated_ms=T0 + 1)
    assert await repo.list_positions() == [moved]
    assert await repo.delete_position("SOLUSDT") is True
    assert await repo.delete_position("SOLUSDT") is False
    assert await repo.list_positions() == []


async def test_random_decimals_round_trip_exactly(repo: Repository) -> None:
    rng = random.Random(20261121)
    values = [TINY, -TINY, HUGE, -HUGE, Decimal(0), Decimal("99999999999999999999")]
    for _ in range(300):
        digits = rng.randint(1, 38)
        scale = rng.randint(0, min(18, digits))
        unscaled = rng.randrange(10 ** (digits - 1), 10**digits) * rng.choice((1, -1))
        values.append(Decimal(unscaled).scaleb(-scale))
    values = [v for v in values if abs(v) < Decimal(10) ** 20]
    async with repo.batch() as b:
        for i, v in enumerate(values):
            await b.record_execution(replace(_fill(f"r-{i}"), qty=v, price=-v, fee=v))
    got = await repo.list_executions()
    assert len(got) == len(values)
    for v, e in zip(values, got, strict=True):
        assert (e.qty, e.price, e.fee) == (v, -v, v), v


async def test_unbooked_orders_add_up_executions_by_client_id_or_venue_id(repo: Repository) -> None:
    """RELIABILITY.md #37: an order reported filled beyond its stored executions is listed
    with both figures; an execution belongs to its order by client id or, with none (a
    Binance trade row, a hand order), by the venue's order id."""
    await repo.start_run(RunRecord("run1", "testnet", T0))

    def fill(eid: str, cid: str, vid: str, qty: str) -> ExecutionReport:
        return ExecutionReport(
            exec_id=eid,
            symbol="BTCUSDT",
            client_order_id=cid,
            venue_order_id=vid,
            side=Side.BUY,
            qty=Decimal(qty),
            price=Decimal(100),
            fee=Decimal("0.1"),
            ts=T0 + 1,
        )

    filled = {"status": OrderStatus.FILLED, "type": OrderType.MARKET, "intent": "entry"}
    orders = {
        "rtr-a": _order("rtr-a", venue_order_id="1", filled_qty=Decimal(2), **filled),
        "rtr-b": _order("rtr-b", venue_order_id="2", filled_qty=Decimal(3), **filled),
        "venue:3": _order("venue:3", venue_order_id="3", filled_qty=Decimal(1), **filled),
        "rtr-old": _order("rtr-old", venue_order_id="4", filled_qty=Decimal(1), updated_ms=T0 - 10),
        "rtr-open": _order("rtr-open", venue_order_id="5"),
    }
    for o in orders.values():
        await repo.insert_order(o, run_id="run1")
    for e in (
        fill("e1", "rtr-a", "1", "1.5"),  # by client id (Bybit): 0.5 missing
        fill("e2", "", "2", "1"),  # by venue id (Binance): 2 missing
        fill("e3", "", "2", "2"),
        fill("e4", "", "3", "1"),  # a hand order, booked in full
    ):
        assert await repo.record_execution(e)

    got = {u.key: u for u in await repo.unbooked_orders(T0)}
    assert set(got) == {"rtr-a"}, "rtr-b adds up by venue id; rtr-old is before the horizon"
    a = got["rtr-a"]
    assert (a.symbol, a.venue_order_id, a.filled_qty, a.booked_qty) == (
        "BTCUSDT",
        "1",
        Decimal(2),
        Decimal("1.5"),
    )
    await repo.update_order(replace(orders["rtr-b"], filled_qty=Decimal(4), updated_ms=T0 + 5))
    got = {u.key: u.booked_qty for u in await repo.unbooked_orders(T0)}
    assert got == {"rtr-a": Decimal("1.5"), "rtr-b": Decimal(3)}
