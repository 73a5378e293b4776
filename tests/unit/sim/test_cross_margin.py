"""Cross margin at the account level (a new account's mode, as on Bybit) and the switch."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError
from bot.sim.account import CROSS, ISOLATED
from tests.unit.sim.conftest import MakeMarket, flat

MKT = OrderType.MARKET


def _engine(make_market: MakeMarket, low: float, **kw: object) -> SimEngine:
    # 100 flat, then a bar that falls to ``low`` (down bar: O→H→L→C).
    bars = [*flat(2), (100.0, 100.0, low, low), *flat(2, low)]
    return SimEngine(make_market({"AAAUSDT": bars}), equity=D(1000), slippage=D(0),
                     fee_taker=D(0), **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_new_account_is_cross_and_liquidates_at_the_account_level(
    make_market: MakeMarket,
) -> None:
    e = _engine(make_market, 85.0)
    assert e.margin_mode == CROSS
    e.place_order("AAAUSDT", Side.BUY, MKT, D(90))  # 9,000 notional at 10x: 900 margin
    # Equity 1000 + 90(P − 100) meets MM 90·P·0.5 % at P = 8000 / 89.55 ≈ 89.3356 (isolated
    # would liquidate at 90.50, losing only the 900 margin).
    assert e.liq_price("AAAUSDT") == D("89.34")  # the estimate, rounded to the tick
    e.advance(2)
    assert "AAAUSDT" in e.positions  # 100 flat: nothing
    e.advance(1)
    assert e.positions == {}
    bust = e.executions[-1]
    assert bust.exec_type == "BustTrade" and bust.mark is not None
    assert abs(bust.mark - D(8000) / D("89.55")) < D("1e-9")  # the mark at the event
    assert e.wallet_balance == 0  # cross: the whole equity is lost, not just the margin
    assert [t.kind for t in e.account.transactions] == ["TRADE", "LIQUIDATION"]


def test_isolated_loses_only_the_margin_on_the_same_path(make_market: MakeMarket) -> None:
    e = _engine(make_market, 85.0, margin_mode=ISOLATED)
    e.place_order("AAAUSDT", Side.BUY, MKT, D(90))
    e.advance(3)
    assert e.positions == {} and e.wallet_balance == D(100)


def test_cross_available_counts_unrealised_pnl_and_a_stop_saves_the_account(
    make_market: MakeMarket,
) -> None:
    e = _engine(make_market, 85.0)
    e.place_order("AAAUSDT", Side.BUY, MKT, D(90))
    assert e.available() == D(100)
    e.place_order("AAAUSDT", Side.SELL, OrderType.STOP_MARKET, D(90), trigger_price=D(95),
                  trigger_direction=2, reduce_only=True)  # fmt: skip
    e.advance(3)
    assert e.positions == {} and e.wallet_balance == D(1000) - D(90) * D(5)


def test_margin_mode_switch_is_refused_with_a_position(make_market: MakeMarket) -> None:
    e = _engine(make_market, 99.0)
    e.place_order("AAAUSDT", Side.BUY, MKT, D(1))
    with pytest.raises(SimError) as err:
        e.set_margin_mode(ISOLATED)
    assert err.value.code == 110073
    with pytest.raises(SimError) as err:
        e.set_margin_mode(CROSS)
    assert err.value.code == 110026
