"""Synthetic data: deterministic by seed, sane OHLC, funding/OI/sectors present, fat tails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bot.data.check import check_dir
from bot.data.datadir import DataDir
from bot.data.panel import HOUR_MS
from bot.data.sectors import BENCHMARK, SECTOR_NAMES
from bot.data.synthetic import DEFAULT_START_MS, generate


def _tables(root: Path) -> dict[str, pa.Table]:
    return {str(p.relative_to(root)): pq.read_table(p) for p in sorted(root.rglob("*.parquet"))}


def test_deterministic_by_seed(tmp_path: Path) -> None:
    generate(tmp_path / "a", 8, 20, seed=11)
    generate(tmp_path / "b", 8, 20, seed=11)
    generate(tmp_path / "c", 8, 20, seed=12)
    a, b, c = _tables(tmp_path / "a"), _tables(tmp_path / "b"), _tables(tmp_path / "c")
    assert a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)
    assert not a["ohlcv/BTCUSDT.parquet"].equals(c["ohlcv/BTCUSDT.parquet"])
    assert (tmp_path / "a" / "sectors.csv").read_text() == (
        tmp_path / "b" / "sectors.csv"
    ).read_text()


def test_ohlc_sanity_grid_sectors_funding_oi(tmp_path: Path) -> None:
    uni = generate(tmp_path, 25, 60, seed=3, n_sectors=6)
    dd = DataDir(tmp_path)
    assert dd.symbols() == sorted(uni.symbols) and len(uni.symbols) == 25
    sectors = dd.sectors()
    assert sectors["BTCUSDT"] == BENCHMARK
    alts = [s for s in sectors.values() if s != BENCHMARK]
    assert set(alts) <= set(SECTOR_NAMES) and len(set(alts)) == 6
    assert all(alts.count(s) >= 4 for s in set(alts))
    grid = DEFAULT_START_MS + HOUR_MS * np.arange(60 * 24)
    for sym in uni.symbols:
        o = dd.ohlcv(sym)
        assert np.array_equal(o.ts, grid)
        assert (o.high >= np.maximum(o.open, o.close)).all()
        assert (o.low <= np.minimum(o.open, o.close)).all()
        assert (o.low > 0).all() and (o.volume > 0).all()
        assert np.array_equal(o.open[1:], o.close[:-1])
        f = dd.funding(sym)
        assert f is not None and len(f) >= 60 * 3 - 1
        assert set(np.diff(f.ts) // HOUR_MS) <= {4, 8}
        assert np.abs(f.rate).max() <= 0.0075
        oi = dd.open_interest(sym)
        assert oi is not None and (oi.oi > 0).all()
    assert check_dir(tmp_path).exit_code(fail_on_gaps=True) == 0


def test_statistics_are_market_like(tmp_path: Path) -> None:
    uni = generate(tmp_path, 13, 365, seed=5, n_sectors=3)
    dd = DataDir(tmp_path)
    r = np.array([np.diff(np.log(dd.ohlcv(s).close)) for s in uni.symbols])
    # Fat tails: excess kurtosis well above a normal's 0.
    z = (r - r.mean(axis=1, keepdims=True)) / r.std(axis=1, keepdims=True)
    assert np.median((z**4).mean(axis=1) - 3) > 1.0
    # Volatility clustering: |r| is autocorrelated.
    a = np.abs(r[0]) - np.abs(r[0]).mean()
    assert float(a[1:] @ a[:-1] / (a @ a)) > 0.05
    # The market factor: alts correlate with BTC; same-sector pairs more than cross-sector.
    corr = np.corrcoef(r)
    assert np.median(corr[0, 1:]) > 0.3
    same = corr[1, 4]  # alts 1 and 4 share a sector (round-robin over 3 sectors)
    cross = corr[1, 2]
    assert same > cross
    # Funding follows recent returns (positive correlation with the trailing 24h move).
    f = dd.funding(uni.symbols[1])
    assert f is not None
    c = dd.ohlcv(uni.symbols[1]).close
    idx = ((f.ts - DEFAULT_START_MS) // HOUR_MS).astype(int)
    ok = idx >= 25
    r24 = np.log(c[idx[ok] - 1]) - np.log(c[idx[ok] - 25])
    assert np.corrcoef(r24, f.rate[ok])[0, 1] > 0.3
