"""Stop-market triggering on the deterministic intra-bar path, including gaps."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimError, SimStatus
from bot.sim.account import ISOLATED
from tests.unit.sim.conftest import T0, MakeMarket, flat

H = 3_600_000
BUY, SELL = Side.BUY, Side.SELL
MKT, LMT, STP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET


def _long_with_bracket(
    make_market: MakeMarket, bar: tuple[float, float, float, float], **kw: object
):  # type: ignore[no-untyped-def]
    m = make_market({"AAAUSDT": [*flat(1), bar, *flat(1, bar[3])]})
    e = SimEngine(m, fee_taker=D(0), fee_maker=D(0), margin_mode=ISOLATED, **kw)  # type: ignore[arg-type]
    e.place_order("AAAUSDT", BUY, MKT, D(10))
    entry = e.positions["AAAUSDT"].avg_price
    stop = e.place_order(
        "AAAUSDT", SELL, STP, D(10), trigger_price=D(95), trigger_direction=2, reduce_only=True
    )
    tp = e.place_order("AAAUSDT", SELL, LMT, D(10), price=D(103), reduce_only=True)
    assert stop.trigger_direction == 2  # below the price: triggers on a fall
    return e, entry, stop, tp


def test_up_bar_walks_low_first_so_the_stop_wins(make_market: MakeMarket) -> None:
    # close ≥ open: O→L→H→C = 100 → 94 → 104 → 102; 95 comes before 103.
    e, _, stop, tp = _long_with_bracket(make_market, (100, 104, 94, 102), slippage=D(0))
    e.advance(2)
    assert stop.status is SimStatus.FILLED and stop.avg_price == D(95)
    assert tp.status is SimStatus.CANCELLED and tp.cancel_type == "CancelByReduceOnly"
    assert e.wallet_balance == D(9950)
    assert e.executions[-1].ts == T0 + H + 1_200_000 * 5 // 6  # 5/6 of the way to the low


def test_down_bar_walks_high_first_so_the_take_profit_wins(make_market: MakeMarket) -> None:
    # close < open: O→H→L→C = 100 → 104 → 94 → 96; 103 comes before 95.
    e, _, stop, tp = _long_with_bracket(make_market, (100, 104, 94, 96), slippage=D(0))
    e.advance(2)
    assert tp.status is SimStatus.FILLED and tp.avg_price == D(103)
    assert stop.status is SimStatus.DEACTIVATED
    assert e.wallet_balance == D(10030)


def test_gap_through_the_stop_fills_at_the_open(make_market: MakeMarket) -> None:
    # 10x long from 100.05: liquidation ≈ 90.55, so a gap to 92 crosses the stop only.
    e, entry, stop, _ = _long_with_bracket(make_market, (92, 93, 91, 92))
    assert entry == D("100.05")
    e.advance()  # close 100 → open 92 jumps over the 95 trigger
    assert stop.status is SimStatus.FILLED
    assert stop.avg_price == D("91.95")  # the open 92 less 0.05 % slippage, tick-rounded down
    assert e.executions[-1].ts == T0 + H
    assert e.wallet_balance == D(10000) + D(10) * (D("91.95") - D("100.05"))


def test_gap_through_stop_and_liquidation_liquidates(make_market: MakeMarket) -> None:
    # A gap past the liquidation price liquidates at bankruptcy even though the stop was
    # crossed first: an isolated position never loses more than its margin.
    e, _, stop, _ = _long_with_bracket(make_market, (80, 81, 79, 80))
    margin = e.positions["AAAUSDT"].margin
    e.advance()
    assert "AAAUSDT" not in e.positions
    assert e.executions[-1].exec_type == "BustTrade"
    assert stop.status is not SimStatus.FILLED
    assert e.wallet_balance == D(10000) - margin


def test_stop_by_last_price_triggers_the_same_in_replay(make_market: MakeMarket) -> None:
    from bot.domain import TriggerBy

    m = make_market({"AAAUSDT": [*flat(1), (100, 101, 96, 97)]})
    e = SimEngine(m, slippage=D(0))
    e.place_order("AAAUSDT", BUY, MKT, D(1))
    s = e.place_order(
        "AAAUSDT",
        SELL,
        STP,
        D(1),
        trigger_price=D(97),
        trigger_by=TriggerBy.LAST,
        trigger_direction=2,
        reduce_only=True,
    )
    e.advance(2)
    assert s.status is SimStatus.FILLED and s.avg_price == D(97)


def test_entry_stop_opens_a_position_when_price_rises(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": [*flat(1), (100, 103, 99, 101)]})
    e = SimEngine(m, slippage=D(0), fee_taker=D(0))
    o = e.place_order("AAAUSDT", BUY, STP, D(10), trigger_price=D(102), trigger_direction=1)
    assert o.status is SimStatus.UNTRIGGERED and o.trigger_direction == 1
    assert e.available() == D(10000)  # conditional orders reserve nothing until triggered
    e.advance(2)  # 100 → 99 → 103: rises through 102
    pos = e.positions["AAAUSDT"]
    assert o.status is SimStatus.FILLED and pos.avg_price == D(102) and pos.size == D(10)


def test_triggered_stop_without_margin_is_rejected(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": [*flat(1), (100, 103, 99, 101)]})
    e = SimEngine(m, slippage=D(0), equity=D(100))
    o = e.place_order(
        "AAAUSDT", BUY, STP, D(10), trigger_price=D(102), trigger_direction=1
    )  # needs 102 margin
    e.advance(2)
    assert o.status is SimStatus.REJECTED and "available" in o.reject_reason
    assert e.positions == {}


def test_a_stop_without_trigger_direction_is_refused_like_bybit(make_market: MakeMarket) -> None:
    # Bybit: {"retCode":10001,"retMsg":"params error: TriggerDirection invalid"} for a linear
    # conditional order without triggerDirection; the engine no longer guesses one.
    e = SimEngine(make_market({"AAAUSDT": flat(2)}))
    for trigger in (D(90), D(100), D(110)):
        with pytest.raises(SimError) as err:
            e.place_order("AAAUSDT", SELL, STP, D(1), trigger_price=trigger)
        assert err.value.code == 10001 and "TriggerDirection" in err.value.msg
    assert e.orders == []


@pytest.mark.parametrize(
    ("side", "trigger", "direction", "code"),
    [
        (SELL, D(105), 2, 110093),  # a sell stop above the price: already "fallen" through it
        (SELL, D(100), 2, 110093),  # at the price
        (BUY, D(95), 1, 110092),  # a buy stop below the price: already "risen" through it
    ],
)
def test_an_already_crossed_stop_is_rejected_not_inverted(
    make_market: MakeMarket, side: Side, trigger: D, direction: int, code: int
) -> None:
    # The old engine accepted a sell stop above the mark as a *rising* trigger and sold on
    # the rebound; Bybit rejects it.
    e = SimEngine(make_market({"AAAUSDT": [*flat(1), (100, 106, 94, 100), *flat(1)]}))
    with pytest.raises(SimError) as err:
        e.place_order(
            "AAAUSDT", side, STP, D(1), trigger_price=trigger, trigger_direction=direction
        )
    assert err.value.code == code
    e.advance(2)
    assert e.orders == [] and e.executions == []


def test_several_orders_at_one_level_all_fire(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": [*flat(1), (100, 100, 94, 96)]})
    e = SimEngine(m, slippage=D(0), fee_taker=D(0))
    e.place_order("AAAUSDT", BUY, MKT, D(10))
    s1 = e.place_order(
        "AAAUSDT", SELL, STP, D(4), trigger_price=D(95), trigger_direction=2, reduce_only=True
    )
    s2 = e.place_order(
        "AAAUSDT", SELL, STP, D(6), trigger_price=D(95), trigger_direction=2, reduce_only=True
    )
    e.advance(2)
    assert s1.status is s2.status is SimStatus.FILLED
    assert e.positions == {} and e.wallet_balance == D(9950)
    assert e.executions[1].ts == e.executions[2].ts
