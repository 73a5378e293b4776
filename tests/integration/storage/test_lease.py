"""The single-instance lease: a second process is refused; an expired lease is taken over."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path

import pytest

from bot.storage.db import create_engine
from bot.storage.lease import Lease, LeaseHeldError, LeaseHolder, LeaseLostError
from tests.integration.storage.conftest import PYTHON

PROBE = Path(__file__).with_name("lease_probe.py")


def _probe(url: str, run_id: str, ttl_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), str(PROBE), url, run_id, str(ttl_s)],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_second_process_is_refused_with_a_clear_message(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    mine = Lease(engine, LeaseHolder.this_process("run-first"), ttl_s=30)
    try:
        info = await mine.acquire()
        assert info.holder == LeaseHolder("run-first", socket.gethostname(), os.getpid())

        res = _probe(migrated_url, "run-second")
        assert res.returncode == 3, res.stdout + res.stderr
        msg = res.stderr
        assert "in use by another rotor instance" in msg
        assert "run run-first" in msg
        assert f"pid {os.getpid()}" in msg and socket.gethostname() in msg
        assert "since " in msg and " UTC" in msg
        assert "stop that instance first" in msg
        assert (await mine.current()) == info  # the refusal changed nothing

        # Once released, another instance gets it.
        assert await mine.release() is True
        other = Lease(engine, LeaseHolder("run-second", "elsewhere", 9), ttl_s=30)
        assert (await other.acquire()).holder.run_id == "run-second"
    finally:
        await engine.dispose()


async def test_expired_lease_is_taken_over_by_another_process(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    crashed = Lease(engine, LeaseHolder("run-crashed", "old-host", 4242), ttl_s=1.0)
    try:
        await crashed.acquire()
        await asyncio.sleep(1.2)  # it never renews, as after kill -9
        res = _probe(migrated_url, "run-new")
        assert res.returncode == 0, res.stderr
        assert "acquired by run-new" in res.stdout
        with pytest.raises(LeaseLostError, match="lost the 'daemon' lease"):
            await crashed.renew()
        assert await crashed.release() is False
    finally:
        await engine.dispose()


async def test_takeover_renew_and_reacquire_with_a_controlled_clock(migrated_url: str) -> None:
    now = [1_700_000_000_000]
    engine = create_engine(migrated_url)
    a = Lease(engine, LeaseHolder("run-a", "ha", 1), ttl_s=30, clock=lambda: now[0])
    b = Lease(engine, LeaseHolder("run-b", "hb", 2), ttl_s=30, clock=lambda: now[0])
    try:
        first = await a.acquire()
        now[0] += 20_000
        renewed = await a.renew()
        assert renewed.expires_ms == now[0] + 30_000
        now[0] += 29_000  # still inside the renewed lease
        with pytest.raises(LeaseHeldError) as held:
            await b.acquire()
        assert held.value.info.holder.run_id == "run-a"
        again = await a.acquire()  # re-acquiring our own lease keeps its start time
        assert again.acquired_ms == first.acquired_ms
        now[0] += 30_000  # a stopped renewing: expired
        taken = await b.acquire()
        assert taken.holder.run_id == "run-b" and taken.acquired_ms == now[0]
        with pytest.raises(LeaseLostError):
            await a.renew()
    finally:
        await engine.dispose()


async def test_racing_acquirers_exactly_one_wins(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    try:
        contenders = [Lease(engine, LeaseHolder(f"run-{i}", "h", i), ttl_s=30) for i in range(8)]
        results = await asyncio.gather(*(c.acquire() for c in contenders), return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(e, LeaseHeldError) for e in losers), losers
        assert (await contenders[0].current()) == winners[0]
    finally:
        await engine.dispose()


async def test_keep_alive_renews_until_cancelled(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    lease = Lease(engine, LeaseHolder.this_process("run-k"), ttl_s=30)
    try:
        first = await lease.acquire()
        task = asyncio.create_task(lease.keep_alive(interval_s=0.05))
        await asyncio.sleep(0.3)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        current = await lease.current()
        assert current is not None and current.renewed_ms > first.renewed_ms
    finally:
        await engine.dispose()


async def test_dead_holder_on_this_host_is_taken_over_before_expiry(migrated_url: str) -> None:
    """#47: the pid of a finished process on this host holds the lease; no waiting for the TTL."""
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    engine = create_engine(migrated_url)
    try:
        dead = Lease(engine, LeaseHolder("run-dead", socket.gethostname(), gone.pid), ttl_s=300)
        await dead.acquire()
        new = Lease(engine, LeaseHolder.this_process("run-new"), ttl_s=300)
        assert (await new.acquire()).holder.run_id == "run-new"
        with pytest.raises(LeaseLostError):
            await dead.renew()
    finally:
        await engine.dispose()


async def test_own_pid_holder_is_taken_over_only_once_it_missed_a_renewal(
    migrated_url: str,
) -> None:
    """A container restarted under the same hostname is pid 1 again: the recorded pid is ours.
    A holder that still renews keeps the lease; one that stopped renewing loses it."""
    engine = create_engine(migrated_url)
    try:
        alive = Lease(
            engine, LeaseHolder("run-alive", socket.gethostname(), os.getpid()), ttl_s=1.5
        )
        await alive.acquire()
        renewing = asyncio.create_task(alive.keep_alive(interval_s=0.1))
        new = Lease(engine, LeaseHolder.this_process("run-new"), ttl_s=1.5)
        with pytest.raises(LeaseHeldError):
            await new.acquire()
        renewing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await renewing
        assert (await new.acquire()).holder.run_id == "run-new"
    finally:
        await engine.dispose()
