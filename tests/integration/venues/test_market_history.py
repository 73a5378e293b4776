"""Market history kept in the database (RELIABILITY.md #48): a restart delivers the stored
bars, funding and open interest and downloads only the gap, and the result is exactly what a
cold download gives. Counted by the simulator (``/sim/requests``), on SQLite and PostgreSQL,
on both venues' faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.data.store import PanelStore
from bot.storage import Repository, create_engine
from bot.venues.feed import MarketFeed, PanelStoreSink
from tests.integration.venues.conftest import START, venue_for
from tests.simserver import SimHandle, make_data_dir, sim_server

KLINE = {"bybit": "/v5/market/kline", "binanceusdm": "/fapi/v1/klines"}
HOURS = 1500  # two kline pages per symbol when cold
SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT"]


async def _backfill(sim: SimHandle, repo: Repository | None) -> tuple[PanelStore, dict[str, int]]:
    """A fresh feed and panel (as after a restart); returns the panel and the request counts."""
    await sim.admin("POST", "/sim/requests/reset")
    venue = venue_for(sim)
    store = PanelStore(SYMBOLS, capacity=HOURS + 50)
    feed = MarketFeed(venue, SYMBOLS, PanelStoreSink(store), backfill_hours=HOURS, history=repo)
    try:
        await feed.backfill()
    finally:
        await venue.close()
    return store, dict((await sim.requests())["endpoints"])


def _same(a: PanelStore, b: PanelStore) -> None:
    pa, pb = a.panel(), b.panel()
    np.testing.assert_array_equal(pa.ts, pb.ts)
    for name in ("open", "high", "low", "close", "volume", "funding", "funding_interval_h", "oi"):
        np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name), err_msg=name)


async def test_restart_downloads_only_the_gap_and_sees_what_a_cold_start_sees(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    data = make_data_dir(tmp_path / "d", SYMBOLS, n_bars=80 * 24)
    engine = create_engine(migrated_url)
    repo = Repository(engine)
    start = START + 30 * 24 * 3_600_000
    kline = KLINE[venue_name]
    try:
        async with sim_server(data, start_ms=start, venue=venue_name) as sim:
            _cold, counts = await _backfill(sim, repo)
            assert counts[kline] == 2 * len(SYMBOLS), counts

            # Restarted at once: no bar closed meanwhile, so no kline request at all.
            warm, counts = await _backfill(sim, repo)
            assert counts.get(kline, 0) == 0, counts
            _same(warm, (await _backfill(sim, None))[0])

            # Down for 7 hours: one kline request per symbol (the gap), the same panel.
            await sim.advance(7)
            warm, counts = await _backfill(sim, repo)
            assert counts[kline] == len(SYMBOLS), counts
            cold, _ = await _backfill(sim, None)
            _same(warm, cold)
            assert warm.panel().n_bars >= HOURS
    finally:
        await engine.dispose()
