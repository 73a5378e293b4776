"""Typed wrappers around TA-Lib (RSI, ADX, ATR, EMA), NaN-gap aware.

TA-Lib's recursions (Wilder smoothing, EMA) turn one NaN into NaN for the rest of the series.
These wrappers run TA-Lib separately on every run of finite input, so a data hole restarts
the warm-up instead of poisoning everything after it. On gap-free input they return exactly
TA-Lib's output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import talib

from bot.data.panel import F64


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True."""
    if valid.size == 0:
        return []
    v = valid.astype(np.int8)
    edges = np.diff(np.concatenate(([0], v, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _segmented(fn: Callable[..., F64], *series: F64) -> F64:
    out = np.full(series[0].shape, np.nan, dtype=np.float64)
    valid = np.ones(series[0].shape, dtype=bool)
    for s in series:
        valid &= np.isfinite(s)
    if bool(valid.all()):
        return np.asarray(fn(*series), dtype=np.float64)
    for a, b in _runs(valid):
        out[a:b] = fn(*(s[a:b] for s in series))
    return out


def rsi(close: F64, period: int = 14) -> F64:
    """TA-Lib RSI (Wilder); first value at index ``period``."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    return _segmented(lambda x: talib.RSI(x, timeperiod=period), c)


def adx(high: F64, low: F64, close: F64, period: int = 14) -> F64:
    """TA-Lib ADX (Wilder); first value at index ``2 * period - 1``."""
    h, lo, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close))
    return _segmented(lambda x, y, z: talib.ADX(x, y, z, timeperiod=period), h, lo, c)


def atr(high: F64, low: F64, close: F64, period: int = 14) -> F64:
    """TA-Lib ATR (Wilder); first value at index ``period``."""
    h, lo, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close))
    return _segmented(lambda x, y, z: talib.ATR(x, y, z, timeperiod=period), h, lo, c)


def ema(close: F64, period: int = 20) -> F64:
    """TA-Lib EMA (seeded with the SMA of the first ``period`` values)."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    return _segmented(lambda x: talib.EMA(x, timeperiod=period), c)


def rows(fn: Callable[..., F64], *arrays: F64) -> F64:
    """Apply a 1-D indicator to every row of ``[S, T]`` arrays."""
    out = np.full(arrays[0].shape, np.nan, dtype=np.float64)
    for i in range(arrays[0].shape[0]):
        out[i] = fn(*(a[i] for a in arrays))
    return out


def panel_indicators(
    high: F64, low: F64, close: F64, rsi_n: int, adx_n: int, atr_n: int, ema_n: int | None
) -> tuple[F64, F64, F64, F64]:
    """RSI, ADX, ATR and EMA for every row of ``[S, B]`` bars (EMA all-NaN when ``ema_n`` is None).

    Rows without missing values go straight to TA-Lib (the common case, and the fast one);
    rows with holes take the per-segment path.
    """
    shape = close.shape
    r, d, a, e = (np.full(shape, np.nan, dtype=np.float64) for _ in range(4))
    clean = np.asarray((np.isfinite(high) & np.isfinite(low) & np.isfinite(close)).all(axis=1))
    for i in range(shape[0]):
        h = np.ascontiguousarray(high[i])
        lo = np.ascontiguousarray(low[i])
        c = np.ascontiguousarray(close[i])
        if clean[i]:
            r[i] = talib.RSI(c, timeperiod=rsi_n)
            d[i] = talib.ADX(h, lo, c, timeperiod=adx_n)
            a[i] = talib.ATR(h, lo, c, timeperiod=atr_n)
            if ema_n is not None:
                e[i] = talib.EMA(c, timeperiod=ema_n)
        else:
            r[i] = rsi(c, rsi_n)
            d[i] = adx(h, lo, c, adx_n)
            a[i] = atr(h, lo, c, atr_n)
            if ema_n is not None:
                e[i] = ema(c, ema_n)
    return r, d, a, e
