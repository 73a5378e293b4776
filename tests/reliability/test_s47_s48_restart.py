"""Process-level restart scenarios with the real ``rotor run`` against ``rotor sim serve``:
#47 (SIGKILL then an immediate restart: a dead holder's lease is taken over, another host's
lease is waited out) and #48 (``rotor status`` during start-up, bars kept across restarts), on
both venues' faces."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path

import aiohttp

from bot.domain import TradingState
from bot.storage import Lease, LeaseHolder, Repository, create_engine, upgrade
from tests.integration.daemon.harness import ROOT, free_port, rotor_env
from tests.reliability.conftest import calls
from tests.reliability.procs import HOUR, START_MS, daemon, log_events, process_data, sim_process
from tests.reliability.procs import env as base_env

LONG_TTL = {"ROTOR__DATABASE__LEASE_TTL_S": "120"}
# The venue's clock: the first request of a start-up.
SERVER_TIME = {"bybit": "/v5/market/time", "binanceusdm": "/fapi/v1/time"}


async def test_s47_sigkill_then_immediate_restart_takes_the_dead_holders_lease(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    async with sim_process(data, venue=venue_name) as sim:
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
            # #48: no bar closed while it was down: the stored bars serve, none is downloaded.
            cold, warm = log_events(second, "backfill_done")  # both runs log to one file
            assert cold["requests"]["klines"] > 0 and "klines" not in warm["requests"], warm
            assert (await second.status())["state"] == "ACTIVE"


async def test_s47_another_hosts_lease_is_waited_out_not_an_exit(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    log.touch()
    await upgrade(db_url)
    engine = create_engine(db_url)
    # A daemon on another machine holds the lease and renews it until rotor has said it waits.
    other = Lease(engine, LeaseHolder("elsewhere-run", "other-host.example", 4242), ttl_s=3)
    await other.acquire()
    renewing = asyncio.create_task(other.keep_alive(interval_s=0.3))

    async def stop_renewing_once_waited() -> int:
        for _ in range(1200):
            if '"lease_wait"' in log.read_text():
                break
            await asyncio.sleep(0.05)
        renewing.cancel()
        info = await other.current()
        assert info is not None
        return info.expires_ms

    try:
        async with sim_process(data, venue=venue_name) as sim:
            released = asyncio.create_task(stop_renewing_once_waited())
            async with daemon(sim, db_url, log) as rotor:
                expires_ms = await released
                waits = log_events(rotor, "lease_wait")
                assert waits and waits[0]["holder_host"] == "other-host.example"
                assert len(log_events(rotor, "daemon_started")) == 1
                assert not log_events(rotor, "lease_taken_over_from_dead"), "never stolen"
                assert (await rotor.status())["state"] == "ACTIVE"
                assert int(time.time() * 1000) >= expires_ms, "started only once it expired"
    finally:
        renewing.cancel()
        await engine.dispose()


async def _persist_halted(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        await Repository(engine).record_trading_state(
            TradingState.HALTED,
            ts_ms=START_MS - HOUR,
            reason="KILL: operator (verified flat)",
            source="api",
            old_state=TradingState.REDUCING,
        )
    finally:
        await engine.dispose()


async def _rotor_status(env: dict[str, str]) -> tuple[int, str]:
    """The real ``rotor status --json`` (its own process, the stdlib HTTP client)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "status",
        "--json",
        "--timeout",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=str(ROOT),
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_s48_status_reports_the_persisted_state_from_its_first_answer(
    tmp_path: Path, db_url: str, venue_name: str
) -> None:
    """The venue takes 40 s to answer its first request: `rotor status` already answers,
    with the persisted HALTED, and it stays HALTED once the start-up is done."""
    data = process_data(tmp_path / "data")
    await _persist_halted(db_url)
    async with sim_process(data, venue=venue_name) as sim:
        await sim.set_faults(
            [{"kind": "latency", "endpoint": SERVER_TIME[venue_name], "ms": 40_000}]
        )
        env = rotor_env(
            sim.url,
            db_url,
            free_port(),
            {**base_env(), "ROTOR__EXCHANGE__TIMEOUT_MS": "60000"},
            venue_name,
        )
        log = tmp_path / "rotor.log"
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", stdout=out, stderr=out, env=env
            )
        try:
            started = time.monotonic()
            url = f"http://127.0.0.1:{env['ROTOR__CONTROL__PORT']}/status"
            headers = {"Authorization": f"Bearer {env['ROTOR__CONTROL__TOKEN']}"}
            first: dict[str, object] = {}
            async with aiohttp.ClientSession() as http:
                while not first and time.monotonic() - started < 35.0:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(url, headers=headers) as reply:
                            if reply.status == 200:
                                first = await reply.json()
                    assert proc.returncode is None, log.read_text()
                    await asyncio.sleep(0.05)
            assert first, f"the control API never answered during start-up:\n{log.read_text()}"
            assert first["state"] == "HALTED" and first["phase"] == "starting", first
            assert first["positions"] is None, "the books are not loaded yet: not 'no positions'"
            code, text = await _rotor_status(env)  # the real CLI, still during start-up
            assert code == 0, text
            again = json.loads(text)
            assert (again["state"], again["phase"]) == ("HALTED", "starting"), again
            assert await calls(sim, "create") == 0, "no order while starting"
            # Once the venue answers the start-up completes, still HALTED.
            for _ in range(600):
                code, text = await _rotor_status(env)
                if code == 0 and json.loads(text)["phase"] == "running":
                    break
                await asyncio.sleep(0.1)
            final = json.loads(text)
            assert final["phase"] == "running" and final["state"] == "HALTED", final
            assert final["positions"] == []
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
