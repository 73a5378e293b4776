"""Issue #10 acceptance: 30% of order acknowledgements lost, 5% of all requests failing with
HTTP 5xx, and a SIGKILL/restart of the real ``rotor run`` in the middle, against
``rotor sim serve``: zero duplicated entry orders, zero untracked venue orders, positions equal
to the venue's (RELIABILITY.md #1, #3, #12)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.integration.daemon.harness import TOKEN, step
from tests.reliability.invariants import (
    assert_no_secrets,
    assert_nothing_lost,
    duplicated_entries,
    nothing_lost,
    read_books,
)
from tests.reliability.procs import (
    LEASE_TTL_S,
    SYMBOLS,
    daemon,
    env,
    log_events,
    process_data,
    sim_process,
    wait_log,
)
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET

FAULTS = [
    {"kind": "drop_response", "endpoint": "/v5/order/create", "probability": 0.3},
    {"kind": "error_rate", "probability": 0.05, "status": 502},
]
# An eager rsi-reversion: many entries and exits, so many orders meet the faults.
BUSY = env(
    SYMBOLS,
    ROTOR__STRATEGY__PARAMS__RSI_OVERSOLD="40",
    ROTOR__STRATEGY__PARAMS__ADX_MAX="50",
    ROTOR__STRATEGY__PARAMS__EXIT_RSI="50",
)


async def test_lost_acks_5xx_and_sigkill_lose_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}"
    log = tmp_path / "rotor.log"
    data = process_data(tmp_path / "data", SYMBOLS)
    async with sim_process(data) as sim:
        await sim.set_faults(FAULTS, seed=10)
        async with daemon(sim, db_url, log, BUSY) as rotor:
            await step(sim, rotor, 24)
            # Kill -9 right as the next order goes out.
            seen = len(log_events(rotor, "order_submit"))
            await sim.advance(1)
            for _ in range(20):
                if len(log_events(rotor, "order_submit")) > seen:
                    break
                await sim.advance(1)
                await asyncio.sleep(0.15)
            await wait_log(rotor, "order_submit", after=seen)
            rotor.proc.kill()
            await rotor.proc.wait()
        await asyncio.sleep(LEASE_TTL_S + 0.2)
        async with daemon(sim, db_url, log, BUSY) as rotor:
            await step(sim, rotor, 24)
            await sim.set_faults([])
            await step(sim, rotor, 1)  # one clean reconciliation
            books = await read_books(sim, db_url)
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        counts = await sim.requests()
    lost = counts["faults"].get("drop_response", 0)
    creates = counts["endpoints"]["/v5/order/create"]
    print(
        f"acceptance: {creates} creates, {lost} acks lost, {len(books.venue_orders)} venue orders"
    )
    assert creates >= 15 and lost >= 2, f"too little was exercised: {creates} creates, {lost} lost"
    assert duplicated_entries(books) == [], "zero duplicated entry orders"
    untracked = [p for p in nothing_lost(books) if "is not in the database" in p]
    assert untracked == [], "zero untracked venue orders"
    assert books.db_positions == books.venue_positions, "positions equal the venue's"
    assert_nothing_lost(books)
    assert_no_secrets({"rotor log": log.read_text()}, [DEFAULT_KEY, DEFAULT_SECRET, TOKEN])
