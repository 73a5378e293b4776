"""RELIABILITY.md #29 (the kill switch closes positions rotor's books do not know, never stops
at one symbol, re-reads the venue each attempt), #30 (it cancels orders without a client id by
venue id) and #31 (closes fail while cancels succeed: the protective stops stay until the
positions are closed). The daemon's own loop, in-process, against the simulator's HTTP face
through unmodified ccxt, with a real database."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from bot.domain import TradingState
from bot.risk import Source
from tests.reliability.conftest import faults_on, hand_order
from tests.reliability.daemon_rig import (
    bars_until,
    has_position_with_stop,
    live,
    running_daemon,
    ticker_price,
    trading_sim,
    wait_until,
)
from tests.reliability.invariants import assert_nothing_lost, read_books, without_hand_fills

OPEN = ("New", "Untriggered", "PartiallyFilled")
# A parameter error on each face (Bybit's retCode, Binance's code): a refusal, not an outage.
PARAMETER_ERROR = {"bybit": 10001, "binanceusdm": -1102}


def venue_positions(state: dict[str, Any]) -> dict[str, str]:
    return {p["symbol"]: p["size"] for p in state["positions"] if Decimal(p["size"]) > 0}


def open_orders(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in state["orders"] if o["orderStatus"] in OPEN]


async def test_s29_s30_kill_switch_flattens_what_the_venue_holds(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            # Opened by hand since the last sync: rotor's books do not know them.
            await hand_order(sim, "ETHUSDT", "Sell", "2")
            btc = await ticker_price(sim, "BTCUSDT", "lastPrice")
            low = str((btc * Decimal("0.5")).quantize(Decimal("1")))
            hand_id, hand_key = await hand_order(sim, "BTCUSDT", "Buy", "0.01", price=low)
            assert "ETHUSDT" not in d.services.portfolio.positions
            before = await sim.state()
            assert set(venue_positions(before)) == {"SOLUSDT", "ETHUSDT"}
            with capture_logs() as logs:
                d.request_kill(Source.API)
                await asyncio.wait_for(d.handle_operator_requests(), 30)
            assert d.state.state is TradingState.HALTED
            assert not [e for e in logs if e["event"] == "close_rejected"]
            after = await sim.state()
            assert venue_positions(after) == {}
            assert open_orders(after) == []
            [cancelled] = [o for o in after["orders"] if sim.face_order_id(o["orderId"]) == hand_id]
            assert cancelled["orderStatus"] == "Cancelled", "cancelled without a client id of ours"
            stored = await d.storage.repo.get_order(hand_key)
            assert stored is not None and stored.status.value == "CANCELED"
        assert_nothing_lost(without_hand_fills(await read_books(sim, migrated_url)))


async def test_s29_s31_closes_fail_stops_stay_and_the_venue_is_reread(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            [stop] = [o for o in open_orders(await sim.state()) if o["triggerPrice"] != "0"]
            # Every order placement is refused (a parameter error); cancels still work.
            code = PARAMETER_ERROR[venue_name]
            await sim.set_faults(faults_on(sim, "create", kind="error_rate", ret_code=code))
            with capture_logs() as logs:
                async with live(d):
                    d.request_kill(Source.API)
                    await wait_until(
                        lambda: sum(e["event"] == "kill_switch_attempt_failed" for e in logs) >= 2,
                        30,
                        "two failed kill attempts",
                    )
                    state = await sim.state()
                    assert set(venue_positions(state)) == {"SOLUSDT"}
                    still = [o for o in open_orders(state) if o["orderId"] == stop["orderId"]]
                    assert still, "the protective stop stays while the position is open"
                    assert d.state.state is TradingState.REDUCING
                    # A position opened by hand meanwhile: the next attempt reads it too.
                    await sim.set_faults([])
                    await hand_order(sim, "ETHUSDT", "Buy", "1")
                    await wait_until(lambda: d.state.state is TradingState.HALTED, 30, "HALTED")
            failed = [e for e in logs if e["event"] == "kill_switch_attempt_failed"]
            assert all(e["alert"] for e in failed)
            assert any("close SOLUSDT" in e["problem"] for e in failed)
            final = await sim.state()
            assert venue_positions(final) == {} and open_orders(final) == []
        assert_nothing_lost(without_hand_fills(await read_books(sim, migrated_url)))
