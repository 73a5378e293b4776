"""Unmodified ccxt binanceusdm polls the Binance USDⓈ-M face: markets, tickers, premium
index, klines (oldest first, the last in progress), funding, open interest, book, time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.data.datadir import DataDir
from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import START
from tests.simserver import SimHandle

BTC = "BTC/USDT:USDT"


async def test_load_markets_reads_exchange_info(bex: Any, data_dir: Path) -> None:
    markets = bex.markets
    assert set(markets) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "RISK/USDT:USDT"}
    risk = markets["RISK/USDT:USDT"]
    assert risk["swap"] and risk["linear"] and risk["active"] and risk["settle"] == "USDT"
    # instruments.json: tick 0.01, step 1, min notional 5 (the filters ccxt reads).
    assert risk["precision"]["price"] == 0.01 and risk["precision"]["amount"] == 1
    assert risk["limits"]["cost"]["min"] == 5
    assert "STOP_MARKET" in risk["info"]["orderTypes"]


async def test_tickers_and_premium_index(bex: Any, bsim: SimHandle) -> None:
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    tickers = await bex.fetch_tickers([BTC])
    assert tickers[BTC]["last"] == eng.price_float("BTCUSDT")
    rates = await bex.fetch_funding_rates([BTC])
    r = rates[BTC]
    t = eng.ticker("BTCUSDT")
    assert r["markPrice"] == t.mark and r["fundingTimestamp"] == t.next_funding_ms
    assert r["fundingRate"] == round(t.funding_rate, 8)
    assert t.next_funding_ms == START + 8 * HOUR_MS
    book = await bex.fetch_bids_asks([BTC])
    assert book[BTC]["bid"] <= t.mark <= book[BTC]["ask"]


async def test_klines_oldest_first_with_the_candle_in_progress(
    bex: Any, bsim: SimHandle, data_dir: Path
) -> None:
    rows = await bex.fetch_ohlcv(BTC, "1h", limit=5)
    ts = [r[0] for r in rows]
    assert ts == sorted(ts) and ts[-1] == START  # the last row is the hour in progress
    data = DataDir(data_dir).ohlcv("BTCUSDT")
    k = int((START - HOUR_MS - int(data.ts[0])) // HOUR_MS)
    assert rows[-2][1:6] == [
        float(data.open[k]),
        float(data.high[k]),
        float(data.low[k]),
        float(data.close[k]),
        round(float(data.volume[k]), 3),
    ]
    assert rows[-1][1] == rows[-1][4] == float(data.open[k + 1]) and rows[-1][5] == 0
    since = START - 10 * HOUR_MS
    later = await bex.fetch_ohlcv(BTC, "4h", since=since, limit=2)
    assert later[0][0] == -(-since // (4 * HOUR_MS)) * (4 * HOUR_MS)  # opening at/after since
    marks = await bex.fetch_ohlcv(BTC, "1h", limit=2, params={"price": "mark"})
    assert [r[4] for r in marks] == [r[4] for r in rows[-2:]]


async def test_funding_history_interval_and_open_interest(
    bex: Any, bsim: SimHandle, data_dir: Path
) -> None:
    hist = await bex.fetch_funding_rate_history(BTC, since=START - 48 * HOUR_MS)
    f = DataDir(data_dir).funding("BTCUSDT")
    assert f is not None
    paid = [(int(t), float(r)) for t, r in zip(f.ts, f.rate, strict=True) if t <= START]
    assert [(h["timestamp"], h["fundingRate"]) for h in hist] == paid
    interval = await bex.fetch_funding_interval(BTC)
    assert interval["interval"] == "8h"
    oi = await bex.fetch_open_interest(BTC)
    o = DataDir(data_dir).open_interest("BTCUSDT")
    assert o is not None
    k = int(list(o.ts).index(START))
    assert oi["openInterestAmount"] == float(o.oi[k])
    hist_oi = await bex.fetch_open_interest_history(BTC, "1h", since=START - 5 * HOUR_MS, limit=3)
    assert [h["timestamp"] for h in hist_oi] == [
        START - 5 * HOUR_MS + i * HOUR_MS for i in range(3)
    ]


async def test_time_and_order_book(bex: Any, bsim: SimHandle) -> None:
    assert await bex.fetch_time() == START
    book = await bex.fetch_order_book(BTC, 5)
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert book["bids"][0][0] < book["asks"][0][0]


async def test_default_ccxt_options_load_markets_too(bsim: SimHandle) -> None:
    # ccxt's defaults call the spot wallet's coin list in load_markets when keys are set
    # (CCXT-ENDPOINTS.md, section 2): with every URL group on the face, that works as well.
    ex = bsim.ccxt(options={"fetchCurrencies": True})
    try:
        await bsim.admin("POST", "/sim/requests/reset")
        assert "BTC/USDT:USDT" in await ex.load_markets()
        calls = (await bsim.requests())["endpoints"]
        assert calls["/sapi/v1/capital/config/getall"] == 1 and calls["/fapi/v1/exchangeInfo"] == 1
    finally:
        await ex.close()
