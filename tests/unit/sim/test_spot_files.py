"""Spot price files (``<dir>/spot/<SPOT>.parquet``): the engine prices a spot market from its
own file where the data has one, and refuses a bad one by name before any work."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.backtest.data import cut_market
from bot.data.check import EXIT_CORRUPT, check_dir
from bot.data.datadir import DataFileError, Ohlcv, write_ohlcv
from bot.data.panel import HOUR_MS
from bot.data.spotfiles import derive_spot
from bot.domain import Side
from bot.sim import SimEngine, SimError
from bot.sim.market import SimMarket
from tests.unit.sim.conftest import INSTRUMENT, T0, flat, write_dir

BUY, SELL = Side.BUY, Side.SELL


def write_spot(root: Path, spot: str, opens: list[float], *, start: int = T0) -> Path:
    """A spot file of flat bars at ``opens`` (hourly from ``start``; NaN rows left out)."""
    ts = start + np.arange(len(opens), dtype=np.int64) * HOUR_MS
    px = np.array(opens, dtype=np.float64)
    keep = np.isfinite(px)
    path = root / "spot" / f"{spot}.parquet"
    vol = np.full(len(px), 50.0)
    write_ohlcv(path, Ohlcv(ts[keep], px[keep], px[keep], px[keep], px[keep], vol[keep]))
    return path


def test_a_spot_file_prices_fills_value_and_precision(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"AAAUSDT": flat(4, 100.0)})
    write_spot(root, "AAAUSDT", [98.0, 97.0, 96.0, 95.0])
    e = SimEngine(SimMarket.load(root), slippage=D("0.001"))
    assert e.spot_price("AAAUSDT") == D(98)  # not the perpetual's 100
    assert e.spot_market("AAAUSDT").qty_step == D("0.001")  # from 98
    o = e.place_spot_order("AAAUSDT", BUY, D(1))
    assert o.avg_price == D("98.10")  # 98 × (1 + 0.1 %) = 98.098, up to the 0.01 tick
    assert e.spot_executions[-1].mark == D(98)
    assert e.wallet_balance == D(10000) - D("98.10")
    assert e.spot_value() == D("0.999") * D(98)
    assert e.equity() == e.wallet_balance + D("0.999") * D(98)
    e.advance()
    assert e.spot_price("AAAUSDT") == D(97) and e.spot_value() == D("0.999") * D(97)
    sell = e.place_spot_order("AAAUSDT", SELL, D("0.999"))
    assert sell.avg_price == D("96.90")  # 97 × (1 − 0.1 %) = 96.903, floored to the tick
    assert e.coin_balances() == {}


def test_without_a_spot_file_the_market_follows_its_perpetual(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"AAAUSDT": flat(2, 100.0), "BBBUSDT": flat(2, 10.0)})
    write_spot(root, "AAAUSDT", [98.0, 98.0])
    e = SimEngine(SimMarket.load(root), slippage=D(0))
    assert e.spot_price("AAAUSDT") == D(98) and e.spot_price("BBBUSDT") == D(10)


def test_a_1000x_contracts_spot_file_is_per_coin(tmp_path: Path) -> None:
    inst = INSTRUMENT | {"tick_size": "0.000001", "qty_step": "1", "min_qty": "1"}
    root = write_dir(
        tmp_path, {"1000PEPEUSDT": flat(2, 0.0125)}, instruments={"1000PEPEUSDT": inst}
    )
    write_spot(root, "PEPEUSDT", [0.0000131, 0.0000131])
    e = SimEngine(SimMarket.load(root), slippage=D(0))
    assert e.spot_price("PEPEUSDT") == D("0.0000131")  # the file's, not 0.0125 / 1000
    assert e.spot_market("PEPEUSDT").qty_step == D(1000)  # 0.1 USDT worth at 0.0000131


def test_bars_the_spot_file_lacks_behave_as_a_perps_missing_bars(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"AAAUSDT": flat(5, 100.0)})
    # No bar 0 (not yet listed: no price), bars 1 and 2, a gap at 3 (last close carries),
    # and nothing after bar 3 (the last close carries, as a perpetual's after its data).
    write_spot(root, "AAAUSDT", [float("nan"), 90.0, 91.0])
    e = SimEngine(SimMarket.load(root), slippage=D(0))
    with pytest.raises(SimError) as exc:
        e.place_spot_order("AAAUSDT", BUY, D(1))
    assert exc.value.code == SimError.BAD_PARAMS and "no price" in str(exc.value)
    assert e.spot_market("AAAUSDT").qty_step == D("0.001")  # from the file's first price, 90
    e.advance()
    e.place_spot_order("AAAUSDT", BUY, D(1))
    assert e.spot_value() == D("0.999") * D(90)
    e.advance(2)
    assert e.spot_price("AAAUSDT") == D(91)  # bar 3: the close of bar 2
    e.advance()
    assert e.spot_price("AAAUSDT") == D(91)


def test_cutting_the_market_keeps_the_spot_rows_aligned(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"AAAUSDT": flat(4, 100.0)})
    write_spot(root, "AAAUSDT", [98.0, 97.0, 96.0, 95.0])
    m = cut_market(SimMarket.load(root), T0 + HOUR_MS, T0 + 3 * HOUR_MS)
    assert m.spot is not None and m.spot.open.tolist() == [[97.0, 96.0]]
    assert SimEngine(m).spot_price("AAAUSDT") == D(97)


def _bad_files(root: Path) -> dict[str, tuple[Path, str]]:
    """One bad spot file per rule, each in a directory of its own."""
    ts = T0 + np.arange(3, dtype=np.int64) * HOUR_MS
    good = np.full(3, 100.0)
    cases: dict[str, tuple[Ohlcv, str]] = {
        "high_low": (Ohlcv(ts, good, good * 0.9, good, good, good), "high < low"),
        "non_positive": (Ohlcv(ts, good, good, good * 0, good, good), "non-positive price"),
        "off_grid": (Ohlcv(ts + 60_000, good, good, good, good, good), "not on the hour"),
        "nan": (Ohlcv(ts, good, good, good, good * np.nan, good), "NaN value"),
    }
    out = {}
    for name, (bars, why) in cases.items():
        d = write_dir(root / name, {"AAAUSDT": flat(3, 100.0)})
        write_ohlcv(d / "spot" / "AAAUSDT.parquet", bars)
        out[name] = (d, why)
    d = write_dir(root / "columns", {"AAAUSDT": flat(3, 100.0)})
    (d / "spot").mkdir()
    pq.write_table(pa.table({"timestamp": ts, "price": good}), d / "spot" / "AAAUSDT.parquet")
    out["columns"] = (d, "missing column(s): open, high, low, close, volume")
    d = write_dir(root / "backwards", {"AAAUSDT": flat(3, 100.0)})
    write_ohlcv(
        d / "spot" / "AAAUSDT.parquet", Ohlcv(ts[::-1].copy(), good, good, good, good, good)
    )
    out["backwards"] = (d, "not strictly increasing")
    return out


def test_a_bad_spot_file_is_refused_by_name(tmp_path: Path) -> None:
    for name, (d, why) in _bad_files(tmp_path).items():
        with pytest.raises(DataFileError) as exc:
            SimMarket.load(d)
        assert exc.value.path == d / "spot" / "AAAUSDT.parquet", name
        assert why in str(exc.value), (name, str(exc.value))
        report = check_dir(d)
        assert report.exit_code() != 0, name
        bad = [f for f in report.files if f.kind == "spot"]
        assert bad and (bad[0].corrupt or bad[0].n_bad), name


def test_a_spot_file_no_perpetual_trades_is_refused(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"1000PEPEUSDT": flat(2, 0.0125)})
    write_spot(root, "1000PEPEUSDT", [0.0125, 0.0125])  # misnamed: the spot id is PEPEUSDT
    with pytest.raises(DataFileError) as exc:
        SimMarket.load(root)
    assert exc.value.path == root / "spot" / "1000PEPEUSDT.parquet"
    assert "no perpetual" in str(exc.value)
    report = check_dir(root)
    assert report.exit_code() == EXIT_CORRUPT
    assert any("1000PEPEUSDT.parquet" in p and "PEPEUSDT" in p for p in report.problems)


def test_a_spot_file_outside_the_perpetuals_hours_is_refused(tmp_path: Path) -> None:
    root = write_dir(tmp_path, {"AAAUSDT": flat(2, 100.0)})
    write_spot(root, "AAAUSDT", [98.0], start=T0 + 10 * HOUR_MS)
    with pytest.raises(DataFileError, match="no rows within the perpetuals' hours"):
        SimMarket.load(root)


def test_derived_spot_files_carry_the_basis(tmp_path: Path) -> None:
    inst = INSTRUMENT | {"tick_size": "0.000001", "qty_step": "1", "min_qty": "1"}
    root = write_dir(
        tmp_path,
        {"AAAUSDT": flat(3, 100.0), "1000PEPEUSDT": flat(3, 0.0125)},
        instruments={"AAAUSDT": INSTRUMENT, "1000PEPEUSDT": inst},
    )
    assert derive_spot(root, -50.0) == ["AAAUSDT", "PEPEUSDT"]
    assert check_dir(root).exit_code() == 0
    e = SimEngine(SimMarket.load(root))
    assert e.spot_price("AAAUSDT") == D(repr(100.0 * (1 - 0.005)))
    assert float(e.spot_price("PEPEUSDT")) == pytest.approx(0.0125 / 1000 * 0.995, rel=1e-12)
