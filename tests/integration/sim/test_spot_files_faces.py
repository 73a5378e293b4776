"""Spot price files over HTTP: ``rotor sim generate --spot-basis`` writes them, ``rotor sim
serve --data DIR`` quotes and fills spot from them on both faces (unmodified ccxt ``bybit``
with defaultType spot, ``binance`` spot), and a bad spot file is refused by name before any
work (``rotor data check``, ``rotor sim serve``, ``rotor backtest --mode portfolio``)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.data.datadir import DataDir, Ohlcv, write_ohlcv
from bot.data.spotfiles import read_spot
from tests.integration.sim.test_serve_cli import _run
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET, sim_subprocess

BASIS_BPS = -80.0  # spot 0.8 % below the perpetual
K = 24  # the replay starts at bar 24: a day of closed spot bars behind it


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


@pytest.fixture(scope="module")
def spot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``rotor sim generate`` with spot files, as a user runs it."""
    out = tmp_path_factory.mktemp("spotgen") / "data"
    cmd = [sys.executable, "-m", "bot.cli", "sim", "generate", "--symbols", "4", "--days", "3",
           "--seed", "5", "--out", str(out), "--spot-basis", str(BASIS_BPS)]  # fmt: skip
    rc, stdout, stderr = asyncio.run(_run(cmd, dict(os.environ)))
    assert rc == 0, stderr
    assert json.loads(stdout)["spot_files"] == 4
    return out


def _expect(root: Path, spot: str, perp: str) -> dict[str, float]:
    """What a face should show at bar K: the spot file's price and its last 24 bars."""
    s = read_spot(root / "spot" / f"{spot}.parquet")
    p = DataDir(root).ohlcv(perp)
    assert s.ts[K] == p.ts[K]
    return {
        "t": float(s.ts[K]),
        "last": float(s.open[K]),
        "perp": float(p.open[K]),
        "open": float(s.open[0]),
        "high": float(np.max(s.high[:K])),
        "low": float(np.min(s.low[:K])),
        "volume": float(np.sum(s.volume[:K])),
        "turnover": float(np.sum(s.volume[:K] * s.close[:K])),
        "bar": [
            float(s.ts[K - 1]),
            *(float(a[K - 1]) for a in (s.open, s.high, s.low, s.close, s.volume)),
        ],
    }


def _same(x: Any, want: float, tick: float) -> bool:
    """``x`` is ``want`` on the tick grid (rounded either way)."""
    return math.isclose(float(x), want, abs_tol=tick * 1.01)


