"""Per-symbol 1h features at chosen points (STRATEGY.md, layers 1-3, "Universe and data").

Two implementations of the same definitions:
- ``dense``: every point of the window through prefix sums (the backtest's precompute);
- ``sparse``: a handful of points through direct slices (the daemon's live evaluation), so
  its cost does not grow with the window.
The precompute-vs-live agreement test holds them to the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import F64, I64
from bot.signals.params import SignalParams
from bot.signals.series import ffill1, lagged, last_valid_index, prefix, take, window_sum

FUNDING_STALE_H = 24  # a settlement older than this is not a usable "current" funding rate
SPARSE_MAX_POINTS = 32


@dataclass(frozen=True, slots=True)
class WindowData:
    """Raw 1h columns a computation may see (``[S, W]`` views of the panel)."""

    ts: I64
    close: F64
    volume: F64
    f8h: F64  # funding normalised to 8h at settlement bars, NaN elsewhere
    oi: F64

    @staticmethod
    def of(ts: I64, close: F64, volume: F64, funding: F64, interval_h: F64, oi: F64) -> WindowData:
        """Prepare a window from raw panel columns (``F8h = rate · 8 / interval_hours``)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            f8h = funding * 8.0 / interval_h
        return WindowData(ts, close, volume, f8h, oi)


@dataclass(frozen=True, slots=True)
class SymbolFeatures:
    """Features at ``core`` points (returns for RS, eligibility, OI) and at ``at`` points."""

    # at core points [S, n_core]
    eligible: np.ndarray
    r_short: F64
    r_long: F64
    oi_flow: F64
    # at decision points [S, n_at]
    close: F64
    r_gap: F64
    r_regime: F64
    r_breadth: F64
    qv: F64
    sigma: F64
    f8h_last: F64


def max_lookback(p: SignalParams) -> int:
    """Hours of clean history a member needs to be eligible."""
    return max(p.rs_short_h, p.rs_long_h, p.gap_lookback_h, p.vol_lookback_h)


def eligibility(close: F64, pts: I64, p: SignalParams) -> np.ndarray:
    """No gap longer than one bar in ``[t - L, t]`` (after filling at most one bar)."""
    n_look = max_lookback(p) + 1
    if len(pts) == 0:
        return np.zeros((close.shape[0], 0), dtype=bool)
    # Only the columns some window touches (plus one for the fill) are examined.
    lo = max(int(pts.min()) - n_look, 0)
    hi = int(pts.max()) + 1
    nan = np.isnan(close[:, lo:hi])
    unfilled = nan.copy()
    unfilled[:, 1:] &= nan[:, :-1]
    if lo > 0:  # the first column may be filled from the one before it
        unfilled[:, 0] &= np.isnan(close[:, lo - 1])
    # lo > 0 leaves every window whole; lo == 0 keeps absolute indices, so short history
    # still reads as NaN (not eligible).
    counts = window_sum(prefix(unfilled), pts - lo, n_look)
    return np.asarray(counts == 0, dtype=bool)


def heat_means(w: WindowData, pts: I64, p: SignalParams) -> F64:
    """Mean F8h over the last ``heat_window_h`` hours at each point (NaN: no settlement).

    Settlements are sparse in time, so the prefix sums run over settlement columns only.
    """
    n_s = w.f8h.shape[0]
    fin = np.isfinite(w.f8h)
    cols = np.flatnonzero(fin.any(axis=0))
    if len(cols) == 0 or len(pts) == 0:
        return np.full((n_s, len(pts)), np.nan)
    sub = w.f8h[:, cols]
    cnt_cs = prefix(fin[:, cols])
    sum_cs = prefix(sub)
    lo = pts + 1 - p.heat_window_h
    a = np.searchsorted(cols, np.maximum(lo, 0))
    b = np.searchsorted(cols, pts + 1)
    cnt = cnt_cs[:, b] - cnt_cs[:, a]
    tot = sum_cs[:, b] - sum_cs[:, a]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / cnt, np.nan)
    return np.where((lo >= 0)[None, :], mean, np.nan)


def _log_pos(x: F64) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.where(x > 0, x, np.nan))


def _sample_var(s1: F64, s2: F64, n: int) -> F64:
    return np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1)


