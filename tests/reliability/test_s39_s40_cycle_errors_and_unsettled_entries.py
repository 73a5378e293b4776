"""RELIABILITY.md #39 (an unexpected error inside a cycle: alert, REDUCING, keep running) and
#40 (an entry whose outcome is still unknown: no second entry for that symbol until it is
settled). The daemon's own loop, in-process, against the simulator's HTTP face through
unmodified ccxt, with a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.domain import TradingState
from bot.venues import ccxt_map
from tests.reliability.daemon_rig import (
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
                    monkeypatch.delitem(ccxt_map._BYBIT_STATUS, "Untriggered")
                    monkeypatch.delitem(ccxt_map._CCXT_STATUS, "open")
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
            assert await d.repo.current_trading_state() is TradingState.REDUCING
        assert_nothing_lost(await read_books(sim, migrated_url))
