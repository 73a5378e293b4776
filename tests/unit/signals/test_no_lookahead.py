"""No look-ahead on the real data (the slice vendored in tests/data), and precompute vs rolling-window agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import StrategyConfig
from bot.data.build import load_panel
from bot.data.panel import HOUR_MS, Panel
from bot.domain import PositionSide
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation, PositionView
from bot.signals.params import SignalParams, resolve
from bot.signals.scan import scan_panel, scan_report

START = 1_748_736_000_000  # 2025-06-01T00:00Z, the start of the vendored slice


def loose(preset: str = "laggard-only") -> SignalEngine:
    """Thresholds loosened so the real data produces entries and exits to compare."""
    params = SignalParams(  # type: ignore[call-arg]
        entry_trigger="below", rsi_oversold=45.0, gap_max=-0.02, zgap_max=-0.3, adx_max=40.0
    )
    return SignalEngine(resolve(StrategyConfig(preset=preset, params=params)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def real(shared_data: Path) -> Panel:
    return load_panel(shared_data, start_ms=START)


@pytest.fixture(scope="module")
def pre(real: Panel) -> SignalEngine:
    eng = loose()
    eng.precompute(real)
    return eng


def positions(p: Panel, j: int) -> list[PositionView]:
    t = p.close_time(j)
    return [
        PositionView("ETHUSDT", PositionSide.LONG, t - 30 * HOUR_MS, 1.0),
        PositionView("SOLUSDT", PositionSide.SHORT, t - 5 * HOUR_MS, 1.0),
        PositionView("DOGEUSDT", PositionSide.LONG, t - 48 * HOUR_MS, 1.0),
    ]


def decisions(ev: Evaluation) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(d.symbol, d.action.value, d.reasons) for d in ev.decisions]


def assert_close(a: Evaluation, b: Evaluation) -> None:
    assert decisions(a) == decisions(b)
    assert [(e.symbol, e.side) for e in a.entries] == [(e.symbol, e.side) for e in b.entries]
    assert [(x.symbol, x.reasons) for x in a.exits] == [(x.symbol, x.reasons) for x in b.exits]
    assert a.regime.risk_on == b.regime.risk_on
    for da, db in zip(a.decisions, b.decisions, strict=True):
        for k, v in da.scores.items():
            w = db.scores[k]
            assert (v is None) == (w is None), (da.symbol, k)
            if v is not None:
                assert v == pytest.approx(w, rel=1e-7, abs=1e-9), (da.symbol, k)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frac=st.floats(min_value=0.3, max_value=0.999))
def test_decisions_at_t_ignore_data_after_t(real: Panel, pre: SignalEngine, frac: float) -> None:
    j = int(frac * (real.n_bars - 1))
    pos = positions(real, j)
    full = pre.evaluate_at(j, pos)
    # backtest path on the prefix only: bit-for-bit the same evaluation
    cut = loose()
    cut.precompute(real.truncate(j + 1))
    assert cut.evaluate_at(j, pos) == full
    # live path on the prefix only: the same decisions
    assert_close(loose().evaluate(real.truncate(j + 1), j, pos), full)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frac=st.floats(min_value=0.5, max_value=0.99))
def test_scan_output_at_t_ignores_later_data(shared_data: Path, real: Panel, frac: float) -> None:
    j = int(frac * (real.n_bars - 1))
    eng = SignalEngine(resolve())
    with_future = scan_report(scan_panel(eng, real, j))
    at_ms = real.close_time(j)
    # read from disk again, keeping only what had been published by then
    cut = load_panel(shared_data, start_ms=START, end_ms=at_ms - HOUR_MS + 1)
    assert cut.n_bars == j + 1
    assert scan_report(scan_panel(eng, cut, j)) == with_future


@pytest.mark.parametrize("preset", ["laggard-only", "rotation-reversion", "rsi-reversion"])
def test_precompute_and_rolling_window_agree(real: Panel, preset: str) -> None:
    eng = loose(preset)
    eng.precompute(real)
    n = real.n_bars
    acted = 0
    # The last 120 days of the 6-month slice (the engine's window needs the 2 months before).
    for j in range(n - 24 * 120, n, 24 * 120 // 12 + 7):
        pos = positions(real, j)
        a = eng.evaluate_at(j, pos)
        b = eng.evaluate(real, j, pos)
        assert_close(a, b)
        acted += len(a.entries) + len(a.exits)
    assert acted > 0
