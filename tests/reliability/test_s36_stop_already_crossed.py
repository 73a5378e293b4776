"""RELIABILITY.md #36: a protective stop (re)placed after the price has already crossed it is
refused by the venue (Bybit 110092/110093 → ``StopCrossedError``); rotor closes the position
reduce-only at market instead and alerts, and a refused protective stop always alerts. The
daemon's own reconciliation, in-process, against the simulator's HTTP face through unmodified
ccxt, with a real database."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from bot.domain import PositionSide
from tests.reliability.daemon_rig import (
    bars_until,
    hand_cancel,
    has_position_with_stop,
    running_daemon,
    ticker_price,
    trading_sim,
)
from tests.reliability.invariants import assert_nothing_lost, read_books


async def test_s36_stop_crossed_while_off_the_venue_closes_at_market_and_alerts(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            pos = d.services.portfolio.positions["SOLUSDT"]
            assert pos.stop_price is not None
            sign = 1 if pos.side is PositionSide.LONG else -1
            [stop] = [o for o in (await sim.state())["orders"] if o["orderStatus"] == "Untriggered"]
            # Cancelled by hand; then the price runs through where the stop was.
            await hand_cancel(sim, "SOLUSDT", stop)
            for _ in range(400):
                if sign * (await ticker_price(sim, "SOLUSDT") - pos.stop_price) < 0:
                    break
                await sim.advance(1)
            else:
                raise AssertionError("the price never crossed the stop")
            assert [p["symbol"] for p in (await sim.state())["positions"]] == ["SOLUSDT"]
            # The loop's next poll (venue time), then its periodic reconciliation.
            await d.market.feed.poll()
            d.observe_venue_time(d.market.feed.venue_ms)
            with capture_logs() as logs:
                await d.services.core.resync()
            [refused] = [e for e in logs if e["event"] == "stop_rejected_by_venue"]
            assert refused["alert"] is True and refused["crossed"] is True
            [closed] = [e for e in logs if e["event"] == "stop_crossed_closed"]
            assert closed["alert"] is True and closed["outcome"] == "confirmed"
            await d.services.core.sync()
            assert (await sim.state())["positions"] == []
            assert "SOLUSDT" not in d.services.portfolio.positions
            assert not [
                o for o in (await sim.state())["orders"] if o["orderStatus"] == "Untriggered"
            ]
        assert_nothing_lost(await read_books(sim, migrated_url))
