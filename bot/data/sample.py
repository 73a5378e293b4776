"""The bundled sample: ~120 days of real data, every symbol gap-free (issue #2).

Built reproducibly from the shared Binance USD-M 1h data set::

    python -m bot.data.sample --src ../shared/data/market/binance-usdm-1h --out bot/data/sample_data

The window is chosen to maximise, in order: the number of symbols whose candles are gap-free
and whose funding has no interval longer than 8h over the window; the number of rotation
sectors with ≥ 4 such members (STRATEGY.md: a sector is scorable with ≥ 4); the number with
open interest; and recency. Rows are copied unchanged (same values, same dtypes); only the
data-directory columns are kept, and files are written with zstd for size.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bot.data.check import fmt_ms
from bot.data.datadir import DataDir, DataFileError
from bot.data.panel import HOUR_MS
from bot.data.sectors import BENCHMARK, SECTOR_NAMES, STABLECOIN, SectorMap, load_sector_map

DAY_MS = 24 * HOUR_MS
SAMPLE_DAYS = 120
MAX_FUNDING_INTERVAL_H = 8
MIN_SCORABLE_MEMBERS = 4
SAMPLE_PACKAGE = "bot.data.sample_data"
MANIFEST = "sample_manifest.json"

_KIND_COLUMNS = {
    "ohlcv": ["timestamp", "open", "high", "low", "close", "volume"],
    "funding": ["timestamp", "funding_rate"],
    "open_interest": ["timestamp", "open_interest"],
}


def sample_dir() -> Path:
    """Where the bundled sample data directory is installed."""
    ref = resources.files(SAMPLE_PACKAGE)
    path = Path(str(ref))
    if not (path / "ohlcv").is_dir():
        raise DataFileError(path, "bundled sample data not found (package installed from a zip?)")
    return path


@dataclass(frozen=True, slots=True)
class WindowChoice:
    """A candidate window and what it offers."""

    start_ms: int
    end_ms: int  # exclusive: the last bar opens at end_ms - 1h
    symbols: list[str]
    scorable_sectors: list[str]
    oi_symbols: list[str]

    def key(self) -> tuple[int, int, int, int]:
        return (len(self.symbols), len(self.scorable_sectors), len(self.oi_symbols), self.start_ms)


def _funding_ok(ts: np.ndarray[Any, Any], start: int, end: int) -> bool:
    inside = ts[(ts >= start) & (ts <= end)]
    limit = MAX_FUNDING_INTERVAL_H * HOUR_MS
    if len(inside) == 0 or inside[0] - start > limit or end - inside[-1] > limit:
        return False
    return bool(len(inside) < 2 or np.diff(inside).max() <= limit)


def _covers_hourly(ts: np.ndarray[Any, Any], start: int, end: int) -> bool:
    i, j = np.searchsorted(ts, [start, end])
    n = (end - start) // HOUR_MS
    return bool(j - i == n and n > 0 and ts[i] == start and ts[j - 1] == end - HOUR_MS)


def choose_window(
    src: DataDir, sector_map: SectorMap, *, days: int = SAMPLE_DAYS, start_ms: int | None = None
) -> WindowChoice:
    """Evaluate every UTC-midnight start (or just ``start_ms``) and return the best window."""
    span = days * DAY_MS
    ohlcv = {s: src.ohlcv(s).ts for s in src.symbols()}
    funding = {s: f.ts for s in ohlcv if (f := src.funding(s)) is not None}
    oi = {s: o.ts for s in ohlcv if (o := src.open_interest(s)) is not None}
    if start_ms is not None:
        starts = [start_ms]
    else:
        first = min(int(t[0]) for t in ohlcv.values())
        last = max(int(t[-1]) for t in ohlcv.values())
        lo = -(-first // DAY_MS) * DAY_MS
        starts = list(range(lo, last - span + 2 * HOUR_MS, DAY_MS))
    best: WindowChoice | None = None
    for a in starts:
        b = a + span
        syms = []
        for s, ts in ohlcv.items():
            sector = sector_map.sector_of(s)
            if sector is None or sector == STABLECOIN:
                continue
            if not _covers_hourly(ts, a, b):
                continue
            if s not in funding or not _funding_ok(funding[s], a, b):
                continue
            syms.append(s)
        if not any(sector_map.sector_of(s) == BENCHMARK for s in syms):
            continue
        counts: dict[str, int] = {}
        for s in syms:
            sec = sector_map.sector_of(s) or ""
            counts[sec] = counts.get(sec, 0) + 1
        scorable = [k for k in SECTOR_NAMES if counts.get(k, 0) >= MIN_SCORABLE_MEMBERS]
        with_oi = [s for s in syms if s in oi and _covers_hourly(oi[s], a, b)]
        cand = WindowChoice(a, b, sorted(syms), scorable, sorted(with_oi))
        if best is None or cand.key() > best.key():
            best = cand
    if best is None:
        raise ValueError(f"{src.root}: no {days}-day window holds the benchmark gap-free")
    return best


def _slice_file(path: Path, kind: str, start: int, end: int, *, inclusive_end: bool) -> pa.Table:
    try:
        table = pq.read_table(path, columns=_KIND_COLUMNS[kind])
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(path, f"corrupt or unreadable parquet ({exc})") from exc
    ts = table.column("timestamp")
    upper = pc.less_equal(ts, end) if inclusive_end else pc.less(ts, end)
    return table.filter(pc.and_(pc.greater_equal(ts, start), upper)).replace_schema_metadata(None)


def write_compact(table: pa.Table, path: Path) -> None:
    """Write a data-directory table small: zstd 19, delta timestamps, split float bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {
        name: ("DELTA_BINARY_PACKED" if name == "timestamp" else "BYTE_STREAM_SPLIT")
        for name in table.column_names
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        compression_level=19,
        use_dictionary=False,
        column_encoding=encoding,
    )
    tmp.replace(path)


