"""``rotor allocate`` values coins and sizes spot orders at the spot prices (issue #20): from
the data directory's spot files with ``--data``, from the venue's spot tickers with
``--exchange`` (here ``rotor sim serve`` on the same data), as the daemon's rebalance does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bot.data.sample import sample_dir
from bot.data.spotfiles import derive_spot
from bot.sim.market import SimMarket
from bot.sim.spot import spot_symbol_of
from tests.simserver import sim_subprocess

ROTOR = Path(sys.executable).parent / "rotor"
AT = "2026-02-01T00:00:00Z"
AT_MS = 1_769_904_000_000
BASIS = 0.02


@pytest.fixture(scope="module")
def spot_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample with spot files 2 % above the perpetuals (BTC's 1 % below)."""
    root = tmp_path_factory.mktemp("alloc") / "data"
    shutil.copytree(sample_dir(), root)
    perps = sorted(p.stem for p in (root / "ohlcv").glob("*.parquet"))
    assert derive_spot(root, BASIS * 1e4, symbols=[p for p in perps if p != "BTCUSDT"])
    assert derive_spot(root, -100.0, symbols=["BTCUSDT"]) == ["BTCUSDT"]
    return root


def _allocate(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    base["TZ"] = "America/New_York"
    out = subprocess.run(
        [str(ROTOR), "allocate", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=base | (env or {}),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_allocate_on_data_sizes_spot_at_the_spot_files(spot_data: Path) -> None:
    holdings = {"cash": "5000", "spot": {"BTCUSDT": "0.05", "ETHUSDT": "1"}}
    f = spot_data.parent / "holdings.json"
    f.write_text(json.dumps(holdings), encoding="utf-8")
    doc = _allocate("--data", str(spot_data), "--at", AT, "--holdings", str(f))
    m = SimMarket.load(spot_data)
    assert m.spot is not None
    last = m.bar_index(AT_MS) - 1  # the bar that closed at --at

    def spot_close(perp: str) -> D:
        spot, mult = spot_symbol_of(perp)
        return D(repr(float(m.spot.close[m.spot.index[spot], last]))) * mult  # type: ignore[union-attr]

    def perp_close(perp: str) -> D:
        return D(repr(float(m.close[m.index[perp], last])))

    spot = [o for o in doc["orders"] if o["market"] == "spot"]
    assert len(spot) >= 5
    for o in spot:  # sized at the spot file's close, not the perpetual's
        assert D(o["price"]) == spot_close(o["symbol"]), o
        assert D(o["notional"]) == pytest.approx(
            D(o["qty"]) * spot_close(o["symbol"]), abs=D("0.01")
        )
        want = 0.99 if o["symbol"] == "BTCUSDT" else 1 + BASIS
        assert float(D(o["price"]) / perp_close(o["symbol"])) == pytest.approx(want, rel=1e-9)
    # The coins held are valued at the spot price: NAV = cash + coins at the spot closes.
    nav = D(5000) + D("0.05") * spot_close("BTCUSDT") + spot_close("ETHUSDT")
    assert D(doc["nav"]) == nav.quantize(D("0.01"))


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
async def test_allocate_exchange_sizes_spot_at_the_venues_spot_tickers(
    spot_data: Path, venue: str
) -> None:
    import asyncio

    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "ADAUSDT"]
    args = ["--data", str(spot_data), "--speed", "0", "--start", AT, "--venue", venue]
    async with sim_subprocess(args) as sim:
        tickers = await _spot_tickers(sim.url, venue)
        env = {"ROTOR__UNIVERSE__SYMBOLS": json.dumps(symbols)}
        cmd = ["--exchange", venue, "--api-url", sim.url, "--cash", "20000"]
        doc = await asyncio.to_thread(_allocate, *cmd, env=env)
    spot = [o for o in doc["orders"] if o["market"] == "spot"]
    assert {o["symbol"] for o in spot} >= {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    for o in spot:  # the venue's spot ticker (the spot file's price), not the perpetual's
        assert D(o["price"]) == tickers[o["symbol"]], (o, tickers[o["symbol"]])


async def _spot_tickers(url: str, venue: str) -> dict[str, D]:
    import aiohttp

    path = "/api/v3/ticker/price" if venue == "binanceusdm" else "/v5/market/tickers"
    params = {} if venue == "binanceusdm" else {"category": "spot"}
    async with aiohttp.ClientSession() as s, s.get(url + path, params=params) as r:
        body = await r.json(content_type=None)
    rows = body if venue == "binanceusdm" else body["result"]["list"]
    return {r["symbol"]: D(r["price"] if venue == "binanceusdm" else r["lastPrice"]) for r in rows}
