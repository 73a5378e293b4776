"""``load_panel``: grid, gaps, funding and OI placement per the Panel timing convention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.data.build import funding_intervals_h, load_panel
from bot.data.datadir import (
    DataFileError,
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.panel import HOUR_MS

H = HOUR_MS
T0 = 1_735_689_600_000  # 2025-01-01T00:00Z


def _ohlcv(hours: list[int]) -> Ohlcv:
    ts = np.array([T0 + h * H for h in hours], dtype=np.int64)
    c = 100.0 + np.arange(len(hours), dtype=np.float64)
    return Ohlcv(ts, c, c + 1, c - 1, c, np.full(len(hours), 5.0))


@pytest.fixture()
def datadir(tmp_path: Path) -> Path:
    write_ohlcv(tmp_path / "ohlcv" / "AAAUSDT.parquet", _ohlcv(list(range(48))))
    # BBB misses hours 10 and 20-21 and starts later
    write_ohlcv(
        tmp_path / "ohlcv" / "BBBUSDT.parquet",
        _ohlcv([h for h in range(5, 48) if h not in (10, 20, 21)]),
    )
    # AAA settles every 8h, then every 4h, then hourly (the interval changes over time)
    settle = [8, 16, 24, 28, 32, 33, 34]
    rates = [0.0008, 0.0008, 0.0008, 0.0004, 0.0004, 0.0001, 0.0001]
    write_funding(
        tmp_path / "funding" / "AAAUSDT.parquet",
        Funding(np.array([T0 + s * H for s in settle], dtype=np.int64), np.array(rates)),
    )
    oi_ts = np.array([T0 + 3 * H, T0 + 3 * H + 1_000, T0 + 7 * H + 30 * 60_000], dtype=np.int64)
    write_open_interest(
        tmp_path / "open_interest" / "AAAUSDT.parquet",
        OpenInterestSeries(oi_ts, np.array([10.0, 11.0, 12.0])),
    )
    (tmp_path / "sectors.csv").write_text("symbol,sector\nAAAUSDT,L1\nBBBUSDT,Meme\n")
    return tmp_path


def test_grid_gaps_and_sectors(datadir: Path) -> None:
    p = load_panel(datadir)
    assert p.symbols == ["AAAUSDT", "BBBUSDT"]
    assert p.sectors == ["l1", "meme"]  # display names normalised to sector ids
    assert p.n_bars == 48 and np.all(np.diff(p.ts) == H) and p.ts[0] == T0
    b = p.index["BBBUSDT"]
    assert np.isnan(p.close[b, :5]).all()
    assert np.isnan(p.close[b, [10, 20, 21]]).all()  # gaps stay NaN: no forward fill
    assert np.isfinite(p.close[b, 11]) and np.isfinite(p.close[b, 22])


def test_funding_lives_at_the_bar_that_closes_at_settlement(datadir: Path) -> None:
    p = load_panel(datadir)
    a = p.index["AAAUSDT"]
    # settlement at 08:00 is known at the close of the 07:00 bar (index 7)
    where = np.flatnonzero(np.isfinite(p.funding[a]))
    assert list(where) == [7, 15, 23, 27, 31, 32, 33]
    assert list(p.funding_interval_h[a, where]) == [8.0, 8.0, 8.0, 4.0, 4.0, 1.0, 1.0]
    f8h = p.funding[a, where] * 8 / p.funding_interval_h[a, where]
    np.testing.assert_allclose(f8h, [0.0008, 0.0008, 0.0008, 0.0008, 0.0008, 0.0008, 0.0008])
    assert np.isnan(p.funding[p.index["BBBUSDT"]]).all()


def test_oi_placement_last_stamp_in_bar_wins(datadir: Path) -> None:
    p = load_panel(datadir)
    a = p.index["AAAUSDT"]
    assert p.oi[a, 2] == 10.0  # stamped 03:00 -> bar 02:00-03:00
    assert p.oi[a, 3] == 11.0  # 03:00:01 -> bar 03:00-04:00
    assert p.oi[a, 7] == 12.0  # 07:30 -> bar 07:00-08:00
    assert np.isfinite(p.oi[a]).sum() == 3


def test_time_bounds_and_symbol_selection(datadir: Path) -> None:
    p = load_panel(datadir, ["BBBUSDT"], start_ms=T0 + 10 * H, end_ms=T0 + 20 * H)
    assert p.symbols == ["BBBUSDT"]
    assert p.ts[0] == T0 + 10 * H and p.ts[-1] == T0 + 19 * H
    # funding settled at exactly the end bound belongs to the last bar; later ones are dropped
    q = load_panel(datadir, ["AAAUSDT"], end_ms=T0 + 8 * H)
    assert q.n_bars == 8 and q.funding[0, 7] == 0.0008 and np.isfinite(q.funding).sum() == 1
    with pytest.raises(DataFileError, match="ZZZUSDT"):
        load_panel(datadir, ["ZZZUSDT"])


def test_funding_interval_rules() -> None:
    s = np.array([0, 8, 16, 20, 24, 40, 48], dtype=np.int64) * H
    # a 16h hole is missing data, not a 16h schedule: the next spacing (8h) is used
    assert list(funding_intervals_h(s)) == [8.0, 8.0, 8.0, 4.0, 4.0, 8.0, 8.0]
    assert list(funding_intervals_h(np.array([5 * H]))) == [8.0]
