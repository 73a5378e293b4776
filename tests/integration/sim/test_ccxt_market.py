"""Unmodified ccxt bybit reads market data from the simulator over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bot.data.datadir import DataDir
from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import RISK_SYMBOL, START
from tests.simserver import T0, SimHandle


async def test_load_markets_lists_the_data_symbols(ex: Any, data_dir: Path) -> None:
    symbols = DataDir(data_dir).symbols()
    assert sorted(m["id"] for m in ex.markets.values()) == symbols
    btc = ex.market("BTC/USDT:USDT")
    assert btc["swap"] and btc["linear"] and btc["settle"] == "USDT" and btc["active"]
    risk = ex.market("RISK/USDT:USDT")
    assert risk["precision"]["price"] == 0.01 and risk["precision"]["amount"] == 1
    assert risk["limits"]["leverage"]["max"] == 20
    assert risk["limits"]["cost"]["min"] == 5


async def test_prelaunch_and_other_categories_are_empty(sim: SimHandle) -> None:
    """Spot is served (tests/integration/sim/test_ccxt_spot.py); inverse and option are not."""
    async with aiohttp.ClientSession() as s:
        for q in (
            "category=linear&status=PreLaunch",
            "category=spot&status=PreLaunch",
            "category=option",
            "category=inverse",
        ):
            async with s.get(f"{sim.url}/v5/market/instruments-info?{q}") as r:
                body = await r.json()
                assert body["retCode"] == 0 and body["result"]["list"] == [], q


async def test_tickers_carry_funding_and_open_interest(ex: Any, sim: SimHandle) -> None:
    tickers = await ex.fetch_tickers()
    assert set(tickers) == {m for m in ex.markets}
    t = tickers["BTC/USDT:USDT"]
    info = t["info"]
    for key in ("fundingRate", "nextFundingTime", "openInterest", "openInterestValue"):
        assert info[key] != "", key
    assert ex.markets["BTC/USDT:USDT"]["contract"]
    assert ctx_price(sim, "BTCUSDT") == t["last"] == t["markPrice"]
    assert t["bid"] < t["last"] < t["ask"]
    rates = await ex.fetch_funding_rates()
    fr = rates["BTC/USDT:USDT"]
    assert fr["fundingTimestamp"] == int(info["nextFundingTime"]) > START
    assert fr["fundingRate"] == float(info["fundingRate"])
    oi = await ex.fetch_open_interest("BTC/USDT:USDT")
    assert oi["openInterestAmount"] == float(info["openInterest"])


def ctx_price(sim: SimHandle, sym: str) -> float:
    assert sim.ctx is not None
    return sim.ctx.engine.price_float(sym)


async def test_klines_equal_the_data_file(ex: Any, data_dir: Path) -> None:
    o = DataDir(data_dir).ohlcv("ETHUSDT")
    rows = await ex.fetch_ohlcv("ETH/USDT:USDT", "1h", since=T0, limit=1000)
    closed = o.ts < START
    expected = [
        [int(o.ts[k]), o.open[k], o.high[k], o.low[k], o.close[k], o.volume[k]]
        for k in np.nonzero(closed)[0]
    ]
    # As on Bybit, the newest row is the candle in progress: the bar opening at START, seen
    # at its open (price so far = the open, no volume yet). Clients must drop it.
    k = int(np.searchsorted(o.ts, START))
    forming = [START, o.open[k], o.open[k], o.open[k], o.open[k], 0.0]
    assert rows == [*expected, forming]
    latest = await ex.fetch_ohlcv("ETH/USDT:USDT", "1h", limit=5)
    assert latest == [*expected[-4:], forming]


async def test_klines_follow_the_clock_and_aggregate(ex: Any, sim: SimHandle) -> None:
    before = await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=3)
    await sim.advance(2)
    after = await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=3)
    assert before[-1][0] == START and after[-1][0] == START + 2 * HOUR_MS  # in progress
    assert after[0][0] == before[2][0] and after[0][1] == before[2][1]  # START's bar, closed
    four = await ex.fetch_ohlcv("BTC/USDT:USDT", "4h", since=T0, limit=3)
    hours = await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", since=T0, limit=12)
    for g, row in enumerate(four):
        part = hours[4 * g : 4 * g + 4]
        assert row[0] == part[0][0]
        assert row[1] == part[0][1] and row[4] == part[-1][4]
        assert row[2] == max(r[2] for r in part) and row[3] == min(r[3] for r in part)


async def test_funding_history_equals_the_data_file(ex: Any, data_dir: Path) -> None:
    f = DataDir(data_dir).funding("SOLUSDT")
    assert f is not None
    got = await ex.fetch_funding_rate_history("SOL/USDT:USDT", since=T0, limit=200)
    paid = f.ts <= START
    assert [(r["timestamp"], r["fundingRate"]) for r in got] == [
        (int(t), float(r)) for t, r in zip(f.ts[paid], f.rate[paid], strict=True)
    ]


async def test_open_interest_history_equals_the_data_file(ex: Any, data_dir: Path) -> None:
    oi = DataDir(data_dir).open_interest("BTCUSDT")
    assert oi is not None
    got = await ex.fetch_open_interest_history("BTC/USDT:USDT", "1h", since=T0, limit=200)
    seen = oi.ts <= START
    assert [(r["timestamp"], r["openInterestAmount"]) for r in got] == [
        (int(t), float(v)) for t, v in zip(oi.ts[seen], oi.oi[seen], strict=True)
    ]


async def test_leverage_tiers_and_server_time(ex: Any, sim: SimHandle) -> None:
    tiers = await ex.fetch_leverage_tiers()
    risk = tiers["RISK/USDT:USDT"]
    assert [(t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"]) for t in risk] == [
        (0, 1_000_000, 0.005),
        (1_000_000, 5_000_000, 0.01),
    ]
    assert [t["maxLeverage"] for t in risk] == [20, 10]
    assert set(tiers) == set(ex.markets)
    assert await ex.fetch_time() == START
    await sim.advance(1)
    assert await ex.fetch_time() == START + HOUR_MS


async def test_unknown_symbol_and_interval_are_param_errors(sim: SimHandle) -> None:
    async with aiohttp.ClientSession() as s:
        for q in (
            "category=linear&symbol=NOPEUSDT&interval=60",
            f"category=linear&symbol={RISK_SYMBOL}&interval=5",
        ):
            async with s.get(f"{sim.url}/v5/market/kline?{q}") as r:
                body = await r.json()
                assert body["retCode"] == 10001 and body["retMsg"], q
