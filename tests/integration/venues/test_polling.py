"""Polling efficiency, counted by the simulator (``/sim/requests``): one bulk tickers request
per poll whatever the universe size, and one kline request per symbol per closed bar."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bot.data.datadir import read_funding, read_ohlcv
from bot.data.store import PanelStore
from bot.domain import OrderType, Side
from bot.venues.backfill import bars_needed
from bot.venues.base import OrderRequest
from bot.venues.feed import MarketFeed, PanelStoreSink
from tests.integration.venues.conftest import HOUR, START, venue_for
from tests.simserver import make_data_dir, sim_server

TICKERS = "/v5/market/tickers"
KLINE = "/v5/market/kline"


def synthetic_symbols(n: int) -> list[str]:
    return [f"S{i:03d}USDT" for i in range(n)]


@pytest.mark.parametrize("n_symbols", [3, 24])
async def test_one_tickers_request_per_poll_and_klines_only_for_closed_bars(
    tmp_path: Path, n_symbols: int
) -> None:
    symbols = synthetic_symbols(n_symbols)
    data = make_data_dir(tmp_path / "d", symbols, n_bars=40 * 24)
    async with sim_server(data, start_ms=START) as sim:
        venue = venue_for(sim)
        store = PanelStore(symbols, capacity=400)
        feed = MarketFeed(venue, symbols, PanelStoreSink(store), backfill_hours=300)
        try:
            delivered = await feed.backfill()
            assert all(n == 300 for n in delivered.values()), delivered
            await sim.admin("POST", "/sim/requests/reset")

            # No bar has closed since the backfill: tickers only.
            for _ in range(3):
                res = await feed.poll()
                assert res.kline_requests == 0 and res.tickers == n_symbols
            counts = (await sim.requests())["endpoints"]
            assert counts == {TICKERS: 3}

            # Each closed bar costs exactly one kline request per symbol, on the first poll
            # after it closed, and none on the polls that follow.
            for bar in range(1, 4):
                await sim.advance(1)
                res = await feed.poll()
                assert res.kline_requests == n_symbols and res.new_bars == n_symbols
                assert (await feed.poll()).kline_requests == 0
                counts = (await sim.requests())["endpoints"]
                assert counts == {TICKERS: 3 + 2 * bar, KLINE: n_symbols * bar}

            # The panel holds exactly the source candles, backfill + polled.
            panel = store.panel()
            src = read_ohlcv(data / "ohlcv" / f"{symbols[0]}.parquet")
            m = (src.ts >= START - 300 * HOUR) & (src.ts < START + 3 * HOUR)
            np.testing.assert_array_equal(panel.ts[-303:], src.ts[m])
            np.testing.assert_array_equal(panel.close[0, -303:], src.close[m])
            assert feed.stats.requests["tickers"] == 9
            assert feed.stats.age_s("tickers") < 60
        finally:
            await venue.close()


async def test_backfill_covers_entry_timeframe_and_lookback(tmp_path: Path) -> None:
    assert bars_needed("4h", 168) == 200 * 4 + 168
    assert bars_needed("1h", 0) == 200
    with pytest.raises(ValueError, match="2h"):
        bars_needed("2h", 0)
    symbols = synthetic_symbols(2)
    data = make_data_dir(tmp_path / "d", symbols, n_bars=40 * 24)
    async with sim_server(data, start_ms=START) as sim:
        venue = venue_for(sim)
        need = bars_needed("4h", 20)  # 820 hours: more than one 1000-bar page? no, one page
        store = PanelStore(symbols, capacity=1200)
        feed = MarketFeed(venue, symbols, PanelStoreSink(store), backfill_hours=need)
        try:
            delivered = await feed.backfill()
            assert delivered == dict.fromkeys(symbols, need)
            panel = store.panel()
            assert panel.ts[-1] == START - HOUR  # the newest closed bar, never the open one
            assert not np.isnan(panel.close[:, -need:]).any()
            # Funding and OI history arrived too (funding every 8h, OI hourly).
            assert np.isfinite(panel.funding[0, -need:]).sum() == need // 8
            assert np.isfinite(panel.oi[0, -need:]).sum() >= need - 1
        finally:
            await venue.close()


async def test_funding_and_open_interest_come_from_the_tickers(tmp_path: Path) -> None:
    symbols = synthetic_symbols(2)
    data = make_data_dir(tmp_path / "d", symbols, n_bars=40 * 24)
    async with sim_server(data, start_ms=START) as sim:
        venue = venue_for(sim)
        store = PanelStore(symbols, capacity=64)
        feed = MarketFeed(venue, symbols, PanelStoreSink(store), backfill_hours=24)
        try:
            await feed.backfill()
            await sim.admin("POST", "/sim/requests/reset")
            for _ in range(9):
                await feed.poll()
                await sim.advance(1)
            await feed.poll()
            counts = (await sim.requests())["endpoints"]
            assert set(counts) == {TICKERS, KLINE}  # no funding / OI history requests
        finally:
            await venue.close()
    panel = store.panel()
    src = read_funding(data / "funding" / f"{symbols[0]}.parquet")
    settled = START + 8 * HOUR  # between the polls: the rate shown before it is stored for it
    j = int(np.searchsorted(panel.ts, settled - HOUR))  # stored on the bar that ends at it
    assert panel.ts[j] == settled - HOUR
    # The feed stores the predicted rate the tickers showed before the settlement. On Bybit
    # that converges to the settled rate; the simulator has no live premium index and shows
    # the last settled rate (it never reads a later row, issue #14), so here it is the rate
    # of the settlement before.
    assert panel.funding[0, j] == src.rate[src.ts == settled - 8 * HOUR][0]
    # One OI sample per new hour, from the tickers, on the bar that ends at that hour.
    oi = panel.oi[0]
    assert np.isfinite(oi[panel.ts >= START - HOUR]).sum() == 10


async def test_binance_instrument_refresh_reads_futures_endpoints_only(tmp_path: Path) -> None:
    """Binance's instrument refresh (every closed bar, RELIABILITY.md #43): the futures
    ``exchangeInfo`` (weight 1) and ``fundingInfo`` (0), the margin tiers only at start-up and
    every few hours (``test_instrument_refresh.py``), never ccxt's wallet reads (``/sapi``:
    the currency list weighs 10 and needs a spot permission a futures key may lack)."""
    data = make_data_dir(tmp_path / "d", synthetic_symbols(3), n_bars=40 * 24)
    async with sim_server(data, start_ms=START, venue="binanceusdm") as sim:
        venue = venue_for(sim)
        try:
            await venue.load_instruments()
            await sim.admin("POST", "/sim/requests/reset")
            await venue.load_instruments()
            got = await sim.requests()
        finally:
            await venue.close()
    assert got["calls"] == {
        "GET /fapi/v1/exchangeInfo": 1,
        "GET /fapi/v1/fundingInfo": 1,
    }
    assert got["totalWeight"] == 1


async def test_binance_fills_and_funding_are_one_income_read(tmp_path: Path) -> None:
    """A reconciliation pass reads the fills and the funding since its last one: on Binance
    both come from one income-history read (weight 30), not one each."""
    symbols = synthetic_symbols(2)
    data = make_data_dir(tmp_path / "d", symbols, n_bars=40 * 24)
    async with sim_server(data, start_ms=START, venue="binanceusdm") as sim:
        venue = venue_for(sim)
        try:
            await venue.load_instruments()
            await venue.ensure_account_modes("isolated")
            buy = OrderRequest("f-1", symbols[0], Side.BUY, OrderType.MARKET, Decimal("0.01"))
            await venue.create_order(buy)
            await sim.advance(9)  # at least one funding settlement (every 8 h)
            fills, funding = await venue.fetch_executions(0), await venue.fetch_funding_payments(0)
            assert fills and funding
            await sim.admin("POST", "/sim/requests/reset")
            assert await venue.fetch_account_events(0) == (fills, funding)
            calls = (await sim.requests())["calls"]
        finally:
            await venue.close()
    assert calls["GET /fapi/v1/income"] == 1, calls
