"""RELIABILITY.md #41 (an adopted position gets its protective stop from the stop policy at the
current price, never the planned stop of an older, unrelated order in the same symbol) and #42
(HALTED never refuses that reduce-only stop). The daemon's own loop steps, in-process, against
the simulator's HTTP face through unmodified ccxt, with a real database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from bot.domain import PositionSide, TradingState
from bot.risk import Source
from bot.risk.sizing import stop_price_for
from tests.reliability.conftest import hand_order
from tests.reliability.daemon_rig import (
    bar,
    bars_until,
    has_position_with_stop,
    running_daemon,
    ticker_price,
    trading_sim,
)
from tests.reliability.invariants import assert_nothing_lost, read_books, without_hand_fills


def stops_on_venue(state: dict[str, Any], symbol: str) -> list[dict[str, Any]]:
    return [
        o
        for o in state["orders"]
        if o["symbol"] == symbol and o["orderStatus"] == "Untriggered" and o["reduceOnly"]
    ]


async def test_s41_s42_position_found_while_halted_gets_a_policy_stop(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            old_stop = d.services.portfolio.positions["SOLUSDT"].stop_price
            assert old_stop is not None
            d.request_kill(Source.API)
            await d.handle_operator_requests()
            assert d.state.state is TradingState.HALTED and not d.services.portfolio.positions
            await bar(sim, d)
            # A position opened by hand in the same symbol, while HALTED.
            await hand_order(sim, "SOLUSDT", "Buy", "3")
            with capture_logs() as logs:
                await bar(sim, d)
            pos = d.services.portfolio.positions["SOLUSDT"]
            assert d.state.state is TradingState.HALTED
            mark = await ticker_price(sim, "SOLUSDT")
            tick = d.services.instruments["SOLUSDT"].tick_size
            want = stop_price_for(PositionSide.LONG, mark, Decimal("0.09"), tick)
            assert pos.stop_price == want, (pos.stop_price, want, old_stop)
            assert pos.stop_price != old_stop
            [stop] = stops_on_venue(await sim.state(), "SOLUSDT")
            assert Decimal(stop["triggerPrice"]) == want and Decimal(stop["qty"]) == Decimal(3)
            assert not [e for e in logs if e["event"] in ("stop_refused_by_risk", "stop_rejected")]
            assert [e for e in logs if e["event"] == "adopted_stop_from_policy"]
        assert_nothing_lost(without_hand_fills(await read_books(sim, migrated_url)))
