"""Spot markets on the engine's unified account: cash-settled fills on the one fill model."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError, SimStatus
from bot.sim.spot import spot_symbol_of
from tests.unit.sim.conftest import INSTRUMENT, MakeMarket, flat

BUY, SELL = Side.BUY, Side.SELL


def test_a_buy_pays_usdt_and_its_fee_in_the_coin(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": flat(3, 100.0)})
    e = SimEngine(m, slippage=D(0))
    spec = e.spot_market("AAAUSDT")
    assert (spec.base, spec.perp, spec.multiplier) == ("AAA", "AAAUSDT", D(1))
    assert spec.qty_step == D("0.001")  # the power of ten worth at most 0.1 USDT at 100
    o = e.place_spot_order("AAAUSDT", BUY, D("2"), order_link_id="s1")
    assert o.status is SimStatus.FILLED and o.avg_price == D(100)
    assert e.wallet_balance == D(9800)  # 2 × 100, the fee is not USDT
    assert e.account.coins == {"AAA": D("1.998")}  # 2 − 0.1 % of 2
    ex = e.spot_executions[-1]
    assert (ex.fee, ex.fee_currency) == (D("0.002"), "AAA")
    assert e.executions == [] and e.positions == {}  # nothing on the derivatives side
    assert e.equity() == D("9999.800")  # the coins count at the spot price


def test_a_sell_receives_usdt_less_the_fee_and_slippage_goes_against_the_taker(
    make_market: MakeMarket,
) -> None:
    m = make_market({"AAAUSDT": flat(3, 100.0)})
    e = SimEngine(m)  # slippage 0.05 %
    e.place_spot_order("AAAUSDT", BUY, D(1))
    assert e.spot_orders[-1].avg_price == D("100.05")
    sell = e.place_spot_order("AAAUSDT", SELL, D("0.999"))
    assert sell.avg_price == D("99.95")
    fee = D("0.999") * D("99.95") * D("0.001")
    assert e.wallet_balance == D(10000) - D("100.05") + D("0.999") * D("99.95") - fee
    assert e.coin_balances() == {}


def test_refusals_carry_bybits_spot_codes(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": flat(3, 100.0)})
    e = SimEngine(m, equity=D(50), slippage=D(0))
    cases = [
        (lambda: e.place_spot_order("AAAUSDT", BUY, D(1)), SimError.SPOT_INSUFFICIENT_BALANCE),
        (lambda: e.place_spot_order("AAAUSDT", SELL, D("0.1")), SimError.SPOT_INSUFFICIENT_BALANCE),
        (lambda: e.place_spot_order("AAAUSDT", BUY, D("0.0001")), SimError.SPOT_TOO_MANY_DECIMALS),
        (lambda: e.place_spot_order("AAAUSDT", BUY, D("0.01")), SimError.SPOT_VALUE_TOO_LOW),
        (lambda: e.place_spot_order("BBBUSDT", BUY, D(1)), SimError.SPOT_SYMBOL),
    ]
    for call, code in cases:
        with pytest.raises(SimError) as exc:
            call()
        assert exc.value.code == code
    e.place_spot_order("AAAUSDT", BUY, D("0.1"), order_link_id="x")
    with pytest.raises(SimError) as dup:
        e.place_spot_order("AAAUSDT", BUY, D("0.1"), order_link_id="x")
    assert dup.value.code == SimError.SPOT_DUPLICATE_LINK_ID
    with pytest.raises(SimError) as lim:
        e.place_spot_order("AAAUSDT", BUY, D("0.1"), order_type=OrderType.LIMIT, price=D(90))
    assert lim.value.reason == "spot_not_marketable"
    assert len(e.spot_orders) == 1  # refusals leave no order behind


def test_a_1000x_contract_is_a_thousand_coins_of_its_spot_market(make_market: MakeMarket) -> None:
    assert spot_symbol_of("1000PEPEUSDT") == ("PEPEUSDT", D(1000))
    assert spot_symbol_of("1INCHUSDT") == ("1INCHUSDT", D(1))
    inst = INSTRUMENT | {"tick_size": "0.000001", "qty_step": "1", "min_qty": "1"}
    m = make_market({"1000PEPEUSDT": flat(2, 0.0125)}, instruments={"1000PEPEUSDT": inst})
    e = SimEngine(m, slippage=D(0))
    spec = e.spot_market("PEPEUSDT")
    assert spec.perp == "1000PEPEUSDT" and e.spot_price("PEPEUSDT") == D("0.0000125")
    assert spec.tick == D("1E-9")
    e.place_spot_order("PEPEUSDT", BUY, D(1_000_000))
    assert e.wallet_balance == D("9987.5")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    trades=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=60, max_value=5000)), max_size=12
    ),
    price=st.sampled_from([100.0, 37.25, 0.5]),
)
def test_spot_money_is_conserved(
    make_market: MakeMarket, trades: list[tuple[bool, int]], price: float
) -> None:
    """USDT + coins × price only ever lose the fees (at zero slippage)."""
    m = make_market({"AAAUSDT": flat(2, price)})
    e = SimEngine(m, slippage=D(0))
    spec = e.spot_market("AAAUSDT")
    px = e.spot_price("AAAUSDT")
    for buy, units in trades:
        qty = spec.qty_step * units
        try:
            e.place_spot_order("AAAUSDT", BUY if buy else SELL, qty)
        except SimError:
            continue
    fees = sum(
        (x.fee * (x.price if x.fee_currency == "AAA" else 1) for x in e.spot_executions), D(0)
    )
    assert e.wallet_balance >= 0
    assert all(q >= 0 for q in e.account.coins.values())
    assert e.wallet_balance + e.account.coins.get("AAA", D(0)) * px + fees == D(10000)
