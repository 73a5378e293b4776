"""Issue #19 item 2: rsi-reversion starts after the history its rules read (27 h), not 40 days.

- A decision does not depend on where the run started: the evaluations a run from the new
  start asks for at and after the old start (40 days in) are the ones a run from the old start
  gives for the same positions, and the other way round.
- The daemon's replay without ``sim.start`` and ``rotor backtest`` without ``--from`` start
  at the same bar and make the same fills.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.backtest.compare import run_compare
from bot.backtest.data import bar_of, prepare, universe_settings
from bot.backtest.metrics import iso
from bot.backtest.result import run_backtest
from bot.backtest.runner import BacktestRunner
from bot.backtest.signals import PrecomputedSignals
from bot.config import Settings, load_settings
from bot.data.panel import HOUR_MS, Panel
from bot.data.sample import sample_dir
from bot.runtime.build import MAX_REPLAY_WARMUP_H
from bot.runtime.lifecycle import open_venue
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation, PositionView
from bot.sim.engine import SimEngine
from tests.integration.backtest.conftest import DAY_MS, SYNTH_START_MS
from tests.integration.backtest.test_replay_equals_backtest import (
    _fills,
    _funding,
    _replay,
    copy_until,
)

SAMPLE_START_MS = 1_763_510_400_000  # 2025-11-19T00:00Z, the bundled sample's first bar
SAMPLE_END_MS = 1_773_878_400_000


class Recording(PrecomputedSignals):
    """The precompute path, keeping every evaluation the run asked for by bar."""

    seen: dict[int, tuple[tuple[PositionView, ...], Evaluation]]

    def evaluate(
        self,
        panel: Panel,
        j: int | None = None,
        positions: Sequence[PositionView] = (),
        predicted_f8h: Mapping[str, float] | None = None,
    ) -> Evaluation:
        ev = super().evaluate(panel, j, positions, predicted_f8h)
        self.__dict__.setdefault("seen", {})[ev.index] = (tuple(positions), ev)
        return ev


def _intents(ev: Evaluation) -> tuple[Any, ...]:
    return (
        [(e.symbol, e.side, e.rank, e.stop_distance, e.size_factor, e.reasons) for e in ev.entries],
        [(x.symbol, x.side, x.reasons) for x in ev.exits],
    )


def _run(settings: Settings, data: Path, start_ms: int | None) -> tuple[Any, Recording]:
    effective, loaded = prepare(settings, data)
    signals = Recording.from_settings(effective)
    runner = BacktestRunner(effective, loaded, start_ms=start_ms, signals=signals)
    return asyncio.run(runner.run()), signals


def _rsi_settings(**over: Any) -> Settings:
    """rsi-reversion without the drawdown and daily-loss kills: the runs trade to the end."""
    base = {"risk.max_drawdown": 1.0, "risk.daily_loss_limit": 1.0}
    return load_settings(None, {"strategy.preset": "rsi-reversion", **base, **over}, environ={})


def test_decisions_from_the_old_start_on_do_not_depend_on_the_start(tmp_path: Path) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", SAMPLE_END_MS)
    settings = _rsi_settings(**{"universe.sector_map": str(data / "sectors.csv")})
    old_start = SAMPLE_START_MS + MAX_REPLAY_WARMUP_H * HOUR_MS
    new, sig_new = _run(settings, data, None)
    old, sig_old = _run(settings, data, old_start)
    assert new.start_ms == SAMPLE_START_MS + 27 * HOUR_MS
    assert old.start_ms == old_start
    # The new start trades in the 40 days the old one waited through.
    early = [e for e in new.engine.executions if e.ts < old_start]
    assert len(early) >= 10

    j_old = bar_of(new.engine.market, old_start)
    compared = 0
    for mine, other in ((sig_new, sig_old), (sig_old, sig_new)):
        for j, (positions, ev) in mine.seen.items():
            if j < j_old:
                continue
            again = other.evaluate_at(j, positions, records=False)
            assert _intents(again) == _intents(ev), j
            compared += 1
    both = sorted(set(sig_new.seen) & set(sig_old.seen))
    assert len(both) > 100 and compared >= 2 * len(both)
    # With no position held, every bar from the old start on: the same entries.
    for j in range(j_old, new.engine.market.n_bars):
        assert _intents(sig_new.evaluate_at(j, records=False)) == _intents(
            sig_old.evaluate_at(j, records=False)
        ), j


def test_replay_without_start_equals_backtest_without_from(tmp_path: Path) -> None:
    end = SAMPLE_START_MS + 14 * 24 * HOUR_MS
    data = copy_until(sample_dir(), tmp_path / "data", end)
    settings = _rsi_settings(
        **{
            "mode": "replay",
            "sim.data_dir": str(data),
            "universe.sector_map": str(data / "sectors.csv"),
            "database.url": f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}",
            "control.enabled": False,
            "logging.level": "WARNING",
        }
    )
    assert settings.sim.start is None
    bundle = open_venue(settings, SignalEngine.from_settings(settings))  # the daemon's call
    assert isinstance(bundle.engine, SimEngine)
    assert bundle.engine.now_ms == SAMPLE_START_MS + 27 * HOUR_MS
    replayed = asyncio.run(_replay(settings))

    effective, loaded = prepare(settings, data)
    out = asyncio.run(BacktestRunner(effective, loaded).run())
    assert out.start_ms == SAMPLE_START_MS + 27 * HOUR_MS
    fills = _fills(replayed)
    # Before the old start (half the 14 days here) the replay already trades.
    assert len([f for f in fills if f[2] < SAMPLE_START_MS + 7 * 24 * HOUR_MS]) >= 4
    assert _fills(out.engine) == fills
    assert _funding(out.engine) == _funding(replayed)
    assert out.engine.equity() == replayed.equity()


def test_compare_runs_every_preset_over_one_window(synth_dir: Path) -> None:
    """``--compare`` puts presets side by side on one window: alone, rsi-reversion starts
    27 h in; beside a preset that reads the layers, where that one starts (half the 45 days)."""

    def settings_for(preset: str) -> Settings:
        base = load_settings(None, {"strategy.preset": preset}, environ={})
        return universe_settings(base, synth_dir)

    alone = run_backtest(settings_for("rsi-reversion"), synth_dir)
    assert alone.summary["start"] == "2024-01-02T03:00:00Z"
    results = run_compare(
        settings_for, ["rsi-reversion", "rotation-reversion"], synth_dir, start_ms=None, end_ms=None
    )
    half = SYNTH_START_MS + (45 * DAY_MS - HOUR_MS) // 2
    assert [r.summary["start"] for r in results] == [iso(half)] * 2


def test_optimize_without_from_starts_where_the_backtest_does(synth_dir: Path) -> None:
    from bot.backtest import optimize
    from bot.commands.backtest_cmd import batch_settings

    report = optimize.run_study(
        lambda o: batch_settings(None, "rsi-reversion", o, command="optimize"),
        "rsi-reversion", synth_dir, trials=1, seed=5,
    )  # fmt: skip
    (fold,) = report["folds"]
    assert fold["train"][0] == SYNTH_START_MS + 27 * HOUR_MS
