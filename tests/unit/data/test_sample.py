"""The bundled sample: loads, gap-free, funding/OI present, small, equal to the source rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bot.data.check import check_dir
from bot.data.datadir import DataDir
from bot.data.panel import HOUR_MS
from bot.data.sample import SAMPLE_DAYS, build_sample, read_manifest, sample_dir
from bot.data.sectors import BENCHMARK, SECTOR_NAMES, load_sector_map

MAX_BYTES = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def sample() -> DataDir:
    return DataDir(sample_dir())


def test_sample_loads_and_is_gap_free(sample: DataDir) -> None:
    man = read_manifest()
    start, end = man["start_ms"], man["end_ms"]
    assert end - start == SAMPLE_DAYS * 24 * HOUR_MS
    assert sample.symbols() == man["symbols"]
    assert "BTCUSDT" in sample.symbols() and len(sample.symbols()) >= 30
    expected = np.arange(start, end, HOUR_MS, dtype=np.int64)
    for sym in sample.symbols():
        o = sample.ohlcv(sym)
        assert np.array_equal(o.ts, expected), sym
        assert np.isfinite(o.close).all() and (o.low > 0).all() and (o.high >= o.low).all()
        f = sample.funding(sym)
        assert f is not None and len(f) > 0, sym
        assert f.ts[0] - start <= 8 * HOUR_MS and end - f.ts[-1] <= 8 * HOUR_MS
        assert np.diff(f.ts).max() <= 8 * HOUR_MS, sym
    with_oi = [s for s in sample.symbols() if sample.open_interest(s) is not None]
    assert with_oi == man["open_interest_symbols"] and len(with_oi) >= 10
    for sym in with_oi:
        oi = sample.open_interest(sym)
        assert oi is not None and np.array_equal(oi.ts, expected)


def test_sample_sectors_and_size(sample: DataDir) -> None:
    sectors = sample.sectors()
    assert set(sectors) == set(sample.symbols())
    assert sectors["BTCUSDT"] == BENCHMARK
    assert set(sectors.values()) <= {*SECTOR_NAMES, BENCHMARK}
    counts: dict[str, int] = {}
    for s in sectors.values():
        counts[s] = counts.get(s, 0) + 1
    assert sum(1 for s, n in counts.items() if s in SECTOR_NAMES and n >= 4) >= 3
    inst = sample.instruments()
    assert inst is not None and set(inst) == set(sample.symbols())
    total = sum(p.stat().st_size for p in sample_dir().rglob("*") if p.is_file())
    assert total < MAX_BYTES, total


def test_sample_passes_data_check() -> None:
    report = check_dir(sample_dir())
    assert report.exit_code(fail_on_gaps=True) == 0, report.render()


def test_sample_equals_shared_source_rows(sample: DataDir, shared_data: Path) -> None:
    man = read_manifest()
    start, end = man["start_ms"], man["end_ms"]
    for sub in ("ohlcv", "funding", "open_interest"):
        for p in sorted((sample.root / sub).glob("*.parquet")):
            mine = pq.read_table(p)
            src = pq.read_table(shared_data / sub / p.name, columns=mine.column_names)
            ts = src.column("timestamp").to_numpy()
            keep = (ts >= start) & ((ts <= end) if sub == "funding" else (ts < end))
            src = src.filter(keep)
            assert mine.schema.types == src.schema.types, p
            assert mine.equals(src.replace_schema_metadata(None)), p


def test_builder_is_reproducible(shared_data: Path, tmp_path: Path) -> None:
    man = read_manifest()
    info = build_sample(shared_data, tmp_path, start_ms=man["start_ms"])
    assert info.symbols == man["symbols"] and info.sector_map_version == load_sector_map().version
    for p in sorted(sample_dir().rglob("*.parquet")):
        rel = p.relative_to(sample_dir())
        assert pq.read_table(tmp_path / rel).equals(pq.read_table(p)), rel
    assert (tmp_path / "sectors.csv").read_text() == (sample_dir() / "sectors.csv").read_text()
