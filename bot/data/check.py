"""``rotor data check``: per-file integrity report for a data directory (issue #4).

Every file is read raw (not through the strict readers in ``datadir``) so that one bad row is
counted and reported instead of aborting the whole file. Three severities:

- ``corrupt``: the file cannot be read, or required columns are missing. Always fatal; so is a
  ``spot/`` file whose spot market no perpetual of ``ohlcv/`` trades (``bot.data.spotmap``).
- ``bad rows``: NaN, non-positive prices, high < low, open/close outside [low, high],
  negative volume or OI, duplicate or backwards timestamps, timestamps off the hour grid.
- ``gaps``: missing hours in OHLCV/spot/OI, funding intervals longer than ``max_funding_gap_h``.
  Real data has gaps, so they are reported but only fail with ``fail_on_gaps``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bot.data.datadir import read_sectors_csv
from bot.data.panel import HOUR_MS
from bot.data.schema import (
    KIND_COLUMNS,
    OHLCV_COLUMNS,
    DataFileError,
    FileMeta,
    check_grid,
    fmt_ms,
    to_ms,
)
from bot.data.spotmap import orphan_problem

__all__ = ["KIND_COLUMNS", "CheckReport", "FileReport", "check_dir", "check_file", "fmt_ms"]
MAX_EXAMPLES = 5

EXIT_OK = 0
EXIT_BAD_ROWS = 1
EXIT_CORRUPT = 2


@dataclass(slots=True)
class Gap:
    """Missing data between two present rows (``after_ms`` and ``before_ms`` both exist)."""

    after_ms: int
    before_ms: int
    missing: int  # missing bars (OHLCV/OI) or missing hours (funding)

    def describe(self) -> str:
        return f"{fmt_ms(self.after_ms)} -> {fmt_ms(self.before_ms)} ({self.missing} missing)"


@dataclass(slots=True)
class FileReport:
    """What ``check`` found in one file."""

    path: str
    kind: str
    rows: int = 0
    error: str | None = None  # corrupt / unreadable / missing columns
    missing_columns: list[str] = field(default_factory=list)
    bad_rows: dict[str, int] = field(default_factory=dict)  # reason -> count
    examples: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    start_ms: int | None = None
    end_ms: int | None = None

    @property
    def corrupt(self) -> bool:
        return self.error is not None

    @property
    def n_bad(self) -> int:
        return sum(self.bad_rows.values())

    def add_bad(self, reason: str, rows: np.ndarray[Any, Any], ts: np.ndarray[Any, Any]) -> None:
        """Record rows flagged for ``reason`` (a boolean mask or index array)."""
        idx = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows
        if len(idx) == 0:
            return
        self.bad_rows[reason] = self.bad_rows.get(reason, 0) + len(idx)
        for i in idx[: max(0, MAX_EXAMPLES - len(self.examples))]:
            t = int(ts[i]) if i < len(ts) else -1
            self.examples.append(f"row {int(i)} (ts={t}): {reason}")


@dataclass(slots=True)
class CheckReport:
    """The whole directory's report."""

    root: str
    files: list[FileReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # directory-level, fatal
    warnings: list[str] = field(default_factory=list)  # directory-level, informational

    @property
    def corrupt_files(self) -> list[FileReport]:
        return [f for f in self.files if f.corrupt]

    def exit_code(self, *, fail_on_gaps: bool = False) -> int:
        """2 if anything is corrupt/unreadable, 1 for bad rows (or gaps if asked), else 0."""
        if self.corrupt_files or self.problems:
            return EXIT_CORRUPT
        if any(f.n_bad for f in self.files):
            return EXIT_BAD_ROWS
        if fail_on_gaps and any(f.gaps for f in self.files):
            return EXIT_BAD_ROWS
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        files = []
        for f in self.files:
            d = asdict(f)
            d["corrupt"] = f.corrupt
            d["n_bad"] = f.n_bad
            d["n_gaps"] = len(f.gaps)
            d["missing_bars"] = sum(g.missing for g in f.gaps)
            files.append(d)
        return {
            "root": self.root,
            "ok": self.exit_code() == EXIT_OK,
            "corrupt": [f.path for f in self.corrupt_files],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "files": files,
        }

    def render(self) -> str:
        """Human-readable multi-line summary, one block per file with findings."""
        lines: list[str] = []
        for f in self.files:
            if f.corrupt:
                lines.append(f"CORRUPT {f.path}: {f.error}")
                continue
            span = "-"
            if f.start_ms is not None and f.end_ms is not None:
                span = f"{fmt_ms(f.start_ms)}..{fmt_ms(f.end_ms)}"
            status = "ok" if not (f.n_bad or f.gaps) else "issues"
            lines.append(f"{status:6} {f.path}: {f.rows} rows {span}")
            for reason, n in sorted(f.bad_rows.items()):
                lines.append(f"       bad rows: {n} x {reason}")
            for ex in f.examples:
                lines.append(f"         {ex}")
            if f.gaps:
                total = sum(g.missing for g in f.gaps)
                lines.append(f"       gaps: {len(f.gaps)} ({total} missing)")
                for g in f.gaps[:MAX_EXAMPLES]:
                    lines.append(f"         {g.describe()}")
        lines.extend(f"PROBLEM {p}" for p in self.problems)
        lines.extend(f"WARNING {w}" for w in self.warnings)
        n_bad = sum(1 for f in self.files if f.n_bad)
        n_gap = sum(1 for f in self.files if f.gaps)
        lines.append(
            f"{len(self.files)} files: {len(self.corrupt_files)} corrupt, "
            f"{n_bad} with bad rows, {n_gap} with gaps"
        )
        return "\n".join(lines)


def _load(path: Path, kind: str, rep: FileReport) -> dict[str, np.ndarray[Any, Any]] | None:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        rep.error = f"corrupt or unreadable parquet ({exc})"
        return None
    need = KIND_COLUMNS[kind]
    rep.missing_columns = [c for c in need if c not in table.column_names]
    if rep.missing_columns:
        rep.error = f"missing column(s): {', '.join(rep.missing_columns)}"
        return None
    rep.rows = table.num_rows
    out: dict[str, np.ndarray[Any, Any]] = {}
    try:
        out["timestamp"] = to_ms(path, table.column("timestamp"))
    except DataFileError as exc:
        rep.error = exc.problem
        return None
    try:
        for c in need[1:]:
            out[c] = np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        rep.error = f"bad column type ({exc})"
        return None
    return out


def _check_timestamps(
    ts: np.ndarray[Any, Any], rep: FileReport, *, hourly: bool, max_gap_h: float
) -> None:
    if len(ts) == 0:
        return
    rep.start_ms, rep.end_ms = int(ts[0]), int(ts[-1])
    d = np.diff(ts)
    rep.add_bad("duplicate timestamp", np.flatnonzero(d == 0) + 1, ts)
    rep.add_bad("timestamp goes backwards", np.flatnonzero(d < 0) + 1, ts)
    if hourly:
        rep.add_bad("timestamp not on the hour", ts % HOUR_MS != 0, ts)
    # Gaps are measured on the sorted distinct timestamps, so disorder is not double-counted.
    uniq = np.unique(ts)
    du = np.diff(uniq)
    limit = HOUR_MS if hourly else int(max_gap_h * HOUR_MS)
    for i in np.flatnonzero(du > limit):
        missing = int(du[i] // HOUR_MS) - (1 if hourly else 0)
        rep.gaps.append(Gap(int(uniq[i]), int(uniq[i + 1]), missing))


def check_candles(d: dict[str, np.ndarray[Any, Any]], rep: FileReport) -> None:
    """The candle rules (``ohlcv`` and ``spot`` files): NaN, non-positive prices, high < low,
    open/close outside [low, high], negative volume, timestamp order and the hour grid."""
    ts = d["timestamp"]
    o, h, lo, c, v = (d[k] for k in OHLCV_COLUMNS)
    prices = np.stack([o, h, lo, c])
    nan = np.isnan(prices).any(axis=0) | np.isnan(v)
    rep.add_bad("NaN value", np.asarray(nan), ts)
    with np.errstate(invalid="ignore"):
        nonpos = ~nan & (prices <= 0).any(axis=0)
        rep.add_bad("non-positive price", np.asarray(nonpos), ts)
        hl = ~nan & ~nonpos & (h < lo)
        rep.add_bad("high < low", hl, ts)
        outside = (np.maximum(o, c) > h) | (np.minimum(o, c) < lo)
        rep.add_bad("open/close outside [low, high]", outside & ~(nan | nonpos | hl), ts)
        rep.add_bad("negative volume", v < 0, ts)
    _check_timestamps(ts, rep, hourly=True, max_gap_h=1)


def check_file(path: Path, kind: str, *, max_funding_gap_h: float = 8.0) -> FileReport:
    """Check one parquet file of the given kind (``ohlcv``, ``spot``, ``funding``,
    ``open_interest``)."""
    rep = FileReport(path=str(path), kind=kind)
    d = _load(path, kind, rep)
    if d is None:
        return rep
    ts = d["timestamp"]
    if kind in ("ohlcv", "spot"):
        check_candles(d, rep)
    elif kind == "funding":
        r = d["funding_rate"]
        rep.add_bad("NaN value", np.isnan(r), ts)
        _check_timestamps(ts, rep, hourly=False, max_gap_h=max_funding_gap_h)
    else:
        oi = d["open_interest"]
        rep.add_bad("NaN value", np.isnan(oi), ts)
        with np.errstate(invalid="ignore"):
            rep.add_bad("negative open interest", oi < 0, ts)
        _check_timestamps(ts, rep, hourly=True, max_gap_h=1)
    return rep


def check_dir(root: Path, *, max_funding_gap_h: float = 8.0) -> CheckReport:
    """Check every file of a data directory (SIM-VENUE.md format)."""
    report = CheckReport(root=str(root))
    if not root.is_dir():
        report.problems.append(f"{root}: data directory not found")
        return report
    if not (root / "ohlcv").is_dir():
        report.problems.append(f"{root / 'ohlcv'}: missing ohlcv/ directory")
    ohlcv_syms: set[str] = set()
    for kind in KIND_COLUMNS:
        sub = root / kind
        if not sub.is_dir():
            continue
        for p in sorted(sub.glob("*.parquet")):
            if kind == "ohlcv":
                ohlcv_syms.add(p.stem)
            elif kind == "spot":
                problem = orphan_problem(p, ohlcv_syms)
                if problem is not None:
                    report.problems.append(problem)
            elif p.stem not in ohlcv_syms:
                report.warnings.append(f"{p}: no matching ohlcv/{p.stem}.parquet")
            report.files.append(check_file(p, kind, max_funding_gap_h=max_funding_gap_h))
    spans = [
        FileMeta(Path(f.path), f.kind, f.rows, f.start_ms, f.end_ms)
        for f in report.files
        if f.kind == "ohlcv" and not f.corrupt
    ]
    try:
        check_grid(root, spans)
    except DataFileError as exc:
        report.problems.append(str(exc))
    sectors = root / "sectors.csv"
    if sectors.exists():
        rep = FileReport(path=str(sectors), kind="sectors")
        try:
            rep.rows = len(read_sectors_csv(sectors))
        except DataFileError as exc:
            rep.error = exc.problem
        report.files.append(rep)
    instruments = root / "instruments.json"
    if instruments.exists():
        rep = FileReport(path=str(instruments), kind="instruments")
        try:
            data = json.loads(instruments.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                rep.error = "expected a JSON object keyed by symbol"
            else:
                rep.rows = len(data)
        except (OSError, ValueError) as exc:
            rep.error = f"not valid JSON ({exc})"
        report.files.append(rep)
    return report
