"""Funding settlements and liquidation at the bankruptcy price (RISK.md worked example)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderType, PositionSide, Side
from bot.sim import SimEngine, SimStatus
from bot.sim.account import ISOLATED
from tests.unit.sim.conftest import INSTRUMENT, T0, MakeMarket, flat

H = 3_600_000
BUY, SELL = Side.BUY, Side.SELL
MKT = OrderType.MARKET


def _engine(
    make_market: MakeMarket, bars: list[tuple[float, float, float, float]], **kw: object
) -> SimEngine:
    m = make_market({"AAAUSDT": bars}, **kw)
    return SimEngine(m, slippage=D(0), fee_taker=D(0), fee_maker=D(0), margin_mode=ISOLATED)


@pytest.mark.parametrize(("side", "sign"), [(BUY, -1), (SELL, 1)])
def test_funding_8h_sign_and_mark(make_market: MakeMarket, side: Side, sign: int) -> None:
    bars = [*flat(8), *flat(8, 104.0), *flat(3, 103.0)]
    e = _engine(make_market, bars, funding={"AAAUSDT": [(0, 0.0001), (8, -0.0002), (16, 0.001)]})
    # Opened while the clock shows 00:00: the 00:00 settlement is already done (the API lists
    # it), so this position does not pay it.
    assert [f.ts for f in e.funding_history("AAAUSDT")] == [T0]
    e.place_order("AAAUSDT", side, MKT, D(10))
    e.advance(18)
    pays = e.funding_payments
    assert [p.ts for p in pays] == [T0 + 8 * H, T0 + 16 * H]
    assert [p.mark for p in pays] == [D("104.0"), D("103.0")]
    # long pays positive funding, short receives it: amount = −s · qty · mark · rate
    assert [p.amount for p in pays] == [-sign * D("0.208"), sign * D("1.030")]
    assert e.wallet_balance == D(10000) - sign * D("0.208") + sign * D("1.030")
    pos = e.positions["AAAUSDT"]
    assert pos.realised_pnl == -sign * D("0.208") + sign * D("1.030")


def test_funding_4h_interval(make_market: MakeMarket) -> None:
    e = _engine(
        make_market,
        flat(13),
        funding={"AAAUSDT": [(0, 0.0001), (4, 0.0001), (8, 0.0001), (12, 0.0001)]},
    )
    # From data up to now only: one settlement known at 00:00, so the configured 8h.
    assert e.instrument_now("AAAUSDT").funding_interval_h == 8
    e.advance(2)
    e.place_order("AAAUSDT", BUY, MKT, D(10))  # opened after the 00:00 settlement
    e.advance(10)  # the clock arrives at 04:00, 08:00 and 12:00: each settles on arrival
    assert [p.ts for p in e.funding_payments] == [T0 + 4 * H, T0 + 8 * H, T0 + 12 * H]
    assert e.instrument_now("AAAUSDT").funding_interval_h == 4
    assert e.wallet_balance == D(10000) - D("0.3")


def test_a_position_closed_at_the_settlement_instant_has_paid_it(make_market: MakeMarket) -> None:
    e = _engine(make_market, flat(20), funding={"AAAUSDT": [(0, 0.0001), (8, 0.0001)]})
    e.advance(1)
    e.place_order("AAAUSDT", BUY, MKT, D(10))
    e.advance(7)
    # The clock arrived at 08:00: the settlement is charged and listed before anything else
    # happens at that instant (the old engine charged it only on the next advance, so a
    # position closed "at 08:00" never paid it).
    assert e.now_ms == T0 + 8 * H
    assert [(p.ts, p.amount) for p in e.funding_payments] == [(T0 + 8 * H, D("-0.1"))]
    assert [f.ts for f in e.funding_history("AAAUSDT")] == [T0, T0 + 8 * H]
    assert e.ticker("AAAUSDT").next_funding_ms == T0 + 16 * H
    e.place_order("AAAUSDT", SELL, MKT, D(10), reduce_only=True)
    e.advance(2)
    assert len(e.funding_payments) == 1
    # After 16:00 passes with no settlement in the data, the venue shows no funding at all
    # (no extrapolated rate).
    e.advance(7)
    assert e.now_ms == T0 + 17 * H
    t = e.ticker("AAAUSDT")
    assert t.funding_rate != t.funding_rate and t.next_funding_ms == 0  # NaN: none


def _mmr(mmr: str) -> dict[str, object]:
    return {
        **INSTRUMENT,
        "tiers": [{"floor": "0", "cap": "1e7", "mmr": mmr, "max_leverage": "100"}],
    }


@pytest.mark.parametrize(
    ("mmr", "side", "liq"),
    [
        ("0.005", BUY, D("90.50")),
        ("0.005", SELL, D("109.50")),
        ("0.01", BUY, D("91.00")),
        ("0.01", SELL, D("109.00")),
    ],
)
def test_liquidation_price_matches_risk_md_worked_example(
    make_market: MakeMarket, mmr: str, side: Side, liq: D
) -> None:
    # E = 10 000, EP = 100, L = 10, Q = 25 → N = 2 500, WB = 250 (RISK.md).
    e = _engine(make_market, flat(2), instruments={"AAAUSDT": _mmr(mmr)})
    assert e.leverage("AAAUSDT") == D(10)
    e.place_order("AAAUSDT", side, MKT, D(25))
    pos = e.positions["AAAUSDT"]
    assert pos.margin == D(250)
    assert pos.liq_price == liq
    assert pos.bust_price == (D(90) if side is BUY else D(110))


def test_long_liquidated_at_bankruptcy_loses_the_margin(make_market: MakeMarket) -> None:
    bars = [*flat(1), (100, 100, 90.6, 95), (95, 96, 90.4, 93), *flat(1, 93)]
    e = _engine(make_market, bars)
    e.place_order("AAAUSDT", BUY, MKT, D(25))
    stop = e.place_order(
        "AAAUSDT",
        SELL,
        OrderType.STOP_MARKET,
        D(25),
        trigger_price=D(85),
        trigger_direction=2,
        reduce_only=True,
    )
    e.advance(2)
    assert "AAAUSDT" in e.positions  # low 90.6 stays above LP 90.50
    e.advance()
    assert e.positions == {}
    bust = e.executions[-1]
    assert bust.exec_type == "BustTrade" and bust.side is SELL
    assert (bust.qty, bust.price, bust.fee) == (D(25), D(90), D(0))
    assert bust.closed_pnl == D(-250)
    assert e.wallet_balance == D(9750)
    assert stop.status is SimStatus.DEACTIVATED and stop.cancel_type == "CancelByLiq"
    liq_order = e.get_order(order_id=bust.order_id)
    assert liq_order is not None and liq_order.create_type == "CreateByLiq"
    # LP 90.50 is reached on the O→H→L leg (95 → 96 → 90.4) 5.5/5.6 of the way.
    assert bust.ts == T0 + 2 * H + 1_200_000 + 1_200_000 * 55 // 56


def test_short_liquidated_on_a_gap(make_market: MakeMarket) -> None:
    e = _engine(make_market, [*flat(1), (112, 113, 111, 112)])
    e.place_order("AAAUSDT", SELL, MKT, D(25))
    e.advance()  # 100 → gap to 112 crosses LP 109.50
    assert e.positions == {}
    assert e.executions[-1].price == D(110) and e.executions[-1].ts == T0 + H
    assert e.wallet_balance == D(9750)


def test_higher_leverage_moves_the_liquidation_price(make_market: MakeMarket) -> None:
    e = _engine(make_market, flat(2))
    e.place_order("AAAUSDT", BUY, MKT, D(25))
    e.set_leverage("AAAUSDT", D(20))
    pos = e.positions["AAAUSDT"]
    assert pos.margin == D(125) and pos.liq_price == D("95.50")  # 100·(1 − 1/20 + 0.005)
    assert pos.side is PositionSide.LONG
