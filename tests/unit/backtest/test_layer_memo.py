"""A warm optimiser worker computes the signal layers once per window, not once per trial."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from bot.config import load_settings
from bot.data.build import load_panel
from bot.data.sample import sample_dir
from bot.signals.engine import LayerMemo, SignalEngine


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return load_panel(sample_dir())


def _engine(memo: LayerMemo | None, **params: object) -> SignalEngine:
    over = {"strategy.preset": "rsi-reversion"}
    over |= {f"strategy.params.{k}": v for k, v in params.items()}
    return SignalEngine.from_settings(load_settings(None, over, environ={}), memo=memo)


def _same_layers(a, b) -> None:  # type: ignore[no-untyped-def]
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_trials_that_vary_confirmation_and_exits_share_the_layers(panel) -> None:  # type: ignore[no-untyped-def]
    memo = LayerMemo()
    first = _engine(memo, rsi_oversold=25.0, exit_rsi=50.0).precompute(panel)
    other = _engine(memo, rsi_oversold=31.0, exit_rsi=60.0, adx_max=20.0)
    tables = other.precompute(panel)
    assert memo.hits == 1 and tables.layers is first.layers
    fresh = _engine(None, rsi_oversold=31.0, exit_rsi=60.0, adx_max=20.0)
    fresh.precompute(panel)
    _same_layers(tables.layers, fresh.precompute(panel).layers)
    for j in range(400, panel.n_bars, 97):  # same decisions as an engine without the memo
        assert other.evaluate_at(j).decisions == fresh.evaluate_at(j).decisions


def test_a_parameter_the_layers_read_computes_them_again(panel) -> None:  # type: ignore[no-untyped-def]
    memo = LayerMemo()
    base = _engine(memo).precompute(panel)
    longer = _engine(memo, rs_short_h=72).precompute(panel)
    assert memo.hits == 0 and longer.layers is not base.layers
    _same_layers(longer.layers, _engine(None, rs_short_h=72).precompute(panel).layers)
    assert not np.array_equal(longer.layers.rs_short, base.layers.rs_short, equal_nan=True)
    other_panel = load_panel(sample_dir())  # another window: never served from the memo
    assert _engine(memo).precompute(other_panel).layers is not base.layers
