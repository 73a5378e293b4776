"""The bundled sample: the last 120 days of a wide real universe, chosen by a fixed rule.

Built reproducibly from the shared Binance USD-M data (453 perpetuals, ``SOURCES.md``)::

    python -m bot.data.sample --src ../shared/data/market/binance-usdm-1h-wide \
        --out bot/data/sample_data

The rule uses only the data's calendar, gap-freeness and traded volume, never a backtest
result, so it cannot be tuned to make a preset look good:

1. **Window**: the last ``days`` (120) whole UTC days, ending at the last UTC midnight by
   which at least half of the OHLCV files have their last bar.
2. **Candidates**: symbols whose hourly candles are gap-free over the window and that the
   data's ``sectors.csv`` (else the bundled map) puts in a rotation sector; BTC as benchmark.
3. **Members**: in each sector, the ``per_sector`` (12) candidates with the highest median
   hourly quote volume (close x volume) over the window; ties by symbol name.
4. Funding and open-interest rows inside the window are copied as they are: their coverage
   differs by symbol (the manifest counts it), which the signal layers must show, not hide.

Rows are copied unchanged (same values, same dtypes); only the data-directory columns are
kept, and files are written with zstd for size. ``--start-ms`` pins the window start.
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

from bot.data.datadir import DataDir, DataFileError
from bot.data.panel import HOUR_MS
from bot.data.schema import fmt_ms
from bot.data.sectors import (
    BENCHMARK,
    SECTOR_NAMES,
    STABLECOIN,
    SectorMap,
    load_sector_map,
    sector_map_from_mapping,
)

DAY_MS = 24 * HOUR_MS
SAMPLE_DAYS = 120
PER_SECTOR = 12
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
class SliceChoice:
    """The window and the members the rule picked."""

    start_ms: int
    end_ms: int  # exclusive: the last bar opens at end_ms - 1h
    symbols: list[str]  # sorted, the benchmark included
    sectors: dict[str, str]  # symbol -> sector id (benchmark included)
    candidates: int  # gap-free, mapped symbols before the per-sector cut


def _covers_hourly(ts: np.ndarray[Any, Any], start: int, end: int) -> bool:
    i, j = np.searchsorted(ts, [start, end])
    n = (end - start) // HOUR_MS
    return bool(j - i == n and n > 0 and ts[i] == start and ts[j - 1] == end - HOUR_MS)


def default_end(src: DataDir) -> int:
    """The last UTC midnight by which at least half of the OHLCV files have their last bar."""
    ends = sorted(
        int(m.end_ms) + HOUR_MS
        for (kind, _), m in src.meta.files.items()
        if kind == "ohlcv" and m.end_ms is not None
    )
    if not ends:
        raise DataFileError(src.root / "ohlcv", "no rows")
    return (ends[(len(ends) - 1) // 2] // DAY_MS) * DAY_MS


def choose_slice(
    src: DataDir,
    sector_map: SectorMap,
    *,
    days: int = SAMPLE_DAYS,
    per_sector: int = PER_SECTOR,
    start_ms: int | None = None,
) -> SliceChoice:
    """Apply the module's rule: the window, then the top members of each sector by volume."""
    end = default_end(src) if start_ms is None else start_ms + days * DAY_MS
    start = end - days * DAY_MS
    volume: dict[str, float] = {}
    sector_of: dict[str, str] = {}
    bench: str | None = None
    for sym in src.symbols():
        sector = sector_map.sector_of(sym)
        if sector is None or sector == STABLECOIN:
            continue
        meta = src.meta.files[("ohlcv", sym)]
        if meta.start_ms is None or meta.start_ms > start or (meta.end_ms or 0) < end - HOUR_MS:
            continue  # the footer already says the window is not covered
        o = src.ohlcv(sym)
        if not _covers_hourly(o.ts, start, end):
            continue
        if sector == BENCHMARK:
            bench = sym
            continue
        i, j = np.searchsorted(o.ts, [start, end])
        volume[sym] = float(np.median(o.close[i:j] * o.volume[i:j]))
        sector_of[sym] = sector
    if bench is None:
        raise ValueError(f"{src.root}: the benchmark has no gap-free candles over the window")
    chosen: dict[str, str] = {bench: BENCHMARK}
    for sector in SECTOR_NAMES:
        members = sorted(
            (s for s, k in sector_of.items() if k == sector), key=lambda s: (-volume[s], s)
        )
        chosen.update((s, sector) for s in members[:per_sector])
    return SliceChoice(start, end, sorted(chosen), chosen, len(sector_of))


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
    sector_counts: dict[str, int]
    funding_symbols: int  # with at least one settlement in the window
    oi_symbols: list[str]
    sector_map_version: str
    total_bytes: int


