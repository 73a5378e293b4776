"""Immutable replay data for the simulator: every symbol on one global 1h grid (SIM-VENUE.md).

``ts[k]`` is the open time of bar k on the grid shared by all symbols; OHLCV arrays are
``[S, T]`` float64 and NaN wherever a symbol has no bar (before listing, after delisting, gaps).
Funding settlements and open interest stay sparse per symbol because they are only looked up
for symbols a caller asks about (per-bar work must not scale with the universe).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.data.datadir import DataDir, DataFileError
from bot.data.panel import F64, HOUR_MS, I64
from bot.data.schema import fmt_ms
from bot.data.spotfiles import load_spot
from bot.domain import Instrument
from bot.sim.instrument_file import default_instrument, parse_instrument
from bot.sim.instruments import InstrumentEvent, load_events


@dataclass(frozen=True, slots=True)
class SymbolSeries:
    """Sparse per-symbol series: funding settlements and open interest (ts ascending)."""

    funding_ts: I64
    funding_rate: F64
    oi_ts: I64
    oi: F64


@dataclass(frozen=True, slots=True)
class FastSeries:
    """Per-symbol lookups for per-request calls (funding: ``bot.sim.funding``); hourly open
    interest stays in its arrays, which are 5x smaller than lists."""

    oi_ts: I64
    oi: F64
    tick: float
    decimals: int
    vol_decimals: int  # decimals of the data's volumes: sums are printed without float noise


def _decimals(values: F64, most: int = 8) -> int:
    """The fewest decimals that write every value exactly (``most`` at most)."""
    v = values[np.isfinite(values)][:1000]
    for k in range(most + 1):
        scaled = v * 10.0**k
        if np.allclose(scaled, np.round(scaled), rtol=0.0, atol=1e-6):
            return k
    return most


def _empty_i64() -> I64:
    return np.zeros(0, dtype=np.int64)


def _empty_f64() -> F64:
    return np.zeros(0, dtype=np.float64)


def _spot_market(dd: DataDir, perps: list[str], ts: I64) -> SimMarket | None:
    """The spot files of ``perps``' markets on the perpetuals' grid ``ts`` (rows outside it
    are left out: a spot market exists while its perpetual's data does)."""
    files = load_spot(dd, perps)
    if not files:
        return None
    names = sorted(files)
    shape = (len(names), len(ts))
    arrays = {n: np.full(shape, np.nan) for n in ("open", "high", "low", "close", "volume")}
    first = np.zeros(len(names), dtype=np.int64)
    last = np.zeros(len(names), dtype=np.int64)
    for i, s in enumerate(names):
        o = files[s][1]
        inside = (o.ts >= ts[0]) & (o.ts <= ts[-1])
        if not bool(inside.any()):
            raise DataFileError(
                dd.root / "spot" / f"{s}.parquet",
                f"no rows within the perpetuals' hours ({fmt_ms(int(ts[0]))} to "
                f"{fmt_ms(int(ts[-1]))})",
            )
        col = (o.ts[inside] - ts[0]) // HOUR_MS
        for n in arrays:
            arrays[n][i, col] = getattr(o, n)[inside]
        first[i], last[i] = int(col[0]), int(col[-1])
    return SimMarket(
        symbols=names, instruments={}, ts=ts, open=arrays["open"], high=arrays["high"],
        low=arrays["low"], close=arrays["close"], volume=arrays["volume"], series={},
        first_idx=first, last_idx=last,
    )  # fmt: skip


@dataclass(frozen=True)
class SimMarket:
    """Replay data on one global 1h grid; build with ``SimMarket.load``."""

    symbols: list[str]
    instruments: dict[str, Instrument]
    ts: I64  # [T] bar open times
    open: F64  # [S, T]
    high: F64
    low: F64
    close: F64
    volume: F64
    series: dict[str, SymbolSeries]
    first_idx: I64  # [S] first bar with data
    last_idx: I64  # [S] last bar with data
    index: dict[str, int] = field(default_factory=dict)
    events: list[InstrumentEvent] = field(default_factory=list)  # instrument_events.json
    # The spot markets with a ``spot/`` file (``bot.data.spotfiles``): their candles on this
    # grid, rows by spot symbol (prices per coin, volume in coins); None when there are none.
    spot: SimMarket | None = None
    _fast: dict[str, FastSeries] = field(default_factory=dict, repr=False)
    _settle_hours: set[int] = field(default_factory=set, repr=False)
    _times: list[int] = field(default_factory=list, init=False, repr=False)  # ``time_at``

    def __post_init__(self) -> None:
        self.index.update({s: i for i, s in enumerate(self.symbols)})

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    def time_at(self, k: int) -> int:
        """The sim time at bar ``k``: its open; from the end of the data on, the last close.
        (The clock reads it on every call: a list of ints, built once.)"""
        times = self._times
        if not times:
            times.extend(self.ts.tolist())
            times.append(int(self.ts[-1]) + HOUR_MS if len(self.ts) else HOUR_MS)
        return times[k] if k < len(times) else times[-1]

    @classmethod
    def load(cls, root: Path | str, symbols: list[str] | None = None) -> SimMarket:
        """Read a data directory (``DataFileError`` names any bad file)."""
        dd = DataDir(root)
        available = dd.symbols()
        if symbols is None:
            chosen = available
        else:
            missing = [s for s in symbols if s not in available]
            if missing:
                raise DataFileError(dd.root / "ohlcv", f"no data for symbol(s) {missing}")
            chosen = list(symbols)
        if not chosen:
            raise DataFileError(dd.root / "ohlcv", "no *.parquet files")
        # Parquet decoding releases the GIL: a few threads read the files side by side.
        # Results are taken in symbol order, so the first bad file is reported as before.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            o_jobs = [pool.submit(dd.ohlcv, s) for s in chosen]
            f_jobs = [pool.submit(dd.funding, s) for s in chosen]
            i_jobs = [pool.submit(dd.open_interest, s) for s in chosen]
            ohlcv = {s: job.result() for s, job in zip(chosen, o_jobs, strict=True)}
            fundings = [job.result() for job in f_jobs]
            ois = [job.result() for job in i_jobs]
        for s, o in ohlcv.items():
            if len(o) == 0:
                raise DataFileError(dd.ohlcv_path(s), "no rows")
            if bool(np.any(o.ts % HOUR_MS != 0)):
                bad = int(np.argmax(o.ts % HOUR_MS != 0))
                raise DataFileError(
                    dd.ohlcv_path(s), f"row {bad}: timestamp {int(o.ts[bad])} not on the hour"
                )
        t0 = min(int(o.ts[0]) for o in ohlcv.values())
        t1 = max(int(o.ts[-1]) for o in ohlcv.values())
        ts = np.arange(t0, t1 + HOUR_MS, HOUR_MS, dtype=np.int64)
        shape = (len(chosen), len(ts))
        arrays = {n: np.full(shape, np.nan) for n in ("open", "high", "low", "close", "volume")}
        series: dict[str, SymbolSeries] = {}
        for i, s in enumerate(chosen):
            o = ohlcv[s]
            col = (o.ts - t0) // HOUR_MS
            for n in arrays:
                arrays[n][i, col] = getattr(o, n)
            f = fundings[i]
            oi = ois[i]
            series[s] = SymbolSeries(
                f.ts if f is not None else _empty_i64(),
                f.rate if f is not None else _empty_f64(),
                oi.ts if oi is not None else _empty_i64(),
                oi.oi if oi is not None else _empty_f64(),
            )
        sectors = dd.sectors()
        raw_inst = dd.instruments() or {}
        inst_path = dd.root / "instruments.json"
        instruments: dict[str, Instrument] = {}
        for s in chosen:
            o = ohlcv[s]
            qv = o.close * o.volume
            qv = qv[np.isfinite(qv)]
            # The funding interval is not read from the whole file (that would look ahead):
            # the engine's FundingSchedule derives it from the settlements up to its clock.
            inst = default_instrument(
                s, float(o.close[-1]), float(np.median(qv)) if len(qv) else 0.0
            )
            inst = replace(inst, sector=sectors.get(s), launch_ms=int(o.ts[0]))
            if s in raw_inst:
                inst = parse_instrument(inst_path, s, raw_inst[s], inst)
            instruments[s] = inst
        events = load_events(dd.root, set(chosen))
        spot = _spot_market(dd, chosen, ts)
        first = np.array([(ohlcv[s].ts[0] - t0) // HOUR_MS for s in chosen], dtype=np.int64)
        last = np.array([(ohlcv[s].ts[-1] - t0) // HOUR_MS for s in chosen], dtype=np.int64)
        return cls(
            symbols=list(chosen),
            instruments=instruments,
            ts=ts,
            open=arrays["open"],
            high=arrays["high"],
            low=arrays["low"],
            close=arrays["close"],
            volume=arrays["volume"],
            series=series,
            first_idx=first,
            last_idx=last,
            events=events,
            spot=spot,
        )

    def spot_row(self, spot_symbol: str) -> int | None:
        """The row of ``spot_symbol`` in ``spot`` (None: the data has no spot file for it)."""
        return None if self.spot is None else self.spot.index.get(spot_symbol)

    # --- lookups used by the engine (per request / per active symbol, never per bar × S) ---

    def bar_index(self, t_ms: int) -> int:
        """Index of the bar whose open is the last one at or before ``t_ms`` (may be -1)."""
        return int(np.searchsorted(self.ts, t_ms, side="right")) - 1

    def price_at(self, i: int, k: int) -> float:
        """Price of symbol row ``i`` at the open of bar ``k`` (k == T means after the last
        bar): the open when present, else the last close before it (NaN before listing)."""
        if k < len(self.ts):
            p: float = self.open.item(i, k)
            if p == p:  # not NaN
                return p
        return self.close_before(i, k)

    def close_before(self, i: int, k: int) -> float:
        """The last close of symbol row ``i`` strictly before bar ``k`` (NaN if none)."""
        j = min(k, len(self.ts)) - 1
        lo = int(self.first_idx[i])
        j = min(j, int(self.last_idx[i]))
        while j >= lo:
            c = float(self.close[i, j])
            if c == c:
                return c
            j -= 1
        return math.nan

    def settlement_hours(self) -> set[int]:
        """Every hour (``t // 1h``) at which some symbol's data has a settlement."""
        if not self._settle_hours:
            for s in self.series.values():
                self._settle_hours.update((s.funding_ts // HOUR_MS).tolist())
            self._settle_hours.add(-1)  # built (even when no symbol has funding)
        return self._settle_hours

    def volume_decimals(self, i: int) -> int:
        """The decimals row ``i``'s volumes are written with (sums print without noise)."""
        return _decimals(self.volume[i])

    def fast(self, symbol: str) -> FastSeries:
        """The symbol's ``FastSeries`` (built on first use)."""
        f = self._fast.get(symbol)
        if f is None:
            s = self.series[symbol]
            tick = self.instruments[symbol].tick_size
            exp = tick.normalize().as_tuple().exponent
            f = FastSeries(
                s.oi_ts,
                s.oi,
                float(tick),
                max(0, -exp) if isinstance(exp, int) else 0,
                _decimals(self.volume[self.index[symbol]]),
            )
            self._fast[symbol] = f
        return f
