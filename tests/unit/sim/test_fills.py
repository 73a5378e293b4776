"""Fees, limit orders, validation, reduce-only, partial fills and the end of the data."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError, SimStatus
from tests.unit.sim.conftest import T0, MakeMarket, flat

BUY, SELL = Side.BUY, Side.SELL
MKT, LMT, STP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET


def test_taker_and_maker_fees_and_pnl(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": [*flat(1), (100, 106, 99.5, 105)]})
    e = SimEngine(m, slippage=D(0))
    buy = e.place_order("AAAUSDT", BUY, MKT, D(10), order_link_id="b1")
    assert buy.status is SimStatus.FILLED and buy.avg_price == D(100)
    assert buy.cum_exec_fee == D("0.55")  # 10 · 100 · 0.055 %
    tp = e.place_order("AAAUSDT", SELL, LMT, D(10), price=D(105), reduce_only=True)
    assert tp.status is SimStatus.NEW
    e.advance()
    assert tp.status is SimStatus.NEW
    e.advance()  # 100 → 99.5 → 106: trades through 105
    assert tp.status is SimStatus.FILLED and tp.avg_price == D(105)
    assert tp.cum_exec_fee == D("0.21")  # 10 · 105 · 0.02 %
    assert [x.is_maker for x in e.executions] == [False, True]
    assert e.positions == {}
    assert e.wallet_balance == D("10049.24")  # 10000 − 0.55 + 50 − 0.21
    assert e.executions[1].closed_pnl == D(50)


def test_market_order_slippage_rounds_against_the_taker(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": flat(2, 100.03)})
    e = SimEngine(m)  # slippage 0.05 %
    buy = e.place_order("AAAUSDT", BUY, MKT, D(10))
    assert buy.avg_price == D("100.09")  # 100.080015 rounded up to the tick
    sell = e.place_order("AAAUSDT", SELL, MKT, D(10))
    assert sell.avg_price == D("99.97")  # 99.979985 rounded down
    assert e.wallet_balance == D(10000) + D("-1.2") - buy.cum_exec_fee - sell.cum_exec_fee


def test_limit_touch_does_not_fill_trade_through_does(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": [(100, 101, 98, 100), (100, 100.5, 97.99, 99), *flat(1, 99)]})
    e = SimEngine(m, slippage=D(0))
    o = e.place_order("AAAUSDT", BUY, LMT, D(10), price=D(98), order_link_id="L1")
    assert e.available() == D(10000) - D(98)  # 10 · 98 / 10x reserved
    e.advance()
    assert o.status is SimStatus.NEW  # low == limit: touched, not traded through
    e.advance()
    assert o.status is SimStatus.FILLED and o.avg_price == D(98)
    assert e.positions["AAAUSDT"].size == D(10)
    # O→H→L: 98 is reached on the 2nd leg (H at +20 min, L at +40 min), 2.5/2.51 of the way.
    assert e.executions[0].ts == T0 + 3_600_000 + 1_200_000 + 1_200_000 * 250 // 251


def test_marketable_limit_fills_now_as_taker_capped_at_its_price(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(2)}))
    o = e.place_order("AAAUSDT", BUY, LMT, D(1), price=D("100.02"))
    assert o.status is SimStatus.FILLED and o.avg_price == D("100.02")
    assert not e.executions[0].is_maker


def test_cancel_and_cancel_all(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(3), "BBBUSDT": flat(3)}))
    a = e.place_order("AAAUSDT", BUY, LMT, D(1), price=D(90), order_link_id="a")
    b = e.place_order("BBBUSDT", BUY, LMT, D(1), price=D(90), order_link_id="b")
    c = e.place_order(
        "BBBUSDT", SELL, STP, D(1), trigger_price=D(80), trigger_direction=2, order_link_id="c"
    )
    assert e.cancel_order("AAAUSDT", order_link_id="a") is a
    assert a.status is SimStatus.CANCELLED and a.cancel_type == "CancelByUser"
    with pytest.raises(SimError) as err:
        e.cancel_order("AAAUSDT", order_link_id="a")
    assert err.value.code == 110001
    with pytest.raises(SimError) as err:
        e.cancel_order("AAAUSDT", order_link_id="b")  # wrong symbol
    assert err.value.code == 110001
    assert e.cancel_all("BBBUSDT") == [b, c]
    assert c.status is SimStatus.DEACTIVATED  # untriggered conditional orders deactivate
    assert e.open_orders() == [] and len(e.orders) == 3
    assert e.get_order(order_id=b.order_id) is b


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"qty": D("0.04")}, 110094),  # 4 USDT < 5 USDT min notional
        ({"qty": D("0.015")}, 10001),  # qty step 0.01
        ({"qty": D(0)}, 10001),
        ({"qty": D(1), "order_type": LMT, "price": D("99.005")}, 10001),  # tick 0.01
        ({"qty": D(1), "order_type": LMT}, 10001),  # limit without price
        ({"qty": D(1000)}, 110007),  # 10 000 margin + 55 fee > 10 000
        ({"qty": D(1), "symbol": "ZZZUSDT"}, 10001),
        ({"qty": D(1), "order_link_id": "x" * 37}, 10001),
        ({"qty": D(1), "order_type": STP, "trigger_price": D(110), "trigger_direction": 2}, 110093),
        ({"qty": D(1), "order_type": STP, "trigger_price": D(90), "trigger_direction": 1}, 110092),
    ],
)
def test_validation_rejects(make_market: MakeMarket, kwargs: dict[str, object], code: int) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(2)}), slippage=D(0))
    args: dict[str, object] = {"symbol": "AAAUSDT", "side": BUY, "order_type": MKT}
    args.update(kwargs)
    with pytest.raises(SimError) as err:
        e.place_order(**args)  # type: ignore[arg-type]
    assert err.value.code == code
    assert e.orders == [] and e.wallet_balance == D(10000)


def test_largest_affordable_order_passes(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(2)}), slippage=D(0))
    e.place_order("AAAUSDT", BUY, MKT, D(990))  # 9 900 margin + 54.45 fee
    assert e.available() == D(10000) - D("54.45") - D(9900)


def test_leverage_bounds_and_not_modified(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(2)}))
    assert e.leverage("AAAUSDT") == D(10)
    for bad in (D(101), D("0.5"), D("5.001")):
        with pytest.raises(SimError) as err:
            e.set_leverage("AAAUSDT", bad)
        assert err.value.code == 10001
    with pytest.raises(SimError) as err:
        e.set_leverage("AAAUSDT", D(10))
    assert err.value.code == 110043
    e.set_leverage("AAAUSDT", D(100))
    assert e.leverage("AAAUSDT") == D(100)


def test_risk_limit_tier_caps_leverage_by_notional(make_market: MakeMarket) -> None:
    tiers = {
        "tick_size": "0.01",
        "qty_step": "0.01",
        "tiers": [
            {"cap": "1000", "mmr": "0.01", "max_leverage": "50"},
            {"cap": "100000", "mmr": "0.05", "max_leverage": "10"},
        ],
    }
    m = make_market({"AAAUSDT": flat(2)}, instruments={"AAAUSDT": tiers})
    assert m.instruments["AAAUSDT"].tiers[1].mm_deduction == D("40.00")  # 1000 · (5 % − 1 %)
    e = SimEngine(m, slippage=D(0))
    e.set_leverage("AAAUSDT", D(50))
    e.place_order("AAAUSDT", BUY, MKT, D(10))  # 1 000 notional: tier 1
    with pytest.raises(SimError) as err:
        e.place_order("AAAUSDT", BUY, MKT, D(1))  # 1 100 notional: tier 2 allows 10x
    assert err.value.code == 110090


def test_duplicate_order_link_id_for_the_account_lifetime(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(3)}))
    o = e.place_order("AAAUSDT", BUY, LMT, D(1), price=D(90), order_link_id="dup")
    e.cancel_order("AAAUSDT", order_id=o.order_id)
    e.advance()
    with pytest.raises(SimError) as err:
        e.place_order("AAAUSDT", BUY, MKT, D(1), order_link_id="dup")
    assert err.value.code == 110072
    assert e.get_order(order_link_id="dup") is o


def test_reduce_only_never_increases_a_position(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(3)}), slippage=D(0))
    with pytest.raises(SimError) as err:
        e.place_order("AAAUSDT", SELL, MKT, D(1), reduce_only=True)  # no position
    assert err.value.code == 110017
    e.place_order("AAAUSDT", BUY, MKT, D(10))
    with pytest.raises(SimError) as err:
        e.place_order("AAAUSDT", BUY, MKT, D(1), reduce_only=True)  # same side
    assert err.value.code == 110017
    tp = e.place_order("AAAUSDT", SELL, LMT, D(10), price=D(120), reduce_only=True)
    close = e.place_order("AAAUSDT", SELL, MKT, D(25), reduce_only=True)
    assert close.qty == D(10) and close.status is SimStatus.FILLED  # clipped to the position
    assert e.positions == {}
    assert tp.status is SimStatus.CANCELLED and tp.cancel_type == "CancelByReduceOnly"
    # Below min notional is still allowed when reducing (dust can always be closed).
    e.place_order("AAAUSDT", BUY, MKT, D(1))
    e.place_order("AAAUSDT", SELL, MKT, D("0.01"), reduce_only=True)
    assert e.positions["AAAUSDT"].size == D("0.99")


def test_plain_opposite_order_flips_the_position(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": flat(2)}), slippage=D(0), fee_taker=D(0))
    e.place_order("AAAUSDT", BUY, MKT, D(10))
    e.place_order("AAAUSDT", SELL, MKT, D(15))
    pos = e.positions["AAAUSDT"]
    assert pos.side.value == "short" and pos.size == D(5) and pos.margin == D(50)


def test_partial_fills_follow_bar_volume(make_market: MakeMarket) -> None:
    bars = [(100, 100, 100, 100, 50), *[(100, 100, 98, 99, 50)] * 3, (99, 99, 99, 99, 50)]
    e = SimEngine(make_market({"AAAUSDT": bars}), partial_fills=True, slippage=D(0))
    o = e.place_order("AAAUSDT", BUY, LMT, D(12), price=D(99))
    e.advance(2)  # bar 0 does not reach 99; bar 1 fills 10 % of 50 = 5
    assert o.status is SimStatus.PARTIALLY_FILLED and o.cum_exec_qty == D(5)
    e.advance()
    assert o.cum_exec_qty == D(10)
    e.advance()
    assert o.status is SimStatus.FILLED and o.cum_exec_qty == D(12)
    assert [x.qty for x in e.executions] == [D(5), D(5), D(2)]
    assert o.cum_exec_fee == D("0.2376")  # 12 · 99 · 0.02 %


def test_without_partial_fills_a_limit_fills_whole(make_market: MakeMarket) -> None:
    bars = [(100, 100, 100, 100, 50), (100, 100, 98, 99, 50)]
    e = SimEngine(make_market({"AAAUSDT": bars}), slippage=D(0))
    o = e.place_order("AAAUSDT", BUY, LMT, D(12), price=D(99))
    e.advance(2)
    assert o.status is SimStatus.FILLED and len(e.executions) == 1


def test_end_of_data_prices_at_the_last_close(make_market: MakeMarket) -> None:
    e = SimEngine(make_market({"AAAUSDT": [*flat(2), (100, 103, 99, 102)]}), slippage=D(0))
    e.place_order("AAAUSDT", BUY, MKT, D(1))
    e.advance(10)
    assert e.at_end and e.now_ms == T0 + 3 * 3_600_000
    assert e.ticker("AAAUSDT").last == 102.0
    assert e.equity() == D(10000) - D("0.055") + D(2)
    o = e.place_order("AAAUSDT", SELL, MKT, D(1), reduce_only=True)
    assert o.avg_price == D(102)
    e.advance()
    assert e.now_ms == T0 + 3 * 3_600_000
    assert len(e.klines("AAAUSDT")) == 3
