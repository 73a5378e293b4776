"""Layers 1 and 2 plus the laggard gap, evaluated at chosen 1h points of a window.

One implementation serves both paths: the backtest evaluates every point of the whole panel;
the live path evaluates only the few points a decision needs. Values at a point ``a`` read
columns ``<= a`` only (STRATEGY.md, "No look-ahead"). Spec sections are cited per quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import F64, HOUR_MS, I64
from bot.signals.features import (
    SPARSE_MAX_POINTS,
    SymbolFeatures,
    WindowData,
    dense,
    heat_means,
    sparse,
)
from bot.signals.params import SignalParams
from bot.signals.series import nanmedian_rows, nanpercentile_last, take, zscore_rows
from bot.signals.universe import Universe

DAY_MS = 24 * HOUR_MS


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
    regime_alts: I64  # alts weighed in the index at each point


def _member_sum(mf: F64, x: np.ndarray) -> F64:
    """``mf @ x`` without BLAS: its worker threads spin for tiny products on a busy host."""
    out: F64 = np.einsum("ks,st->kt", mf, x.astype(np.float64, copy=False))
    return out


def _sector_median(u: Universe, x: F64, mask: np.ndarray) -> F64:
    out = np.full((u.n_sectors, x.shape[1]), np.nan)
    vals = np.where(mask & np.isfinite(x), x, np.nan)
    for k in range(u.n_sectors):
        out[k] = nanmedian_rows(vals[u.member[k]])
    return out


def _regime(u: Universe, s: SymbolFeatures) -> tuple[F64, F64, I64]:
    """Layer 1: alt/BTC index slope (weights ∝ 30d quote volume), breadth, alts weighed."""
    n = s.close.shape[1]
    alts = u.alts[:, None]
    ok = alts & np.isfinite(s.r_regime) & (s.qv > 0)
    n_alts = np.count_nonzero(ok, axis=0).astype(np.int64)
    if u.benchmark < 0:
        return np.full(n, np.nan), np.full(n, np.nan), n_alts
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
    return slope, breadth, n_alts


def day_close_points(ts: I64) -> I64:
    """Window indices of bars that close on a UTC midnight (the heat-history samples)."""
    return np.flatnonzero((ts + HOUR_MS) % DAY_MS == 0).astype(np.int64)


def compute_layers(w: WindowData, at: I64, u: Universe, p: SignalParams) -> Layers:
    """Compute layers 1-3 at window points ``at`` (sorted, unique)."""
    lag_pts = at - p.accel_lag_h
    samples = day_close_points(w.ts)
    if len(at) > SPARSE_MAX_POINTS:
        core = at
        s = dense(w, at, p)
    else:
        core = np.unique(np.concatenate((at, lag_pts[lag_pts >= 0])))
        s = sparse(w, core, at, p)
    ic = np.searchsorted(core, at)  # at -> core columns
    mf = u.member.astype(np.float64)
    elig = s.eligible & u.alts[:, None]
    elig_f = elig.astype(np.float64)
    n_el = _member_sum(mf, elig_f)
    scorable = n_el >= p.min_sector_members

    def sector_mean(r: F64, mask: np.ndarray, n: F64) -> tuple[F64, F64]:
        num = _member_sum(mf, np.where(mask, r, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, num / n, np.nan), num

    def rel(r_sec: F64, ok: np.ndarray) -> F64:
        med = nanmedian_rows(np.where(ok, r_sec, np.nan))
        return np.where(ok, r_sec - med, np.nan)

    # Layer 2 returns: equal-weight member means, relative to the median sector.
    ret_s, _ = sector_mean(s.r_short, elig, n_el)
    rs_s = rel(ret_s, scorable)  # at core points, for the acceleration
    elig_at = elig[:, ic]
    n_at = n_el[:, ic]
    sc = scorable[:, ic]
    ret_l, _ = sector_mean(s.r_long[:, ic], elig_at, n_at)
    rs_l = rel(ret_l, sc)
    # Layer 3 gap: the sector mean leaves coin i out (STRATEGY.md, "Layer 3").
    _, num_gap = sector_mean(s.r_gap, elig_at, n_at)
    sec_of = np.array(u.sector_rows, dtype=np.int64)
    has = sec_of >= 0
    sk = np.where(has, sec_of, 0)
    own = np.where(elig_at, s.r_gap, 0.0)
    others_n = n_at[sk] - elig_at.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (num_gap[sk] - own) / others_n
        gap = np.where(has[:, None] & (others_n > 0), s.r_gap - others, np.nan)
        zgap = gap / (s.sigma * np.sqrt(float(p.gap_lookback_h)))
    oi_sec = _sector_median(u, s.oi_flow[:, ic], elig_at)
    oi_missing = ~np.isfinite(oi_sec)
    oi_sec = np.where(oi_missing, 0.0, oi_sec)  # missing OI contributes 0 (STRATEGY.md)
    # Funding heat at the decision points and at the daily samples of its own history.
    hp = np.unique(np.concatenate((at, samples)))
    f8h_mean_h = heat_means(w, hp, p)
    heat_h = _sector_median(u, f8h_mean_h, np.broadcast_to(u.alts[:, None], f8h_mean_h.shape))
    ih = np.searchsorted(hp, at)
    heat = take(heat_h, ih)
    thr = _heat_threshold(heat_h[:, np.searchsorted(hp, samples)], samples, at, p)
    limit = np.fmax(thr, p.heat_floor_8h)
    overheated = np.isfinite(heat) & (heat > limit)
    rs_s_at = rs_s[:, ic]
    il = np.searchsorted(core, np.maximum(lag_pts, 0))
    accel = np.where(lag_pts[None, :] >= 0, rs_s_at - rs_s[:, il], np.nan)

    def z(x: F64) -> F64:
        return np.nan_to_num(zscore_rows(x, sc & np.isfinite(x)), nan=0.0)

    score = (
        z(rs_s_at)
        + p.w_rs_long * z(rs_l)
        + p.w_accel * z(accel)
        + p.w_oi * z(oi_sec)
        - p.overheat_penalty * overheated
    )
    score = np.where(sc, score, np.nan)
    leader = _leaders(sc & (score > 0) & (rs_s_at > 0) & ~overheated, score, p.n_leaders)
    slope, breadth, n_alts = _regime(u, s)
    return Layers(
        at=at,
        close=s.close,
        eligible=elig_at,
        r_short=s.r_short[:, ic],
        r_gap=s.r_gap,
        gap=gap,
        zgap=zgap,
        sigma=s.sigma,
        f8h_mean=take(f8h_mean_h, ih),
        f8h_last=s.f8h_last,
        oi_flow=s.oi_flow[:, ic],
        members_eligible=n_at,
        scorable=sc,
        ret_short=ret_s[:, ic],
        ret_long=ret_l,
        rs_short=rs_s_at,
        rs_long=rs_l,
        accel=accel,
        oi_sector=oi_sec,
        oi_missing=oi_missing,
        heat=heat,
        heat_threshold=limit,
        overheated=overheated,
        score=score,
        leader=leader,
        alt_btc_slope=slope,
        breadth=breadth,
        regime_alts=n_alts,
    )


def _heat_threshold(h_samp: F64, samples: I64, at: I64, p: SignalParams) -> F64:
    """The sector's own heat percentile over its daily samples of the last year (at ``at``)."""
    n_k = h_samp.shape[0]
    if len(samples) == 0:
        return np.full((n_k, len(at)), np.nan)
    n_hist = p.heat_history_days
    padded = np.concatenate((np.full((n_k, n_hist - 1), np.nan), h_samp), axis=1)
    win = np.lib.stride_tricks.sliding_window_view(padded, n_hist, axis=1)
    last = np.searchsorted(samples, at, side="right") - 1
    need = np.unique(last[last >= 0])  # only the samples some point actually uses
    thr_samp = np.full((n_k, len(samples)), np.nan)
    if len(need):
        thr_samp[:, need] = nanpercentile_last(win[:, need], p.heat_percentile, p.heat_min_days)
    return np.where(last[None, :] >= 0, thr_samp[:, np.maximum(last, 0)], np.nan)


def _leaders(ok: np.ndarray, score: F64, n: int) -> np.ndarray:
    """Top ``n`` sectors by score among those that qualify, at every point."""
    ranked = np.where(ok, score, -np.inf)
    order = np.argsort(-ranked, axis=0, kind="stable")[:n]
    leader = np.zeros_like(ok)
    cols = np.arange(ok.shape[1])
    for r in range(order.shape[0]):
        pick = order[r]
        leader[pick, cols] |= ok[pick, cols]
    return leader
