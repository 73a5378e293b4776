"""The in-process face: SimVenue satisfies the Venue protocol and maps errors and reports."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderStatus, OrderType, PositionSide, Side
from bot.sim import SimEngine
from bot.sim.venue import SimVenue
from bot.venues.base import (
    DuplicateClientIdError,
    InsufficientFundsError,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
    Venue,
)
from tests.unit.sim.conftest import T0, MakeMarket, flat

H = 3_600_000


def _req(cid: str, qty: str, **kw: object) -> OrderRequest:
    args: dict[str, object] = {
        "client_order_id": cid,
        "symbol": "AAAUSDT",
        "side": Side.BUY,
        "type": OrderType.MARKET,
        "qty": D(qty),
    }
    args.update(kw)
    return OrderRequest(**args)  # type: ignore[arg-type]


async def test_protocol_and_round_trip(make_market: MakeMarket) -> None:
    m = make_market(
        {"AAAUSDT": [*flat(2), (100, 100, 90.4, 95)]}, funding={"AAAUSDT": [(1, 0.0001)]}
    )
    eng = SimEngine(m, slippage=D(0), fee_taker=D(0))
    v = SimVenue(eng)
    assert isinstance(v, Venue)
    assert set(await v.load_instruments()) == {"AAAUSDT"}
    assert await v.server_time() == T0
    assert eng.margin_mode == "REGULAR_MARGIN"  # a new account is cross, as on Bybit
    await v.ensure_account_modes("isolated")
    assert eng.margin_mode == "ISOLATED_MARGIN"
    await v.set_leverage("AAAUSDT", D(10))  # unchanged: not an error through the venue
    rep = await v.create_order(_req("e1", "25"))
    assert rep.status is OrderStatus.FILLED and rep.filled_qty == D(25)
    assert rep.client_order_id == "e1" and rep.avg_fill_price == D(100)
    stop = await v.create_order(
        _req(
            "s1",
            "25",
            side=Side.SELL,
            type=OrderType.STOP_MARKET,
            trigger_price=D(85),
            reduce_only=True,
        )
    )
    assert stop.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in await v.fetch_open_orders()] == ["s1"]
    (pos,) = await v.fetch_positions()
    assert pos.side is PositionSide.LONG and pos.liquidation_price == D("90.50")
    bal = await v.fetch_balance()
    assert bal.available == D(10000) - D(250)
    assert eng.orders[-1].trigger_direction == 2  # a sell stop falls (as CcxtVenue sends it)
    eng.advance(3)  # funding as the clock reaches 01:00, then liquidation in bar 2
    assert await v.fetch_positions() == []
    execs = await v.fetch_executions(T0 + H)
    assert len(execs) == 1 and execs[0].is_liquidation and execs[0].price == D(90)
    assert len(await v.fetch_executions(T0)) == 2
    s = await v.fetch_order("AAAUSDT", "s1")
    assert s is not None and s.status is OrderStatus.CANCELED
    assert await v.fetch_order("AAAUSDT", "nope") is None
    bars = await v.fetch_bars("AAAUSDT", "1h", None, 10)
    assert len(bars) == 3
    assert [f.rate for f in await v.fetch_funding_history("AAAUSDT", None, 10)] == [0.0001]
    assert (await v.fetch_balance()).wallet_balance == D(10000) - D("0.25") - D(250)
    await v.close()


async def test_errors_map_to_venue_classes(make_market: MakeMarket) -> None:
    v = SimVenue(SimEngine(make_market({"AAAUSDT": flat(2)})))
    await v.create_order(_req("a", "1"))
    with pytest.raises(DuplicateClientIdError):
        await v.create_order(_req("a", "1"))
    with pytest.raises(InsufficientFundsError):
        await v.create_order(_req("b", "5000"))
    with pytest.raises(OrderNotFoundError):
        await v.cancel_order("AAAUSDT", "zzz")
    with pytest.raises(RejectedError) as err:
        await v.create_order(_req("c", "0.01"))
    assert err.value.code == "110094" and type(err.value) is RejectedError
    with pytest.raises(RejectedError) as err:
        await v.create_order(_req("d", "1", reduce_only=True))  # same side as the long
    assert err.value.code == "110017"
    with pytest.raises(RejectedError):
        await v.fetch_bars("AAAUSDT", "4h", None, 10)
    rep = await v.create_order(_req("l", "1", type=OrderType.LIMIT, price=D(90)))
    assert rep.status is OrderStatus.ACCEPTED
    assert (await v.cancel_order("AAAUSDT", "l")).status is OrderStatus.CANCELED
