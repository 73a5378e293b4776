"""``rotor data import``: freqtrade candles and funding rates → data directory (issue #4).

Accepted inputs: freqtrade ``.feather`` (its default), ``.parquet`` and ``.csv`` files with the
columns ``date, open, high, low, close, volume``. ``date`` may be a timestamp type of any unit
(naive means UTC), integer epoch (ms, or s when small), or an ISO 8601 string (naive means UTC).

Files of another data directory (``<dir>/ohlcv/SYM.parquet``, ``funding/``, ``open_interest/``,
with a ``timestamp`` column instead of ``date``) import too, so a directory written by pandas
with ``datetime64[us, UTC]`` or naive timestamps, which the readers refuse or convert, can be
rewritten as int64 UTC ms: ``rotor data import --src old_dir --out new_dir``.

File names follow freqtrade: ``BTC_USDT_USDT-1h-futures.feather`` (futures candles),
``BTC_USDT-1h.feather`` (spot candles), ``BTC_USDT_USDT-8h-funding_rate.feather`` (funding,
where ``open`` holds the rate per settlement). Mark/index/premium files are skipped.

Rows that are not valid candles (NaN, non-positive, high < low, open/close outside the range,
negative volume, off the hour) are dropped and counted. Imported rows are merged into any
existing file by timestamp, so re-running an import changes nothing (idempotent).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

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
from bot.data.panel import HOUR_MS

SUFFIXES = (".feather", ".parquet", ".csv")
_NAME_RE = re.compile(
    r"^(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-(?P<tf>\d+[mhdwM])"
    r"(?:-(?P<kind>futures|funding_rate|mark|index|premiumIndex|spot))?$"
)
_SKIPPED_KINDS = {"mark", "index", "premiumIndex"}
_DATADIR_KINDS = {"ohlcv": "ohlcv", "funding": "funding", "open_interest": "open_interest"}
_DATADIR_SYMBOL = re.compile(r"^[A-Z0-9]{1,40}$")


class DataImportError(DataFileError):
    """An input file cannot be imported; ``path`` names it."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a freqtrade file name says."""

    symbol: str | None
    kind: str  # "ohlcv", "funding" or "skip"
    timeframe: str | None


@dataclass(slots=True)
class ImportResult:
    """One imported file."""

    src: str
    symbol: str
    kind: str
    out: str
    rows_read: int = 0
    rows_new: int = 0
    rows_total: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None


def infer_source(path: Path) -> SourceInfo:
    """Symbol, kind and timeframe from a freqtrade file name (symbol None if not inferable),
    or from a data directory's layout (``ohlcv/BTCUSDT.parquet``)."""
    if path.parent.name in _DATADIR_KINDS and _DATADIR_SYMBOL.match(path.stem):
        return SourceInfo(path.stem, _DATADIR_KINDS[path.parent.name], None)
    m = _NAME_RE.match(path.stem)
    if not m:
        return SourceInfo(None, "ohlcv", None)
    parts = m.group("pair").upper().split("_")
    # BTC_USDT_USDT (futures: base, quote, settle) or BTC_USDT (spot).
    symbol = parts[0] + parts[1]
    kind = m.group("kind") or "spot"
    if kind in _SKIPPED_KINDS:
        return SourceInfo(symbol, "skip", m.group("tf"))
    return SourceInfo(symbol, "funding" if kind == "funding_rate" else "ohlcv", m.group("tf"))


def _read_any(path: Path) -> pa.Table:
    try:
        if path.suffix == ".feather":
            return feather.read_table(path)
        if path.suffix == ".parquet":
            return pq.read_table(path)
        if path.suffix == ".csv":
            opts = pacsv.ConvertOptions(column_types={"date": pa.string()})
            return pacsv.read_csv(path, convert_options=opts)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataImportError(path, f"corrupt or unreadable {path.suffix} file ({exc})") from exc
    raise DataImportError(path, f"unsupported file type {path.suffix!r} (use {SUFFIXES})")


