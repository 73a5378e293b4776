"""Entry-timeframe triggers: cross_up / below, percentile RSI, divergence, rolling extremes."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from bot.data.panel import HOUR_MS
from bot.signals.confirm import _divergence, _rolling, compute_confirm
from bot.signals.params import SignalParams


def walk(n: int = 3, t: int = 1600, seed: int = 5) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, t)), axis=1))
    o = np.concatenate((c[:, :1], c[:, :-1]), axis=1)
    h = np.maximum(o, c) * 1.002
    lo = np.minimum(o, c) * 0.998
    ts = np.arange(t, dtype=np.int64) * HOUR_MS
    return ts, o, h, lo, c, np.ones_like(c)


def test_cross_up_and_below_follow_their_definitions() -> None:
    ts, o, h, lo, c, v = walk()
    for trig in ("cross_up", "below"):
        p = SignalParams(entry_trigger=trig, rsi_oversold=40.0)  # type: ignore[call-arg]
        cf = compute_confirm(ts, o, h, lo, c, v, 1, p)
        for i in range(c.shape[0]):
            rsi = talib.RSI(c[i], 14)
            for b in range(20, c.shape[1]):
                below = rsi[b] < 40
                was = any(rsi[b - k] < 40 for k in (1, 2, 3))
                want = below if trig == "below" else (rsi[b] >= 40 and was)
                assert bool(cf.long_trigger[i, b]) == want, (trig, i, b)
    assert cf.long_trigger.any()


def test_percentile_threshold_is_the_assets_own_rsi_percentile_and_tail_agrees() -> None:
    ts, o, h, lo, c, v = walk()
    p = SignalParams(rsi_mode="percentile", rsi_percentile=10.0, rsi_percentile_bars=100)  # type: ignore[call-arg]
    full = compute_confirm(ts, o, h, lo, c, v, 4, p)
    tail = compute_confirm(ts, o, h, lo, c, v, 4, p, tail=5)
    n_b = full.rsi.shape[1]
    for i in range(c.shape[0]):
        for b in (n_b - 1, n_b - 3, 200):
            want = np.percentile(full.rsi[i, b - 99 : b + 1], 10)
            assert full.threshold[i, b] == pytest.approx(want, abs=1e-12)
        np.testing.assert_array_equal(full.threshold[i, -5:], tail.threshold[i, -5:])
        np.testing.assert_array_equal(full.long_trigger[i, -1], tail.long_trigger[i, -1])
    assert np.isnan(full.threshold[:, : 100 + 13]).all()  # 100 RSI values needed


def test_rolling_extremes_match_a_sliding_window() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 97))
    x[2, 40] = np.nan
    for n in (1, 2, 3, 10, 20, 33):
        pad = np.concatenate((np.full((4, n - 1), np.nan), x), axis=1)
        win = np.lib.stride_tricks.sliding_window_view(pad, n, axis=1)
        np.testing.assert_array_equal(_rolling(x, n, "max"), win.max(axis=2))
        np.testing.assert_array_equal(_rolling(x, n, "min"), win.min(axis=2))


def test_divergence_needs_k_confirmation_bars_and_is_prefix_invariant() -> None:
    k = 3
    low = np.full((1, 40), 10.0)
    low[0, 10] = 8.0  # first pivot low
    low[0, 20] = 7.0  # lower low in price ...
    rsi = np.full((1, 40), 50.0)
    rsi[0, 10] = 20.0
    rsi[0, 20] = 30.0  # ... with a higher RSI low: bullish divergence
    div = _divergence(low, rsi, k, 30)
    assert not div[0, : 20 + k].any()  # unknown until the second pivot is confirmed
    assert div[0, 20 + k]
    for end in range(25, 40):  # the flag at b never depends on bars after b
        np.testing.assert_array_equal(_divergence(low[:, :end], rsi[:, :end], k, 30), div[:, :end])
    rsi[0, 20] = 15.0  # RSI lower too: no divergence
    assert not _divergence(low, rsi, k, 30).any()
