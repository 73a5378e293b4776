"""Quality gate: bad ticks and bars are rejected with reasons, logged, and never stored."""

from __future__ import annotations

import math

import numpy as np
import pytest
from structlog.testing import capture_logs

from bot.data.panel import HOUR_MS
from bot.data.quality import Feed, QualityFilter, QualityLimits, Reason
from bot.data.store import PanelStore
from bot.domain.market import Bar, FundingRate, OpenInterest, Ticker

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def bar(i: int, c: float = 100.0, **kw: float) -> Bar:
    vals = {"open": 100.0, "high": max(101.0, c), "low": min(99.0, c), "close": c, "volume": 5.0}
    vals.update(kw)
    return Bar("ETHUSDT", T0 + i * HOUR_MS, **vals)


def ticker(ts: int, last: float, mark: float, **kw: float) -> Ticker:
    base = dict(index=mark, bid=last, ask=last, funding_rate=1e-4, open_interest=1e6)
    base.update(kw)
    return Ticker("ETHUSDT", ts, last, mark, base["index"], base["bid"], base["ask"],
                  base["funding_rate"], ts + HOUR_MS, base["open_interest"])  # fmt: skip


BAD_BARS = [
    (bar(1, close=math.nan), Reason.NAN),
    (bar(1, open=0.0), Reason.NON_POSITIVE),
    (bar(1, low=-5.0), Reason.NON_POSITIVE),
    (bar(1, c=5000.0, high=5000.0), Reason.WICK),  # 50× spike in the close (and high)
    (bar(1, c=500.0, high=500.0), Reason.JUMP_VS_PREVIOUS),  # 5× close: beyond max_jump
    (bar(1, high=5000.0), Reason.WICK),  # 50× spike in the high only
    (bar(1, high=98.0, low=102.0), Reason.HIGH_LT_LOW),
    (bar(1, close=105.0), Reason.OUTSIDE_RANGE),
    (bar(1, volume=-1.0), Reason.BAD_VOLUME),
    (bar(1, volume=math.inf), Reason.NAN),
    (Bar("ETHUSDT", T0 + HOUR_MS + 60_000, 100, 101, 99, 100, 1), Reason.TS_MISALIGNED),
    (bar(0), Reason.TS_DUPLICATE),
    (bar(-1), Reason.TS_BACKWARDS),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_BARS, ids=[r.value for _, r in BAD_BARS])
def test_bad_bar_rejected_logged_and_not_stored(bad: Bar, reason: Reason) -> None:
    store = PanelStore(["ETHUSDT"], ["l1"], capacity=48)
    assert store.append_bar(bar(0)).ok
    with capture_logs() as logs:
        res = store.append_bar(bad)
    assert not res.ok and res.reason is reason
    assert res.rejection is not None and res.rejection.symbol == "ETHUSDT"
    events = [e for e in logs if e["event"] == "data_rejected"]
    assert len(events) == 1 and events[0]["reason"] == reason.value
    assert events[0]["feed"] == "klines" and events[0]["ts"] == bad.ts
    p = store.panel()
    # Only the good bar is in the panel; nothing from the bad one leaked in.
    assert p.n_bars == 1 and p.close[0, 0] == 100.0 and p.high[0, 0] == 101.0
    assert store.quality.counts[(Feed.KLINES, reason)] == 1


def test_spike_numbers_are_reported() -> None:
    q = QualityFilter()
    assert q.check_bar(bar(0)).ok
    res = q.check_bar(bar(1, c=500.0, high=500.0))
    assert res.rejection is not None
    v = res.rejection.values
    assert v["value"] == 500.0 and v["previous"] == 100.0
    assert v["jump"] == pytest.approx(math.log(5)) and v["limit"] == 1.0


def test_real_crash_confirmed_by_mark_passes_but_lone_spike_fails() -> None:
    q = QualityFilter()
    assert q.check_bar(bar(0)).ok
    # −70% close that the mark confirms: a genuine move (the 2025-10-10 kind), accepted.
    crash = bar(1, open=100.0, high=100.0, low=25.0, c=30.0)
    assert q.check_bar(crash, mark=30.5).ok
    # The same close with the mark still at the old level: a bad print.
    q2 = QualityFilter()
    assert q2.check_bar(bar(0)).ok
    res = q2.check_bar(crash, mark=100.0)
    assert res.reason is Reason.JUMP
    assert res.rejection is not None and res.rejection.values["mark"] == 100.0


