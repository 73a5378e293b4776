"""RELIABILITY.md #39 (an unexpected error inside a cycle: alert, REDUCING, keep running) and
#40 (an entry whose outcome is still unknown: no second entry for that symbol until it is
settled). The daemon's own loop, in-process, against the simulator's HTTP face through
unmodified ccxt, with a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.domain import OrderReport, OrderStatus, Position, TradingState
from bot.venues import ccxt_reports
from bot.venues.base import TransientError
from tests.reliability.conftest import calls, faults_on
from tests.reliability.daemon_rig import (
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


async def test_s39_unexpected_error_in_a_cycle_reduces_alerts_and_keeps_running(
    tmp_path: Path, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with trading_sim(tmp_path / "d") as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bars_until(sim, d, has_position_with_stop())
            assert d.state.state is TradingState.ACTIVE
            with capture_logs() as logs:
                async with live(d) as task:
                    # Tomorrow the venue reports the stop in a status rotor has never seen.
                    monkeypatch.delitem(ccxt_reports._BYBIT_STATUS, "Untriggered")
                    monkeypatch.delitem(ccxt_reports._CCXT_STATUS, "open")
                    await sim.advance(1)
                    await wait_until(
                        lambda: any(e["event"] == "cycle_failed" for e in logs), 20, "an alert"
                    )
                    await wait_until(lambda: d.state.state is TradingState.REDUCING, 20)
                    assert not task.done(), "the daemon keeps running"
                    monkeypatch.undo()
                    await step_live(sim, d, 2)  # cycles run again once the error is gone
                    assert not task.done()
            [first, *_] = [e for e in logs if e["event"] == "cycle_failed"]
            assert first["alert"] is True and "MappingError" in first["error"]
            assert d.state.current.reason.startswith("CYCLE_ERROR: MappingError")
            assert d.metrics.alerts.labels(kind="cycle_error")._value.get() >= 1
            assert await d.storage.repo.current_trading_state() is TradingState.REDUCING
        assert_nothing_lost(await read_books(sim, migrated_url))


async def test_s40_no_second_entry_while_the_first_is_unsettled(
    tmp_path: Path, migrated_url: str, monkeypatch: pytest.MonkeyPatch, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url) as d:
            await bar(sim, d, 9)  # the next bar's close is an rsi-reversion entry on SOLUSDT
            # The entry's request is held past the client timeout (and never applied): its
            # outcome is unknown and the venue does not list it yet.
            await sim.set_faults(faults_on(sim, "create", kind="timeout", ms=2500))
            # Later in that cycle a read fails, so the loop runs the bar again at the next
            # poll (Daemon.cycle_if_new_bar), well inside the order's grace period.
            ensure = d.services.core.stops.ensure
            failed: list[bool] = []

            async def ensure_once(
                positions: dict[str, Position], venue_open: list[OrderReport]
            ) -> None:
                if not failed:
                    failed.append(True)
                    raise TransientError("order query: HTTP 502", endpoint="query")
                await ensure(positions, venue_open)

            monkeypatch.setattr(d.services.core.stops, "ensure", ensure_once)
            await sim.advance(1)
            with pytest.raises(TransientError):
                await d.cycle_if_new_bar()
            [first] = [o for o in d.services.orders.open_orders("SOLUSDT") if o.intent == "entry"]
            assert first.status is OrderStatus.UNKNOWN
            with capture_logs() as logs:
                assert await d.cycle_if_new_bar(), "the same bar runs again"
            report = d.services.core.last_report
            assert report is not None and report.entries == []
            assert "ENTRY_UNSETTLED" in report.rejections["SOLUSDT"]
            assert [e for e in logs if e["event"] == "entry_unsettled"]
            assert not [e for e in logs if e["event"] == "order_submit"], "no second entry"
            assert await calls(sim, "create") == 1
            # Once the grace period has passed the venue's silence settles it: never sent.
            await sim.set_faults([])
            await bar(sim, d)
            stored = await d.storage.repo.get_order(first.client_order_id)
            assert stored is not None and stored.status is OrderStatus.REJECTED
            assert not [o for o in d.services.orders.open_orders("SOLUSDT") if o.intent == "entry"]
        assert_nothing_lost(await read_books(sim, migrated_url))
