"""``evaluate_at(records=False)`` (the backtest's path) yields exactly the full evaluation's
entries and exits, for every preset, with and without shorts."""

from __future__ import annotations

import random

import pytest

from bot.config import load_settings
from bot.data.build import load_panel
from bot.data.sample import sample_dir
from bot.domain import PositionSide
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import PositionView
from bot.signals.params import PRESETS


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return load_panel(sample_dir())


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("extras", [False, True])
def test_intents_only_equal_the_full_evaluation(panel, preset: str, extras: bool) -> None:  # type: ignore[no-untyped-def]
    over = {"strategy.preset": preset}
    if extras:
        over |= {"strategy.shorts.enabled": True}
    engine = SignalEngine.from_settings(load_settings(None, over, environ={}))
    engine.precompute(panel)
    rnd = random.Random(7)
    acted = 0
    for j in range(300, panel.n_bars, 5):
        held = [
            PositionView(
                sym,
                rnd.choice((PositionSide.LONG, PositionSide.SHORT)),
                int(panel.ts[max(0, j - rnd.randint(0, 80))]),
                100.0,
            )
            for sym in rnd.sample(panel.symbols, rnd.randint(0, 4))
        ]
        pred = {sym: rnd.uniform(-0.001, 0.001) for sym in rnd.sample(panel.symbols, 8)}
        full = engine.evaluate_at(j, held, pred)
        lean = engine.evaluate_at(j, held, pred, records=False)
        assert (lean.entries, lean.exits) == (full.entries, full.exits)
        assert lean.regime == full.regime
        acted += bool(full.entries or full.exits)
    assert acted > 10


@pytest.mark.parametrize("preset", PRESETS)
def test_scalar_reads_equal_the_sliced_views(panel, preset: str) -> None:  # type: ignore[no-untyped-def]
    """A few rows are read value by value, many by slicing: both give the same views."""
    from dataclasses import astuple

    from bot.signals import barviews, decide

    engine = SignalEngine.from_settings(load_settings(None, {"strategy.preset": preset}, {}))
    tables = engine.precompute(panel)
    pred = {panel.symbols[3]: 0.0004}
    checked = 0
    for j in range(300, panel.n_bars, 37):
        ev = decide._BarEvaluation(tables, j, engine.spec, 0.09, (), pred, True)
        sliced = ev.symbols()  # records: every row, one slice per field
        assert len(sliced) > barviews._SCALAR_ROWS
        all_k = tables.universe.sector_rows
        scalar = [ev._scalar_view(v.i, all_k[v.i], lambda i, f: pred.get(panel.symbols[i], f))
                  for v in sliced]  # fmt: skip
        nan_safe = [[None if x != x else x for x in astuple(v)] for v in (*sliced, *scalar)]
        assert nan_safe[: len(sliced)] == nan_safe[len(sliced) :]
        assert [type(x) for x in astuple(sliced[0])] == [type(x) for x in astuple(scalar[0])]
        checked += 1
    assert checked > 10
