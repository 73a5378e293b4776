"""``rotor data download``: candles (1h), funding and open interest into a data directory.

Resumable and idempotent: for each file, only the part of ``[start, end)`` not already on disk
is requested (the head before the first stored row and the tail after the last), rows are
merged by timestamp, and a file is rewritten (atomically) only when something new arrived.
Re-running a complete download makes the few requests needed to learn the venue's time and
instruments, and writes nothing.

``end`` is the open time of the newest *closed* hour on the venue, so a download never stores
a candle that is still forming.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bot.data.datadir import (
    DataFileError,
    Funding,
    Ohlcv,
    OpenInterestSeries,
    read_funding,
    read_ohlcv,
    read_open_interest,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.domain import Bar, FundingRate, Instrument, OpenInterest
from bot.venues.base import Venue
from bot.venues.history import (
    HOUR_MS,
    fetch_bar_range,
    fetch_funding_range,
    fetch_open_interest_range,
)

DAY_MS = 24 * HOUR_MS


@dataclass
class SymbolResult:
    """What one symbol's download added (rows per kind) or why it failed."""

    symbol: str
    added: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DownloadResult:
    start_ms: int
    end_ms: int
    symbols: list[SymbolResult]

    @property
    def failed(self) -> list[SymbolResult]:
        return [s for s in self.symbols if s.error]

    def summary(self) -> dict[str, Any]:
        added: dict[str, int] = {}
        for s in self.symbols:
            for k, n in s.added.items():
                added[k] = added.get(k, 0) + n
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "symbols": len(self.symbols),
            "rows_added": added,
            "failed": {s.symbol: s.error for s in self.failed},
        }


def _missing(existing: np.ndarray[Any, Any] | None, start: int, end: int) -> list[tuple[int, int]]:
    """Ranges of ``[start, end)`` before the first and after the last stored timestamp."""
    if existing is None or len(existing) == 0:
        return [(start, end)]
    first, last = int(existing[0]), int(existing[-1])
    out = []
    if start < first:
        out.append((start, first))
    if last + 1 < end:
        out.append((max(start, last + 1), end))
    return out


def _merge_ts(old_ts: np.ndarray[Any, Any] | None, new_ts: Sequence[int]) -> np.ndarray[Any, Any]:
    """Indices to keep: rows not already on disk (new rows never replace stored ones)."""
    if old_ts is None or len(old_ts) == 0:
        return np.ones(len(new_ts), dtype=bool)
    return ~np.isin(np.asarray(new_ts, dtype=np.int64), old_ts)


def _read_or_none(path: Path, reader: Callable[[Path], Any]) -> Any:
    if not path.exists():
        return None
    try:
        return reader(path)
    except DataFileError as exc:
        # A corrupt file is not silently replaced: the user decides (rotor data check names it).
        raise DataFileError(path, f"{exc.problem}; delete it to download again") from exc


async def _ohlcv(venue: Venue, path: Path, symbol: str, start: int, end: int) -> int:
    old: Ohlcv | None = _read_or_none(path, read_ohlcv)
    new: list[Bar] = []
    for a, b in _missing(old.ts if old else None, start, end):
        new += await fetch_bar_range(venue, symbol, "1h", a, b)
    keep = _merge_ts(old.ts if old else None, [x.ts for x in new])
    new = [x for x, k in zip(new, keep, strict=True) if k]
    if not new:
        return 0
    ts = np.asarray([x.ts for x in new], dtype=np.int64)
    vals = np.asarray([[x.open, x.high, x.low, x.close, x.volume] for x in new], dtype=np.float64)
    if old is not None:
        ts = np.concatenate([old.ts, ts])
        old_vals = np.column_stack([old.open, old.high, old.low, old.close, old.volume])
        vals = np.concatenate([old_vals, vals])
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    write_ohlcv(path, Ohlcv(ts, *(np.ascontiguousarray(vals[:, i]) for i in range(5))))
    return len(new)


async def _funding(
    venue: Venue, path: Path, symbol: str, start: int, end: int, interval_h: int
) -> int:
    old: Funding | None = _read_or_none(path, read_funding)
    new: list[FundingRate] = []
    for a, b in _missing(old.ts if old else None, start, end):
        new += await fetch_funding_range(venue, symbol, a, b, interval_h)
    keep = _merge_ts(old.ts if old else None, [x.ts for x in new])
    new = [x for x, k in zip(new, keep, strict=True) if k]
    if not new:
        return 0
    ts = [x.ts for x in new] + (list(old.ts) if old else [])
    rate = [x.rate for x in new] + (list(old.rate) if old else [])
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    write_funding(
        path,
        Funding(np.asarray(ts, dtype=np.int64)[order], np.asarray(rate, dtype=np.float64)[order]),
    )
    return len(new)


