"""Timestamps in any unit convert exactly; ambiguous or implausible ones are refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.data.datadir import DataDir, DataFileError, read_funding
from bot.data.schema import file_meta

MS = np.array([1_700_000_000_000, 1_700_003_600_000, 1_700_007_200_000], dtype=np.int64)
SCALE = {"s": (1, 1000), "ms": (1, 1), "us": (1000, 1), "ns": (1_000_000, 1)}


def _write(path: Path, ts: pa.Array) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"timestamp": ts, "funding_rate": [0.0001, 0.0002, -0.0001]}), path)
    return path


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo"])
def test_tz_aware_timestamps_of_any_unit_read_as_the_same_utc_ms(
    tmp_path: Path, unit: str, tz: str
) -> None:
    mul, div = SCALE[unit]
    ts = pa.array(MS * mul // div).cast(pa.timestamp(unit, tz=tz))
    path = _write(tmp_path / "f.parquet", ts)
    assert np.array_equal(read_funding(path).ts, MS)
    meta = file_meta(path, "funding")
    assert (meta.start_ms, meta.end_ms, meta.rows) == (int(MS[0]), int(MS[-1]), 3)


def test_naive_timestamps_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "X.parquet", pa.array(MS).cast(pa.timestamp("ms")))
    with pytest.raises(DataFileError, match=r"X\.parquet: column timestamp: .* no time zone"):
        read_funding(path)
    with pytest.raises(DataFileError, match="no time zone"):
        file_meta(path, "funding")


@pytest.mark.parametrize(("values", "hint"), [(MS // 1000, "seconds"), (MS * 1000, "micro")])
def test_integers_in_the_wrong_unit_are_refused(
    tmp_path: Path, values: np.ndarray, hint: str
) -> None:
    path = _write(tmp_path / "Y.parquet", pa.array(values))
    with pytest.raises(DataFileError, match=hint):
        read_funding(path)
    with pytest.raises(DataFileError, match=hint):
        file_meta(path, "funding")


def test_opening_a_data_dir_checks_schemas_from_the_footer(tmp_path: Path) -> None:
    root = tmp_path / "d"
    ohlcv = root / "ohlcv" / "AUSDT.parquet"
    ohlcv.parent.mkdir(parents=True)
    pq.write_table(pa.table({"timestamp": pa.array(MS), "open": ["1", "2", "3"]}), ohlcv)
    with pytest.raises(DataFileError, match=r"AUSDT\.parquet: missing column"):
        DataDir(root)
    cols = {c: pa.array([1.0, 1.0, 1.0]) for c in ("open", "high", "low", "close")}
    pq.write_table(pa.table({"timestamp": pa.array(MS), **cols, "volume": ["a", "b", "c"]}), ohlcv)
    with pytest.raises(DataFileError, match=r"AUSDT\.parquet: column volume: expected a number"):
        DataDir(root)