def _parse_iso(path: Path, s: str) -> int:
    try:
        dt = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise DataImportError(path, f"column date: cannot parse {s!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _dates_ms(path: Path, col: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int64]]:
    t = col.type
    if pa.types.is_timestamp(t):
        # Naive timestamps are taken as UTC; the cast keeps the instant for tz-aware ones.
        arr = pc.cast(col, pa.timestamp("ms", tz=t.tz)).cast(pa.int64())
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        v = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        if np.isnan(v).any():
            raise DataImportError(path, "column date: missing values")
        ms = np.where(np.abs(v) < 1e11, v * 1000, v)  # epoch seconds vs milliseconds
        return ms.astype(np.int64)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        values = col.to_pylist()
        if any(v is None for v in values):
            raise DataImportError(path, "column date: missing values")
        if all(re.fullmatch(r"-?\d+", v.strip()) for v in values):
            return _dates_ms(path, pa.chunked_array([pa.array([int(v) for v in values])]))
        return np.array([_parse_iso(path, v) for v in values], dtype=np.int64)
    raise DataImportError(path, f"column date: unsupported type {t}")


def _columns(path: Path, table: pa.Table, need: tuple[str, ...]) -> dict[str, Any]:
    lower = {c.lower(): c for c in table.column_names}
    if "date" not in lower and "timestamp" in lower:  # a data directory's own files
        lower["date"] = lower["timestamp"]
    missing = [c for c in need if c not in lower]
    if missing:
        raise DataImportError(path, f"missing column(s): {', '.join(missing)}")
    out: dict[str, Any] = {"date": _dates_ms(path, table.column(lower["date"]))}
    for c in need:
        if c == "date":
            continue
        try:
            out[c] = np.asarray(
                table.column(lower[c]).to_numpy(zero_copy_only=False), dtype=np.float64
            )
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise DataImportError(path, f"column {c}: not numeric ({exc})") from exc
    return out


def _count(dropped: dict[str, int], reason: str, mask: np.ndarray[Any, Any]) -> None:
    n = int(mask.sum())
    if n:
        dropped[reason] = dropped.get(reason, 0) + n


def _dedupe_sorted(ts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Indices that sort by ts keeping the last occurrence of each timestamp."""
    order = np.argsort(ts, kind="stable")
    s = ts[order]
    keep = np.ones(len(s), dtype=bool)
    keep[:-1] = s[:-1] != s[1:]
    return np.asarray(order[keep])


def _import_ohlcv(src: Path, table: pa.Table, dest: Path, res: ImportResult) -> None:
    d = _columns(src, table, ("date", "open", "high", "low", "close", "volume"))
    ts, o, h, lo, c, v = d["date"], d["open"], d["high"], d["low"], d["close"], d["volume"]
    res.rows_read = len(ts)
    with np.errstate(invalid="ignore"):
        nan = ~np.isfinite(np.stack([o, h, lo, c, v])).all(axis=0)
        nonpos = ~nan & (np.minimum(np.minimum(o, h), np.minimum(lo, c)) <= 0)
        hl = ~nan & ~nonpos & (h < lo)
        outside = ~nan & ~nonpos & ~hl & ((np.maximum(o, c) > h) | (np.minimum(o, c) < lo))
        negvol = ~nan & (v < 0)
    misaligned = ts % HOUR_MS != 0
    for reason, mask in (
        ("nan", nan),
        ("non_positive", nonpos),
        ("high_lt_low", hl),
        ("open_close_outside_range", outside),
        ("negative_volume", negvol),
        ("not_on_the_hour", misaligned),
    ):
        _count(res.dropped, reason, mask)
    good = ~(nan | nonpos | hl | outside | negvol | misaligned)
    cols = [x[good] for x in (ts, o, h, lo, c, v)]
    if dest.exists():
        old = read_ohlcv(dest)
        before = len(old)
        cols = [np.concatenate([a, b]) for a, b in zip(_ohlcv_cols(old), cols, strict=True)]
    else:
        before = 0
    idx = _dedupe_sorted(cols[0])
    ts2, o2, h2, l2, c2, v2 = (x[idx] for x in cols)
    merged = Ohlcv(ts2.astype(np.int64), o2, h2, l2, c2, v2)
    res.rows_total = len(merged)
    res.rows_new = res.rows_total - before
    if not dest.exists() or not _same_ohlcv(read_ohlcv(dest), merged):
        write_ohlcv(dest, merged)


def _ohlcv_cols(x: Ohlcv) -> list[np.ndarray[Any, Any]]:
    return [x.ts, x.open, x.high, x.low, x.close, x.volume]


def _same_ohlcv(a: Ohlcv, b: Ohlcv) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x, y) for x, y in zip(_ohlcv_cols(a), _ohlcv_cols(b), strict=True)
    )


def _import_series(src: Path, table: pa.Table, dest: Path, res: ImportResult, kind: str) -> None:
    """Funding settlements (floored to the hour) or open interest, merged by timestamp."""
    lower = {c.lower() for c in table.column_names}
    if kind == "funding":
        value_col = "open" if "open" in lower else "funding_rate"
    else:
        value_col = "open_interest"
    d = _columns(src, table, ("date", value_col))
    ts = d["date"]
    if kind == "funding":
        ts = (ts // HOUR_MS) * HOUR_MS  # settlement stamps floored to the hour
    value = d[value_col]
    res.rows_read = len(ts)
    nan = ~np.isfinite(value)
    _count(res.dropped, "nan", nan)
    ts, value = ts[~nan], value[~nan]
    old = _read_pair(dest, kind) if dest.exists() else None
    before = 0
    if old is not None:
        before = len(old[0])
        ts = np.concatenate([old[0], ts])
        value = np.concatenate([old[1], value])
    idx = _dedupe_sorted(ts)
    ts, value = ts[idx].astype(np.int64), value[idx]
    res.rows_total = len(ts)
    res.rows_new = res.rows_total - before
    if old is not None and np.array_equal(old[0], ts) and np.array_equal(old[1], value):
        return
    if kind == "funding":
        write_funding(dest, Funding(ts, value))
    else:
        write_open_interest(dest, OpenInterestSeries(ts, value))


def _read_pair(path: Path, kind: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    if kind == "funding":
        f = read_funding(path)
        return f.ts, f.rate
    oi = read_open_interest(path)
    return oi.ts, oi.oi


def import_file(src: Path, out: Path, symbol: str | None = None) -> ImportResult:
    """Import one freqtrade file into data directory ``out``."""
    info = infer_source(src)
    sym = (symbol or info.symbol or "").upper().replace("/", "").split(":")[0]
    if not sym:
        raise DataImportError(src, "cannot infer the symbol from the file name; pass --symbol")
    sub = info.kind if info.kind in _DATADIR_KINDS else "ohlcv"
    dest = out / sub / f"{sym}.parquet"
    res = ImportResult(src=str(src), symbol=sym, kind=info.kind, out=str(dest))
    if info.kind == "skip":
        res.skipped = "mark/index/premium candles are not part of the data directory"
        return res
    if info.kind == "ohlcv" and info.timeframe not in (None, "1h"):
        raise DataImportError(src, f"only 1h candles can be imported (file is {info.timeframe})")
    table = _read_any(src)
    if info.kind in ("funding", "open_interest"):
        _import_series(src, table, dest, res, info.kind)
    else:
        _import_ohlcv(src, table, dest, res)
    return res


def expand_sources(paths: Iterable[Path]) -> list[Path]:
    """Files to import: files as given, directories searched recursively for known types."""
    files: list[Path] = []
    for p in paths:
        if (p / "ohlcv").is_dir():  # another data directory: its data files only
            for kind in _DATADIR_KINDS:
                files.extend(sorted((p / kind).glob("*.parquet")))
        elif p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise DataImportError(p, "no such file or directory")
    return files


def import_paths(paths: Iterable[Path], out: Path, symbol: str | None = None) -> list[ImportResult]:
    """Import every file under ``paths`` into ``out``; stops at the first bad file."""
    files = expand_sources(paths)
    if not files:
        raise DataImportError(out, "nothing to import (no .feather/.parquet/.csv files found)")
    out.mkdir(parents=True, exist_ok=True)
    results = [import_file(f, out, symbol) for f in files]
    for p in paths:  # a data directory's map and contract specs come along unless present
        for name in ("sectors.csv", "instruments.json"):
            if (p / "ohlcv").is_dir() and (p / name).is_file() and not (out / name).exists():
                shutil.copyfile(p / name, out / name)
    return results
