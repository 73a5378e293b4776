"""Small NaN-aware numpy helpers shared by the signal layers (no warnings, no copies kept)."""

from __future__ import annotations

import numpy as np

from bot.data.panel import F64, I64

B = np.ndarray  # boolean arrays


def ffill1(a: F64) -> F64:
    """Forward-fill at most one bar along the last axis (STRATEGY.md: never more than one)."""
    out = a.copy()
    # Copying a NaN predecessor onto a NaN is a no-op, so only single holes get filled.
    np.copyto(out[..., 1:], a[..., :-1], where=np.isnan(a[..., 1:]))
    return out


def prefix(a: np.ndarray) -> F64:
    """Prefix sums with a leading 0 along the last axis, NaN counted as 0."""
    out = np.empty((*a.shape[:-1], a.shape[-1] + 1), dtype=np.float64)
    out[..., 0] = 0.0
    src = np.where(np.isnan(a), 0.0, a) if a.dtype.kind == "f" else a
    np.cumsum(src, axis=-1, out=out[..., 1:])
    return out


def _as_range(at: I64) -> tuple[int, int] | None:
    """``(first, last)`` when the points are a contiguous ascending range, else None."""
    if len(at) and int(at[-1]) - int(at[0]) + 1 == len(at):
        return int(at[0]), int(at[-1])
    return None


def take(a: np.ndarray, at: I64) -> np.ndarray:
    """``a[..., at]``, as a view when the points are contiguous (the backtest case)."""
    r = _as_range(at)
    return a[..., r[0] : r[1] + 1] if r is not None else a[..., at]


def window_sum(cs: F64, at: I64, length: int) -> F64:
    """Sum over the ``length`` bars ending at each point (inclusive); NaN without history."""
    r = _as_range(at)
    if r is not None:
        a0, a1 = r
        out = np.full((*cs.shape[:-1], a1 - a0 + 1), np.nan)
        first = max(a0, length - 1)  # first point with a full window
        if first <= a1:
            out[..., first - a0 :] = (
                cs[..., first + 1 : a1 + 2] - cs[..., first + 1 - length : a1 + 2 - length]
            )
        return out
    lo = at + 1 - length
    ok = lo >= 0
    res = cs[..., at + 1] - cs[..., np.where(ok, lo, 0)]
    return np.where(ok, res, np.nan)


def lagged(a: F64, at: I64, lag: int) -> F64:
    """``a[..., t - lag]`` at each point (NaN where ``t - lag < 0``)."""
    r = _as_range(at)
    if r is not None:
        a0, a1 = r
        out = np.full((*a.shape[:-1], a1 - a0 + 1), np.nan)
        first = max(a0, lag)
        if first <= a1:
            out[..., first - a0 :] = a[..., first - lag : a1 + 1 - lag]
        return out
    src = at - lag
    ok = src >= 0
    return np.where(ok, a[..., np.where(ok, src, 0)], np.nan)


def last_valid_index(a: F64) -> I64:
    """For each position, the index of the latest finite value at or before it (−1 if none)."""
    n = a.shape[-1]
    idx = np.where(np.isfinite(a), np.arange(n, dtype=np.int64), -1)
    return np.maximum.accumulate(idx, axis=-1)


def nanmedian_rows(x: F64) -> F64:
    """Median over axis 0 ignoring NaN (NaN where a column is all NaN), without warnings."""
    if x.shape[0] == 0:
        return np.full(x.shape[1:], np.nan)
    s = np.sort(x, axis=0)  # NaN sorts last
    n = np.isfinite(s).sum(axis=0)
    lo = np.maximum((n - 1) // 2, 0)
    hi = np.maximum(n // 2, 0)
    cols = np.arange(x.shape[1])
    med = 0.5 * (s[lo, cols] + s[hi, cols])
    return np.where(n > 0, med, np.nan)


def nanpercentile_last(x: F64, q: float, min_count: int = 1) -> F64:
    """Linear-interpolated percentile over the last axis ignoring NaN (numpy's default rule)."""
    s = np.sort(x, axis=-1)
    n = np.isfinite(s).sum(axis=-1)
    pos = (np.maximum(n, 1) - 1) * (q / 100.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    frac = pos - lo
    vlo = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0]
    vhi = np.take_along_axis(s, hi[..., None], axis=-1)[..., 0]
    out = vlo + (vhi - vlo) * frac
    return np.where(n >= min_count, out, np.nan)


def masked_mean_rows(x: F64, mask: B) -> tuple[F64, F64]:
    """(mean, count) over axis 0 of ``x`` where ``mask``; NaN mean where the count is 0."""
    cnt = mask.sum(axis=0).astype(np.float64)
    tot = np.where(mask, x, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1.0), np.nan)
    return mean, cnt


def zscore_rows(x: F64, mask: B) -> F64:
    """Cross-sectional z-score over axis 0 among ``mask`` (population std; 0 when std is 0)."""
    mean, cnt = masked_mean_rows(x, mask)
    dev = np.where(mask, x - mean, 0.0)
    var = (dev * dev).sum(axis=0) / np.maximum(cnt, 1.0)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, dev / np.where(sd > 0, sd, 1.0), 0.0)
    return np.where(mask, z, np.nan)