def dense(w: WindowData, at: I64, p: SignalParams) -> SymbolFeatures:
    """All features at every point of ``at`` via prefix sums (``core`` = ``at``)."""
    logc = _log_pos(ffill1(w.close))
    log_oi = _log_pos(ffill1(w.oi))
    now = take(logc, at)

    def ret(hours: int) -> F64:
        return now - lagged(logc, at, hours)

    r1 = np.diff(logc, axis=1, prepend=np.nan)
    n_v = p.vol_lookback_h
    s1 = window_sum(prefix(r1), at, n_v)
    s2 = window_sum(prefix(r1 * r1), at, n_v)
    last = take(last_valid_index(w.f8h), at)
    fresh = (last >= 0) & (at[None, :] - last < FUNDING_STALE_H)
    f8h_last = np.where(fresh, np.take_along_axis(w.f8h, np.maximum(last, 0), axis=1), np.nan)
    return SymbolFeatures(
        eligible=eligibility(w.close, at, p),
        r_short=ret(p.rs_short_h),
        r_long=ret(p.rs_long_h),
        oi_flow=take(log_oi, at) - lagged(log_oi, at, p.oi_lookback_h),
        close=take(w.close, at),
        r_gap=ret(p.gap_lookback_h),
        r_regime=ret(p.regime_lookback_h),
        r_breadth=ret(p.breadth_lookback_h),
        qv=window_sum(prefix(w.close * w.volume), at, p.regime_volume_h),
        sigma=np.where(at[None, :] >= n_v, np.sqrt(_sample_var(s1, s2, n_v)), np.nan),
        f8h_last=f8h_last,
    )


def _ff1_at(x: F64, pts: I64) -> F64:
    """``ffill1(x)[:, pts]`` without filling the whole array (NaN for negative points)."""
    ok = pts >= 0
    q = np.where(ok, pts, 0)
    cur = x[:, q]
    prev = x[:, np.maximum(q - 1, 0)]
    out = np.where(np.isnan(cur) & (q > 0)[None, :], prev, cur)
    return np.where(ok[None, :], out, np.nan)


def sparse(w: WindowData, core: I64, at: I64, p: SignalParams) -> SymbolFeatures:
    """The same features at a few points through direct slices (``at`` ⊆ ``core``).

    The window statistics only a decision reads (sigma, quote volume, latest funding) are
    computed at the last point; the earlier points serve the sector scores only.
    """
    n_s = w.close.shape[0]

    def logc_at(pts: I64) -> F64:
        return _log_pos(_ff1_at(w.close, pts))

    def ret(pts: I64, hours: int) -> F64:
        return logc_at(pts) - logc_at(pts - hours)

    def log_oi_at(pts: I64) -> F64:
        return _log_pos(_ff1_at(w.oi, pts))

    n_v = p.vol_lookback_h
    sigma = np.full((n_s, len(at)), np.nan)
    qv = np.full((n_s, len(at)), np.nan)
    f8h_last = np.full((n_s, len(at)), np.nan)
    for k, a in list(enumerate(at.tolist()))[-1:]:
        if a - n_v >= 0:
            lo = max(a - n_v - 1, 0)
            seg = _log_pos(ffill1(w.close[:, lo : a + 1]))[:, a - n_v - lo :]
            r1 = np.diff(seg, axis=1)
            r1 = np.where(np.isnan(r1), 0.0, r1)
            sigma[:, k] = np.sqrt(_sample_var(r1.sum(axis=1), (r1 * r1).sum(axis=1), n_v))
        if a + 1 - p.regime_volume_h >= 0:
            cv = (
                w.close[:, a + 1 - p.regime_volume_h : a + 1]
                * w.volume[:, a + 1 - p.regime_volume_h : a + 1]
            )
            qv[:, k] = np.where(np.isnan(cv), 0.0, cv).sum(axis=1)
        recent = w.f8h[:, max(0, a + 1 - FUNDING_STALE_H) : a + 1]
        fin = np.isfinite(recent)
        if recent.shape[1]:
            idx = recent.shape[1] - 1 - np.argmax(fin[:, ::-1], axis=1)
            got = recent[np.arange(n_s), idx]
            f8h_last[:, k] = np.where(fin.any(axis=1), got, np.nan)
    return SymbolFeatures(
        eligible=eligibility(w.close, core, p),
        r_short=ret(core, p.rs_short_h),
        r_long=ret(core, p.rs_long_h),
        oi_flow=log_oi_at(core) - log_oi_at(core - p.oi_lookback_h),
        close=w.close[:, at],
        r_gap=ret(at, p.gap_lookback_h),
        r_regime=ret(at, p.regime_lookback_h),
        r_breadth=ret(at, p.breadth_lookback_h),
        qv=qv,
        sigma=sigma,
        f8h_last=f8h_last,
    )
