"""Build a :class:`~bot.data.panel.Panel` from a data directory.

Placement follows the panel's timing convention: an OHLCV row with open time ``o`` lands at
the grid index whose ``ts`` is ``o``; a funding settlement or OI stamp at time ``s`` lands at
the bar that *closes* at or after ``s`` (``s`` in ``(ts[j], ts[j] + 1h]``). Gaps stay NaN:
nothing is forward-filled here, the signal engine decides how much filling it tolerates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.data.datadir import DataDir, DataFileError
from bot.data.panel import F64, HOUR_MS, I64, Panel

# Intervals longer than this between two settlements are treated as missing data, not as a
# slower settlement schedule (venues settle every 1, 2, 4 or 8 hours).
MAX_FUNDING_INTERVAL_H = 8.0


def _settlement_index(ts0: int, stamps: I64) -> I64:
    """Grid index of the bar that closes at or after each stamp: ``ceil((s - ts0)/1h) - 1``."""
    return -((ts0 - stamps) // HOUR_MS) - 1


def funding_intervals_h(stamps: I64) -> F64:
    """Hours each settlement covers, from the spacing to the previous settlement.

    The first settlement, and any settlement after a hole in the data (spacing above
    ``MAX_FUNDING_INTERVAL_H``), takes the spacing to the next one, capped at 8h.
    """
    n = len(stamps)
    out = np.full(n, MAX_FUNDING_INTERVAL_H, dtype=np.float64)
    if n < 2:
        return out
    d = np.diff(stamps).astype(np.float64) / HOUR_MS
    back = np.concatenate(([np.inf], d))
    fwd = np.concatenate((d, [np.inf]))
    out = np.where(back <= MAX_FUNDING_INTERVAL_H, back, np.minimum(fwd, MAX_FUNDING_INTERVAL_H))
    return np.maximum(np.round(out), 1.0)


def _resolve_sectors(dd: DataDir, symbols: list[str]) -> dict[str, str]:
    from bot.data.sectors import load_sector_map, sector_map_from_mapping

    raw = dd.sectors()
    smap = (
        sector_map_from_mapping(raw, source=str(dd.root / "sectors.csv"))
        if raw
        else load_sector_map()
    )
    res = smap.resolve(symbols, log=False)
    out = dict(res.sectors)
    if res.benchmark is not None:
        from bot.data.sectors import BENCHMARK

        out[res.benchmark] = BENCHMARK
    return out


def load_panel(
    root: Path | DataDir,
    symbols: list[str] | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    sectors: dict[str, str] | None = None,
) -> Panel:
    """Read a data directory into a panel on a regular 1h grid.

    ``start_ms``/``end_ms`` bound bar *open* times (``start <= open < end``). ``sectors`` maps
    symbol → sector id; by default the directory's ``sectors.csv`` (or the bundled map)
    resolved to sector ids, with the benchmark as ``"benchmark"`` and unmapped symbols None.
    """
    dd = root if isinstance(root, DataDir) else DataDir(root)
    available = dd.symbols()
    if symbols is None:
        symbols = available
    else:
        missing = [s for s in symbols if s not in set(available)]
        if missing:
            raise DataFileError(dd.root / "ohlcv", f"no OHLCV file for {', '.join(missing)}")
    if not symbols:
        raise DataFileError(dd.root / "ohlcv", "no symbols")
    candles, fundings, ois = dd.read_many(symbols)
    ohlcv = dict(zip(symbols, candles, strict=True))
    lo = min((int(o.ts[0]) for o in ohlcv.values() if len(o)), default=None)
    hi = max((int(o.ts[-1]) for o in ohlcv.values() if len(o)), default=None)
    if lo is None or hi is None:
        raise DataFileError(dd.root / "ohlcv", "all OHLCV files are empty")
    for s, o in ohlcv.items():
        if len(o) and bool(np.any(o.ts % HOUR_MS)):
            raise DataFileError(dd.ohlcv_path(s), "timestamps are not on whole UTC hours")
    if start_ms is not None:
        lo = max(lo, -(-start_ms // HOUR_MS) * HOUR_MS)
    if end_ms is not None:
        hi = min(hi, ((end_ms - 1) // HOUR_MS) * HOUR_MS)
    if hi < lo:
        ts = np.zeros(0, dtype=np.int64)
    else:
        ts = np.arange(lo, hi + HOUR_MS, HOUR_MS, dtype=np.int64)
    if sectors is None:
        sectors = _resolve_sectors(dd, symbols)
    panel = Panel.empty(list(symbols), [sectors.get(s) for s in symbols], ts)
    n_t = len(ts)
    if n_t == 0:
        return panel
    for i, s in enumerate(symbols):
        o = ohlcv[s]
        idx = (o.ts - lo) // HOUR_MS
        keep = (idx >= 0) & (idx < n_t)
        k = idx[keep]
        panel.open[i, k] = o.open[keep]
        panel.high[i, k] = o.high[keep]
        panel.low[i, k] = o.low[keep]
        panel.close[i, k] = o.close[keep]
        panel.volume[i, k] = o.volume[keep]
        f = fundings[i]
        if f is not None and len(f):
            fi = _settlement_index(lo, f.ts)
            hours = funding_intervals_h(f.ts)
            keep = (fi >= 0) & (fi < n_t)
            panel.funding[i, fi[keep]] = f.rate[keep]
            panel.funding_interval_h[i, fi[keep]] = hours[keep]
        oi = ois[i]
        if oi is not None and len(oi):
            oj = _settlement_index(lo, oi.ts)
            keep = (oj >= 0) & (oj < n_t)
            # Several stamps in one bar: assignment order keeps the last (latest) one.
            panel.oi[i, oj[keep]] = oi.oi[keep]
    return panel
