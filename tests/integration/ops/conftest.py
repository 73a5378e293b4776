"""Ops fixtures: the real ControlServer on its own event-loop thread with a daemon stand-in."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from bot.config import ControlConfig
from bot.domain import TradingState
from bot.observability.logging import configure_logging
from bot.observability.metrics import Metrics
from bot.runtime.control import ControlServer

TOKEN = "ops-test-token-8c1f2a"


@dataclass
class StandInDaemon:
    """Implements the ``ControlTarget`` protocol the way the daemon will (state only)."""

    state: TradingState = TradingState.ACTIVE
    ready: bool = True
    kill_delay_s: float = 0.0
    calls: list[tuple[str, str]] = field(default_factory=list)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "mode": "testnet",
            "equity": "10012.50",
            "positions": [
                {
                    "symbol": "SOLUSDT",
                    "side": "long",
                    "qty": "3.2",
                    "entry_price": "142.10",
                    "stop_price": "130.73",
                    "liquidation_price": "124.80",
                    "upnl": "4.16",
                }
            ],
            "open_orders": 1,
            "last_cycle": "2026-11-21T18:00:00+00:00",
            "data_age_s": 12.5,
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        return self.ready, {"data_fresh": self.ready, "database": True, "venue": True}

    async def pause(self, source: str) -> str:
        self.calls.append(("pause", source))
        self.state = TradingState.REDUCING
        return self.state.value

    async def resume(self, source: str) -> str:
        self.calls.append(("resume", source))
        self.state = TradingState.ACTIVE
        return self.state.value

    async def kill(self, source: str) -> str:
        self.calls.append(("kill", source))
        await asyncio.sleep(self.kill_delay_s)
        self.state = TradingState.HALTED
        return self.state.value


@dataclass
class RunningControl:
    """A started control server: its URL, port, stand-in daemon and metrics."""

    url: str
    port: int
    daemon: StandInDaemon
    metrics: Metrics
    logs: io.StringIO


def _serve(cfg: ControlConfig, daemon: StandInDaemon, metrics: Metrics) -> Iterator[RunningControl]:
    """Run the server on a private loop in a thread so sync CLI calls and subprocesses can hit it."""
    # The server's JSON log lines go to a buffer the tests can read, never into CLI output;
    # the global logging set-up is restored afterwards for whatever test runs next.
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    logs = io.StringIO()
    configure_logging("INFO", "json", [TOKEN], stream=logs)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="control-server", daemon=True)
    thread.start()
    server = ControlServer(cfg, daemon, metrics)
    started: Future[int] = asyncio.run_coroutine_threadsafe(server.start(), loop)
    port = started.result(timeout=10)
    try:
        yield RunningControl(f"http://127.0.0.1:{port}", port, daemon, metrics, logs)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        structlog.configure(**saved_structlog)
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])


@pytest.fixture
def control() -> Iterator[RunningControl]:
    """A control server on 127.0.0.1 with a token, on a free port."""
    cfg = ControlConfig(host="127.0.0.1", port=0, token=SecretStr(TOKEN))
    yield from _serve(cfg, StandInDaemon(), Metrics())


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