async def test_both_faces_quote_and_fill_spot_from_the_spot_file(spot_dir: Path) -> None:
    exp = _expect(spot_dir, "BTCUSDT", "BTCUSDT")
    assert exp["last"] / exp["perp"] == pytest.approx(1 + BASIS_BPS / 1e4, rel=1e-9)
    args = ["--data", str(spot_dir), "--speed", "0", "--start", _iso(int(exp["t"]))]
    codes: list[int] = []
    async with sim_subprocess(args, exit_codes=codes) as sim:
        ex = sim.ccxt(options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}})
        try:
            await ex.load_markets()
            tick = ex.market("BTC/USDT")["precision"]["price"]
            t = await ex.fetch_ticker("BTC/USDT")
            assert _same(t["last"], exp["last"], tick), (t["last"], exp)
            assert not _same(t["last"], exp["perp"], 100 * tick)  # not the perpetual's
            assert _same(t["high"], exp["high"], tick) and _same(t["low"], exp["low"], tick)
            assert _same(t["open"], exp["open"], tick)
            assert t["baseVolume"] == pytest.approx(exp["volume"], rel=1e-6)
            assert t["quoteVolume"] == pytest.approx(exp["turnover"], rel=1e-4)
            bars = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=2)  # category=spot klines
            assert bars[0] == pytest.approx(exp["bar"], rel=1e-9)
            assert bars[1] == pytest.approx([exp["t"], *[exp["last"]] * 4, 0.0], rel=1e-12)
            buy = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
            got = await ex.fetch_order(buy["id"], "BTC/USDT")
            assert got["status"] == "closed"
            assert exp["last"] <= got["average"] <= exp["last"] * 1.002  # ± spread/slippage
        finally:
            await ex.close()
    async with sim_subprocess([*args, "--venue", "binanceusdm"], exit_codes=codes) as bsim:
        bx = bsim.binance_spot()
        try:
            await bx.load_markets()
            tick = bx.market("BTC/USDT")["precision"]["price"]
            t = await bx.fetch_ticker("BTC/USDT")
            assert _same(t["last"], exp["last"], tick), (t["last"], exp)
            assert _same(t["high"], exp["high"], tick) and _same(t["low"], exp["low"], tick)
            assert t["baseVolume"] == pytest.approx(exp["volume"], rel=1e-6)
            bars = await bx.fetch_ohlcv("BTC/USDT", "1h", limit=2)  # /api/v3/klines
            assert bars[0] == pytest.approx(exp["bar"], rel=1e-8)
            await bx.transfer("USDT", 1000, "linear", "spot")
            buy = await bx.create_order("BTC/USDT", "market", "buy", 0.01)
            assert buy["status"] == "closed"
            assert exp["last"] <= buy["average"] <= exp["last"] * 1.002
        finally:
            await bx.close()
    assert codes == [0, 0]


def _bad_copy(src: Path, dst: Path) -> Path:
    """``src`` with its BTCUSDT spot file's third bar made high < low."""
    import shutil

    shutil.copytree(src, dst)
    path = dst / "spot" / "BTCUSDT.parquet"
    s = read_spot(path)
    high = s.high.copy()
    high[2] = s.low[2] * 0.5
    write_ohlcv(path, Ohlcv(s.ts, s.open, high, s.low, s.close, s.volume))
    return dst


async def test_a_bad_spot_file_is_refused_by_name_before_any_work(
    spot_dir: Path, tmp_path: Path
) -> None:
    bad = _bad_copy(spot_dir, tmp_path / "bad")
    name = str(bad / "spot" / "BTCUSDT.parquet")
    env = dict(os.environ, ROTOR_SIM_API_KEY=DEFAULT_KEY, ROTOR_SIM_API_SECRET=DEFAULT_SECRET)
    cli = [sys.executable, "-m", "bot.cli"]
    backtest = ["backtest", "--mode", "portfolio", "--data", str(bad), "--out", str(tmp_path)]
    db = tmp_path / "replay.db"
    replay = {k: v for k, v in env.items() if not k.startswith("ROTOR__")} | {
        "ROTOR__MODE": "replay",
        "ROTOR__STRATEGY__MODE": "portfolio",
        "ROTOR__SIM__DATA_DIR": str(bad),
        "ROTOR__DATABASE__URL": f"sqlite+aiosqlite:///{db}",
        "ROTOR__CONTROL__ENABLED": "false",
    }
    (
        (rc_check, out_check, _),
        (rc_serve, out_serve, err_serve),
        (rc_bt, _, err_bt),
        (rc_run, _, err_run),
    ) = await asyncio.gather(
        _run([*cli, "data", "check", str(bad)], env),
        _run([*cli, "sim", "serve", "--port", "0", "--data", str(bad)], env),
        _run([*cli, *backtest], env),
        _run([*cli, "run"], replay),
    )
    # rotor run --mode replay refuses it before the database is opened (lifecycle.check_start)
    assert rc_run == 2 and name in err_run and "high < low" in err_run, err_run[-2000:]
    assert not db.exists()
    assert rc_check == 1 and name in out_check and "high < low" in out_check
    assert rc_serve == 2 and out_serve == "" and name in err_serve and "high < low" in err_serve
    assert rc_bt == 2 and name in err_bt and "high < low" in err_bt
    assert not (tmp_path / "summary.json").exists()
