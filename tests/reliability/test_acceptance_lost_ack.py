"""Issue #10 acceptance, on both venues (#16): 30% of order acknowledgements lost, 5% of all requests failing with
HTTP 5xx, and a SIGKILL/restart of the real ``rotor run`` in the middle, against
``rotor sim serve``: zero duplicated entry orders, zero untracked venue orders, positions equal
to the venue's (RELIABILITY.md #1, #3, #12)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.integration.daemon.harness import TOKEN, step
from tests.reliability.conftest import endpoints, faults_on
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
    process_data,
    sim_process,
    step_until_log,
)
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET

# An eager rsi-reversion: many entries and exits, so many orders meet the faults.
BUSY = env(
    SYMBOLS,
    ROTOR__STRATEGY__PARAMS__RSI_OVERSOLD="40",
    ROTOR__STRATEGY__PARAMS__ADX_MAX="50",
    ROTOR__STRATEGY__PARAMS__EXIT_RSI="50",
)


async def test_lost_acks_5xx_and_sigkill_lose_nothing(tmp_path: Path, venue_name: str) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}"
    log = tmp_path / "rotor.log"
    data = process_data(tmp_path / "data", SYMBOLS)
    async with sim_process(data, venue=venue_name) as sim:
        creates_on = endpoints(sim, "create")  # orders (and Binance's algo orders: stops)
        await sim.set_faults(
            [
                *faults_on(sim, "create", kind="drop_response", probability=0.3),
                {"kind": "error_rate", "probability": 0.05, "status": 502},
            ],
            seed=10,
        )
        async with daemon(sim, db_url, log, BUSY) as rotor:
            await step(sim, rotor, 24)
            # Kill -9 right as the next order goes out (stepping on the daemon's progress).
            await step_until_log(sim, rotor, "order_submit")
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
    creates = sum(int(counts["calls"].get(e, 0)) for e in creates_on)
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
