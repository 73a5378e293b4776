"""RELIABILITY.md #12 (5xx / maintenance), #13 (stale tickers), #15 (kill switch while the venue
is unreachable) and #19 (database unavailable, disk full): the daemon's own loop, in-process,
against the simulator's HTTP face through ccxt, with a real database."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from bot.domain import TradingState
from bot.risk import Source
from bot.runtime.daemon import Daemon
from bot.storage import Repository, create_engine
from tests.dbfixtures import _pg_admin
from tests.reliability.daemon_rig import (
    SLOW_POLL,
    bar,
    bars_until,
    has_position_with_stop,
    live,
    running_daemon,
    step_live,
    trading_sim,
    wait_until,
)
from tests.reliability.invariants import assert_nothing_lost, read_books
from tests.simserver import SimHandle


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'rotor.db'}"


def metric(m: Any, **labels: str) -> float:
    return float((m.labels(**labels) if labels else m)._value.get())


async def venue_orders(sim: SimHandle) -> list[dict[str, Any]]:
    return list((await sim.state())["orders"])


async def test_s12_maintenance_takes_no_risk_keeps_stops_and_recovers(
    tmp_path: Path, sqlite_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, sqlite_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            before = await venue_orders(sim)
            [stop] = [o for o in before if o["orderStatus"] == "Untriggered"]
            run_id = d.run_id
            async with live(d):
                # The venue answers 503 to everything while three hours of bars go by.
                await sim.set_faults([{"kind": "maintenance"}])
                for _ in range(3):
                    await sim.advance(1)
                    await asyncio.sleep(0.4)
                await wait_until(lambda: metric(d.metrics.venue_errors, type="transient") > 0)
                during = await venue_orders(sim)
                assert len(during) == len(before), "no order reached the venue during the outage"
                assert (
                    next(o for o in during if o["orderLinkId"] == stop["orderLinkId"])[
                        "orderStatus"
                    ]
                    == "Untriggered"
                ), "the exchange-side stop stays in place"
                await sim.set_faults([])
                await step_live(sim, d, 2, limit_s=40)  # recovers by itself: no restart
                assert d.run_id == run_id and d.state.state is TradingState.ACTIVE
            after = await venue_orders(sim)
            assert stop["orderLinkId"] in {
                o["orderLinkId"] for o in after if o["orderStatus"] == "Untriggered"
            }, "the same stop still protects the position (not cancelled, not replaced)"
        assert_nothing_lost(await read_books(sim, sqlite_url))


async def test_s12_intermittent_5xx_keep_trading_safely(tmp_path: Path, sqlite_url: str) -> None:
    """One request in eight fails (HTTP 502 or Bybit 10016) for half a day of bars."""
    async with trading_sim(tmp_path / "d") as sim:
        async with running_daemon(sim, sqlite_url, **{"exchange.max_read_retries": 2}) as d:
            await sim.set_faults(
                [
                    {"kind": "error_rate", "probability": 0.07, "status": 502},
                    {"kind": "error_rate", "probability": 0.05, "ret_code": 10016},
                ],
                seed=12,
            )
            async with live(d):
                await step_live(sim, d, 12, limit_s=60)
                await sim.set_faults([])
                await step_live(sim, d, 1)
            faults = (await sim.requests())["faults"]
            assert faults.get("error_rate", 0) >= 10
            entries = [
                o
                for o in await venue_orders(sim)
                if not o["reduceOnly"] and o["orderStatus"] == "Filled"
            ]
            assert len(entries) == 1, "it traded through the errors, once"
        assert_nothing_lost(await read_books(sim, sqlite_url))


async def test_s13_stale_tickers_block_entries_until_data_flows(
    tmp_path: Path, sqlite_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        # Bars are stepped by hand, so the poll interval only sets the stale-data guard's
        # window (3 polls): 3 s, not the rig's 150 ms, which a cycle on a loaded machine
        # outlasts (fresh tickers refused as stale).
        async with running_daemon(sim, sqlite_url, **SLOW_POLL) as d:
            await bar(sim, d, 9)  # the next bar's close is an rsi-reversion entry on SOLUSDT
            assert not d.services.portfolio.positions and metric(d.metrics.data_stale) == 0
            await sim.set_faults([{"kind": "stale_tickers"}])
            with capture_logs() as logs:
                await bar(sim, d)
            report = d.services.core.last_report
            assert report is not None and report.entries == []
            assert "STALE_DATA" in report.rejections.get("SOLUSDT", []), report.rejections
            assert d.tickers_stale and metric(d.metrics.data_stale) == 1
            assert metric(d.metrics.risk_rejections, reason="STALE_DATA") >= 1
            assert [e for e in logs if e["event"] == "tickers_stale" and e["alert"]]
            assert await venue_orders(sim) == [], "no order was based on stale prices"
            await sim.set_faults([])
            await bar(sim, d)
            assert not d.tickers_stale and metric(d.metrics.data_stale) == 0
            report = d.services.core.last_report
            assert report is not None and "STALE_DATA" not in report.rejections.get("SOLUSDT", [])
            assert "SOLUSDT" in report.entries, "trading resumes once prices move again"
        assert_nothing_lost(await read_books(sim, sqlite_url))


async def test_s15_kill_switch_retries_while_unreachable_and_never_lies(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            with capture_logs() as logs:
                async with live(d):
                    await sim.set_faults([{"kind": "maintenance"}])
                    d.request_kill(Source.API)
                    await wait_until(
                        lambda: metric(d.metrics.alerts, kind="kill_switch_retry") >= 3, 20
                    )
                    assert d.state.state is TradingState.REDUCING
                    assert d.state.current.reason.startswith("KILL: flattening")
                    assert (await sim.state())["positions"], "still open: the venue is unreachable"
                    assert not [
                        e for e in logs if e["event"] in ("kill_switch_flat", "kill_switch_done")
                    ]
                    await sim.set_faults([])
                    await wait_until(lambda: d.state.state is TradingState.HALTED, 20, "HALTED")
            failed = [e for e in logs if e["event"] == "kill_switch_attempt_failed"]
            assert len(failed) >= 3 and all(e["alert"] for e in failed)
            state = await sim.state()
            assert state["positions"] == [] and not [
                o for o in state["orders"] if o["orderStatus"] in ("New", "Untriggered")
            ]
        assert_nothing_lost(await read_books(sim, migrated_url))


async def test_s15_kill_interrupted_by_stop_resumes_at_next_start(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with trading_sim(tmp_path / "d") as sim:
        async with running_daemon(sim, sqlite_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            await sim.set_faults([{"kind": "maintenance"}])
            async with live(d):
                d.request_kill(Source.SIGNAL)
                await wait_until(lambda: metric(d.metrics.alerts, kind="kill_switch_retry") >= 1)
            # live() set the stop event: the daemon stops without claiming success.
            assert d.state.state is TradingState.REDUCING
        await sim.set_faults([])
        async with running_daemon(sim, sqlite_url) as again:
            assert again.state.state is TradingState.HALTED, "the kill resumed at start-up"
        assert (await sim.state())["positions"] == []
        assert_nothing_lost(await read_books(sim, sqlite_url))


@contextlib.asynccontextmanager
async def storage_outage(d: Daemon, db_url: str) -> AsyncIterator[str]:
    """SQLite: the disk is full (SQLITE_FULL); PostgreSQL: the server refuses connections."""
    if db_url.startswith("sqlite"):
        path = make_url(db_url).database
        assert path is not None
        with sqlite3.connect(path) as probe:
            pages = int(probe.execute("PRAGMA page_count").fetchone()[0])

        def full(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA max_page_count = {pages}")
            cur.close()

        event.listen(d.storage.db.sync_engine, "connect", full)
        await d.storage.db.dispose()
        try:
            yield "disk full"
        finally:
            event.remove(d.storage.db.sync_engine, "connect", full)
            await d.storage.db.dispose()
        return
    name = make_url(db_url).database
    admin = await _pg_admin(make_url(db_url).set(database="postgres").render_as_string(False))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        yield "server refuses connections"
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_s19_storage_outage_moves_to_reducing_and_loses_nothing(
    tmp_path: Path, migrated_url: str
) -> None:
    async with trading_sim(tmp_path / "d") as sim:
        books = await run_storage_outage(sim, migrated_url)
    assert_nothing_lost(books)
    engine = create_engine(migrated_url)
    try:
        event_ = await Repository(engine).latest_trading_state_event()
        assert event_ is not None and event_.reason.startswith("STORAGE")
        assert event_.new_state is TradingState.REDUCING, "the deferred transition was stored"
    finally:
        await engine.dispose()
    if migrated_url.startswith("sqlite"):
        with sqlite3.connect(make_url(migrated_url).database or "") as c:
            assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def run_storage_outage(sim: SimHandle, migrated_url: str) -> Any:
    async with running_daemon(sim, migrated_url, **{"database.busy_timeout_ms": 200}) as d:
        await bars_until(sim, d, has_position_with_stop())
        orders_before = len(await venue_orders(sim))
        with capture_logs() as logs:
            async with live(d):
                async with storage_outage(d, migrated_url):
                    for _ in range(3):
                        await sim.advance(1)
                        await asyncio.sleep(0.3)
                    await wait_until(lambda: not d.degraded.storage_ok, 20, "storage failure")
                    assert d.state.state is TradingState.REDUCING
                    assert d.state.current.reason.startswith("STORAGE")
                    assert len(await venue_orders(sim)) == orders_before, "nothing sent unstored"
                await step_live(sim, d, 2, limit_s=40)
                await wait_until(lambda: d.degraded.storage_ok, 20, "storage recovery")
        assert d.state.state is TradingState.REDUCING, "stays REDUCING until an operator resumes"
        alerts = [e for e in logs if e["event"] == "storage_unavailable"]
        assert alerts and all(e["alert"] for e in alerts)
        assert [e for e in logs if e["event"] == "storage_recovered"]
    return await read_books(sim, migrated_url)


async def test_s16_graceful_stop_cancels_open_entry_orders_and_keeps_stops(
    tmp_path: Path, sqlite_url: str
) -> None:
    """rotor's entries are market orders; a resting entry (a limit) is what SIGTERM must not
    leave behind, while the protective stops stay (the process-level SIGTERM test covers the
    signal, exit code and in-flight order)."""
    from decimal import Decimal

    from bot.domain import OrderType, Side
    from bot.execution.orders import NewOrder

    async with trading_sim(tmp_path / "d") as sim:
        async with running_daemon(sim, sqlite_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            resting = await d.services.orders.submit(
                NewOrder(
                    "BTCUSDT",
                    Side.BUY,
                    OrderType.LIMIT,
                    Decimal("0.01"),
                    intent="entry",
                    price=Decimal("1000"),
                )
            )
            assert resting.outcome == "confirmed"
        state = {o["orderLinkId"]: o for o in await venue_orders(sim)}
        assert state[resting.order.client_order_id]["orderStatus"] == "Cancelled"
        assert [o for o in state.values() if o["orderStatus"] == "Untriggered"], "stop kept"
        assert_nothing_lost(await read_books(sim, sqlite_url))
