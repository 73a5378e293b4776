"""Aggregate 1h columns to 4h / 1d bars on UTC boundaries (STRATEGY.md, "Universe and data").

A higher-timeframe (HTF) bar covers ``tf`` consecutive 1h bars starting at a multiple of
``tf`` hours since the Unix epoch (so 4h bars open at 00, 04, 08 … UTC and 1d bars at 00 UTC).
It becomes usable at the 1h index of its *last* constituent: ``last_complete[j]`` is the HTF
bar a decision at 1h index ``j`` may read (−1 before the first completes). Buckets cut by the
start or end of the grid are not emitted; a bucket with any missing 1h bar is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import F64, HOUR_MS, I64

TIMEFRAME_HOURS: dict[str, int] = {"1h": 1, "4h": 4, "1d": 24}


@dataclass(frozen=True, slots=True)
class HtfBars:
    """OHLCV of complete HTF bars plus the 1h↔HTF index mapping."""

    tf_hours: int
    ts: I64  # [B] HTF bar open times
    open: F64  # [S, B]
    high: F64
    low: F64
    close: F64
    volume: F64
    end_index: I64  # [B] 1h index of each HTF bar's last constituent
    last_complete: I64  # [T] last HTF bar completed at or before 1h index j, -1 if none

    @property
    def n_bars(self) -> int:
        return len(self.ts)


def first_full_offset(ts0: int, tf_hours: int) -> int:
    """1h index of the first bar that starts an HTF bucket on a grid starting at ``ts0``."""
    phase = (ts0 // HOUR_MS) % tf_hours
    return int((tf_hours - phase) % tf_hours)


def completion_indices(ts: I64, tf_hours: int) -> I64:
    """1h indices at which an HTF bar completes (its last constituent)."""
    if len(ts) == 0:
        return np.zeros(0, dtype=np.int64)
    off = first_full_offset(int(ts[0]), tf_hours)
    n_b = max(0, (len(ts) - off) // tf_hours)
    return (off + tf_hours * np.arange(n_b, dtype=np.int64) + tf_hours - 1).astype(np.int64)


def last_complete_map(n_1h: int, end_index: I64) -> I64:
    """For each 1h index, the HTF bar completed at or before it (−1 if none)."""
    j = np.arange(n_1h, dtype=np.int64)
    return (np.searchsorted(end_index, j, side="right") - 1).astype(np.int64)


def aggregate(
    ts: I64,
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    volume: F64,
    tf_hours: int,
    *,
    complete: bool = False,
    with_volume: bool = True,
) -> HtfBars:
    """Aggregate ``[S, T]`` 1h arrays on a regular grid to ``tf_hours`` bars.

    ``complete=True`` promises there is no NaN in ``open_``/``close`` (skips the check);
    ``with_volume=False`` leaves the HTF volume NaN (saves a pass when nothing reads it).
    """
    if tf_hours < 1 or 24 % tf_hours:
        raise ValueError(f"timeframe of {tf_hours}h does not divide a UTC day")
    n_t = close.shape[1]
    ends = completion_indices(ts, tf_hours)
    n_b = len(ends)
    lc = last_complete_map(n_t, ends)
    if tf_hours == 1:
        return HtfBars(1, ts.copy(), open_, high, low, close, volume, ends, lc)
    off = first_full_offset(int(ts[0]), tf_hours) if n_t else 0
    end = off + n_b * tf_hours

    def part(arr: F64, k: int) -> F64:
        # constituent k of every HTF bar: a strided view, no copy
        return arr[:, off + k : end : tf_hours]

    # Reductions as tf-1 elementwise passes over [S, B] (much faster than reducing a short
    # trailing axis); max/min/+ propagate NaN, so any missing constituent poisons the bar.
    h = part(high, 0).copy()
    lo = part(low, 0).copy()
    v = part(volume, 0).copy() if with_volume else np.full(h.shape, np.nan)
    probe = None if complete else part(close, 0) + part(open_, 0)
    for k in range(1, tf_hours):
        np.maximum(h, part(high, k), out=h)
        np.minimum(lo, part(low, k), out=lo)
        if with_volume:
            v += part(volume, k)
        if probe is not None:
            probe += part(close, k) + part(open_, k)
    op = part(open_, 0).copy()
    cl = part(close, tf_hours - 1).copy()
    if probe is not None and bool(np.isnan(probe).any()):
        incomplete = np.isnan(probe)
        for arr in (op, cl, h, lo, v):
            arr[incomplete] = np.nan
    hts = ts[off : off + n_b * tf_hours : tf_hours].copy() if n_b else np.zeros(0, np.int64)
    return HtfBars(tf_hours, hts, op, h, lo, cl, v, ends, lc)
