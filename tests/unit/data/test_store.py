"""Live ring-buffer store: bounded memory, correct Panel views, funding/OI placement."""

from __future__ import annotations

import numpy as np
import pytest

from bot.data.datadir import DataDir
from bot.data.freshness import FreshnessTracker
from bot.data.panel import HOUR_MS
from bot.data.quality import Feed, Reason
from bot.data.sample import sample_dir
from bot.data.store import PanelStore
from bot.domain.market import Bar, FundingRate, OpenInterest

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def mkbar(sym: str, i: int, c: float) -> Bar:
    return Bar(sym, T0 + i * HOUR_MS, c, c * 1.01, c * 0.99, c, 10.0 + i)


def test_memory_bounded_over_ten_capacities() -> None:
    cap = 100
    store = PanelStore(["AUSDT", "BUSDT"], ["l1", "defi"], capacity=cap)
    nbytes0 = store.nbytes
    shapes0 = {k: a.shape for k, a in store._arrays.items()}
    rng = np.random.default_rng(0)
    c = np.array([10.0, 20.0])
    history = []
    for i in range(10 * cap):
        c *= np.exp(rng.normal(0, 0.005, 2))
        history.append(float(c[0]))
        for k, sym in enumerate(("AUSDT", "BUSDT")):
            assert store.append_bar(mkbar(sym, i, float(c[k]))).ok
        if i % 8 == 0:
            assert store.append_funding(FundingRate("AUSDT", T0 + (i + 1) * HOUR_MS, 1e-4)).ok
        assert store.append_open_interest(OpenInterest("AUSDT", T0 + (i + 1) * HOUR_MS, 5e5)).ok
    assert store.nbytes == nbytes0
    assert {k: a.shape for k, a in store._arrays.items()} == shapes0
    p = store.panel()
    assert p.n_bars == cap
    assert p.ts[-1] == T0 + (10 * cap - 1) * HOUR_MS
    assert np.all(np.diff(p.ts) == HOUR_MS)
    assert np.isfinite(p.close).all()
    assert p.close[0].tolist() == history[-cap:]  # the view unrolls the ring in time order
    assert store.panel(24).n_bars == 24 and store.panel(24).ts[0] == p.ts[-24]


def test_panel_view_matches_source_data() -> None:
    dd = DataDir(sample_dir())
    syms = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    n = 300
    store = PanelStore(syms, capacity=200)
    data = {s: dd.ohlcv(s) for s in syms}
    for j in range(n):
        for s in syms:
            o = data[s]
            b = Bar(s, int(o.ts[j]), o.open[j], o.high[j], o.low[j], o.close[j], o.volume[j])
            assert store.append_bar(b).ok
    p = store.panel(150)
    assert p.symbols == syms and p.n_bars == 150
    for i, s in enumerate(syms):
        assert np.array_equal(p.ts, data[s].ts[n - 150 : n])
        assert np.array_equal(p.close[i], data[s].close[n - 150 : n])
        assert np.array_equal(p.high[i], data[s].high[n - 150 : n])
        assert np.array_equal(p.volume[i], data[s].volume[n - 150 : n])


def test_funding_and_oi_land_in_the_bar_that_closes_at_or_after_them() -> None:
    store = PanelStore(["AUSDT"], capacity=50)
    for i in range(10):
        store.append_bar(mkbar("AUSDT", i, 100.0))
    # Settlement at 08:00 is known at the close of bar 07:00 (index 7); the next at 16:00.
    assert store.append_funding(FundingRate("AUSDT", T0 + 8 * HOUR_MS, 2e-4)).ok
    assert store.append_funding(FundingRate("AUSDT", T0 + 12 * HOUR_MS, 3e-4)).ok
    assert store.append_open_interest(OpenInterest("AUSDT", T0 + 3 * HOUR_MS + 1, 7.0)).ok
    p = store.panel()
    assert p.funding[0, 7] == 2e-4 and np.isnan(p.funding[0, 8])
    assert p.funding[0, 11] == 3e-4 and p.funding_interval_h[0, 11] == 4.0
    assert p.oi[0, 3] == 7.0  # stamped just after 03:00 -> bar 03:00 (closes 04:00)
    assert p.n_bars == 12  # funding for a not-yet-closed bar advanced the grid; candles NaN
    assert np.isnan(p.close[0, 11])


def test_out_of_window_unknown_symbol_and_gap_clearing() -> None:
    store = PanelStore(["AUSDT"], capacity=10)
    for i in range(10):
        store.append_bar(mkbar("AUSDT", i, 100.0 + i))
    old = store.append_bar(mkbar("AUSDT", -5, 100.0))
    assert old.reason is Reason.OUT_OF_WINDOW
    assert store.append_bar(mkbar("ZUSDT", 11, 1.0)).reason is Reason.UNKNOWN_SYMBOL
    # A 3-bar outage: the skipped slots must read NaN, not data from 10 bars ago.
    assert store.append_bar(mkbar("AUSDT", 13, 111.0)).ok
    p = store.panel()
    assert p.n_bars == 10 and p.ts[-1] == T0 + 13 * HOUR_MS
    assert np.isnan(p.close[0, -4:-1]).all() and p.close[0, -1] == 111.0
    assert store.quality.counts[(Feed.KLINES, Reason.OUT_OF_WINDOW)] == 1


def test_add_remove_symbol_and_freshness() -> None:
    clock = [T0 + 3 * HOUR_MS]
    fresh = FreshnessTracker(clock=lambda: clock[0])
    store = PanelStore(["AUSDT"], capacity=24, freshness=fresh)
    store.append_bar(mkbar("AUSDT", 0, 100.0))
    store.add_symbol("BUSDT", "meme")
    store.append_bar(mkbar("BUSDT", 1, 5.0))
    p = store.panel()
    assert p.symbols == ["AUSDT", "BUSDT"] and p.sectors == [None, "meme"]
    assert p.close[1, 1] == 5.0 and np.isnan(p.close[1, 0])
    assert fresh.symbol_age_ms("BUSDT", Feed.KLINES) == HOUR_MS  # bar 1 closed at T0+2h
    store.remove_symbol("AUSDT")
    assert store.panel().symbols == ["BUSDT"]
    assert fresh.symbol_age_ms("AUSDT", Feed.KLINES) is None


def test_empty_store_panel() -> None:
    store = PanelStore(["AUSDT"], capacity=5)
    assert store.panel().n_bars == 0
    with pytest.raises(ValueError, match="capacity"):
        PanelStore(["AUSDT"], capacity=1)
