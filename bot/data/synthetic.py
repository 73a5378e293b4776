"""Synthetic market data for benchmarks at scale (issue #3, "Synthetic data").

Hourly log returns follow a seeded three-factor model::

    r_i,t = β_i · m_t + γ_i · s_sector(i),t + e_i,t

where the market m, each sector s and each idiosyncratic term e is a GARCH(1,1) process driven
by unit-variance Student-t shocks (ν = 4): fat tails and volatility clustering. BTCUSDT is the
benchmark (β = 1, no sector, small idiosyncratic part). Bars are continuous (open = previous
close); high/low extend beyond max/min(open, close) by half-normal wicks scaled by the bar's
volatility. Funding settles every 8h (4h for a share of symbols) at a rate that follows the
last 24h return, clipped to ±0.75% per settlement. Open interest (base units) drifts with
returns and activity. Output is the data-directory format (SIM-VENUE.md).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.data.datadir import (
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS
from bot.data.sectors import BENCHMARK

DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
BENCHMARK_SYMBOL = "BTCUSDT"
NU = 4.0  # Student-t degrees of freedom
FUNDING_CAP = 0.0075

# Sectors in the order they are used, with symbol-name tags.
_SECTOR_TAGS: tuple[tuple[str, str], ...] = (
    ("l1", "LONE"),
    ("defi", "DEFI"),
    ("meme", "MEME"),
    ("ai", "AI"),
    ("l2", "LTWO"),
    ("infra", "INFRA"),
    ("payments", "PAY"),
    ("gaming", "GAME"),
    ("rwa", "RWA"),
    ("privacy", "PRIV"),
    ("exchange", "EXCH"),
    ("pow", "POW"),
)

F = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class SyntheticUniverse:
    """Names and sectors of a generated universe (BTCUSDT first)."""

    symbols: list[str]
    sectors: list[str]


def universe(n_symbols: int, n_sectors: int = 6) -> SyntheticUniverse:
    """BTCUSDT plus ``n_symbols - 1`` alts dealt round-robin into ``n_sectors`` sectors."""
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be >= 1, got {n_symbols}")
    if not 1 <= n_sectors <= len(_SECTOR_TAGS):
        raise ValueError(f"n_sectors must be in [1, {len(_SECTOR_TAGS)}], got {n_sectors}")
    symbols, sectors = [BENCHMARK_SYMBOL], [BENCHMARK]
    counts = [0] * n_sectors
    for k in range(n_symbols - 1):
        j = k % n_sectors
        counts[j] += 1
        sector, tag = _SECTOR_TAGS[j]
        symbols.append(f"{tag}{counts[j]:02d}USDT")
        sectors.append(sector)
    return SyntheticUniverse(symbols, sectors)


def _t_shocks(rng: np.random.Generator, shape: tuple[int, ...]) -> F:
    """Student-t(ν) draws rescaled to unit variance."""
    return np.asarray(rng.standard_t(NU, size=shape) * np.sqrt((NU - 2) / NU), dtype=np.float64)


def _garch(z: F, target_vol: F, alpha: float = 0.08, beta: float = 0.9) -> tuple[F, F]:
    """GARCH(1,1) paths for shocks ``z`` [T, K]; returns (returns, conditional vol)."""
    t_len, k = z.shape
    var_target = target_vol**2
    omega = var_target * (1 - alpha - beta)
    var = var_target.copy()
    r = np.empty((t_len, k))
    vol = np.empty((t_len, k))
    for t in range(t_len):
        s = np.sqrt(var)
        vol[t] = s
        r[t] = s * z[t]
        var = omega + alpha * r[t] ** 2 + beta * var
    return r, vol


def generate(
    out: Path,
    n_symbols: int,
    days: int,
    seed: int,
    n_sectors: int = 6,
    start_ms: int = DEFAULT_START_MS,
    funding_4h_share: float = 0.2,
) -> SyntheticUniverse:
    """Write a synthetic data directory to ``out``; the same seed gives identical files."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if start_ms % HOUR_MS:
        raise ValueError(f"start_ms must be on the hour, got {start_ms}")
    uni = universe(n_symbols, n_sectors)
    rng = np.random.default_rng(seed)
    n, t_len = len(uni.symbols), days * 24
    ts = start_ms + HOUR_MS * np.arange(t_len, dtype=np.int64)

    # Factor returns [T] and [T, n_sectors], idiosyncratic [T, n]; hourly vols.
    mkt, mkt_vol = _garch(_t_shocks(rng, (t_len, 1)), np.array([0.006]))
    sec, sec_vol = _garch(_t_shocks(rng, (t_len, n_sectors)), np.full(n_sectors, 0.004))
    idio_target = np.exp(rng.uniform(np.log(0.003), np.log(0.012), n))
    idio_target[0] = 0.002
    idio, idio_vol = _garch(_t_shocks(rng, (t_len, n)), idio_target)

    beta = rng.uniform(0.8, 1.5, n)
    gamma = rng.uniform(0.6, 1.2, n)
    beta[0], gamma[0] = 1.0, 0.0
    sec_idx = np.array([0] + [k % n_sectors for k in range(n - 1)])
    r = mkt * beta + sec[:, sec_idx] * gamma + idio  # [T, n]
    vol = np.sqrt((mkt_vol * beta) ** 2 + (sec_vol[:, sec_idx] * gamma) ** 2 + idio_vol**2)

    p0 = np.exp(rng.uniform(np.log(0.05), np.log(300.0), n))
    p0[0] = 42_000.0
    log_close = np.log(p0) + np.cumsum(r, axis=0)
    close = np.exp(log_close)
    open_ = np.vstack([p0[None, :], close[:-1]])
    wick_hi = np.abs(rng.standard_normal((t_len, n))) * 0.6 * vol
    wick_lo = np.abs(rng.standard_normal((t_len, n))) * 0.6 * vol
    high = np.maximum(open_, close) * np.exp(wick_hi)
    low = np.minimum(open_, close) * np.exp(-wick_lo)

    quote_vol = np.exp(rng.uniform(np.log(2e5), np.log(2e7), n))
    quote_vol[0] = 1.5e9 / 24
    activity = 1.0 + 2.0 * np.abs(r) / np.maximum(vol, 1e-12)
    volume = quote_vol * activity * np.exp(0.3 * rng.standard_normal((t_len, n))) / close

    # Open interest: log level follows returns plus noise, mean-reverting to its start.
    oi_usd0 = quote_vol * 24 * rng.uniform(0.5, 2.0, n)
    d_log_oi = 0.5 * r + 0.004 * rng.standard_normal((t_len, n))
    log_oi = np.empty((t_len, n))
    level = np.zeros(n)
    for t in range(t_len):
        level = 0.995 * level + d_log_oi[t]
        log_oi[t] = level
    oi = oi_usd0 / p0 * np.exp(log_oi)

    # Funding follows the last 24h return (crowded longs pay), plus noise; capped.
    r24 = log_close - np.vstack([np.full((24, n), np.log(p0)), log_close[:-24]])[:t_len]
    interval_h = np.where(rng.uniform(size=n) < funding_4h_share, 4, 8)
    interval_h[0] = 8
    f8h = 0.0001 + 0.003 * r24 + 0.00003 * rng.standard_normal((t_len, n))

    out.mkdir(parents=True, exist_ok=True)

    def write(i: int) -> None:
        sym = uni.symbols[i]
        write_ohlcv(
            out / "ohlcv" / f"{sym}.parquet",
            Ohlcv(ts, open_[:, i], high[:, i], low[:, i], close[:, i], volume[:, i]),
        )
        # A settlement at hour h uses the return known at h (bar h-1 closed at h).
        step = int(interval_h[i])
        idx = np.arange(step, t_len, step)
        rate = np.clip(f8h[idx - 1, i] * step / 8, -FUNDING_CAP, FUNDING_CAP)
        write_funding(out / "funding" / f"{sym}.parquet", Funding(ts[idx], rate))
        write_open_interest(
            out / "open_interest" / f"{sym}.parquet", OpenInterestSeries(ts, oi[:, i])
        )

    # Parquet encoding releases the GIL; threads make the writes (most of the time) parallel.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(write, range(n)))
    lines = ["symbol,sector"] + [
        f"{s},{sec}" for s, sec in zip(uni.symbols, uni.sectors, strict=True)
    ]
    (out / "sectors.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return uni
