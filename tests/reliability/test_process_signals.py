"""Process-level scenarios with the real ``rotor run`` against ``rotor sim serve``:
#3 (SIGKILL between sending an order and storing the reply), #16 (SIGTERM), #17 (SIGUSR2 and a
restart while HALTED) and #18 (a second instance on the same database)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from bot.domain import OrderStatus
from bot.storage import Lease, LeaseHolder, Repository, create_engine
from tests.integration.daemon.harness import TOKEN, free_port, rotor_env, run_to_exit, step
from tests.reliability.conftest import endpoints, hand_order
from tests.reliability.invariants import assert_no_secrets, assert_nothing_lost, read_books
from tests.reliability.procs import (
    LEASE_TTL_S,
    daemon,
    env,
    log_events,
    process_data,
    sim_process,
    wait_log,
    wait_requests,
)
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET

CREATE = "/v5/order/create"
ENTRY_BAR = 10  # SOLUSDT's rsi-reversion entry on the process data


async def stored_order(db_url: str, cid: str):  # type: ignore[no-untyped-def]
    engine = create_engine(db_url)
    try:
        return await Repository(engine).get_order(cid)
    finally:
        await engine.dispose()


async def test_s03_sigkill_between_send_and_store_is_recovered_at_restart(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    async with sim_process(data, venue=venue_name) as sim:
        create = endpoints(sim, "create")[0]  # the entry's (not the stop's) create
        async with daemon(sim, db_url, log) as rotor:
            await step(sim, rotor, ENTRY_BAR - 1)
            assert (await sim.state())["orders"] == []
            # The entry reaches the venue but its reply takes 1.5 s: kill -9 meanwhile.
            await sim.set_faults([{"kind": "latency", "endpoint": create, "ms": 1500}])
            await sim.advance(1)
            submit = await wait_log(rotor, "order_submit")
            await wait_requests(sim, create)  # the request is at the venue, its reply pending
            rotor.proc.kill()
            await rotor.proc.wait()
        cid = submit["client_order_id"]
        row = await stored_order(db_url, cid)
        assert row is not None and row.status is OrderStatus.SUBMITTED, "persisted before sent"
        assert row.planned_stop is not None
        for _ in range(500):  # the venue applies the order; the reply goes nowhere
            if (await sim.state())["orders"]:
                break
            await asyncio.sleep(0.02)
        [venue_order] = (await sim.state())["orders"]
        assert venue_order["orderLinkId"] == cid and venue_order["orderStatus"] == "Filled"
        await sim.set_faults([])
        # Also on the venue: an open order of rotor's prefix whose row this database never got.
        await hand_order(sim, "ETHUSDT", "Buy", "0.1", price="1000", link="rtr-lostrow1-1")
        await asyncio.sleep(LEASE_TTL_S + 0.2)  # the killed instance's lease lapses
        async with daemon(sim, db_url, log) as rotor:
            status = await rotor.status()
            assert [p["symbol"] for p in status["positions"]] == ["SOLUSDT"]
            await step(sim, rotor)  # the next cycle protects the position with its stop
            books = await read_books(sim, db_url)
            assert books.db_orders[cid].status is OrderStatus.FILLED
            assert books.db_orders[cid].venue_order_id == books.venue_orders[cid]["orderId"]
            adopted = books.db_orders["rtr-lostrow1-1"]
            assert adopted.intent == "adopted" and adopted.status is OrderStatus.ACCEPTED
            [stop] = [o for o in books.venue_orders.values() if o["orderStatus"] == "Untriggered"]
            assert stop["triggerPrice"] == str(row.planned_stop), "the approved stop, restored"
            entries = [o for o in books.venue_orders.values() if not o["reduceOnly"]]
            assert len(entries) == 2  # the entry (once) and the adopted limit order
            assert_nothing_lost(books)
            assert log_events(rotor, "order_adopted")
            # The position opened by the fill found at restart has the leverage rotor set on
            # the venue before the entry: nothing to "correct" (it once set it back to 1).
            assert not log_events(rotor, "venue_position_mismatch"), rotor.tail()
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0


async def test_s16_s17_s18_sigterm_sigusr2_second_instance_restart_halted(
    tmp_path: Path, db_url: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    async with sim_process(data) as sim:
        async with daemon(sim, db_url, log) as rotor:
            # --- #18: a second instance on the same database refuses to start.
            second_env = rotor_env(sim.url, db_url, free_port(), env())
            code, second_out, text = await run_to_exit(second_env)
            assert code == 3, (code, text)
            assert "in use by another rotor instance" in text
            assert f"pid {rotor.proc.pid}" in text, "the message names the holder"
            assert (await rotor.status())["state"] == "ACTIVE", "the first one is unaffected"

            # --- #16: SIGTERM while an entry order is in flight.
            await step(sim, rotor, ENTRY_BAR - 1)
            await sim.set_faults([{"kind": "latency", "endpoint": CREATE, "ms": 800}])
            await sim.advance(1)
            submit = await wait_log(rotor, "order_submit")
            await wait_requests(sim, CREATE)
            started = time.monotonic()
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
            assert time.monotonic() - started < 30
        await sim.set_faults([])
        row = await stored_order(db_url, submit["client_order_id"])
        assert row is not None and row.status is OrderStatus.FILLED, "the in-flight order settled"
        engine = create_engine(db_url)
        try:
            repo = Repository(engine)
            runs = await repo.list_runs() if hasattr(repo, "list_runs") else []
            lease = await Lease(engine, LeaseHolder("probe", "h", 1), ttl_s=5).current()
            assert lease is None, "the lease was released"
            assert [p.symbol for p in await repo.list_positions()] == ["SOLUSDT"]
        finally:
            await engine.dispose()
        del runs
        state = await sim.state()
        assert [p["symbol"] for p in state["positions"]] == ["SOLUSDT"], "positions are kept"
        assert [o for o in state["orders"] if o["orderStatus"] == "Untriggered"], "and stops"

        # --- #17: SIGUSR2 flattens and halts; HALTED survives a restart; no order after it.
        async with daemon(sim, db_url, log) as rotor:  # the lease was released: no wait
            rotor.signal(signal.SIGUSR2)
            await rotor.wait_for(lambda s: s["state"] == "HALTED", 60, "HALTED")
            state = await sim.state()
            assert state["positions"] == []
            assert not [o for o in state["orders"] if o["orderStatus"] in ("New", "Untriggered")]
            n_orders = len(state["orders"])
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        async with daemon(sim, db_url, log) as rotor:
            assert (await rotor.status())["state"] == "HALTED"
            await step(sim, rotor, 8)
            assert (await rotor.status())["state"] == "HALTED"
            assert len((await sim.state())["orders"]) == n_orders, "no order while HALTED"
            books = await read_books(sim, db_url)
            assert_nothing_lost(books)
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
    assert "kill_switch_flat" in {e.get("event") for e in log_events(rotor)}
    assert_no_secrets(
        {"rotor log": log.read_text(), "second instance": second_out + text},
        [DEFAULT_KEY, DEFAULT_SECRET, TOKEN],
    )
