"""Data files whose ``timestamp`` is a pandas datetime, through every command that reads data.

pandas writes a UTC datetime column as ``timestamp[us, tz=UTC]``. Read as integers, those are
microseconds taken for milliseconds: a grid 1,000 times too long (the issue's ~24 GB). Every
reader converts any unit exactly, so each command gives what it gives on int64-ms files; a
naive datetime (ambiguous) and an absurd span are refused by name before any work starts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.sim.market import SimMarket
from tests.conftest import ROOT
from tests.simserver import sim_server

ROTOR = [sys.executable, "-m", "bot.cli"]
WINDOW = ("--from", "2024-01-20", "--to", "2024-02-05")


def rotor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROTOR, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def _rewrite_timestamps(root: Path, to_type: pa.DataType) -> None:
    """Every parquet file's ``timestamp`` column re-typed, values kept (same instants)."""
    for p in root.rglob("*.parquet"):
        t = pq.read_table(p)
        ms = t.column("timestamp").cast(pa.int64())
        if pa.types.is_timestamp(to_type):
            scale = {"s": 1 / 1000, "ms": 1, "us": 1000, "ns": 1_000_000}[to_type.unit]
            raw = pa.array((ms.to_numpy() * scale).astype(np.int64))
            col = raw.cast(to_type)
        else:
            col = ms.cast(to_type)
        i = t.schema.get_field_index("timestamp")
        pq.write_table(t.set_column(i, "timestamp", col), p)


@pytest.fixture(scope="module")
def dt_dir(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic market with pandas' default UTC datetimes (``timestamp[us, tz=UTC]``)."""
    root = tmp_path_factory.mktemp("dt") / "data"
    shutil.copytree(synth_dir, root)
    _rewrite_timestamps(root, pa.timestamp("us", tz="UTC"))
    assert pq.read_schema(root / "ohlcv" / "BTCUSDT.parquet").field("timestamp").type == (
        pa.timestamp("us", tz="UTC")
    )
    return root


@pytest.fixture(scope="module")
def naive_dir(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Naive datetimes (no time zone): ambiguous, so every command must refuse them."""
    root = tmp_path_factory.mktemp("naive") / "data"
    shutil.copytree(synth_dir, root)
    _rewrite_timestamps(root, pa.timestamp("ns"))
    return root


def test_backtest_of_datetime_files_equals_the_int_ms_backtest(
    synth_dir: Path, dt_dir: Path, tmp_path: Path
) -> None:
    got = {}
    for name, root in (("ms", synth_dir), ("dt", dt_dir)):
        out = tmp_path / name
        res = rotor("backtest", "--data", str(root), "--preset", "rsi-reversion", *WINDOW,
                    "--out", str(out))  # fmt: skip
        assert res.returncode == 0, res.stderr
        got[name] = json.loads((out / "summary.json").read_text())
        got[name + "_trades"] = (out / "trades.csv").read_text()
    assert got["ms"]["trades"] > 0
    for summary in (got["ms"], got["dt"]):
        summary.pop("config_hash")  # hashes the sector-map path, which differs
    assert got["dt"] == got["ms"]
    assert got["dt_trades"] == got["ms_trades"]


def test_scan_of_datetime_files_equals_the_int_ms_scan(synth_dir: Path, dt_dir: Path) -> None:
    reports = []
    for root in (synth_dir, dt_dir):
        res = rotor("scan", "--data", str(root), "--at", "2024-02-10T00:00:00Z", "--json")
        assert res.returncode == 0, res.stderr
        reports.append(json.loads(res.stdout))
    assert reports[0]["t"] == "2024-02-10T00:00:00Z"
    assert reports[1] == reports[0]


def test_data_check_accepts_and_import_rewrites_datetime_files(
    synth_dir: Path, dt_dir: Path, tmp_path: Path
) -> None:
    res = rotor("data", "check", str(dt_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    out = tmp_path / "imported"
    res = rotor("data", "import", "--src", str(dt_dir), "--out", str(out))
    assert res.returncode == 0, res.stderr
    for p in sorted(synth_dir.rglob("*.parquet")):
        rel = p.relative_to(synth_dir)
        new = pq.read_table(out / rel)
        assert new.schema.field("timestamp").type == pa.int64(), rel
        old = pq.read_table(p)
        for c in new.column_names:
            assert (
                new.column(c).to_pylist()
                == old.column(c).cast(new.schema.field(c).type).to_pylist()
            )


def test_simulated_exchange_serves_datetime_files_like_int_ms_files(
    synth_dir: Path, dt_dir: Path
) -> None:
    a, b = SimMarket.load(synth_dir), SimMarket.load(dt_dir)
    assert np.array_equal(a.ts, b.ts)
    assert np.array_equal(a.close, b.close, equal_nan=True)
    for s in a.symbols:
        assert np.array_equal(a.series[s].funding_ts, b.series[s].funding_ts)
        assert np.array_equal(a.series[s].oi_ts, b.series[s].oi_ts)


async def test_sim_serve_candles_over_ccxt_are_the_same_for_datetime_files(
    synth_dir: Path, dt_dir: Path
) -> None:
    candles = []
    for root in (synth_dir, dt_dir):
        async with sim_server(root, start_ms=1_706_745_600_000) as sim:  # 2024-02-01
            ex = sim.ccxt()
            try:
                candles.append(await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=50))
            finally:
                await ex.close()
    assert len(candles[0]) == 50
    assert candles[1] == candles[0]


@pytest.mark.parametrize(
    "command",
    [
        ("backtest", "--out", "{tmp}/bt"),
        ("scan",),
        ("sim", "serve", "--port", "0", "--api-key", "k", "--api-secret", "s"),
        ("run", "--mode", "replay", "--db", "sqlite+aiosqlite:///{tmp}/r.db"),
    ],
)
def test_naive_datetimes_are_refused_by_name_before_any_work(
    naive_dir: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    res = rotor(*args, "--data", str(naive_dir), timeout=60)
    assert res.returncode != 0
    err = res.stderr + res.stdout
    assert "ohlcv/" in err and ".parquet" in err, err
    assert "no time zone" in err, err


def test_an_absurd_span_is_refused_naming_the_file_before_allocating(
    synth_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(synth_dir, root)
    p = root / "ohlcv" / "BTCUSDT.parquet"
    t = pq.read_table(p)
    ts = t.column("timestamp").to_numpy().copy()
    ts[-1] = 4_000_000_000_000  # one stray row in 2096: a grid of ~630,000 hours
    pq.write_table(t.set_column(0, "timestamp", pa.array(ts)), p)
    res = rotor("backtest", "--data", str(root), "--out", str(tmp_path / "o"), timeout=60)
    assert res.returncode == 2
    assert "BTCUSDT.parquet" in res.stderr and "2096" in res.stderr, res.stderr
    assert "hourly grid would span" in res.stderr
