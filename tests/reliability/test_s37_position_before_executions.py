"""RELIABILITY.md #37: a fill shows up in the positions before it shows up in the execution list
(the simulator's ``consistency_lag`` on ``/v5/execution/list``). It is not adopted as a foreign
position, not counted twice, and with the ``refuse`` policy the daemon keeps running and still
places the protective stop. The daemon's own cycle, in-process, against the simulator's HTTP
face through unmodified ccxt, with a real database."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from structlog.testing import capture_logs

from bot.domain import TradingState
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
                await bar(sim, d)  # the entry fills; its execution is not listed yet
                venue = {p["symbol"]: p["size"] for p in (await sim.state())["positions"]}
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
