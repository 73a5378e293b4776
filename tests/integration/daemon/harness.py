"""Run the real ``rotor run`` process against ``rotor sim serve`` and drive it bar by bar.

The simulator runs in manual mode (``--speed 0``): the test advances its clock with
``POST /sim/advance`` and waits until the daemon's ``/status`` shows it processed that bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import ROOT
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET, SimHandle

TOKEN = "e2e-control-token-5a1d"
# A window of the bundled sample where rsi-reversion trades without nearing the 15 % drawdown
# breaker (backtest of these symbols: 33 trades, max DD 10.9 %; found by replaying it; the
# sample became the last 120 days of the wide data in issue #18, without ALGO and XTZ).
START = "2025-12-05T00:00:00Z"
SYMBOLS = (
    "BTCUSDT",
    "ADAUSDT",
    "KASUSDT",
    "XRPUSDT",
    "DOGEUSDT",
    "1000SHIBUSDT",
    "SUIUSDT",
    "TRXUSDT",
    "ENAUSDT",
    "ZECUSDT",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rotor_env(
    sim_url: str,
    db_url: str,
    port: int,
    extra: Mapping[str, str] | None = None,
    exchange: str = "bybit",
) -> dict[str, str]:
    """The environment of a testnet-mode daemon pointed at the simulator (``exchange``: the
    face it serves, ``bybit`` or ``binanceusdm``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    env.update(
        {
            "ROTOR__MODE": "testnet",
            "ROTOR__EXCHANGE__NAME": exchange,
            "ROTOR__EXCHANGE__API_URL": sim_url,
            "ROTOR__EXCHANGE__API_KEY": DEFAULT_KEY,
            "ROTOR__EXCHANGE__API_SECRET": DEFAULT_SECRET,
            "ROTOR__EXCHANGE__POLL_INTERVAL_S": "0.05",
            "ROTOR__EXCHANGE__RATE_LIMIT_MS": "0",
            "ROTOR__EXCHANGE__TIMEOUT_MS": "5000",
            "ROTOR__DATABASE__URL": db_url,
            "ROTOR__CONTROL__PORT": str(port),
            "ROTOR__CONTROL__TOKEN": TOKEN,
            "ROTOR__LOGGING__FORMAT": "json",
            "ROTOR__STRATEGY__PRESET": "rsi-reversion",
            "ROTOR__UNIVERSE__SYMBOLS": json.dumps(list(SYMBOLS)),
        }
    )
    env.update(extra or {})
    # ``X_FILE`` in ``extra`` replaces the plain ``X`` set above: a key given both ways is a
    # configuration error.
    for name in [k for k in extra or {} if k.endswith("_FILE")]:
        env.pop(name.removesuffix("_FILE"), None)
    return env


@dataclass
class Rotor:
    """A running ``rotor run`` process and its control API."""

    proc: asyncio.subprocess.Process
    url: str
    log_path: Path
    session: aiohttp.ClientSession = field(repr=False)

    async def get(self, path: str, *, auth: bool = True) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        async with self.session.get(self.url + path, headers=headers) as r:
            body = await r.text()
            try:
                return r.status, json.loads(body)
            except ValueError:
                return r.status, body

    async def post(self, path: str) -> tuple[int, Any]:
        async with self.session.post(
            self.url + path, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as r:
            return r.status, await r.json()

    async def status(self) -> dict[str, Any]:
        code, body = await self.get("/status")
        assert code == 200, (code, body)
        assert isinstance(body, dict)
        return body

    async def wait_for(
        self, predicate: Any, limit_s: float = 30.0, what: str = ""
    ) -> dict[str, Any]:
        """Poll /status until ``predicate(status)`` holds (bounded)."""
        deadline = asyncio.get_running_loop().time() + limit_s
        last: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"rotor exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError, AssertionError):
                last = await self.status()
                if predicate(last):
                    return last
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; last status {last}\n{self.tail()}")

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, limit_s: float = 30.0) -> int:
        return await asyncio.wait_for(self.proc.wait(), limit_s)


async def run_to_exit(env: Mapping[str, str], timeout_s: float = 60.0) -> tuple[int, str, str]:
    """``rotor run`` with ``env`` until it exits on its own: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=str(ROOT),
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def rotor_process(
    sim: SimHandle,
    db_url: str,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
    ready_timeout: float = 90.0,
) -> AsyncIterator[Rotor]:
    """Start ``rotor run`` (testnet mode against ``sim``); wait until its control API answers."""
    port = free_port()
    env = rotor_env(sim.url, db_url, port, extra_env, sim.venue)
    with log_path.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", stdout=out, stderr=out, env=env, cwd=str(ROOT)
        )
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    rotor = Rotor(proc, f"http://127.0.0.1:{port}", log_path, session)
    try:
        deadline = asyncio.get_running_loop().time() + ready_timeout
        while True:
            if proc.returncode is not None:
                raise AssertionError(f"rotor exited early ({proc.returncode}):\n{rotor.tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                code, _ = await rotor.get("/healthz", auth=False)
                if code == 200:
                    break
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"rotor did not start:\n{rotor.tail()}")
            await asyncio.sleep(0.1)
        # /healthz answers during start-up; trading starts once reconciliation and the
        # backfill are done ("phase": "running"). Bars must not be driven before that.
        await rotor.wait_for(lambda s: s.get("phase") == "running", ready_timeout, "start-up")
        yield rotor
    finally:
        await session.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def step(sim: SimHandle, rotor: Rotor, bars: int = 1) -> int:
    """Advance the simulator ``bars`` bars and wait until the daemon has cycled on the last."""
    now = 0
    for _ in range(bars):
        now = int((await sim.advance(1))["time"])
        await rotor.wait_for(
            lambda s, now=now: (s.get("last_cycle") or 0) >= now,
            limit_s=30,
            what=f"a cycle at {now}",
        )
    return now