def _pow10(exp: int) -> str:
    return format(Decimal(1).scaleb(exp), "f")


def _instrument(last_close: float, funding_interval_h: int) -> dict[str, Any]:
    # Bybit-like precision from the price level: ~5 significant digits of tick, and a qty step
    # a power of ten that keeps one step worth a few USDT or less (min notional 5 USDT binds).
    mag = math.floor(math.log10(last_close))
    step = _pow10(min(0, 1 - mag))
    return {
        "tick_size": _pow10(mag - 5),
        "qty_step": step,
        "min_qty": step,
        "min_notional": "5",
        "funding_interval_h": funding_interval_h,
    }


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """What :func:`build_sample` wrote."""

    start_ms: int
    end_ms: int
    symbols: list[str]
    scorable_sectors: list[str]
    oi_symbols: list[str]
    sector_map_version: str
    total_bytes: int


def build_sample(
    src: Path,
    out: Path,
    *,
    days: int = SAMPLE_DAYS,
    start_ms: int | None = None,
    sector_map: SectorMap | None = None,
) -> SampleInfo:
    """Copy the best ``days``-day gap-free window of ``src`` into data directory ``out``."""
    sm = sector_map or load_sector_map()
    dd = DataDir(src)
    win = choose_window(dd, sm, days=days, start_ms=start_ms)
    a, b = win.start_ms, win.end_ms
    for kind in _KIND_COLUMNS:
        for old in (out / kind).glob("*.parquet") if (out / kind).is_dir() else []:
            old.unlink()  # a rebuild must not leave symbols from an earlier window behind
    instruments: dict[str, Any] = {}
    for s in win.symbols:
        candles = _slice_file(dd.ohlcv_path(s), "ohlcv", a, b, inclusive_end=False)
        write_compact(candles, out / "ohlcv" / f"{s}.parquet")
        fund = _slice_file(dd.funding_path(s), "funding", a, b, inclusive_end=True)
        write_compact(fund, out / "funding" / f"{s}.parquet")
        if s in win.oi_symbols:
            oi = _slice_file(dd.oi_path(s), "open_interest", a, b, inclusive_end=False)
            write_compact(oi, out / "open_interest" / f"{s}.parquet")
        fts = fund.column("timestamp").to_numpy()
        interval = int((fts[-1] - fts[-2]) // HOUR_MS) if len(fts) > 1 else 8
        last_close = float(candles.column("close").to_numpy()[-1])
        instruments[s] = _instrument(last_close, interval)
    lines = ["symbol,sector"] + [f"{s},{sm.sector_of(s)}" for s in win.symbols]
    (out / "sectors.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "instruments.json").write_text(
        json.dumps(instruments, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    manifest = {
        "source": "binance-usdm-1h (shared real data; see its SOURCES.md)",
        "start": fmt_ms(a),
        "end_exclusive": fmt_ms(b),
        "start_ms": a,
        "end_ms": b,
        "bars": (b - a) // HOUR_MS,
        "symbols": win.symbols,
        "scorable_sectors": win.scorable_sectors,
        "open_interest_symbols": win.oi_symbols,
        "sector_map_version": sm.version,
        "rules": "candles gap-free over [start, end); funding intervals <= 8h; rows unchanged",
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix != ".py")
    return SampleInfo(
        a, b, win.symbols, win.scorable_sectors, win.oi_symbols, sm.version, int(total)
    )


def read_manifest(root: Path | None = None) -> dict[str, Any]:
    """The sample's ``sample_manifest.json`` (window, symbols, sectors)."""
    path = (root or sample_dir()) / MANIFEST
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.data.sample --src DIR --out DIR [--days N] [--start-ms MS]``."""
    ap = argparse.ArgumentParser(description="Build the bundled sample from real data.")
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--days", type=int, default=SAMPLE_DAYS)
    ap.add_argument("--start-ms", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        info = build_sample(args.src, args.out, days=args.days, start_ms=args.start_ms)
    except (DataFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = asdict(info) | {"start": fmt_ms(info.start_ms), "end": fmt_ms(info.end_ms)}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
