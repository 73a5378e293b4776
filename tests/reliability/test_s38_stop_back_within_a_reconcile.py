"""RELIABILITY.md #38: a protective stop cancelled by hand is back on the venue within one
reconciliation interval, not at the next bar close. The daemon's own loop, in-process, against
the simulator's HTTP face through unmodified ccxt, with a real database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.reliability.daemon_rig import (
    bars_until,
    hand_cancel,
    has_position_with_stop,
    live,
    running_daemon,
    trading_sim,
)
from tests.reliability.invariants import assert_nothing_lost, read_books
from tests.simserver import SimHandle

INTERVAL_S = 1.0


async def venue_stops(sim: SimHandle) -> list[dict[str, Any]]:
    return [o for o in (await sim.state())["orders"] if o["orderStatus"] == "Untriggered"]


async def test_s38_stop_cancelled_by_hand_is_back_within_one_interval(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with trading_sim(tmp_path / "d", venue=venue_name) as sim:
        async with running_daemon(
            sim, migrated_url, **{"execution.reconcile_interval_s": INTERVAL_S}
        ) as d:
            await bars_until(sim, d, has_position_with_stop())
            [stop] = await venue_stops(sim)
            async with live(d):
                await asyncio.sleep(0.2)
                await hand_cancel(sim, "SOLUSDT", stop)
                cancelled = time.monotonic()
                back: list[dict[str, Any]] = []
                while not back and time.monotonic() - cancelled < 3 * INTERVAL_S + 2:
                    back = await venue_stops(sim)
                    await asyncio.sleep(0.05)
                took = time.monotonic() - cancelled
            assert back, "the stop was not placed again without a new bar"
            [again] = back
            assert again["orderId"] != stop["orderId"]
            assert again["triggerPrice"] == stop["triggerPrice"] and again["qty"] == stop["qty"]
            # One interval, plus one poll and the request round trips.
            assert took < INTERVAL_S + 1.0, took
        assert_nothing_lost(await read_books(sim, migrated_url))
