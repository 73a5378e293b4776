"""The engine plays either venue's account (``bot.sim.rules``): Binance's isolated
liquidation formula, 20x default leverage, per-symbol margin type, client ids taken only
while open, refused post-only orders leaving no trace; and hedge mode on both."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderType, PositionSide, Side
from bot.sim import SimEngine, SimError, SimStatus
from bot.sim.account import CROSS, ISOLATED, pkey
from bot.sim.rules import BINANCE, BYBIT
from tests.unit.sim.conftest import MakeMarket, flat

BUY, SELL = Side.BUY, Side.SELL
MKT, LIMIT = OrderType.MARKET, OrderType.LIMIT


def _engine(
    make_market: MakeMarket, bars: list[tuple[float, float, float, float]], **kw: object
) -> SimEngine:
    m = make_market({"AAAUSDT": bars, "BBBUSDT": flat(len(bars))})
    return SimEngine(m, slippage=D(0), fee_taker=D(0), fee_maker=D(0), **kw)  # type: ignore[arg-type]


def test_binance_isolated_liquidation_follows_its_formula(make_market: MakeMarket) -> None:
    # RISK.md's worked example: 25 @ 100, 10x, MMR 0.5 %: Binance LP 90.4523 (rounded up to
    # 90.46), Bybit 90.50. Bar 1 dips to 90.455, below both.
    bars = [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 90.455, 95.0), *flat(2, 95.0)]
    for rules in (BINANCE, BYBIT):
        e = _engine(make_market, bars, rules=rules, margin_mode=ISOLATED)
        if e.leverage("AAAUSDT") != 10:  # Binance's default is 20x
            e.set_leverage("AAAUSDT", D(10))
        e.place_order("AAAUSDT", BUY, MKT, D(25))
        lp = e.positions["AAAUSDT"].liq_price
        assert lp == (D("90.46") if rules is BINANCE else D("90.50"))
        e.advance(2)
        assert "AAAUSDT" not in e.positions
        # Either way an isolated liquidation loses exactly the margin (250).
        assert e.wallet_balance == D(10000) - D(250)


def test_binance_liquidation_is_not_reached_where_bybit_is(make_market: MakeMarket) -> None:
    bars = [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 90.48, 95.0), *flat(2, 95.0)]
    kept = {}
    for rules in (BINANCE, BYBIT):
        e = _engine(make_market, bars, rules=rules, margin_mode=ISOLATED)
        if e.leverage("AAAUSDT") != 10:  # Binance's default is 20x
            e.set_leverage("AAAUSDT", D(10))
        e.place_order("AAAUSDT", BUY, MKT, D(25))
        e.advance(2)
        kept[rules.name] = "AAAUSDT" in e.positions
    assert kept == {"binanceusdm": True, "bybit": False}  # 90.48: above 90.46, below 90.50


def test_default_leverage_is_the_venues(make_market: MakeMarket) -> None:
    assert _engine(make_market, flat(2), rules=BINANCE).leverage("AAAUSDT") == 20
    assert _engine(make_market, flat(2), rules=BYBIT).leverage("AAAUSDT") == 10


def test_margin_type_per_symbol_walls_off_isolated_margin(make_market: MakeMarket) -> None:
    e = _engine(make_market, flat(3), rules=BINANCE)
    assert e.margin_mode_of("AAAUSDT") == CROSS
    e.set_symbol_margin_mode("AAAUSDT", ISOLATED)
    with pytest.raises(SimError) as same:
        e.set_symbol_margin_mode("AAAUSDT", ISOLATED)
    assert same.value.code == SimError.MARGIN_MODE_NOT_MODIFIED
    assert e.margin_mode_of("BBBUSDT") == CROSS
    e.place_order("AAAUSDT", BUY, MKT, D(20))  # 2000 at 20x: 100 isolated margin
    e.place_order("BBBUSDT", BUY, MKT, D(20))  # cross
    assert e.account.isolated_margin() == D(100)
    with pytest.raises(SimError) as held:
        e.set_symbol_margin_mode("AAAUSDT", CROSS)
    assert held.value.reason == "position_exists"
    e.place_order("BBBUSDT", BUY, LIMIT, D(1), price=D(50))
    e.place_order("BBBUSDT", SELL, MKT, D(20), reduce_only=True)
    with pytest.raises(SimError) as orders:
        e.set_symbol_margin_mode("BBBUSDT", ISOLATED)
    assert orders.value.reason == "orders_exist"


def test_client_ids_binance_open_only_bybit_lifetime(make_market: MakeMarket) -> None:
    for rules, reusable in ((BINANCE, True), (BYBIT, False)):
        e = _engine(make_market, flat(3), rules=rules)
        e.place_order("AAAUSDT", BUY, LIMIT, D(1), price=D(90), order_link_id="c-1")
        with pytest.raises(SimError) as dup:
            e.place_order("AAAUSDT", BUY, LIMIT, D(1), price=D(90), order_link_id="c-1")
        assert dup.value.code == SimError.DUPLICATE_LINK_ID
        e.cancel_all()
        if reusable:
            again = e.place_order("AAAUSDT", BUY, LIMIT, D(1), price=D(90), order_link_id="c-1")
            assert e.get_order(order_link_id="c-1") is again
        else:
            with pytest.raises(SimError):
                e.place_order("AAAUSDT", BUY, LIMIT, D(1), price=D(90), order_link_id="c-1")


def test_refused_post_only_leaves_no_trace_on_binance(make_market: MakeMarket) -> None:
    for rules in (BINANCE, BYBIT):
        e = _engine(make_market, flat(3), rules=rules)
        kw = {"price": D(101), "time_in_force": "PostOnly", "order_link_id": "p-1"}
        if rules is BINANCE:
            with pytest.raises(SimError) as err:
                e.place_order("AAAUSDT", BUY, LIMIT, D(1), **kw)  # type: ignore[arg-type]
            assert err.value.reason == "post_only_rejected" and e.orders == []
        else:
            o = e.place_order("AAAUSDT", BUY, LIMIT, D(1), **kw)  # type: ignore[arg-type]
            assert o.status is SimStatus.CANCELLED and e.orders == [o]


def test_hedge_mode_holds_both_sides(make_market: MakeMarket) -> None:
    bars = [*flat(8), *flat(2, 100.0)]
    m = make_market({"AAAUSDT": bars}, funding={"AAAUSDT": [(0, 0.0), (8, 0.001)]})
    e = SimEngine(m, slippage=D(0), fee_taker=D(0), fee_maker=D(0), rules=BINANCE)
    e.set_position_mode(True)
    with pytest.raises(SimError) as err:
        e.place_order("AAAUSDT", BUY, MKT, D(10))  # no side named
    assert err.value.reason == "position_idx"
    e.place_order("AAAUSDT", BUY, MKT, D(10), position_idx=1)
    e.place_order("AAAUSDT", SELL, MKT, D(4), position_idx=2)
    long, short = e.positions[pkey("AAAUSDT", 1)], e.positions[pkey("AAAUSDT", 2)]
    assert (long.side, long.size, short.side, short.size) == (
        PositionSide.LONG, D(10), PositionSide.SHORT, D(4),
    )  # fmt: skip
    # Selling on the long side closes it (reduce-only by nature: never flips into a short).
    e.place_order("AAAUSDT", SELL, MKT, D(25), position_idx=1)
    assert pkey("AAAUSDT", 1) not in e.positions and e.positions[pkey("AAAUSDT", 2)].size == 4
    with pytest.raises(SimError) as held:
        e.set_position_mode(False)
    assert held.value.code == SimError.POSITION_EXISTS
    e.advance(8)  # the short receives the 8h settlement: 4 × 100 × 0.001
    [pay] = e.funding_payments
    assert (pay.idx, pay.amount) == (2, D("0.4"))
    e.place_order("AAAUSDT", BUY, MKT, D(4), position_idx=2)
    e.place_order("AAAUSDT", BUY, LIMIT, D(1), price=D(90), position_idx=1)
    with pytest.raises(SimError) as orders:
        e.set_position_mode(False)
    assert orders.value.code == SimError.ORDERS_EXIST
    e.cancel_all()
    e.set_position_mode(False)
    with pytest.raises(SimError) as same:
        e.set_position_mode(False)
    assert same.value.code == SimError.POSITION_MODE_NOT_MODIFIED
