"""Data-directory I/O (SIM-VENUE.md, "Data directory format").

```
<dir>/ohlcv/<SYMBOL>.parquet          timestamp (UTC ms, candle open), open, high, low, close, volume
<dir>/funding/<SYMBOL>.parquet        timestamp (UTC ms, settlement), funding_rate
<dir>/open_interest/<SYMBOL>.parquet  timestamp (UTC ms), open_interest (base units)   [optional]
<dir>/spot/<SPOT_SYMBOL>.parquet      the ohlcv columns, per coin (volume in coins)      [optional]
<dir>/sectors.csv                     symbol,sector
<dir>/instruments.json                per symbol: tick, step, min qty, min notional, tiers [optional]
```

Every reader validates what it reads and raises ``DataFileError`` naming the file and the
problem, so a corrupt or partial file never turns into a silent wrong answer. Timestamps may be
stored as int64 UTC ms or as a tz-aware timestamp of any unit (``bot.data.schema``); opening a
``DataDir`` checks every file's schema and the grid span from the parquet footers first.
A spot file is named by the spot market's own id (``PEPEUSDT`` for the ``1000PEPEUSDT``
perpetual) and read by ``bot.data.spotfiles`` (the candle rules, its perpetual's existence).
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bot.data.panel import F64, I64
from bot.data.schema import OHLCV_COLUMNS, DataFileError, DirMeta, preflight, to_ms

__all__ = ["OHLCV_COLUMNS", "DataDir", "DataFileError"]


@dataclass(frozen=True, slots=True)
class Ohlcv:
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class Funding:
    ts: I64
    rate: F64

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class OpenInterestSeries:
    ts: I64
    oi: F64

    def __len__(self) -> int:
        return len(self.ts)


def _read_table(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray[Any, Any]]:
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        # One file: ParquetFile reads it without the dataset layer ``read_table`` goes through
        # (half the CPU per file, and ``pyarrow.dataset`` is never imported).
        with pq.ParquetFile(path) as pf:
            table = pf.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(path, f"corrupt or unreadable parquet ({exc})") from exc
    missing = [c for c in ("timestamp", *columns) if c not in table.column_names]
    if missing:
        raise DataFileError(path, f"missing column(s): {', '.join(missing)}")
    out: dict[str, np.ndarray[Any, Any]] = {"timestamp": to_ms(path, table.column("timestamp"))}
    try:
        for c in columns:
            arr = table.column(c).to_numpy(zero_copy_only=False)
            out[c] = np.asarray(arr, dtype=np.float64)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise DataFileError(path, f"bad column type ({exc})") from exc
    ts_arr = out["timestamp"]
    if len(ts_arr) > 1 and not bool(np.all(np.diff(ts_arr) > 0)):
        bad = int(np.argmax(np.diff(ts_arr) <= 0)) + 1
        raise DataFileError(
            path, f"timestamps not strictly increasing at row {bad} (ts={int(ts_arr[bad])})"
        )
    return out


def read_ohlcv(path: Path) -> Ohlcv:
    """Read one OHLCV parquet file."""
    d = _read_table(path, OHLCV_COLUMNS)
    return Ohlcv(d["timestamp"], d["open"], d["high"], d["low"], d["close"], d["volume"])


def read_funding(path: Path) -> Funding:
    """Read one funding parquet file (rate per settlement)."""
    d = _read_table(path, ("funding_rate",))
    return Funding(d["timestamp"], d["funding_rate"])


def read_open_interest(path: Path) -> OpenInterestSeries:
    """Read one open-interest parquet file (base units)."""
    d = _read_table(path, ("open_interest",))
    return OpenInterestSeries(d["timestamp"], d["open_interest"])


def _write(path: Path, columns: dict[str, np.ndarray[Any, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = [pa.array(v) for v in columns.values()]
    table = pa.Table.from_arrays(arrays, names=list(columns))
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)  # atomic: a reader never sees a half-written file


def write_ohlcv(path: Path, data: Ohlcv) -> None:
    _write(
        path,
        {
            "timestamp": data.ts.astype(np.int64),
            "open": data.open,
            "high": data.high,
            "low": data.low,
            "close": data.close,
            "volume": data.volume,
        },
    )


def write_funding(path: Path, data: Funding) -> None:
    _write(path, {"timestamp": data.ts.astype(np.int64), "funding_rate": data.rate})


def write_open_interest(path: Path, data: OpenInterestSeries) -> None:
    _write(path, {"timestamp": data.ts.astype(np.int64), "open_interest": data.oi})


class DataDir:
    """A data directory on disk whose files' schemas and grid span have been checked."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataFileError(self.root, "data directory not found")
        if not (self.root / "ohlcv").is_dir():
            raise DataFileError(self.root / "ohlcv", "missing ohlcv/ directory")
        # Footers only (~0.5 ms a file): a bad file or an absurd span is refused by name
        # before any loader reads a column or allocates the grid.
        self.meta: DirMeta = preflight(self.root)

    def ohlcv_path(self, symbol: str) -> Path:
        return self.root / "ohlcv" / f"{symbol}.parquet"

    def funding_path(self, symbol: str) -> Path:
        return self.root / "funding" / f"{symbol}.parquet"

    def oi_path(self, symbol: str) -> Path:
        return self.root / "open_interest" / f"{symbol}.parquet"

    def symbols(self) -> list[str]:
        """Symbols with an OHLCV file, sorted."""
        return sorted(p.stem for p in (self.root / "ohlcv").glob("*.parquet"))

    def ohlcv(self, symbol: str) -> Ohlcv:
        return read_ohlcv(self.ohlcv_path(symbol))

    def funding(self, symbol: str) -> Funding | None:
        p = self.funding_path(symbol)
        return read_funding(p) if p.exists() else None

    def open_interest(self, symbol: str) -> OpenInterestSeries | None:
        p = self.oi_path(symbol)
        return read_open_interest(p) if p.exists() else None

    def read_many(
        self, symbols: list[str]
    ) -> tuple[list[Ohlcv], list[Funding | None], list[OpenInterestSeries | None]]:
        """Every file of ``symbols``, in their order (the first bad file raises, by name)."""
        # Parquet decoding releases the GIL: a few threads read the files side by side.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            o_jobs = [pool.submit(self.ohlcv, s) for s in symbols]
            f_jobs = [pool.submit(self.funding, s) for s in symbols]
            i_jobs = [pool.submit(self.open_interest, s) for s in symbols]
            return (
                [j.result() for j in o_jobs],
                [j.result() for j in f_jobs],
                [j.result() for j in i_jobs],
            )

    def sectors(self) -> dict[str, str]:
        """``sectors.csv`` as {symbol: sector}; empty when the file is absent."""
        p = self.root / "sectors.csv"
        if not p.exists():
            return {}
        return read_sectors_csv(p)

    def instruments(self) -> dict[str, Any] | None:
        """``instruments.json`` parsed, or None when absent."""
        p = self.root / "instruments.json"
        if not p.exists():
            return None
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataFileError(p, f"not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise DataFileError(p, "expected a JSON object keyed by symbol")
        return data


def read_sectors_csv(path: Path) -> dict[str, str]:
    """Read a ``symbol,sector`` CSV."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"symbol", "sector"} <= set(reader.fieldnames):
                raise DataFileError(path, "expected a header with columns symbol,sector")
            out: dict[str, str] = {}
            for line, row in enumerate(reader, start=2):
                sym = (row.get("symbol") or "").strip()
                sec = (row.get("sector") or "").strip()
                if not sym or not sec:
                    raise DataFileError(path, f"line {line}: empty symbol or sector")
                out[sym] = sec
            return out
    except OSError as exc:
        raise DataFileError(path, f"cannot read ({exc})") from exc
