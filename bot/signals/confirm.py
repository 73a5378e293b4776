"""Entry-timeframe confirmation: RSI/ADX/ATR/EMA on 1h/4h/1d bars and the entry triggers.

STRATEGY.md, "Layer 3" (confirmation), "Exits" and "Presets". All arrays are ``[S, B]`` over
the complete higher-timeframe bars of the window; a value at bar ``b`` reads bars ``<= b``
only, and bar ``b`` is usable from 1h index ``htf.end_index[b]`` on. A divergence pivot at
``p`` is only known at ``p + k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.aggregate import HtfBars, aggregate
from bot.data.panel import F64, I64
from bot.signals import ta
from bot.signals.params import SignalParams
from bot.signals.series import ffill1, nanpercentile_last


@dataclass(frozen=True, slots=True)
class Confirm:
    """Entry-timeframe indicators and trigger flags."""

    htf: HtfBars
    rsi: F64
    adx: F64
    atr: F64
    ema: F64
    threshold: F64  # oversold threshold in force at each bar (fixed or percentile)
    long_trigger: np.ndarray  # cross_up / below, per ``entry_trigger``
    lower_low: np.ndarray
    divergence: np.ndarray
    short_setup: np.ndarray
    tp_level: F64  # highest high of the last ``tp_lookback_bars`` bars, this one included


def _rolling(x: F64, n: int, fn: str) -> F64:
    """Rolling max/min over the last ``n`` bars (NaN until ``n`` bars exist).

    Doubling: windows of 1, 2, 4 … bars are combined, then two overlapping power-of-two
    windows cover ``n`` exactly (max/min are idempotent), so the cost is O(log n) passes.
    """
    op = np.maximum if fn == "max" else np.minimum
    n_b = x.shape[1]
    m = x.copy()
    width = 1
    while width * 2 <= n:
        nxt = m.copy()
        nxt[:, width:] = op(m[:, width:], m[:, :-width]) if width < n_b else m[:, width:]
        nxt[:, : min(width, n_b)] = np.nan
        m, width = nxt, width * 2
    out = m.copy()
    rest = n - width
    if rest:
        out[:, rest:] = op(m[:, rest:], m[:, :-rest]) if rest < n_b else m[:, rest:]
        out[:, : min(rest, n_b)] = np.nan
    out[:, : min(n - 1, n_b)] = np.nan
    return out


def _shift(x: np.ndarray, k: int, fill: float | bool) -> np.ndarray:
    out = np.empty_like(x)
    out[:, :k] = fill
    out[:, k:] = x[:, :-k] if k else x
    return out


def _divergence(low: F64, rsi: F64, k: int, lookback: int) -> np.ndarray:
    """Bullish divergence: of the last two confirmed pivot lows, price lower and RSI higher."""
    n_s, n_b = low.shape
    out = np.zeros((n_s, n_b), dtype=bool)
    if n_b < 2 * k + 1:
        return out
    left = _rolling(low, k, "min")  # min over [p-k+1, p]
    before = _shift(left, 1, np.nan)  # min over [p-k, p-1]
    ahead = _rolling(low[:, ::-1], k, "min")[:, ::-1]  # min over [p, p+k-1]
    after = np.concatenate((ahead[:, 1:], np.full((n_s, 1), np.nan)), axis=1)  # [p+1, p+k]
    with np.errstate(invalid="ignore"):
        pivot = (low < before) & (low <= after)
    for i in range(n_s):
        piv = np.flatnonzero(pivot[i])
        if len(piv) < 2:
            continue
        conf = piv + k  # a pivot is known k bars later
        b = np.arange(n_b)
        m = np.searchsorted(conf, b, side="right") - 1
        ok = m >= 1
        p2 = piv[np.maximum(m, 0)]
        p1 = piv[np.maximum(m - 1, 0)]
        div = (low[i, p2] < low[i, p1]) & (rsi[i, p2] > rsi[i, p1]) & (b - p1 <= lookback)
        out[i] = ok & div
    return out


def compute_confirm(
    ts: I64,
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    volume: F64,
    tf_hours: int,
    p: SignalParams,
    tail: int | None = None,
) -> Confirm:
    """Aggregate the (1-bar filled) 1h window to the entry timeframe and compute the flags.

    No signal reads entry-timeframe volume, so it is not aggregated here.

    ``tail``: the live path needs the percentile threshold for the last few bars only.
    """
    missing = np.isnan(close)
    if missing.any() or np.isnan(open_).any():
        # A single missing hour becomes a flat bar at the previous close (never more).
        c = ffill1(close)
        filled = missing & np.isfinite(c)
        o = np.where(filled, c, open_)
        h = np.where(filled, c, high)
        lo = np.where(filled, c, low)
        htf = aggregate(ts, o, h, lo, c, volume, tf_hours, with_volume=False)
    else:
        htf = aggregate(
            ts, open_, high, low, close, volume, tf_hours, complete=True, with_volume=False
        )
    rsi, adx, atr, ema = ta.panel_indicators(
        htf.high,
        htf.low,
        htf.close,
        p.rsi_period,
        p.adx_period,
        p.atr_period,
        p.ema_period if p.exit_rule == "ema" else None,
    )
    n_s, n_b = htf.close.shape
    if p.rsi_mode == "percentile" and n_b:
        # The asset's own percentile of RSI over its last n bars, this one included.
        n = p.rsi_percentile_bars
        pad = np.concatenate((np.full((n_s, n - 1), np.nan), rsi), axis=1)
        win = np.lib.stride_tricks.sliding_window_view(pad, n, axis=1)
        thr = np.full((n_s, n_b), np.nan)
        first = 0 if tail is None else max(0, n_b - tail)
        thr[:, first:] = nanpercentile_last(win[:, first:], p.rsi_percentile, n)
    else:
        thr = np.full((n_s, n_b), p.rsi_oversold)
    with np.errstate(invalid="ignore"):
        below = rsi < thr
        if p.entry_trigger == "below":
            trig = below
        else:
            was = np.zeros_like(below)
            for k in range(1, p.cross_lookback_bars + 1):
                if k < n_b:
                    was |= _shift(below, k, False)
            trig = (rsi >= thr) & was
        # Rolling extremes only for the options that read them.
        lower_low = np.zeros((n_s, n_b), dtype=bool)
        tp_level = np.full((n_s, n_b), np.nan)
        if n_b and p.require_lower_low:
            ll_long = _rolling(htf.low, p.lower_low_long_bars, "min")
            ll_short = _rolling(htf.low, p.lower_low_short_bars, "min")
            lower_low = (ll_long != ll_short) if p.lower_low_literal else (ll_short <= ll_long)
            lower_low &= np.isfinite(ll_long)
        if n_b and p.take_profit:
            tp_level = _rolling(htf.high, p.tp_lookback_bars, "max")
        short_setup = (rsi > p.rsi_overbought) & (adx < p.adx_max)
    div = (
        _divergence(htf.low, rsi, p.divergence_k, p.divergence_lookback_bars)
        if p.divergence
        else np.zeros((n_s, n_b), dtype=bool)
    )
    return Confirm(htf, rsi, adx, atr, ema, thr, trig, lower_low, div, short_setup, tp_level)
