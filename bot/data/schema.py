"""Data-file schemas: what a column may hold, timestamps in any unit, and a cheap preflight.

Every command that reads a data directory (``backtest``, ``run --mode replay``, ``sim serve``,
``scan``, ``data check``) meets it through :class:`~bot.data.datadir.DataDir`, which runs
:func:`preflight` first: each file's schema, row count and timestamp range come from the
parquet footer (no column data is read), so a bad file is refused by name before any work
starts, and the hourly grid every loader allocates is bounded before it is allocated.

Timestamps are UTC milliseconds. A file may store them as ``int64`` milliseconds or as a
timezone-aware ``timestamp[s|ms|us|ns, tz]`` (what pandas writes for a UTC datetime column);
both convert exactly. A timestamp without a time zone is ambiguous and refused, as are integer
values outside 2009-2100 in milliseconds (seconds or microseconds stored as plain integers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from bot.data.spotmap import orphan_problem

HOUR_MS = 3_600_000
OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "ohlcv": ("timestamp", *OHLCV_COLUMNS),
    "funding": ("timestamp", "funding_rate"),
    "open_interest": ("timestamp", "open_interest"),
    "spot": ("timestamp", *OHLCV_COLUMNS),  # optional: a spot market's own candles
}
# Plausible UTC-ms range: the first Bitcoin block (2009-01-03) to 2100. An integer column in
# seconds (~1.7e9) or microseconds (~1.7e15) falls outside it by orders of magnitude.
MIN_MS = 1_230_940_800_000
MAX_MS = 4_102_444_800_000
# The loaders allocate several float64 arrays of symbols x hours: refuse a grid that could
# not be meant (a stray row decades away, a unit mix-up) before allocating it.
MAX_GRID_HOURS = 20 * 8784
MAX_GRID_CELLS = 150_000_000  # symbols x hours: ~1.2 GB per float64 array
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_MS = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1000), "ns": (1, 1_000_000)}

I64 = npt.NDArray[np.int64]


class DataFileError(Exception):
    """A data file is missing, unreadable, corrupt or malformed; ``path`` names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def fmt_ms(ms: int) -> str:
    """UTC ``YYYY-MM-DD HH:MM`` for a millisecond timestamp."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def timestamp_problem(t: pa.DataType) -> str | None:
    """Why a ``timestamp`` column of type ``t`` cannot be read as UTC ms (None: it can)."""
    if pa.types.is_timestamp(t):
        if t.tz is None:
            return (
                f"column timestamp: {t} has no time zone (ambiguous); store UTC as int64 ms "
                "or a tz-aware timestamp (`rotor data import` converts, reading naive as UTC)"
            )
        return None
    if pa.types.is_integer(t) and t.bit_width == 64:
        return None
    return f"column timestamp: expected int64 UTC ms or a tz-aware timestamp, got {t}"


def range_problem(lo: int, hi: int) -> str | None:
    """Why timestamps spanning ``[lo, hi]`` (as UTC ms) are not plausible (None: they are)."""
    if lo >= MIN_MS and hi <= MAX_MS:
        return None
    bad = lo if lo < MIN_MS else hi
    guess = ""
    if 0 < abs(bad) < MIN_MS // 100:
        guess = " (seconds?)"
    elif abs(bad) > MAX_MS * 100:
        guess = " (microseconds or nanoseconds?)"
    return (
        f"column timestamp: value {bad} is not a UTC millisecond time between 2009 and 2100{guess}"
    )


def to_ms(path: Path, col: pa.ChunkedArray | pa.Array) -> I64:
    """A ``timestamp`` column as UTC ms (``int64``), whatever its stored unit."""
    problem = timestamp_problem(col.type)
    if problem is not None:
        raise DataFileError(path, problem)
    if pa.types.is_timestamp(col.type):
        mul, div = _UNIT_MS[col.type.unit]
        raw = np.asarray(col.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        out = raw * mul if mul != 1 else raw // div if div != 1 else raw
    else:
        out = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(out):
        problem = range_problem(int(out.min()), int(out.max()))
        if problem is not None:
            raise DataFileError(path, problem)
    return np.asarray(out, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class FileMeta:
    """What a file's footer says: rows and the UTC-ms range of its timestamps."""

    path: Path
    kind: str
    rows: int
    start_ms: int | None
    end_ms: int | None


def _stat_ms(st: Any, which: str) -> int | None:
    """A row group's timestamp min or max as UTC ms (None when the footer lacks it)."""
    if st is None or not st.has_min_max:
        return None
    try:
        value = getattr(st, which)
    except (ValueError, OverflowError, pa.ArrowException):  # a date past year 9999
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, int):
        return value
    return None


