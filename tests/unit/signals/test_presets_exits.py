"""Presets, resolution order, exits and shorts on constructed data (the perp hedge is refused)."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from bot.config import ConfigError, StrategyConfig, load_settings
from bot.data.panel import HOUR_MS, Panel
from bot.domain import Action, PositionSide
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import PositionView
from bot.signals.params import PRESETS, PresetError, SignalParams, resolve
from tests.unit.signals import construct as C
from tests.unit.signals.test_constructed import LOOSE, engine


@pytest.fixture(scope="module")
def panel() -> Panel:
    return C.build()


def test_resolution_order_defaults_preset_user() -> None:
    spec = resolve(StrategyConfig(preset="rsi-reversion"))
    assert spec.entry_timeframe == "1h"  # from the preset file
    assert spec.params.entry_trigger == "below"
    assert spec.params.rsi_oversold == 30.0
    assert spec.params.require_lower_low is False
    user = StrategyConfig(
        preset="rsi-reversion",
        entry_timeframe="4h",
        params=SignalParams(rsi_oversold=25.0),  # type: ignore[call-arg]
    )
    spec = resolve(user)
    assert spec.entry_timeframe == "4h" and spec.params.rsi_oversold == 25.0
    assert spec.params.entry_trigger == "below"  # still the preset's
    assert resolve(user, preset="rotation-reversion").params.entry_trigger == "cross_up"
    assert resolve().preset == "rotation-reversion"
    for name in PRESETS:
        assert resolve(StrategyConfig(preset=name)).preset == name  # type: ignore[arg-type]


def test_bad_preset_and_unknown_param_are_named(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[strategy.params]\nrsi_oversld = 20\n")
    with pytest.raises(ConfigError, match=r"strategy\.params\.rsi_oversld: unknown key"):
        load_settings(cfg, environ={})
    cfg.write_text('[strategy]\npreset = "nope"\n')
    with pytest.raises(ConfigError, match=r"strategy\.preset"):
        load_settings(cfg, environ={})
    with pytest.raises(PresetError, match="unknown preset"):
        resolve(preset="nope")


def test_laggard_only_takes_laggards_of_any_sector_ranked_by_zgap(panel) -> None:
    ev = engine("laggard-only").evaluate(panel)
    assert [e.symbol for e in ev.entries] == ["LAGAUSDT", "LAGBUSDT"]
    z = {r.symbol: r.zgap for r in ev.symbols}
    assert z["LAGAUSDT"] < z["LAGBUSDT"] < -1.5


def test_sector_momentum_buys_the_strongest_member_of_the_leader(panel) -> None:
    ev = engine("sector-momentum").evaluate(panel)
    assert [e.symbol for e in ev.entries] == ["A1USDT"]
    assert "strongest_member" in ev.entries[0].reasons


def test_rotation_reversion_default_confirmation_needs_cross_up(panel) -> None:
    # With the preset's own cross_up trigger, a steadily falling RSI never crosses back up.
    cfg = StrategyConfig(params=SignalParams(adx_max=101.0))  # type: ignore[call-arg]
    ev = SignalEngine(resolve(cfg)).evaluate(panel)
    assert ev.entries == []
    lag = next(r for r in ev.symbols if r.symbol == "LAGAUSDT")
    assert lag.candidate and not lag.confirmed and "rsi_no_cross_up" in lag.reasons


def random_panel(n: int = 8, t: int = 1200, seed: int = 7) -> Panel:
    rng = np.random.default_rng(seed)
    syms = ["BTCUSDT"] + [f"R{i}USDT" for i in range(n - 1)]
    ts = C.T0 + np.arange(t, dtype=np.int64) * HOUR_MS
    p = Panel.empty(syms, ["benchmark"] + ["l1"] * (n - 1), ts)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, t)), axis=1))
    p.close[:] = c
    p.open[:] = np.concatenate((c[:, :1], c[:, :-1]), axis=1)
    p.high[:] = np.maximum(p.open, c) * (1 + rng.uniform(0, 0.004, (n, t)))
    p.low[:] = np.minimum(p.open, c) * (1 - rng.uniform(0, 0.004, (n, t)))
    p.volume[:] = 1000.0
    return p


@pytest.mark.parametrize("lower_low", [False, True])
def test_rsi_reversion_enters_exactly_where_rsi_below_30_and_adx_below_25(lower_low) -> None:
    p = random_panel()
    cfg = StrategyConfig(preset="rsi-reversion", params=SignalParams(require_lower_low=lower_low))  # type: ignore[call-arg]
    eng = SignalEngine(resolve(cfg))
    eng.precompute(p)
    rsi = np.array([talib.RSI(p.close[i], 14) for i in range(p.n_symbols)])
    adx = np.array([talib.ADX(p.high[i], p.low[i], p.close[i], 14) for i in range(p.n_symbols)])
    lo10 = np.array([talib.MIN(p.low[i], 10) for i in range(p.n_symbols)])
    lo20 = np.array([talib.MIN(p.low[i], 20) for i in range(p.n_symbols)])
    hits = 0
    for j in range(300, p.n_bars):
        want = {
            p.symbols[i]
            for i in range(p.n_symbols)
            if rsi[i, j] < 30 and adx[i, j] < 25 and (not lower_low or lo10[i, j] <= lo20[i, j])
        }
        got = {e.symbol for e in eng.evaluate_at(j).entries}
        assert got == want, j
        hits += len(got)
    assert hits > 0


def test_exit_rules_time_stop_rotation_and_take_profit(panel) -> None:
    eng = engine(take_profit=True)
    j = C.T - 1
    t = panel.close_time(j)
    four_h = 4 * HOUR_MS
    positions = [
        PositionView("A1USDT", PositionSide.LONG, t - 3 * four_h, 100.0),  # RSI 100: exit_rsi
        PositionView("D1USDT", PositionSide.LONG, t - 11 * four_h, 100.0),  # time stop
        PositionView("B1USDT", PositionSide.LONG, t - 2 * four_h, 100.0),  # bb rotated out
    ]
    ev = eng.evaluate(panel, j, positions)
    why = {x.symbol: set(x.reasons) for x in ev.exits}
    assert {"exit_rsi", "take_profit"} <= why["A1USDT"]
    assert "time_stop" in why["D1USDT"]
    assert "rotation_out" in why["B1USDT"]
    assert "time_stop" not in why["A1USDT"] and "time_stop" not in why["B1USDT"]
    assert next(s for s in ev.sectors if s.sector == "bb").rotated_out
    assert not next(s for s in ev.sectors if s.sector == "aa").rotated_out
    dec = {d.symbol: d for d in ev.decisions}
    assert dec["A1USDT"].action is Action.EXIT
    assert "LAGAUSDT" in {e.symbol for e in ev.entries}  # exits do not block other entries
    # a position suppresses a new entry in the same symbol
    held = eng.evaluate(panel, j, [PositionView("LAGAUSDT", PositionSide.LONG, t - four_h, 90.0)])
    assert held.entries == [] and dec["LAGAUSDT"].action is Action.ENTER_LONG


def test_shorts_are_off_by_default_and_work_when_enabled() -> None:
    p = C.build(c_recent_mu=0.0003)
    off = engine().evaluate(p)
    assert all(e.side is PositionSide.LONG for e in off.entries)
    cfg = StrategyConfig(params=SignalParams(**LOOSE))  # type: ignore[arg-type]
    cfg.shorts.enabled = True
    ev = SignalEngine(resolve(cfg)).evaluate(p)
    cc = next(s for s in ev.sectors if s.sector == "cc")
    assert cc.overheated and cc.accel is not None and cc.accel < 0
    shorts = [e.symbol for e in ev.entries if e.side is PositionSide.SHORT]
    assert shorts == ["C2USDT"]


def test_the_perp_hedge_is_refused_with_its_key_named() -> None:
    # strategy.hedge was journaled but never executed: it is a configuration error now.
    with pytest.raises(ConfigError, match=r"strategy\.hedge: removed") as info:
        load_settings(None, {"strategy.hedge.enabled": True}, environ={})
    assert "portfolio.hedge" in str(info.value)
