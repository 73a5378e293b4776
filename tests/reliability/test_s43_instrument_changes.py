"""#43: instrument changes on a running daemon (``POST /sim/instrument``). A symbol's funding
interval switches 8h -> 1h, another's tick and lot step change, and the symbol rotor holds is
delisted: after the next bar's cycle the instruments are re-read (no restart), funding is
normalised by the current interval, the delisted position is closed before the delivery and
no entry is made in it. The daemon in-process against the simulator through ccxt."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.reliability.daemon_rig import (
    HOUR,
    bar,
    bars_until,
    has_position_with_stop,
    running_daemon,
    trading_sim,
)


async def test_s43_funding_interval_tick_lot_and_delisting_without_restart(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path, venue=venue_name) as sim, running_daemon(sim, db_url) as d:
        await bars_until(sim, d, has_position_with_stop("SOLUSDT"))
        assert d.funding_intervals()["BTCUSDT"] == 8.0
        now = int((await sim.state())["time"])
        for change in (
            {"symbol": "BTCUSDT", "fundingInterval": 60},
            {"symbol": "ETHUSDT", "tickSize": "0.05", "qtyStep": "0.01"},
            {"symbol": "SOLUSDT", "deliveryTime": now + 6 * HOUR},
        ):
            await sim.admin("POST", "/sim/instrument", change)

        await bar(sim, d)  # its cycle, then the instruments are re-read for the next one
        assert d.funding_intervals()["BTCUSDT"] == 1.0
        eth = d.services.instruments["ETHUSDT"]
        assert (eth.tick_size, eth.qty_step) == (Decimal("0.05"), Decimal("0.01"))
        assert d.services.core.instruments["ETHUSDT"] is eth, "the trading core uses the new steps"
        assert "SOLUSDT" in d.services.core.closing
        await bar(sim, d)
        assert "SOLUSDT" not in d.services.portfolio.positions, "closed at the next cycle"
        venue = [p for p in await d.services.venue.fetch_positions() if p.symbol == "SOLUSDT"]
        assert venue == [], "flat on the venue, before the delivery"
        assert int((await sim.state())["time"]) < now + 6 * HOUR

        await bar(sim, d, 8)  # past the delivery: never entered again
        assert "SOLUSDT" not in d.services.portfolio.positions
        sol = [o for o in await d.storage.repo.list_orders(symbol="SOLUSDT") if o.intent == "entry"]
        assert len(sol) == 1, "the one entry before the delisting"
