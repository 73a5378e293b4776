"""Layers 1 and 2 plus the laggard gap, evaluated at chosen 1h points of a window.

One implementation serves both paths: the backtest evaluates every point of the whole panel;
the live path evaluates only the few points a decision needs. Values at a point ``a`` read
columns ``<= a`` only (STRATEGY.md, "No look-ahead"). Spec sections are cited per quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import F64, HOUR_MS, I64
from bot.signals.params import SignalParams
from bot.signals.series import (
    ffill1,
    lagged,
    last_valid_index,
    nanmedian_rows,
    nanpercentile_last,
    prefix,
    take,
    window_sum,
    zscore_rows,
)
from bot.signals.universe import Universe

DAY_MS = 24 * HOUR_MS
FUNDING_STALE_H = 24  # a settlement older than this is not a usable "current" funding rate


@dataclass(frozen=True, slots=True)
class WindowData:
    """The 1h columns a computation may see (``[S, W]`` views), already at most 1-bar filled."""

    ts: I64
    close: F64  # raw (NaN where the bar is missing)
    close_f: F64  # forward-filled by at most one bar
    volume: F64
    f8h: F64  # funding normalised to 8h at settlement bars, NaN elsewhere
    oi_f: F64

    @staticmethod
    def of(ts: I64, close: F64, volume: F64, funding: F64, interval_h: F64, oi: F64) -> WindowData:
        """Prepare a window from raw panel columns."""
        with np.errstate(invalid="ignore", divide="ignore"):
            f8h = funding * 8.0 / interval_h
        return WindowData(ts, close, ffill1(close), volume, f8h, ffill1(oi))


@dataclass(frozen=True, slots=True)
class Layers:
    """Everything of layers 1-3 (bar the entry-timeframe confirmation) at points ``at``."""

    at: I64  # window indices
    # symbols [S, n]
    close: F64
    eligible: np.ndarray
    r_short: F64
    r_gap: F64
    gap: F64
    zgap: F64
    sigma: F64
    f8h_mean: F64
    f8h_last: F64
    oi_flow: F64
    # sectors [K, n]
    members_eligible: F64
    scorable: np.ndarray
    ret_short: F64
    ret_long: F64
    rs_short: F64
    rs_long: F64
    accel: F64
    oi_sector: F64
    oi_missing: np.ndarray
    heat: F64
    heat_threshold: F64
    overheated: np.ndarray
    score: F64
    leader: np.ndarray
    # regime [n]
    alt_btc_slope: F64
    breadth: F64


@dataclass(frozen=True, slots=True)
class _Sym:
    close: F64
    close_f: F64
    eligible: np.ndarray
    r_short: F64
    r_long: F64
    r_gap: F64
    r_regime: F64
    r_breadth: F64
    qv: F64
    sigma: F64
    f8h_mean: F64
    f8h_last: F64
    oi_flow: F64


def _symbol_features(w: WindowData, pts: I64, p: SignalParams) -> _Sym:
    """Per-symbol 1h features at ``pts`` (STRATEGY.md layers 2-3, "Universe and data")."""
    with np.errstate(invalid="ignore", divide="ignore"):
        logc = np.log(w.close_f)
        log_oi = np.log(np.where(w.oi_f > 0, w.oi_f, np.nan))
    now = take(logc, pts)

    def ret(hours: int) -> F64:
        return now - lagged(logc, pts, hours)

    l_max = max(p.rs_short_h, p.rs_long_h, p.gap_lookback_h, p.vol_lookback_h)
    bad = prefix(np.isnan(w.close_f).astype(np.float64))
    eligible = window_sum(bad, pts, l_max + 1) == 0
    r1 = np.diff(logc, axis=1, prepend=np.nan)
    n_v = p.vol_lookback_h
    s1 = window_sum(prefix(r1), pts, n_v)
    s2 = window_sum(prefix(r1 * r1), pts, n_v)
    var = np.maximum(s2 - s1 * s1 / n_v, 0.0) / (n_v - 1)  # sample variance
    cnt_f = window_sum(prefix(np.isfinite(w.f8h).astype(np.float64)), pts, p.heat_window_h)
    sum_f = window_sum(prefix(w.f8h), pts, p.heat_window_h)
    with np.errstate(invalid="ignore", divide="ignore"):
        f8h_mean = np.where(cnt_f > 0, sum_f / cnt_f, np.nan)
    last = take(last_valid_index(w.f8h), pts)
    fresh = (last >= 0) & (pts[None, :] - last < FUNDING_STALE_H)
    f8h_last = np.where(fresh, np.take_along_axis(w.f8h, np.maximum(last, 0), axis=1), np.nan)
    qv = window_sum(prefix(w.close * w.volume), pts, p.regime_volume_h)
    return _Sym(
        close=take(w.close, pts),
        close_f=take(w.close_f, pts),
        eligible=eligible,
        r_short=ret(p.rs_short_h),
        r_long=ret(p.rs_long_h),
        r_gap=ret(p.gap_lookback_h),
        r_regime=ret(p.regime_lookback_h),
        r_breadth=ret(p.breadth_lookback_h),
        qv=qv,
        sigma=np.sqrt(var),
        f8h_mean=f8h_mean,
        f8h_last=f8h_last,
        oi_flow=take(log_oi, pts) - lagged(log_oi, pts, p.oi_lookback_h),
    )


def _sector_median(u: Universe, x: F64, mask: np.ndarray) -> F64:
    out = np.full((u.n_sectors, x.shape[1]), np.nan)
    vals = np.where(mask & np.isfinite(x), x, np.nan)
    for k in range(u.n_sectors):
        out[k] = nanmedian_rows(vals[u.member[k]])
    return out


def _regime(u: Universe, s: _Sym) -> tuple[F64, F64]:
    """Layer 1: alt/BTC index slope (weights ∝ 30d quote volume) and breadth."""
    n = s.close.shape[1]
    if u.benchmark < 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    alts = u.alts[:, None]
    ok = alts & np.isfinite(s.r_regime) & (s.qv > 0)
    wts = np.where(ok, s.qv, 0.0)
    tot = wts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alt_ret = (wts * np.where(ok, s.r_regime, 0.0)).sum(axis=0) / tot
    slope = np.where(tot > 0, alt_ret - s.r_regime[u.benchmark], np.nan)
    okb = alts & np.isfinite(s.r_breadth)
    beats = okb & (s.r_breadth > s.r_breadth[u.benchmark][None, :])
    nb = okb.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        breadth = np.where(
            (nb > 0) & np.isfinite(s.r_breadth[u.benchmark]), beats.sum(axis=0) / nb, np.nan
        )
    return slope, breadth


def day_close_points(ts: I64) -> I64:
    """Window indices of bars that close on a UTC midnight (the heat-history samples)."""
    return np.flatnonzero((ts + HOUR_MS) % DAY_MS == 0).astype(np.int64)


def compute_layers(w: WindowData, at: I64, u: Universe, p: SignalParams) -> Layers:
    """Compute layers 1-3 at window points ``at`` (sorted, unique)."""
    samples = day_close_points(w.ts)
    lag_pts = at - p.accel_lag_h
    pts = np.unique(np.concatenate((at, lag_pts[lag_pts >= 0], samples)))
    s = _symbol_features(w, pts, p)
    mf = u.member.astype(np.float64)
    elig = s.eligible & u.alts[:, None]
    elig_f = elig.astype(np.float64)
    n_el = mf @ elig_f
    scorable = n_el >= p.min_sector_members

    def sector_mean(r: F64) -> tuple[F64, F64]:
        num = mf @ np.where(elig, r, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n_el > 0, num / n_el, np.nan), num

    def rel(r_sec: F64) -> F64:
        med = nanmedian_rows(np.where(scorable, r_sec, np.nan))
        return np.where(scorable, r_sec - med, np.nan)

    ret_s, _ = sector_mean(s.r_short)
    ret_l, _ = sector_mean(s.r_long)
    _, num_gap = sector_mean(s.r_gap)
    rs_s, rs_l = rel(ret_s), rel(ret_l)
    # Layer 3 gap: the sector mean leaves coin i out (STRATEGY.md, "Layer 3").
    sec_of = np.array([u.sector_index(i) for i in range(len(u.symbols))], dtype=np.int64)
    has = sec_of >= 0
    sk = np.where(has, sec_of, 0)
    own = np.where(elig, s.r_gap, 0.0)
    others_n = n_el[sk] - elig_f
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (num_gap[sk] - own) / others_n
        gap = np.where(has[:, None] & (others_n > 0), s.r_gap - others, np.nan)
        zgap = gap / (s.sigma * np.sqrt(float(p.gap_lookback_h)))
    oi_sec = _sector_median(u, s.oi_flow, elig)
    heat = _sector_median(u, s.f8h_mean, u.alts[:, None] & np.ones_like(elig))
    # Heat threshold: percentile of the sector's daily heat samples over the last year.
    sample_pos = np.searchsorted(pts, samples)
    h_samp = heat[:, sample_pos]
    n_hist = p.heat_history_days
    if len(samples):
        padded = np.concatenate((np.full((u.n_sectors, n_hist - 1), np.nan), h_samp), axis=1)
        win = np.lib.stride_tricks.sliding_window_view(padded, n_hist, axis=1)
        thr_samp = nanpercentile_last(win, p.heat_percentile, p.heat_min_days)
    else:
        thr_samp = np.zeros((u.n_sectors, 0))
    # Keep only what ``at`` needs from here on.
    ia = np.searchsorted(pts, at)
    last_sample = np.searchsorted(samples, at, side="right") - 1
    thr = (
        np.where(last_sample[None, :] >= 0, thr_samp[:, np.maximum(last_sample, 0)], np.nan)
        if len(samples)
        else np.full((u.n_sectors, len(at)), np.nan)
    )
    heat_at = take(heat, ia)
    limit = np.fmax(thr, p.heat_floor_8h)
    overheated = np.isfinite(heat_at) & (heat_at > limit)
    sc = take(scorable, ia)
    rs_s_at = take(rs_s, ia)
    il = np.searchsorted(pts, np.maximum(lag_pts, 0))
    accel = np.where(lag_pts[None, :] >= 0, rs_s_at - rs_s[:, il], np.nan)
    oi_at = take(oi_sec, ia)
    oi_missing = ~np.isfinite(oi_at)
    oi_at = np.where(oi_missing, 0.0, oi_at)  # missing OI contributes 0 (STRATEGY.md)

    def z(x: F64) -> F64:
        return np.nan_to_num(zscore_rows(x, sc & np.isfinite(x)), nan=0.0)

    score = (
        z(rs_s_at)
        + p.w_rs_long * z(take(rs_l, ia))
        + p.w_accel * z(accel)
        + p.w_oi * z(oi_at)
        - p.overheat_penalty * overheated
    )
    score = np.where(sc, score, np.nan)
    ok = sc & (score > 0) & (rs_s_at > 0) & ~overheated
    ranked = np.where(ok, score, -np.inf)
    order = np.argsort(-ranked, axis=0, kind="stable")[: p.n_leaders]
    leader = np.zeros_like(ok)
    for r in range(order.shape[0]):
        cols = np.arange(len(at))
        pick = order[r]
        leader[pick, cols] |= ok[pick, cols]
    slope, breadth = _regime(u, s)
    return Layers(
        at=at,
        close=take(s.close, ia),
        eligible=take(elig, ia),
        r_short=take(s.r_short, ia),
        r_gap=take(s.r_gap, ia),
        gap=take(gap, ia),
        zgap=take(zgap, ia),
        sigma=take(s.sigma, ia),
        f8h_mean=take(s.f8h_mean, ia),
        f8h_last=take(s.f8h_last, ia),
        oi_flow=take(s.oi_flow, ia),
        members_eligible=take(n_el, ia),
        scorable=sc,
        ret_short=take(ret_s, ia),
        ret_long=take(ret_l, ia),
        rs_short=rs_s_at,
        rs_long=take(rs_l, ia),
        accel=accel,
        oi_sector=oi_at,
        oi_missing=oi_missing,
        heat=heat_at,
        heat_threshold=limit,
        overheated=overheated,
        score=score,
        leader=leader,
        alt_btc_slope=take(slope, ia),
        breadth=take(breadth, ia),
    )
