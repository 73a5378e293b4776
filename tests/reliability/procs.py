"""Process-level helpers: the real ``rotor run`` (testnet mode) against ``rotor sim serve``.

Builds on ``tests/integration/daemon/harness.py`` (environment, control API client, bar
stepping) and adds what the reliability scenarios need: a small trading universe, a short
lease (so a SIGKILLed instance's lease lapses quickly), waiting for the daemon to finish
starting, and reading its JSON log for an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from tests.integration.daemon.harness import Rotor, rotor_process
from tests.simserver import T0, SimHandle, make_data_dir, sim_subprocess

HOUR = 3_600_000
SYMBOLS = (
    "BTCUSDT",
    "ETHUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "AVAXUSDT",
    "LINKUSDT",
)
PRICES = (40000.0, 2500.0, 100.0, 0.5, 0.4, 0.08, 30.0, 15.0)
START_MS = T0 + 240 * HOUR
START_ISO = "2024-01-11T00:00:00Z"
LEASE_TTL_S = 2.0


def process_data(root: Path, symbols: tuple[str, ...] = SYMBOLS[:3], bars: int = 600) -> Path:
    """Seeded random walks on which rsi-reversion trades (SOLUSDT enters at the 10th bar)."""
    return make_data_dir(root, symbols, n_bars=bars, prices=PRICES)


def env(symbols: tuple[str, ...] = SYMBOLS[:3], **extra: str) -> dict[str, str]:
    out = {
        "ROTOR__UNIVERSE__SYMBOLS": json.dumps(list(symbols)),
        "ROTOR__DATABASE__LEASE_TTL_S": str(LEASE_TTL_S),
        "ROTOR__EXCHANGE__TIMEOUT_MS": "2000",
        "ROTOR__EXCHANGE__MAX_READ_RETRIES": "2",
        "ROTOR__EXECUTION__KILL_RETRY_MAX_BACKOFF_S": "1",
    }
    out.update(extra)
    return out


@contextlib.asynccontextmanager
async def sim_process(data: Path, *extra: str, venue: str = "bybit") -> AsyncIterator[SimHandle]:
    """``rotor sim serve`` in manual mode (the test moves the clock), serving ``venue``'s face
    (the daemon started by ``daemon`` trades on the face its simulator serves)."""
    args = ["--data", str(data), "--speed", "0", "--start", START_ISO, "--venue", venue, *extra]
    async with sim_subprocess(args) as sim:
        yield sim


@contextlib.asynccontextmanager
async def daemon(
    sim: SimHandle, db_url: str, log: Path, extra_env: Mapping[str, str] | None = None
) -> AsyncIterator[Rotor]:
    """``rotor run`` against ``sim``, yielded once its start-up (reconcile, backfill) is done."""
    async with rotor_process(sim, db_url, log, {**env(), **(extra_env or {})}) as rotor:
        await rotor.wait_for(lambda s: s.get("phase", "running") == "running", 60, "running")
        yield rotor


def log_events(rotor: Rotor, event: str | None = None) -> list[dict[str, Any]]:
    return [e for e in rotor.logs() if event is None or e.get("event") == event]


async def wait_log(
    rotor: Rotor,
    event: str,
    pred: Callable[[dict[str, Any]], bool] = lambda _e: True,
    limit_s: float = 30.0,
    after: int = 0,
) -> dict[str, Any]:
    """Wait for the ``after``-th-and-later ``event`` line matching ``pred`` in the log."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while asyncio.get_running_loop().time() < deadline:
        found = [e for e in log_events(rotor, event) if pred(e)]
        if len(found) > after:
            return found[after]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {event!r} in the log within {limit_s}s:\n{rotor.tail()}")


async def advance_until(
    sim: SimHandle, rotor: Rotor, done: Callable[[], bool], limit_bars: int = 200
) -> int:
    """Step bar by bar (waiting for each cycle) until ``done()``; returns bars stepped."""
    from tests.integration.daemon.harness import step

    for n in range(1, limit_bars + 1):
        await step(sim, rotor)
        if done():
            return n
    raise AssertionError(f"not reached within {limit_bars} bars:\n{rotor.tail()}")


async def step_until_log(
    sim: SimHandle, rotor: Rotor, event: str, limit_bars: int = 30, cycle_s: float = 30.0
) -> dict[str, Any]:
    """Advance bar by bar until the daemon logs a new ``event``, returned as soon as it is
    written (mid-cycle: the test can act on it, e.g. kill -9 as an order goes out). Each bar
    waits for the daemon's cycle on it (bounded), never for wall time, so a daemon slowed by
    faults or load is not stepped past."""
    seen = len(log_events(rotor, event))
    loop = asyncio.get_running_loop()
    for _ in range(limit_bars):
        now = int((await sim.advance(1))["time"])
        deadline = loop.time() + cycle_s
        while True:
            found = log_events(rotor, event)
            if len(found) > seen:
                return found[seen]
            if ((await rotor.status()).get("last_cycle") or 0) >= now:
                found = log_events(rotor, event)  # written before the cycle ended
                if len(found) > seen:
                    return found[seen]
                break
            if loop.time() > deadline:
                raise AssertionError(f"no cycle at {now} within {cycle_s}s:\n{rotor.tail()}")
            await asyncio.sleep(0.01)
    raise AssertionError(f"no {event!r} within {limit_bars} bars:\n{rotor.tail()}")


async def wait_requests(sim: SimHandle, path: str, n: int = 1, limit_s: float = 30.0) -> None:
    """Wait until the venue has received ``n`` requests to ``path`` (counted on arrival;
    ``"METHOD /path"`` counts one method: Binance creates and queries on one path)."""
    kind = "calls" if " " in path else "endpoints"
    deadline = asyncio.get_running_loop().time() + limit_s
    while asyncio.get_running_loop().time() < deadline:
        if int((await sim.requests())[kind].get(path, 0)) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the venue never received {n} x {path}")