async def _open_interest(venue: Venue, path: Path, symbol: str, start: int, end: int) -> int:
    old: OpenInterestSeries | None = _read_or_none(path, read_open_interest)
    new: list[OpenInterest] = []
    for a, b in _missing(old.ts if old else None, start, end):
        new += await fetch_open_interest_range(venue, symbol, a, b)
    keep = _merge_ts(old.ts if old else None, [x.ts for x in new])
    new = [x for x, k in zip(new, keep, strict=True) if k]
    if not new:
        return 0
    ts = [x.ts for x in new] + (list(old.ts) if old else [])
    oi = [x.open_interest for x in new] + (list(old.oi) if old else [])
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    write_open_interest(
        path,
        OpenInterestSeries(
            np.asarray(ts, dtype=np.int64)[order], np.asarray(oi, dtype=np.float64)[order]
        ),
    )
    return len(new)


def instrument_entry(inst: Instrument) -> dict[str, Any]:
    """One ``instruments.json`` entry (the keys ``bot.sim.market`` reads)."""

    def s(d: Decimal) -> str:
        return format(d.normalize(), "f")

    return {
        "tick_size": s(inst.tick_size),
        "qty_step": s(inst.qty_step),
        "min_qty": s(inst.min_qty),
        "min_notional": s(inst.min_notional),
        "funding_interval_h": inst.funding_interval_h,
        "tiers": [
            {
                "floor": s(t.floor),
                "cap": s(t.cap),
                "mmr": s(t.mmr),
                "max_leverage": s(t.max_leverage),
                "mm_deduction": s(t.mm_deduction),
            }
            for t in inst.tiers
        ],
    }


def update_instruments_json(out: Path, instruments: dict[str, Instrument]) -> bool:
    """Merge entries into ``out/instruments.json``; True when the file changed."""
    path = out / "instruments.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataFileError(path, f"not valid JSON ({exc})") from exc
        if isinstance(loaded, dict):
            data = loaded
    merged = dict(data)
    merged.update({s: instrument_entry(i) for s, i in instruments.items()})
    if merged == data:
        return False
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return True


async def download(
    venue: Venue,
    out: Path,
    symbols: Sequence[str] | None,
    days: int,
    *,
    open_interest: bool = True,
    concurrency: int = 4,
    progress: Callable[[str], None] | None = None,
) -> DownloadResult:
    """Download ``days`` of closed 1h candles, funding and OI for ``symbols`` (None: all)."""
    if days <= 0:
        raise ValueError(f"--days must be > 0, got {days}")
    instruments = await venue.load_instruments()
    if symbols is None:
        chosen = sorted(instruments)
    else:
        unknown = [s for s in symbols if s not in instruments]
        if unknown:
            raise ValueError(f"unknown symbol(s) on {venue.name}: {', '.join(unknown)}")
        chosen = list(dict.fromkeys(symbols))
    now = await venue.server_time()
    end = now // HOUR_MS * HOUR_MS  # bars opening before this have closed
    start = end - days * DAY_MS
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    sem = asyncio.Semaphore(concurrency)

    async def one(symbol: str) -> SymbolResult:
        res = SymbolResult(symbol)
        async with sem:
            try:
                res.added["ohlcv"] = await _ohlcv(
                    venue, out / "ohlcv" / f"{symbol}.parquet", symbol, start, end
                )
                res.added["funding"] = await _funding(
                    venue,
                    out / "funding" / f"{symbol}.parquet",
                    symbol,
                    start,
                    end,
                    instruments[symbol].funding_interval_h,
                )
                if open_interest:
                    res.added["open_interest"] = await _open_interest(
                        venue, out / "open_interest" / f"{symbol}.parquet", symbol, start, end
                    )
            except Exception as exc:  # one bad symbol must not lose the others' progress
                res.error = f"{type(exc).__name__}: {exc}"
        if progress is not None:
            progress(symbol)
        return res

    results = await asyncio.gather(*(one(s) for s in chosen))
    await asyncio.to_thread((out / "ohlcv").mkdir, exist_ok=True)
    update_instruments_json(out, {s: instruments[s] for s in chosen})
    return DownloadResult(start, end, list(results))
