"""Rebuild tests/data/binance-usdm-1h/ from the full data set (the rule is in SLICE.md).

    python tests/data/make_slice.py /path/to/binance-usdm-1h

Every symbol's ohlcv, funding and open-interest rows with a timestamp in [START, END] UTC,
written with the source file's compression; sectors.csv and SOURCES.md copied unchanged.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 12, 1, tzinfo=UTC)
OUT = Path(__file__).resolve().parent / "binance-usdm-1h"


def main(src: Path) -> None:
    lo, hi = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
    shutil.rmtree(OUT, ignore_errors=True)
    total = 0
    for sub in ("ohlcv", "funding", "open_interest"):
        (OUT / sub).mkdir(parents=True)
        for path in sorted((src / sub).glob("*.parquet")):
            table = pq.read_table(path)
            ts = table.column("timestamp")
            table = table.filter(pc.and_(pc.greater_equal(ts, lo), pc.less_equal(ts, hi)))
            if table.num_rows == 0:
                continue
            codec = pq.read_metadata(path).row_group(0).column(0).compression
            pq.write_table(table, OUT / sub / path.name, compression=codec)
            total += (OUT / sub / path.name).stat().st_size
    for name in ("sectors.csv", "SOURCES.md"):
        shutil.copy2(src / name, OUT / name)
    print(f"{OUT}: {total / 1e6:.1f} MB of parquet")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
