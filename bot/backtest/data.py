"""Backtest data: one read of the data directory, shared by the simulator and the signals.

The simulator needs the OHLCV grid plus the raw settlement and open-interest stamps; the
signal engine needs the same grid as a :class:`~bot.data.panel.Panel` with funding and OI
placed by the panel's timing convention. Both are built from one ``SimMarket`` so the files
are parsed once and the OHLCV arrays are shared, not copied.

``--to`` truncates in memory after loading: instrument specs (tick, step, tiers), which a
data directory without ``instruments.json`` derives from its files, stay those of the whole
directory, like a venue's static contract specs. Truncating the data therefore changes
nothing that happened before the cut (the no-look-ahead test relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.data.build import _settlement_index, funding_intervals_h
from bot.data.datadir import DataFileError
from bot.data.panel import HOUR_MS, Panel
from bot.sim.market import SimMarket, SymbolSeries


@dataclass(frozen=True, slots=True)
class BacktestData:
    """The replayed market and the signal panel of the chosen universe (same 1h grid)."""

    root: Path
    market: SimMarket
    panel: Panel

    @property
    def n_bars(self) -> int:
        return self.market.n_bars


def cut_market(market: SimMarket, begin_ms: int | None, end_ms: int | None) -> SimMarket:
    """The market holding only bars that open in ``[begin_ms, end_ms)`` (one copy).

    ``end_ms``: as if the data ended there (stamps ``< end_ms``). ``begin_ms``: without the
    warm-up the run never reads; the daemon keeps ``window_hours`` of history and its signals
    match the backtest's with that much (``SignalEngine.window_hours``), so older bars change
    no decision. Symbols with no bar left are dropped.
    """
    k0 = 0 if begin_ms is None else int(np.searchsorted(market.ts, begin_ms, side="left"))
    n = market.n_bars if end_ms is None else int(np.searchsorted(market.ts, end_ms, side="left"))
    if k0 <= 0 and n >= market.n_bars:
        return market
    if n == 0:
        raise DataFileError(Path("--to"), "no bar opens before the end of the range")
    if k0 >= n:
        raise DataFileError(Path("--from"), "no bar opens after the start of the range")
    keep = [
        i
        for i in range(len(market.symbols))
        if int(market.first_idx[i]) < n and int(market.last_idx[i]) >= k0
    ]
    symbols = [market.symbols[i] for i in keep]
    lo = int(market.ts[k0]) - HOUR_MS if k0 > 0 else None  # stamps in the first bar's hour
    hi = end_ms if n < market.n_bars else None
    series = {}
    for s in symbols:
        if s not in market.series:  # the spot candles' rows have no series
            continue
        ser = market.series[s]
        fk = np.ones(len(ser.funding_ts), dtype=bool)
        ok = np.ones(len(ser.oi_ts), dtype=bool)
        if lo is not None:
            fk &= ser.funding_ts > lo
            ok &= ser.oi_ts > lo
        if hi is not None:
            fk &= ser.funding_ts < hi
            ok &= ser.oi_ts < hi
        series[s] = SymbolSeries(
            ser.funding_ts[fk], ser.funding_rate[fk], ser.oi_ts[ok], ser.oi[ok]
        )
    rows = np.asarray(keep, dtype=np.intp)
    return SimMarket(
        symbols=symbols,
        instruments={s: market.instruments[s] for s in symbols if s in market.instruments},
        ts=market.ts[k0:n],
        open=market.open[rows, k0:n],
        high=market.high[rows, k0:n],
        low=market.low[rows, k0:n],
        close=market.close[rows, k0:n],
        volume=market.volume[rows, k0:n],
        series=series,
        first_idx=np.maximum(market.first_idx[rows] - k0, 0),
        last_idx=np.minimum(market.last_idx[rows], n - 1) - k0,
        spot=None if market.spot is None else cut_market(market.spot, begin_ms, end_ms),
    )


def truncate_market(market: SimMarket, end_ms: int) -> SimMarket:
    """The market as if the data ended before ``end_ms`` (bar opens and stamps ``< end_ms``)."""
    return cut_market(market, None, end_ms)


def panel_of(market: SimMarket, symbols: list[str], tags: list[str | None]) -> Panel:
    """The signal panel of ``symbols`` (rows in that order) on the market's grid."""
    rows = np.asarray([market.index[s] for s in symbols], dtype=np.intp)
    ts = market.ts
    o, h, lo, c, v = market.open, market.high, market.low, market.close, market.volume
    if not (len(rows) == len(market.symbols) and bool(np.all(rows == np.arange(len(rows))))):
        o, h, lo, c, v = o[rows], h[rows], lo[rows], c[rows], v[rows]
    # else the same rows in the same order: share the simulator's arrays (both only read them)
    shape = (len(symbols), len(ts))
    funding, interval_h, oi = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    panel = Panel(list(symbols), list(tags), ts.astype(np.int64), o, h, lo, c, v,
                  funding, interval_h, oi)  # fmt: skip
    t0 = int(ts[0])
    n_t = len(ts)
    for i, s in enumerate(symbols):
        ser = market.series[s]
        if len(ser.funding_ts):
            fi = _settlement_index(t0, ser.funding_ts)
            hours = funding_intervals_h(ser.funding_ts)
            keep = (fi >= 0) & (fi < n_t)
            panel.funding[i, fi[keep]] = ser.funding_rate[keep]
            panel.funding_interval_h[i, fi[keep]] = hours[keep]
        if len(ser.oi_ts):
            oj = _settlement_index(t0, ser.oi_ts)
            keep = (oj >= 0) & (oj < n_t)
            panel.oi[i, oj[keep]] = ser.oi[keep]
    return panel


def load_market(root: Path, end_ms: int | None = None, begin_ms: int | None = None) -> SimMarket:
    """Read the data directory (``DataFileError`` names a bad file) and cut it to
    ``[begin_ms, end_ms)`` in one copy (``--to``, and the warm-up before ``--from``)."""
    market = SimMarket.load(root)
    import pyarrow as pa

    # The parquet reader's buffers are garbage now; hand them back before the signals run.
    pa.default_memory_pool().release_unused()
    return cut_market(market, begin_ms, end_ms)


def universe_settings(settings: Settings, root: Path) -> Settings:
    """Settings whose sector map defaults to the data directory's ``sectors.csv``.

    ``universe.sector_map`` wins when set; otherwise a data directory that ships its own map
    (the bundled sample, ``rotor sim generate`` output) is read with it, else the bundled map.
    """
    own = root / "sectors.csv"
    if settings.universe.sector_map is not None or not own.is_file():
        return settings
    universe = settings.universe.model_copy(update={"sector_map": own})
    return settings.model_copy(update={"universe": universe})


def bar_of(market: SimMarket, t_ms: int) -> int:
    """Index of the first bar opening at or after ``t_ms``."""
    return int(np.searchsorted(market.ts, t_ms, side="left"))


def prepare(
    settings: Settings,
    root: Path,
    end_ms: int | None = None,
    *,
    begin_ms: int | None = None,
) -> tuple[Settings, BacktestData]:
    """Load ``root`` once and build the universe panel; returns the effective settings too.

    ``begin_ms`` drops bars opening before it (pass the start minus the warm-up).
    """
    from bot.runtime.build import universe

    market = load_market(root, end_ms, begin_ms)
    effective = universe_settings(settings, root)
    symbols, tags, _ = universe(effective, dict(market.instruments))
    return effective, BacktestData(root, market, panel_of(market, symbols, tags))
