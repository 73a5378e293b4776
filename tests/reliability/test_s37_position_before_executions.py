"""RELIABILITY.md #37: a fill shows up in the positions before it shows up in the execution list
(the simulator's ``consistency_lag`` on ``/v5/execution/list``). It is not adopted as a foreign
position, not counted twice, and with the ``refuse`` policy the daemon keeps running and still
places the protective stop. The daemon's own cycle, in-process, against the simulator's HTTP
face through unmodified ccxt, with a real database."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

from structlog.testing import capture_logs

from bot.domain import TradingState
from bot.execution.reconcile import OVERLAP_MS
from tests.reliability.conftest import hand_order
from tests.reliability.daemon_rig import bar, running_daemon, trading_sim
from tests.reliability.invariants import assert_nothing_lost, read_books

LAG_MS = 1500
# Where each face lists executions (Bybit's execution list, Binance's account trade list).
EXECUTIONS = {"bybit": "/v5/execution/list", "binanceusdm": "/fapi/v1/userTrades"}


async def test_s37_fill_in_positions_before_executions_is_ours_once(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(
            sim, migrated_url, **{"execution.unknown_position_policy": "refuse"}
        ) as d:
            await bar(sim, d, 9)  # the next bar's close is an rsi-reversion entry on SOLUSDT
            lag = {"kind": "consistency_lag", "endpoint": EXECUTIONS[venue_name], "ms": LAG_MS}
            await sim.set_faults([lag])
            with capture_logs() as logs:
                for _ in range(3):  # the entry fills; its execution is not listed yet
                    await bar(sim, d)  # (bounded: a loaded machine may miss a bar's poll)
                    venue = {p["symbol"]: p["size"] for p in (await sim.state())["positions"]}
                    if venue:
                        break
                assert list(venue) == ["SOLUSDT"]
                assert "SOLUSDT" not in d.services.portfolio.positions
                await asyncio.sleep(LAG_MS / 1000 + 0.3)
                await d.services.core.resync()  # the execution is listed now
            events = {e["event"] for e in logs}
            assert "reconcile_position_adopted" not in events
            assert "reconcile_position_corrected" not in events
            assert "position_awaits_executions" in events
            assert d.state.state is TradingState.ACTIVE
            pos = d.services.portfolio.positions["SOLUSDT"]
            assert pos.qty == Decimal(venue["SOLUSDT"]), "counted once"
            assert pos.stop_price is not None
            stops = [o for o in (await sim.state())["orders"] if o["orderStatus"] == "Untriggered"]
            assert [Decimal(o["triggerPrice"]) for o in stops] == [pos.stop_price]
            stored = await d.storage.repo.list_executions(symbol="SOLUSDT")
            assert sum((e.qty for e in stored), Decimal(0)) == pos.qty
        assert_nothing_lost(await read_books(sim, migrated_url))


async def test_s37_lagged_lists_answer_before_the_account_has_any_event(
    tmp_path: Path, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        path = EXECUTIONS[venue_name]
        await sim.set_faults([{"kind": "consistency_lag", "endpoint": path, "ms": LAG_MS}])
        if venue_name == "binanceusdm":
            status, rows, _h = await sim.binance("GET", path, {"symbol": "SOLUSDT"})
            assert status == 200 and rows == [], rows
            return
        status, body = await sim.bybit("GET", path, {"category": "linear"})
        assert status == 200 and body["retCode"] == 0, body
        assert body["result"]["list"] == []


# Longer than the restart and the bars below take, so the fill is still missing from the
# execution list when its bar is older than the reconciler's read window.
LONG_LAG_MS = 25_000
WINDOW_BARS = OVERLAP_MS // 3_600_000 + 2


async def test_s37_late_fill_across_a_restart_and_beyond_the_read_window(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    """The fill report lives in the database (the order's filled quantity), not in memory: a
    restart while the execution is still missing neither adopts the position nor refuses to
    start, and the fill is booked once listed, though its time is then older than the window
    the account's lists are read in (it is read by its order, with no window)."""
    refuse = {"execution.unknown_position_policy": "refuse"}
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url, **refuse) as d:
            await bar(sim, d, 9)  # the next bar's close is an rsi-reversion entry on SOLUSDT
            lag = {"kind": "consistency_lag", "endpoint": EXECUTIONS[venue_name], "ms": LONG_LAG_MS}
            await sim.set_faults([lag])
            lagging_from = time.monotonic()
            await bar(sim, d)  # the entry fills; its execution is not listed
            assert "SOLUSDT" not in d.services.portfolio.positions
        with capture_logs() as logs:
            async with running_daemon(sim, migrated_url, **refuse) as d:
                await bar(sim, d, WINDOW_BARS)
                assert "SOLUSDT" not in d.services.portfolio.positions, (
                    "listed too early for this test"
                )
                await asyncio.sleep(
                    max(0.0, lagging_from + LONG_LAG_MS / 1000 + 0.3 - time.monotonic())
                )
                for _ in range(20):  # the execution is listed now, hours behind the window
                    await d.services.core.resync()  # (bounded: a pass may fail on a loaded machine)
                    if "SOLUSDT" in d.services.portfolio.positions:
                        break
                    await asyncio.sleep(0.5)
                venue = {p["symbol"]: p["size"] for p in (await sim.state())["positions"]}
                pos = d.services.portfolio.positions["SOLUSDT"]
                assert pos.qty == Decimal(venue["SOLUSDT"]), "counted once"
                assert pos.stop_price is not None
                stored = await d.storage.repo.list_executions(symbol="SOLUSDT")
                assert sum((e.qty for e in stored), Decimal(0)) == pos.qty
                assert d.state.state is TradingState.ACTIVE
        events = {e["event"] for e in logs}
        assert "position_awaits_executions" in events
        assert "late_fills_settled" in events
        assert not events & {"reconcile_position_adopted", "reconcile_position_corrected"}
        assert_nothing_lost(await read_books(sim, migrated_url))


