"""#32 (second half): a symbol's leverage changed by hand on the venue while rotor holds a
position. The next sync alerts and sets the planned leverage back, so the position is as
planned (its liquidation price beyond the stop) before the next cycle. The daemon in-process
against the simulator through ccxt."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from tests.reliability.conftest import hand_leverage
from tests.reliability.daemon_rig import (
    bars_until,
    has_position_with_stop,
    running_daemon,
    trading_sim,
)


async def test_s32_leverage_changed_by_hand_alerts_and_is_set_back(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path, venue=venue_name) as sim, running_daemon(sim, db_url) as d:
        await bars_until(sim, d, has_position_with_stop("SOLUSDT"))
        pos = d.services.portfolio.positions["SOLUSDT"]
        planned, stop = pos.leverage, pos.stop_price
        assert stop is not None

        async def venue_position():  # type: ignore[no-untyped-def]
            [vp] = [p for p in await d.services.venue.fetch_positions() if p.symbol == "SOLUSDT"]
            return vp

        assert (await venue_position()).leverage == planned
        await hand_leverage(sim, "SOLUSDT", 50)
        by_hand = await venue_position()
        assert by_hand.leverage == 50
        assert by_hand.liquidation_price is not None and by_hand.liquidation_price > stop

        with capture_logs() as logs:
            await d.services.core.sync()  # the reconciliation between bars
        [alert] = [e for e in logs if e["event"] == "venue_position_mismatch"]
        assert alert["symbol"] == "SOLUSDT" and alert.get("alert") is True
        assert any("leverage 50" in p for p in alert["problems"])
        assert any("not beyond the stop" in p for p in alert["problems"])
        fixed = await venue_position()
        assert fixed.leverage == planned
        assert fixed.liquidation_price is not None and fixed.liquidation_price < stop
