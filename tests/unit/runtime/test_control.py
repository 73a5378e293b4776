"""Control API: open health endpoints, bearer-token protected commands, constant-time check."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import ControlConfig
from bot.domain import TradingState
from bot.observability.metrics import Metrics
from bot.runtime.control import ControlServer

TOKEN = "control-token-123456"


class Target:
    """A minimal daemon stand-in that records commands (the daemon e2e test covers the real one)."""

    def __init__(self) -> None:
        self.state = TradingState.ACTIVE
        self.calls: list[tuple[str, str]] = []
        self.ready = True

    def status(self) -> dict[str, Any]:
        return {"state": self.state.value, "mode": "replay", "equity": "10000", "positions": []}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        return self.ready, {"data_fresh": self.ready}

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
        self.state = TradingState.HALTED
        return self.state.value


@pytest.fixture
async def server() -> Any:
    target = Target()
    metrics = Metrics()
    srv = ControlServer(ControlConfig(port=0, token=SecretStr(TOKEN)), target, metrics)
    port = await srv.start()
    try:
        yield f"http://127.0.0.1:{port}", target, metrics
    finally:
        await srv.stop()


async def test_open_endpoints(server: Any) -> None:
    base, target, metrics = server
    metrics.equity.set(12345)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/healthz") as r:
            assert r.status == 200
        async with s.get(f"{base}/readyz") as r:
            assert r.status == 200 and (await r.json())["ready"] is True
        target.ready = False
        async with s.get(f"{base}/readyz") as r:
            assert r.status == 503
        async with s.get(f"{base}/metrics") as r:
            body = await r.text()
            assert r.status == 200
            assert "rotor_equity_usdt 12345.0" in body
            assert 'rotor_trading_state{state="ACTIVE"} 1.0' in body


async def test_status_requires_token(server: Any) -> None:
    base, _, _ = server
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/status") as r:
            assert r.status == 401
        async with s.get(f"{base}/status", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with s.get(f"{base}/status", headers={"Authorization": f"Basic {TOKEN}"}) as r:
            assert r.status == 401
        async with s.get(f"{base}/status", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200
            assert (await r.json())["state"] == "ACTIVE"


async def test_commands(server: Any) -> None:
    base, target, _ = server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base}/kill") as r:
            assert r.status == 401
        assert target.calls == []
        for cmd, state in (("pause", "REDUCING"), ("kill", "HALTED"), ("resume", "ACTIVE")):
            async with s.post(f"{base}/{cmd}", headers=auth) as r:
                assert r.status == 200
                assert (await r.json())["state"] == state
    assert target.calls == [("pause", "api"), ("kill", "api"), ("resume", "api")]


async def test_no_token_means_every_protected_call_refused() -> None:
    srv = ControlServer(ControlConfig(port=0), Target(), Metrics())
    port = await srv.start()
    try:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{port}/status", headers={"Authorization": "Bearer "}) as r,
        ):
            assert r.status == 401
    finally:
        await srv.stop()


def test_non_loopback_without_token_refused() -> None:
    cfg = ControlConfig.model_construct(host="0.0.0.0", port=0, token=None, enabled=True)
    with pytest.raises(ValueError, match="token"):
        ControlServer(cfg, Target(), Metrics())