def test_ticker_checks() -> None:
    q = QualityFilter()
    assert q.check_ticker(ticker(T0, 100.0, 100.1)).ok
    cases = [
        (ticker(T0 + 1000, math.nan, 100.0), Reason.NAN),
        (ticker(T0 + 1000, 0.0, 100.0), Reason.NON_POSITIVE),
        (ticker(T0 + 1000, -3.0, 100.0), Reason.NON_POSITIVE),
        (ticker(T0 + 1000, 5000.0, 100.0), Reason.JUMP),  # last spikes, mark does not
        (ticker(T0 + 1000, 100.0, 5000.0), Reason.JUMP),  # mark spikes, last does not
        (ticker(T0 - 1000, 100.0, 100.0), Reason.TS_BACKWARDS),
        (ticker(T0 + 1000, 100.0, 100.0, funding_rate=0.5), Reason.OUT_OF_RANGE),
    ]
    for t, reason in cases:
        assert q.check_ticker(t).reason is reason, (t, reason)
    # Both move together (a real fast market): accepted.
    assert q.check_ticker(ticker(T0 + 2000, 300.0, 299.0)).ok
    assert q.mark("ETHUSDT", T0 + 2000) == 299.0


def test_persistent_new_level_reanchors() -> None:
    q = QualityFilter(QualityLimits(reanchor_after=3))
    assert q.check_bar(bar(0)).ok
    results = [
        q.check_bar(bar(i, open=1000.0, high=1001.0, low=999.0, c=1000.0)) for i in (1, 2, 3)
    ]
    assert [r.ok for r in results] == [False, False, True]
    assert q.check_bar(bar(4, open=1000.0, high=1001.0, low=999.0, c=1000.0)).ok


def test_stale_previous_is_ignored() -> None:
    q = QualityFilter(QualityLimits(max_prev_age_ms=6 * HOUR_MS))
    assert q.check_bar(bar(0)).ok
    assert q.check_bar(bar(48, open=400.0, high=401.0, low=399.0, c=400.0)).ok


def test_funding_and_oi_checks() -> None:
    q = QualityFilter()
    assert q.check_funding(FundingRate("ETHUSDT", T0, 1e-4)).ok
    assert q.check_funding(FundingRate("ETHUSDT", T0 + 1, math.nan)).reason is Reason.NAN
    assert q.check_funding(FundingRate("ETHUSDT", T0 + 2, 0.5)).reason is Reason.OUT_OF_RANGE
    assert q.check_funding(FundingRate("ETHUSDT", T0 - 1, 1e-4)).reason is Reason.TS_BACKWARDS
    assert q.check_open_interest(OpenInterest("ETHUSDT", T0, 1e6)).ok
    assert (
        q.check_open_interest(OpenInterest("ETHUSDT", T0 + 1, -1.0)).reason is Reason.NON_POSITIVE
    )
    bad = q.check_open_interest(OpenInterest("ETHUSDT", T0 + 2, 1e9))
    assert bad.reason is Reason.JUMP_VS_PREVIOUS
    assert q.summary()["rejected"]["funding:nan"] == 1


def test_random_garbage_never_reaches_store() -> None:
    rng = np.random.default_rng(3)
    store = PanelStore(["ETHUSDT"], capacity=300)
    c = 100.0
    for i in range(250):
        kind = rng.integers(0, 6)
        if kind == 0:
            b = bar(i, close=float("nan"))
        elif kind == 1:
            b = bar(i, c=c * 50, high=c * 50, open=c, low=c)
        else:
            c *= float(np.exp(rng.normal(0, 0.01)))
            b = Bar("ETHUSDT", T0 + i * HOUR_MS, c, c * 1.01, c * 0.99, c, 1.0)
        store.append_bar(b)
    p = store.panel()
    good = np.isfinite(p.close[0])
    assert np.nanmax(p.close[0]) < 200 and np.nanmin(p.low[0]) > 0
    assert (p.high[0][good] >= p.low[0][good]).all()
