"""``rotor data check`` and ``rotor data import`` (subprocess through the real CLI)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from bot.data.check import check_dir
from bot.data.datadir import DataDir, Funding, Ohlcv, write_funding, write_ohlcv
from bot.data.importer import DataImportError, import_file, infer_source
from bot.data.panel import HOUR_MS
from bot.data.sample import sample_dir

ROTOR = Path(sys.executable).parent / "rotor"
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def rotor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROTOR), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture()
def small_dir(tmp_path: Path) -> Path:
    root = tmp_path / "dd"
    src = DataDir(sample_dir())
    for sym in ("BTCUSDT", "ETHUSDT"):
        o = src.ohlcv(sym)
        sl = slice(0, 200)
        write_ohlcv(
            root / "ohlcv" / f"{sym}.parquet",
            Ohlcv(o.ts[sl], o.open[sl], o.high[sl], o.low[sl], o.close[sl], o.volume[sl]),
        )
        f = src.funding(sym)
        assert f is not None
        write_funding(root / "funding" / f"{sym}.parquet", Funding(f.ts[:20], f.rate[:20]))
    return root


def test_check_clean_dir_exits_zero(small_dir: Path) -> None:
    r = rotor("data", "check", str(small_dir), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"] and rep["corrupt"] == [] and len(rep["files"]) == 4


def test_truncated_parquet_is_named_as_corrupt(small_dir: Path) -> None:
    victim = small_dir / "ohlcv" / "ETHUSDT.parquet"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    r = rotor("data", "check", str(small_dir))
    assert r.returncode == 2
    assert str(victim) in r.stderr and "corrupt" in r.stderr
    assert f"CORRUPT {victim}" in r.stdout
    rj = rotor("data", "check", str(small_dir), "--json")
    assert rj.returncode == 2 and json.loads(rj.stdout)["corrupt"] == [str(victim)]


def test_missing_columns_are_named(small_dir: Path) -> None:
    p = small_dir / "ohlcv" / "BTCUSDT.parquet"
    t = pq.read_table(p).drop_columns(["high", "volume"])
    pq.write_table(t, p)
    r = rotor("data", "check", str(small_dir), "--json")
    assert r.returncode == 2
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert files[str(p)]["missing_columns"] == ["high", "volume"]
    assert "missing column(s): high, volume" in r.stderr


def test_bad_rows_and_gaps_are_reported(tmp_path: Path) -> None:
    ts = T0 + HOUR_MS * np.array([0, 1, 2, 5, 5, 4, 6], dtype=np.int64)
    c = np.array([10.0, np.nan, 10.0, -1.0, 10.0, 10.0, 10.0])
    h = np.array([11.0, 11.0, 9.0, 11.0, 11.0, 11.0, 11.0])
    lo = np.full(7, 9.5)
    t = pa.table({"timestamp": ts, "open": np.full(7, 10.0), "high": h, "low": lo, "close": c,
                  "volume": np.ones(7)})  # fmt: skip
    (tmp_path / "ohlcv").mkdir()
    pq.write_table(t, tmp_path / "ohlcv" / "XUSDT.parquet")
    rep = check_dir(tmp_path)
    f = rep.files[0]
    assert f.bad_rows == {
        "NaN value": 1,
        "non-positive price": 1,
        "high < low": 1,
        "duplicate timestamp": 1,
        "timestamp goes backwards": 1,
    }
    assert [(g.after_ms - T0) // HOUR_MS for g in f.gaps] == [2]  # hour 3 never appears
    assert f.gaps[0].missing == 1
    assert rep.exit_code() == 1
    r = rotor("data", "check", str(tmp_path))
    assert r.returncode == 1 and "high < low" in r.stdout


def test_check_missing_dir_fails(tmp_path: Path) -> None:
    r = rotor("data", "check", str(tmp_path / "nope"))
    assert r.returncode == 2 and "data directory not found" in r.stderr


def _freqtrade_frames(n: int = 72) -> tuple[pa.Table, pa.Table]:
    ts = T0 + HOUR_MS * np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(5)
    c = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.concatenate([[50.0], c[:-1]])
    h = np.maximum(o, c) * 1.002
    lo = np.minimum(o, c) * 0.998
    date = pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    candles = pa.table({"date": date, "open": o, "high": h, "low": lo, "close": c,
                        "volume": rng.uniform(1, 100, n)})  # fmt: skip
    fts = ts[::8] + 3  # freqtrade keeps settlement times with milliseconds: floored on import
    fdate = pa.array(fts, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    k = len(fts)
    funding = pa.table({"date": fdate, "open": rng.normal(1e-4, 5e-5, k), "high": np.zeros(k),
                        "low": np.zeros(k), "close": np.zeros(k), "volume": np.zeros(k)})  # fmt: skip
    return candles, funding


def test_import_round_trip_from_freqtrade_feather(tmp_path: Path) -> None:
    candles, funding = _freqtrade_frames()
    src = tmp_path / "ft"
    src.mkdir()
    feather.write_feather(candles, src / "ETH_USDT_USDT-1h-futures.feather")
    feather.write_feather(funding, src / "ETH_USDT_USDT-8h-funding_rate.feather")
    feather.write_feather(candles, src / "ETH_USDT_USDT-1h-mark.feather")
    out = tmp_path / "out"
    r = rotor("data", "import", "--src", str(src), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert [x["rows_new"] for x in res if not x["skipped"]] == [72, 9]
    dd = DataDir(out)
    assert dd.symbols() == ["ETHUSDT"]
    o = dd.ohlcv("ETHUSDT")
    assert np.array_equal(o.ts, candles.column("date").cast(pa.int64()).to_numpy())
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(o, name), candles.column(name).to_numpy())
    f = dd.funding("ETHUSDT")
    assert f is not None and np.array_equal(f.rate, funding.column("open").to_numpy())
    assert np.all(f.ts % HOUR_MS == 0)
    before = {p.name: p.read_bytes() for p in out.rglob("*.parquet")}
    again = rotor("data", "import", "--src", str(src), "--out", str(out), "--json")
    assert again.returncode == 0
    assert [x["rows_new"] for x in json.loads(again.stdout) if not x["skipped"]] == [0, 0]
    assert {p.name: p.read_bytes() for p in out.rglob("*.parquet")} == before  # idempotent
    assert rotor("data", "check", str(out)).returncode == 0


def test_import_csv_with_symbol_merges_and_drops_bad_rows(tmp_path: Path) -> None:
    candles, _ = _freqtrade_frames(48)
    first = candles.slice(0, 30)
    second = candles.slice(20, 28)
    out = tmp_path / "out"
    p1 = tmp_path / "a.feather"
    feather.write_feather(first, p1)
    assert import_file(p1, out, "SOLUSDT").rows_new == 30
    iso = pa.array([f"{s}" for s in second.column("date").to_pylist()])
    tbl = second.set_column(0, "date", iso)
    close = tbl.column("close").to_numpy().copy()
    close[-1] = np.nan
    tbl = tbl.set_column(4, "close", pa.array(close))
    p2 = tmp_path / "b.csv"
    pacsv.write_csv(tbl, p2)
    res = import_file(p2, out, "SOLUSDT")
    assert res.dropped == {"nan": 1}
    assert res.rows_new == 17 and res.rows_total == 47
    o = DataDir(out).ohlcv("SOLUSDT")
    assert np.array_equal(o.close, candles.column("close").to_numpy()[:47])


def test_import_errors(tmp_path: Path) -> None:
    assert infer_source(Path("1000PEPE_USDT_USDT-1h-futures.feather")).symbol == "1000PEPEUSDT"
    assert infer_source(Path("BTC_USDT-1h.feather")).symbol == "BTCUSDT"
    assert infer_source(Path("BTC_USDT_USDT-8h-funding_rate.feather")).kind == "funding"
    candles, _ = _freqtrade_frames(10)
    p = tmp_path / "x.feather"
    feather.write_feather(candles.drop_columns(["volume"]), p)
    with pytest.raises(DataImportError, match="missing column"):
        import_file(p, tmp_path / "out", "XUSDT")
    with pytest.raises(DataImportError, match="cannot infer the symbol"):
        import_file(p, tmp_path / "out")
    five = tmp_path / "BTC_USDT_USDT-5m-futures.feather"
    feather.write_feather(candles, five)
    with pytest.raises(DataImportError, match="only 1h"):
        import_file(five, tmp_path / "out")
    broken = tmp_path / "ETH_USDT_USDT-1h-futures.feather"
    shutil.copy(five, broken)
    broken.write_bytes(broken.read_bytes()[:100])
    r = rotor("data", "import", "--src", str(broken), "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and str(broken) in r.stderr
