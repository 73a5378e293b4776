"""``rotor sim serve`` run as a user would: a subprocess, a sim_ready line, SIGTERM → exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.commands.sim_cmd import parse_start
from bot.data.datadir import DataDir
from bot.sim.http.bybit.routes_market import RISK_PAGE
from bot.sim.http.server import SimServerConfig, build_context
from tests.integration.sim.conftest import START
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET, ROOT, sim_server, sim_subprocess


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


async def _exercise(args: list[str], expect_time: int | None) -> tuple[int, list[str]]:
    """Start the CLI, check time and an authenticated call, stop it; return (rc, symbols)."""
    codes: list[int] = []
    async with sim_subprocess(args, exit_codes=codes) as sim:
        ex = sim.ccxt()
        try:
            await ex.load_markets()
            now = await ex.fetch_time()
            if expect_time is not None:
                assert now == expect_time
            bal = await ex.fetch_balance()
            assert bal["USDT"]["total"] == 10000
            symbols = sorted(m["id"] for m in ex.markets.values())
            sym = ex.markets_by_id[symbols[0]][0]["symbol"]
            bars = await ex.fetch_ohlcv(sym, "1h", limit=3)
            assert len(bars) == 3 and bars[-1][0] == now  # the newest is in progress
        finally:
            await ex.close()
        assert (await sim.state())["time"] == now
    return codes[0], symbols


async def test_serve_small_data_and_bundled_sample(data_dir: Path) -> None:
    small = ["--data", str(data_dir), "--speed", "0", "--start", _iso(START)]
    (rc_small, syms), (rc_sample, sample_syms) = await asyncio.gather(
        _exercise(small, START),
        _exercise(["--speed", "0", "--start", "2026-01-05T00:00:00+00:00"], None),
    )
    assert rc_small == 0 and rc_sample == 0
    assert syms == DataDir(data_dir).symbols()
    assert len(sample_syms) >= 10


async def test_serve_shared_real_data(shared_data: Path) -> None:
    start = 1_751_328_000_000  # 2025-07-01T00:00:00Z, a month into the vendored slice
    rc, syms = await _exercise(
        ["--data", str(shared_data), "--speed", "0", "--start", "2025-07-01T00:00:00Z"], start
    )
    assert rc == 0
    assert set(syms) <= set(DataDir(shared_data).symbols()) and "BTCUSDT" in syms
    # Klines served for the real data equal the file exactly.
    async with sim_server(shared_data, start_ms=start) as sim:
        ex = sim.ccxt()
        try:
            got = await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=200)
            # > 100 tier rows: ccxt follows the risk-limit cursor across pages.
            tiers = await ex.fetch_leverage_tiers()
            assert set(tiers) == set(ex.markets) and len(tiers) == len(syms)
            assert sum(len(t) for t in tiers.values()) > RISK_PAGE
        finally:
            await ex.close()
    o = DataDir(shared_data).ohlcv("BTCUSDT")
    k = int((o.ts < start).sum())
    # 199 closed hours, then the hour in progress at its open (Bybit's newest row)
    assert got == [
        *[
            [int(o.ts[j]), o.open[j], o.high[j], o.low[j], o.close[j], o.volume[j]]
            for j in range(k - 199, k)
        ],
        [start, o.open[k], o.open[k], o.open[k], o.open[k], 0.0],
    ]


async def _run(cmd: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_bad_arguments_exit_2_with_a_clear_message(tmp_path: Path, data_dir: Path) -> None:
    bad_faults = tmp_path / "faults.json"
    bad_faults.write_text(json.dumps({"faults": [{"kind": "latency", "ms": "slow"}]}))
    env = dict(os.environ, ROTOR_SIM_API_KEY=DEFAULT_KEY, ROTOR_SIM_API_SECRET=DEFAULT_SECRET)
    no_secret = {k: v for k, v in env.items() if k != "ROTOR_SIM_API_SECRET"}
    cmd = [sys.executable, "-m", "bot.cli", "sim", "serve", "--port", "0", "--data", str(data_dir)]
    (rc1, out1, err1), (rc2, _, err2) = await asyncio.gather(
        _run([*cmd, "--faults", str(bad_faults)], env),
        _run(cmd, no_secret),
    )
    assert rc1 == 2 and out1 == ""
    assert "faults[0] (latency): 'ms' must be a number" in err1
    assert rc2 == 2 and "--api-secret" in err2


async def test_serve_the_binance_face(tmp_path: Path, data_dir: Path) -> None:
    args = ["--data", str(data_dir), "--speed", "0", "--start", _iso(START)]
    rc, syms = await _exercise([*args, "--venue", "binanceusdm"], START)  # ccxt binanceusdm
    assert rc == 0 and syms == DataDir(data_dir).symbols()
    env = dict(os.environ, ROTOR_SIM_API_KEY=DEFAULT_KEY, ROTOR_SIM_API_SECRET=DEFAULT_SECRET)
    cmd = [sys.executable, "-m", "bot.cli", "sim", "serve", "--port", "0", *args]
    # A fault set is checked against the face's own paths and scopes.
    bybit_lag = tmp_path / "lag.json"
    bybit_lag.write_text(json.dumps({"faults": [
        {"kind": "consistency_lag", "endpoint": "/v5/execution/list", "ms": 100}]}))  # fmt: skip
    (rc1, _, err1), (rc2, _, err2) = await asyncio.gather(
        _run([*cmd, "--venue", "nope"], env),
        _run([*cmd, "--venue", "binanceusdm", "--faults", str(bybit_lag)], env),
    )
    assert rc1 == 2 and "--venue must be one of bybit, binanceusdm" in err1
    assert rc2 == 2 and "/fapi/v1/userTrades" in err2


def test_start_outside_the_data_is_refused(data_dir: Path) -> None:
    cfg = SimServerConfig(data_dir, DEFAULT_KEY, DEFAULT_SECRET, start_ms=915_148_800_000)
    with pytest.raises(ValueError, match="outside the data"):
        build_context(cfg)
    assert parse_start("2024-01-03") == parse_start("2024-01-03T00:00:00Z") == START
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_start("yesterday")


async def test_generate_then_trade_on_synthetic_data(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "bot.cli", "sim", "generate", "--symbols", "8", "--days", "5"]
    rc, stdout, stderr = await _run([*cmd, "--seed", "11", "--out", str(out)], env)
    assert rc == 0, stderr
    assert json.loads(stdout)["symbols"] == 8
    symbols = DataDir(out).symbols()
    assert len(symbols) == 8 and "BTCUSDT" in symbols
    start = int(DataDir(out).ohlcv("BTCUSDT").ts[24])
    async with sim_server(out, start_ms=start) as sim:
        ex = sim.ccxt()
        try:
            await ex.load_markets()
            assert sorted(m["id"] for m in ex.markets.values()) == symbols
            await ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
            (pos,) = await ex.fetch_positions()
            # A new account is cross margin: 0.01 BTC on 10,000 USDT cannot be liquidated.
            assert pos["contracts"] == 0.01 and pos["info"]["tradeMode"] == 0  # cross
            assert pos["liquidationPrice"] is None
        finally:
            await ex.close()