def _ts_range(path: Path, pf: pq.ParquetFile) -> tuple[int | None, int | None]:
    """Timestamp min/max from the row-group statistics, else from the one column."""
    md = pf.metadata
    if md.num_rows == 0:
        return None, None
    i = pf.schema_arrow.get_field_index("timestamp")
    lo: int | None = None
    hi: int | None = None
    for r in range(md.num_row_groups):
        st = md.row_group(r).column(i).statistics
        a, b = _stat_ms(st, "min"), _stat_ms(st, "max")
        if a is None or b is None:
            ts = to_ms(path, pf.read(columns=["timestamp"]).column("timestamp"))
            return int(ts.min()), int(ts.max())
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    return lo, hi


def file_meta(path: Path, kind: str) -> FileMeta:
    """Check one file's schema from its footer; ``DataFileError`` names the file and problem."""
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except FileNotFoundError as exc:
        raise DataFileError(path, "file not found") from exc
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(path, f"corrupt or unreadable parquet ({exc})") from exc
    need = KIND_COLUMNS[kind]
    missing = [c for c in need if schema.get_field_index(c) < 0]
    if missing:
        raise DataFileError(path, f"missing column(s): {', '.join(missing)}")
    t = schema.field("timestamp").type
    problem = timestamp_problem(t)
    if problem is not None:
        raise DataFileError(path, problem)
    for c in need[1:]:
        ct = schema.field(c).type
        if not (pa.types.is_floating(ct) or pa.types.is_integer(ct)):
            raise DataFileError(path, f"column {c}: expected a number, got {ct}")
    try:
        lo, hi = _ts_range(path, pf)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(path, f"corrupt or unreadable parquet ({exc})") from exc
    if lo is not None and hi is not None:
        problem = range_problem(lo, hi)
        if problem is not None:
            raise DataFileError(path, problem)
    return FileMeta(path, kind, pf.metadata.num_rows, lo, hi)


@dataclass(frozen=True, slots=True)
class DirMeta:
    """The preflight of a data directory: every file's footer facts and the 1h grid span."""

    root: Path
    files: dict[tuple[str, str], FileMeta]  # (kind, symbol) -> meta
    grid_start_ms: int | None
    grid_end_ms: int | None

    @property
    def grid_hours(self) -> int:
        if self.grid_start_ms is None or self.grid_end_ms is None:
            return 0
        return (self.grid_end_ms - self.grid_start_ms) // HOUR_MS + 1


def check_grid(root: Path, metas: Iterable[FileMeta]) -> tuple[int | None, int | None]:
    """The OHLCV files' common hourly grid; refuse one too large to allocate, naming why."""
    ohlcv = [m for m in metas if m.start_ms is not None and m.end_ms is not None]
    if not ohlcv:
        return None, None
    first = min(ohlcv, key=lambda m: m.start_ms or 0)
    last = max(ohlcv, key=lambda m: m.end_ms or 0)
    lo, hi = int(first.start_ms or 0), int(last.end_ms or 0)
    hours = (hi - lo) // HOUR_MS + 1
    cells = hours * len(ohlcv)
    if hours > MAX_GRID_HOURS or cells > MAX_GRID_CELLS:
        raise DataFileError(
            root,
            f"the hourly grid would span {hours:,} hours x {len(ohlcv)} symbols "
            f"({cells * 8 / 1e9:.1f} GB per array): from {fmt_ms(lo)} ({first.path.name}) "
            f"to {fmt_ms(hi)} ({last.path.name}); limits {MAX_GRID_HOURS:,} hours and "
            f"{MAX_GRID_CELLS:,} symbol-hours. Check those files' timestamps or use fewer "
            "symbols / a shorter range",
        )
    return lo, hi


def preflight(root: Path, kinds: Iterable[str] = tuple(KIND_COLUMNS)) -> DirMeta:
    """Check every data file's schema and the grid span from footers only (no column data),
    and that every spot file has its perpetual (``bot.data.spotmap``)."""
    files: dict[tuple[str, str], FileMeta] = {}
    for kind in kinds:
        sub = root / kind
        if not sub.is_dir():
            continue
        for p in sorted(sub.glob("*.parquet")):
            files[(kind, p.stem)] = file_meta(p, kind)
    perps = [s for k, s in files if k == "ohlcv"]
    for k, s in files:
        if k == "spot" and (problem := orphan_problem(files[(k, s)].path, perps)) is not None:
            raise DataFileError(files[(k, s)].path, problem.split(": ", 1)[1])
    lo, hi = check_grid(root, (m for (k, _), m in files.items() if k == "ohlcv"))
    return DirMeta(root, files, lo, hi)
