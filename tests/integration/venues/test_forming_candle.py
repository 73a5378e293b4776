"""Every kline reader of rotor against Bybit's candle in progress (issue #14, item 6).

The simulator serves klines as Bybit does: the newest row is the candle still forming. The
feed's backfill and polls, the paginated history reader of ``rotor data download``, the
download itself and ``rotor scan --exchange`` must each keep only candles the venue's clock
has closed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.config import load_settings
from bot.data.datadir import read_ohlcv
from bot.data.store import PanelStore
from bot.venues.download import download
from bot.venues.feed import MarketFeed, PanelStoreSink
from bot.venues.history import fetch_bar_range
from tests.integration.venues.conftest import HOUR, START, SYMBOLS, venue_for
from tests.simserver import SimHandle

SYM = SYMBOLS[0]


async def _raw_newest(sim: SimHandle) -> list[str]:
    q = f"category=linear&symbol={SYM}&interval=60&limit=2"
    async with aiohttp.ClientSession() as s, s.get(f"{sim.url}/v5/market/kline?{q}") as r:
        body = await r.json()
    return list(body["result"]["list"][0])


async def test_the_venue_serves_the_forming_candle(sim: SimHandle) -> None:
    newest = await _raw_newest(sim)
    assert int(newest[0]) == START  # opened at the sim clock: still forming
    assert newest[1] == newest[2] == newest[3] == newest[4] and newest[5] == "0"


async def test_feed_backfill_and_polls_keep_only_closed_candles(sim: SimHandle) -> None:
    venue = venue_for(sim)
    store = PanelStore(list(SYMBOLS), capacity=64)
    feed = MarketFeed(venue, list(SYMBOLS), PanelStoreSink(store), backfill_hours=24)
    try:
        assert int((await _raw_newest(sim))[0]) == START
        await feed.backfill()
        assert store.panel().ts[-1] == START - HOUR
        await sim.advance(1)
        await feed.poll()
        assert int((await _raw_newest(sim))[0]) == START + HOUR
        assert store.panel().ts[-1] == START
        assert max(feed.last_bar_ts.values()) == START
    finally:
        await venue.close()


async def test_history_reader_and_download_keep_only_closed_candles(
    sim: SimHandle, tmp_path: Path
) -> None:
    venue = venue_for(sim)
    try:
        bars = await fetch_bar_range(venue, SYM, "1h", START - 5 * HOUR, START + 2 * HOUR)
        assert [b.ts for b in bars][-1] == START - HOUR
        recent = await venue.fetch_bars(SYM, "1h", None, 3)
        assert [b.ts for b in recent] == [START - 3 * HOUR, START - 2 * HOUR, START - HOUR]
        res = await download(venue, tmp_path / "dl", [SYM], 2, open_interest=False)
        assert not res.failed
    finally:
        await venue.close()
    stored = read_ohlcv(tmp_path / "dl" / "ohlcv" / f"{SYM}.parquet")
    assert int(stored.ts[-1]) == START - HOUR


async def test_scan_exchange_panel_keeps_only_closed_candles(sim: SimHandle) -> None:
    from bot.commands.scan_exchange import panel_from_exchange

    settings = load_settings(None, {"universe.symbols": list(SYMBOLS)}, environ={})
    panel, listed = await asyncio.to_thread(panel_from_exchange, settings, 24, "bybit", sim.url)
    assert int(panel.ts[-1]) == START - HOUR
    assert set(SYMBOLS) <= set(listed) and all(listed[s].tiers for s in SYMBOLS)
