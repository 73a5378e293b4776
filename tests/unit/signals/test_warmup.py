"""Issue #19 item 2: a replay or backtest without a start waits only for the history its
preset's enabled rules read (``SignalEngine.warmup_hours``), not for the live window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.config import load_settings
from bot.data.build import load_panel
from bot.data.panel import HOUR_MS, Panel
from bot.data.sample import sample_dir
from bot.runtime.build import MAX_REPLAY_WARMUP_H, replay_start
from bot.signals.engine import SignalEngine
from bot.signals.params import PRESETS
from bot.signals.tables import Tables

LAYER_PRESETS = ("rotation-reversion", "laggard-only", "sector-momentum")


def engine(preset: str, **over: Any) -> SignalEngine:
    settings = load_settings(None, {"strategy.preset": preset, **over}, environ={})
    return SignalEngine.from_settings(settings)


def test_rsi_reversion_waits_for_adx_only() -> None:
    """RSI(14) and ADX(14) on 1h bars, fixed threshold, ``below`` trigger, RSI exit, ATR
    stop: ADX's lookback 2·14 − 1 = 27 bars is the longest."""
    e = engine("rsi-reversion")
    assert e.warmup_hours == 27
    assert e.window_hours == 8953  # the live window is unchanged (a year of heat)


@pytest.mark.parametrize("preset", LAYER_PRESETS)
def test_presets_reading_layers_keep_their_start(preset: str) -> None:
    """Every other bundled preset reads the sector layers: the live window, so the start is
    today's 40 days (or half the data), bar for bar."""
    e = engine(preset)
    assert e.warmup_hours == e.window_hours
    ts = np.arange(0, 365 * 24, dtype=np.int64) * HOUR_MS
    assert replay_start(ts, e.warmup_hours) == MAX_REPLAY_WARMUP_H * HOUR_MS
    short = ts[: 30 * 24]
    assert replay_start(short, e.warmup_hours) == (30 * 24 - 1) * HOUR_MS // 2


@pytest.mark.parametrize(
    ("over", "hours"),
    [
        ({"strategy.params.adx_period": 7}, 14),  # RSI 14 is now the longest
        ({"strategy.params.adx_period": 7, "strategy.params.atr_period": 20}, 20),
        ({"strategy.params.entry_trigger": "cross_up", "strategy.params.adx_period": 7}, 17),
        ({"strategy.params.rsi_mode": "percentile"}, 14 + 99),
        ({"strategy.params.divergence": True}, 14 + 30 + 6 + 1),
        (
            {"strategy.params.require_lower_low": True, "strategy.params.lower_low_long_bars": 40},
            39,
        ),
        ({"strategy.params.take_profit": True, "strategy.params.tp_lookback_bars": 50}, 50),
        ({"strategy.params.exit_rule": "ema", "strategy.params.ema_period": 60}, 59),
        ({"strategy.entry_timeframe": "4h"}, (27 + 2) * 4 - 2),
    ],
)
def test_each_enabled_rule_adds_its_lookback(over: dict[str, Any], hours: int) -> None:
    assert engine("rsi-reversion", **over).warmup_hours == hours


@pytest.mark.parametrize(
    "over",
    [
        {"strategy.params.funding_filter": True},
        {"strategy.params.risk_off_action": "half"},
        {"strategy.params.rotation_exit": True},
        {"strategy.params.require_leader": True},
        {"strategy.params.rank_by": "zgap"},
        {"strategy.params.exit_rule": "gap"},
        {"strategy.params.entry_mode": "laggard"},
        {"strategy.shorts.enabled": True},
        {"strategy.mode": "portfolio"},
    ],
)
def test_reading_a_layer_takes_the_live_window(over: dict[str, Any]) -> None:
    e = engine("rsi-reversion", **over)
    assert e.warmup_hours == e.window_hours


# ---------------------------------------------------------------------- on real data


@pytest.fixture(scope="module")
def panel() -> Panel:
    return load_panel(sample_dir())


def _full_rows(p: Panel, j: int) -> np.ndarray:
    """Rows with a bar at every hour up to ``j`` (their history is the whole warm-up)."""
    rows = np.flatnonzero(np.isfinite(p.close[:, : j + 1]).all(axis=1))
    assert len(rows) >= 50
    return rows


def _unread(e: SignalEngine, t: Tables, j: int, rows: np.ndarray) -> list[str]:
    """The entry-timeframe values the preset reads at index ``j`` that are not finite."""
    p, cf = e.params, t.confirm
    b = t.htf_bar(j)
    if b < 0:
        return ["no bar"]
    read: dict[str, np.ndarray] = {}
    if p.confirm:
        read["threshold"] = cf.threshold
        read["adx"] = cf.adx
        read["rsi"] = cf.rsi
    if p.exit_rule == "rsi" or p.rank_by == "rsi":
        read["rsi"] = cf.rsi
    if p.exit_rule == "ema":
        read["ema"] = cf.ema
    if e.spec.stop_mode == "atr":
        read["atr"] = cf.atr
    out = [k for k, a in read.items() if not np.isfinite(a[rows, b]).all()]
    if p.confirm and p.entry_trigger == "cross_up":  # "was below" reads the older bars
        back = b - p.cross_lookback_bars
        if back < 0 or not np.isfinite(cf.threshold[rows, back]).all():
            out.append("cross_lookback")
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_every_value_read_is_defined_at_the_first_decision(preset: str, panel: Panel) -> None:
    """At the default start's first decision every indicator the preset's rules read is
    finite for the symbols with history since the first bar (and the layers too, for the
    presets that read them); for rsi-reversion one bar earlier ADX is still undefined, so the
    warm-up is no longer than it must be."""
    e = engine(preset)
    t = e.precompute(panel)
    j0 = int((replay_start(panel.ts, e.warmup_hours) - int(panel.ts[0])) // HOUR_MS)
    rows = _full_rows(panel, j0)
    assert _unread(e, t, j0, rows) == []
    if preset == "rsi-reversion":
        assert j0 == 27
        assert _unread(e, t, j0 - 1, rows) == ["adx"]
    else:
        col = t.column(j0)
        lay = t.layers
        members = rows[[t.universe.sector_of[i] is not None for i in rows]]
        assert len(members) == len(rows) - 1  # all but the benchmark
        assert lay.eligible[members, col].all()
        assert np.isfinite(lay.zgap[members, col]).all()
        assert np.isfinite(lay.alt_btc_slope[col])
        sc = lay.scorable[:, col]
        assert sc.any() and np.isfinite(lay.score[sc, col]).all()
        assert np.isfinite(lay.accel[sc, col]).all()
