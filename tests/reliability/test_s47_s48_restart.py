"""Process-level restart scenarios with the real ``rotor run`` against ``rotor sim serve``:
#47 (SIGKILL then an immediate restart: a dead holder's lease is taken over, another host's
lease is waited out) and #48 (``rotor status`` during start-up, bars kept across restarts)."""

from __future__ import annotations

import time
from pathlib import Path

from bot.storage import Lease, LeaseHolder, create_engine, upgrade
from tests.reliability.procs import daemon, log_events, process_data, sim_process

LONG_TTL = {"ROTOR__DATABASE__LEASE_TTL_S": "120"}


async def test_s47_sigkill_then_immediate_restart_takes_the_dead_holders_lease(
    tmp_path: Path, db_url: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    async with sim_process(data) as sim:
        async with daemon(sim, db_url, log, LONG_TTL) as first:
            dead_pid = first.proc.pid
            first.proc.kill()  # SIGKILL: the lease stays in the table for 120 s
            await first.proc.wait()
        started = time.monotonic()
        async with daemon(sim, db_url, log, LONG_TTL) as second:
            took_s = time.monotonic() - started
            assert took_s < 60, f"waited {took_s:.0f}s: the lease was waited out, not taken over"
            [event] = log_events(second, "lease_taken_over_from_dead")
            assert event["dead_pid"] == dead_pid
            assert (await second.status())["state"] == "ACTIVE"


async def test_s47_another_hosts_lease_is_waited_out_not_an_exit(
    tmp_path: Path, db_url: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        # A daemon on another machine that stopped renewing 1 s ago (its lease lapses in 3 s).
        other = Lease(engine, LeaseHolder("elsewhere-run", "other-host.example", 4242), ttl_s=4)
        held = await other.acquire()
    finally:
        await engine.dispose()
    async with sim_process(data) as sim, daemon(sim, db_url, log) as rotor:
        waits = log_events(rotor, "lease_wait")
        assert waits and waits[0]["holder_host"] == "other-host.example"
        assert int(time.time() * 1000) >= held.expires_ms, "started only once it expired"
        assert not log_events(rotor, "lease_taken_over_from_dead"), "never stolen"
        assert (await rotor.status())["state"] == "ACTIVE"
