"""Funding shown and settled from data up to the sim clock only (SIM-VENUE.md "Strictness")."""

from __future__ import annotations

import math

import numpy as np

from bot.sim import SimEngine
from bot.sim.funding import FundingSchedule
from bot.sim.instruments import InstrumentEvent
from tests.unit.sim.conftest import T0, MakeMarket, flat

H = 3_600_000


def _sched(hours: list[int], rates: list[float], default_h: int = 8) -> FundingSchedule:
    return FundingSchedule(
        np.array([T0 + h * H for h in hours], dtype=np.int64), np.array(rates), default_h
    )


def test_interval_comes_from_settlements_up_to_now_not_the_whole_file() -> None:
    # Like ORCAUSDT: 4h settlements first, 1h ones much later. The old loader took the
    # interval from the file's last settlements (1h) for every moment.
    hours = [0, 4, 8, 12, 16, *range(100, 110)]
    s = _sched(hours, [0.0001] * len(hours))
    assert s.interval_at(T0 + 13 * H) == 4
    assert s.now(T0 + 13 * H).next_ms == T0 + 16 * H  # type: ignore[union-attr]
    assert s.interval_at(T0 + 105 * H) == 1


def test_a_hole_in_hourly_settlements_is_not_an_interval_change() -> None:
    # Hourly funding with settlements missing (3 h and then 4 h apart once): the venue still
    # settles hourly. The old schedule showed 3 h (no venue offers it), then 4 h, then 1 h.
    hours = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14]
    s = _sched(hours, [0.0001] * len(hours))
    assert [s.interval_at(T0 + h * H) for h in hours] == [8] + [1] * 9
    assert s.now(T0 + 6 * H).interval_h == 1  # type: ignore[union-attr]


def test_an_interval_change_is_taken_once_confirmed_never_an_unoffered_one() -> None:
    # Like PIPPINUSDT: hourly, then one 3 h step onto the 4 h grid, then every 4 h.
    hours = [0, 1, 2, 3, 6, 10, 14, 18]
    s = _sched(hours, [0.0001] * len(hours), default_h=1)
    assert [s.interval_at(T0 + h * H) for h in hours] == [1, 1, 1, 1, 1, 1, 4, 4]


def test_no_funding_across_a_gap_in_the_data() -> None:
    # Settlements until 16h, then nothing until 100h (a hole of months in real data).
    s = _sched([0, 8, 16, 100, 108], [0.0001, 0.0002, 0.0003, 0.009, 0.0001])
    now = s.now(T0 + 20 * H)
    assert now is not None and (now.rate, now.next_ms) == (0.0003, T0 + 24 * H)
    assert s.now(T0 + 24 * H) is None  # 24h passed without a settlement: no rate at all
    assert s.now(T0 + 99 * H) is None  # never the 0.009 from "months later"
    assert s.now(T0 + 100 * H).rate == 0.009  # type: ignore[union-attr]
    assert s.now(T0 - H) is None  # before the first settlement


def test_ticker_has_no_funding_in_a_gap(make_market: MakeMarket) -> None:
    m = make_market(
        {"AAAUSDT": flat(60)}, funding={"AAAUSDT": [(0, 0.0001), (8, 0.0002), (48, 0.05)]}
    )
    e = SimEngine(m, start_ms=T0 + 10 * H)
    t = e.ticker("AAAUSDT")
    assert (t.funding_rate, t.next_funding_ms) == (0.0002, T0 + 16 * H)
    e.advance(20)
    t = e.ticker("AAAUSDT")
    assert math.isnan(t.funding_rate) and t.next_funding_ms == 0


def test_predicted_rate_is_never_the_next_settlements_rate(make_market: MakeMarket) -> None:
    # The old HTTP face showed the *next* settlement's rate from the data (a future row).
    m = make_market({"AAAUSDT": flat(20)}, funding={"AAAUSDT": [(0, 0.0001), (8, 0.0042)]})
    e = SimEngine(m, start_ms=T0 + 7 * H)
    assert e.ticker("AAAUSDT").funding_rate == 0.0001
    e.advance(1)
    assert e.ticker("AAAUSDT").funding_rate == 0.0042


def test_a_funding_interval_event_changes_the_schedule_from_then_on(
    make_market: MakeMarket,
) -> None:
    from decimal import Decimal as D

    from bot.domain import OrderType, Side

    m = make_market(
        {"AAAUSDT": flat(40)}, funding={"AAAUSDT": [(h, 0.0008) for h in range(0, 40, 8)]}
    )
    e = SimEngine(m, start_ms=T0 + 9 * H, slippage=D(0), fee_taker=D(0))
    e.place_order("AAAUSDT", Side.BUY, OrderType.MARKET, D(10))
    e.schedule_event(InstrumentEvent(T0 + 10 * H, "AAAUSDT", funding_interval_h=2))
    assert e.instrument_now("AAAUSDT").funding_interval_h == 8  # not yet
    e.advance(1)
    assert e.instrument_now("AAAUSDT").funding_interval_h == 2
    t = e.ticker("AAAUSDT")
    assert (t.next_funding_ms, t.funding_rate) == (T0 + 12 * H, 0.0002)  # same rate per hour
    e.advance(6)  # 12h, 14h, 16h settle at 2h spacing
    assert [p.ts for p in e.funding_payments] == [T0 + 12 * H, T0 + 14 * H, T0 + 16 * H]
    assert all(p.rate == D("0.0002") for p in e.funding_payments)


def test_a_schedule_costs_no_python_object_per_settlement() -> None:
    """A year of hourly settlements is held in the data's arrays: lists and an hour → rate
    dict of them took ~150 bytes per settlement (10 MB for 50 symbols in a backtest)."""
    import tracemalloc

    n = 8760
    ts = 1_704_067_200_000 + np.arange(n, dtype=np.int64) * 3_600_000
    ts[5] += 7  # a settlement stamped a few ms after its hour still settles in that hour
    rate = np.linspace(-0.001, 0.001, n)
    tracemalloc.start()
    sched = FundingSchedule(ts, rate, 1)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert held < 150_000, held  # the interval per settlement (8 bytes each), nothing else
    assert sched.settlement(int(ts[5]) - 7) == rate[5]
    assert sched.settlement(int(ts[9]) + 1_800_000) == rate[9]  # any time in the hour
    now = sched.now(int(ts[100]) + 60_000)
    assert now is not None and now.rate == rate[100] and now.next_ms == int(ts[100]) + 3_600_000
    assert type(now.rate) is float and type(sched.interval_at(int(ts[3]))) is int