async def test_s37_hand_fill_listed_after_its_position_was_adopted(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    """A position opened by hand shows up before its execution and is adopted at the
    venue's size; the execution, listed later, is stored but not added again (the adopted
    size already holds it), so the books never differ from the venue and nothing is
    corrected."""
    async with (
        trading_sim(tmp_path / "d", venue=venue_name) as sim,
        running_daemon(sim, migrated_url) as d,
    ):
        await bar(sim, d, 2)
        lag = {"kind": "consistency_lag", "endpoint": EXECUTIONS[venue_name], "ms": LAG_MS}
        await sim.set_faults([lag])
        with capture_logs() as logs:
            await hand_order(sim, "ETHUSDT", "Buy", "3")
            await d.services.core.resync()  # the position is listed, its execution is not
            assert d.services.portfolio.positions["ETHUSDT"].qty == Decimal(3)
            await asyncio.sleep(LAG_MS / 1000 + 0.3)
            for _ in range(10):  # bounded: a pass may fail on a loaded machine
                await d.services.core.resync()
                if await d.storage.repo.list_executions(symbol="ETHUSDT"):
                    break
                await asyncio.sleep(0.5)
            await d.services.core.resync()
            assert d.services.portfolio.positions["ETHUSDT"].qty == Decimal(3), "counted once"
            stored = await d.storage.repo.list_executions(symbol="ETHUSDT")
            assert [e.qty for e in stored] == [Decimal(3)]
        events = [e["event"] for e in logs]
        assert "reconcile_position_adopted" in events
        assert "reconcile_position_corrected" not in events, "the late fill was added again"
        assert "fill_in_venue_size" in events
        held = await d.storage.repo.get_position("ETHUSDT")
        assert held is not None and held.qty == Decimal(3) and held.synced_ms > 0
