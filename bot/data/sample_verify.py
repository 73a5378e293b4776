"""Prove a bundled sample is what its rule takes from its source (``bot.data.sample``).

The suite checks the rule itself on generated data; this checks the shipped artifact against
the real source, which is too large to ship (the wide data set is 112 MB)::

    python -m bot.data.sample_verify --src ../shared/data/market/binance-usdm-1h-wide

CI runs it where the source is present. Two checks: every row of the sample equals its source
row (same values, same types), and rebuilding from the source gives the same files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bot.data.datadir import DataFileError
from bot.data.sample import build_sample, read_manifest, sample_dir


def rows_match_source(sample: Path, src: Path) -> list[str]:
    """Files of ``sample`` whose rows differ from ``src``'s rows in the sample's window."""
    man = read_manifest(sample)
    start, end = int(man["start_ms"]), int(man["end_ms"])
    problems: list[str] = []
    for sub in ("ohlcv", "funding", "open_interest"):
        for p in sorted((sample / sub).glob("*.parquet")):
            mine = pq.read_table(p)
            source = src / sub / p.name
            if not source.is_file():
                problems.append(f"{sub}/{p.name}: no such file in {src}")
                continue
            theirs = pq.read_table(source, columns=mine.column_names)
            ts = theirs.column("timestamp").to_numpy()
            # Funding stamped exactly at the window's end is settled inside it.
            keep = (ts >= start) & ((ts <= end) if sub == "funding" else (ts < end))
            theirs = theirs.filter(np.asarray(keep))
            if mine.schema.types != theirs.schema.types:
                problems.append(f"{sub}/{p.name}: column types differ from the source")
            elif not mine.equals(theirs.replace_schema_metadata(None)):
                problems.append(f"{sub}/{p.name}: rows differ from the source")
    return problems


def rebuild_matches(sample: Path, src: Path) -> list[str]:
    """Files that a rebuild from ``src`` (same window) does not reproduce byte for byte."""
    man = read_manifest(sample)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rotor-sample-") as tmp:
        out = Path(tmp)
        info = build_sample(src, out)
        if (info.start_ms, info.end_ms) != (man["start_ms"], man["end_ms"]):
            problems.append(
                f"the rule now picks {info.start_ms}..{info.end_ms}, "
                f"the sample has {man['start_ms']}..{man['end_ms']}"
            )
        if info.symbols != man["symbols"]:
            extra = sorted(set(info.symbols) - set(man["symbols"]))
            missing = sorted(set(man["symbols"]) - set(info.symbols))
            problems.append(f"symbols differ: rebuild adds {extra}, lacks {missing}")
        for p in sorted(sample.rglob("*.parquet")):
            rel = p.relative_to(sample)
            rebuilt = out / rel
            if not rebuilt.is_file() or not pq.read_table(rebuilt).equals(pq.read_table(p)):
                problems.append(f"{rel}: not reproduced by the rebuild")
        if (out / "sectors.csv").read_text() != (sample / "sectors.csv").read_text():
            problems.append("sectors.csv: not reproduced by the rebuild")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.data.sample_verify --src DIR [--sample DIR]``; exit 1 on a mismatch."""
    ap = argparse.ArgumentParser(description="Verify the bundled sample against its source.")
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--sample", type=Path, default=None)
    args = ap.parse_args(argv)
    sample = args.sample if args.sample is not None else sample_dir()
    try:
        problems = rows_match_source(sample, args.src) + rebuild_matches(sample, args.src)
    except (DataFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"sample mismatch: {p}", file=sys.stderr)
    if not problems:
        print(f"{sample}: every row equals {args.src} and a rebuild reproduces every file")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
