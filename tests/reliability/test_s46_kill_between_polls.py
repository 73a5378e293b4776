"""RELIABILITY.md #46: SIGUSR2, the kill file or ``POST /kill`` arriving between two polls
start the flattening within one second, not at the next poll. The real ``rotor run`` against
``rotor sim serve`` through unmodified ccxt, with a 30 s poll interval."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from tests.integration.daemon.harness import Rotor
from tests.reliability.procs import daemon, process_data, sim_process, wait_log

WITHIN_S = 1.0


async def kill_started_within(rotor: Rotor, n_before: int, started: float) -> float:
    """Seconds from ``started`` until the (n_before+1)-th kill_switch_started line."""
    await wait_log(rotor, "kill_switch_started", after=n_before, limit_s=10)
    return time.monotonic() - started


async def halted(rotor: Rotor) -> None:
    await rotor.wait_for(lambda s: s["state"] == "HALTED", 20, "HALTED")


async def test_s46_operator_kill_requests_act_between_polls(tmp_path: Path, db_url: str) -> None:
    data = process_data(tmp_path / "data")
    kill_file = tmp_path / "KILL"
    extra = {
        "ROTOR__EXCHANGE__POLL_INTERVAL_S": "30",
        "ROTOR__EXECUTION__KILL_FILE": str(kill_file),
    }
    async with (
        sim_process(data) as sim,
        daemon(sim, db_url, tmp_path / "rotor.log", extra) as rotor,
    ):
        await asyncio.sleep(1.0)  # the first poll is done: the loop sleeps for 30 s

        started = time.monotonic()
        rotor.signal(signal.SIGUSR2)
        by_signal = await kill_started_within(rotor, 0, started)
        await halted(rotor)

        assert (await rotor.post("/resume"))[0] == 200
        await rotor.wait_for(lambda s: s["state"] == "ACTIVE", 10, "ACTIVE")
        await asyncio.sleep(0.5)
        started = time.monotonic()
        kill_file.write_text("stop\n")
        by_file = await kill_started_within(rotor, 1, started)
        await halted(rotor)
        kill_file.unlink()

        assert (await rotor.post("/resume"))[0] == 200
        await rotor.wait_for(lambda s: s["state"] == "ACTIVE", 10, "ACTIVE")
        await asyncio.sleep(0.5)
        started = time.monotonic()
        assert (await rotor.post("/kill"))[0] == 200
        by_api = await kill_started_within(rotor, 2, started)
        await halted(rotor)

        rotor.signal(signal.SIGTERM)
        assert await rotor.wait_exit(30) == 0
    print(f"kill started after: SIGUSR2 {by_signal:.3f}s, file {by_file:.3f}s, API {by_api:.3f}s")
    assert by_signal < WITHIN_S, by_signal
    assert by_file < WITHIN_S, by_file
    assert by_api < WITHIN_S, by_api