def _source_map(dd: DataDir, override: SectorMap | None) -> SectorMap:
    if override is not None:
        return override
    own = dd.sectors()
    return (
        sector_map_from_mapping(own, source=str(dd.root / "sectors.csv"))
        if own
        else load_sector_map()
    )


def build_sample(
    src: Path,
    out: Path,
    *,
    days: int = SAMPLE_DAYS,
    per_sector: int = PER_SECTOR,
    start_ms: int | None = None,
    sector_map: SectorMap | None = None,
) -> SampleInfo:
    """Copy the rule's slice of ``src`` (module docstring) into data directory ``out``."""
    dd = DataDir(src)
    sm = _source_map(dd, sector_map)
    win = choose_slice(dd, sm, days=days, per_sector=per_sector, start_ms=start_ms)
    a, b = win.start_ms, win.end_ms
    for kind in _KIND_COLUMNS:
        for old in (out / kind).glob("*.parquet") if (out / kind).is_dir() else []:
            old.unlink()  # a rebuild must not leave symbols from an earlier slice behind
    instruments: dict[str, Any] = {}
    funding: dict[str, str | None] = {}
    oi_symbols: list[str] = []
    for s in win.symbols:
        candles = _slice_file(dd.ohlcv_path(s), "ohlcv", a, b, inclusive_end=False)
        write_compact(candles, out / "ohlcv" / f"{s}.parquet")
        interval = 8
        funding[s] = None
        if dd.funding_path(s).exists():
            fund = _slice_file(dd.funding_path(s), "funding", a, b, inclusive_end=True)
            if fund.num_rows:
                write_compact(fund, out / "funding" / f"{s}.parquet")
                fts = fund.column("timestamp").to_numpy()
                funding[s] = fmt_ms(int(fts[0]))
                if len(fts) > 1:
                    interval = int((fts[-1] - fts[-2]) // HOUR_MS)
        if dd.oi_path(s).exists():
            oi = _slice_file(dd.oi_path(s), "open_interest", a, b, inclusive_end=False)
            if oi.num_rows:
                write_compact(oi, out / "open_interest" / f"{s}.parquet")
                oi_symbols.append(s)
        last_close = float(candles.column("close").to_numpy()[-1])
        instruments[s] = _instrument(last_close, interval)
    lines = ["symbol,sector"] + [f"{s},{win.sectors[s]}" for s in win.symbols]
    (out / "sectors.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "instruments.json").write_text(
        json.dumps(instruments, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    counts: dict[str, int] = {}
    for s in win.symbols:
        counts[win.sectors[s]] = counts.get(win.sectors[s], 0) + 1
    manifest = {
        "source": "binance-usdm-1h-wide (shared real data; see its SOURCES.md)",
        "start": fmt_ms(a),
        "end_exclusive": fmt_ms(b),
        "start_ms": a,
        "end_ms": b,
        "bars": (b - a) // HOUR_MS,
        "symbols": win.symbols,
        "sector_counts": counts,
        "candidates": win.candidates,
        "first_funding_in_window": funding,
        "open_interest_symbols": oi_symbols,
        "sector_map_version": sm.version,
        "rule": (
            f"last {days} whole UTC days ending at the last midnight by which half the files "
            f"end; gap-free candles; per rotation sector the {per_sector} members with the "
            "highest median hourly quote volume over the window; BTC as the benchmark; "
            "funding and OI rows inside the window as they are; rows unchanged"
        ),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix != ".py")
    return SampleInfo(
        a,
        b,
        win.symbols,
        counts,
        sum(1 for v in funding.values() if v is not None),
        oi_symbols,
        sm.version,
        int(total),
    )


def read_manifest(root: Path | None = None) -> dict[str, Any]:
    """The sample's ``sample_manifest.json`` (window, symbols, sectors)."""
    path = (root or sample_dir()) / MANIFEST
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.data.sample --src DIR --out DIR [--days N] [--per-sector K] [--start-ms MS]``."""
    ap = argparse.ArgumentParser(description="Build the bundled sample from real data.")
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--days", type=int, default=SAMPLE_DAYS)
    ap.add_argument("--per-sector", type=int, default=PER_SECTOR)
    ap.add_argument("--start-ms", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        info = build_sample(
            args.src, args.out, days=args.days, per_sector=args.per_sector, start_ms=args.start_ms
        )
    except (DataFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = asdict(info) | {"start": fmt_ms(info.start_ms), "end": fmt_ms(info.end_ms)}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
