"""Every fault kind, seen from an unmodified ccxt client's side."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ccxt.base.errors import (
    ExchangeError,
    ExchangeNotAvailable,
    InvalidNonce,
    NetworkError,
    RateLimitExceeded,
    RequestTimeout,
)

from bot.data.panel import HOUR_MS
from bot.sim.clock import wall_ms
from bot.sim.faults import FaultConfigError, parse_fault_set
from bot.sim.http.bybit.face import BYBIT_FAULTS
from tests.integration.sim.conftest import START
from tests.simserver import SimHandle, sim_server

RISK = "RISK/USDT:USDT"


async def test_latency_delays_only_its_endpoint(ex: Any, sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "latency", "endpoint": "/v5/market/time", "ms": 300}])
    t = time.perf_counter()
    await ex.fetch_time()
    slow = time.perf_counter() - t
    t = time.perf_counter()
    await ex.fetch_balance()
    fast = time.perf_counter() - t
    assert slow >= 0.3 and fast < 0.3
    counts = await sim.requests()
    assert counts["faults"] == {"latency": 1}
    assert counts["faultsByEndpoint"] == {"latency /v5/market/time": 1}


async def test_error_rate_status_and_retcode(ex: Any, sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "error_rate", "endpoint": "*", "probability": 1, "status": 503}])
    with pytest.raises(ExchangeNotAvailable):
        await ex.fetch_tickers()
    await sim.set_faults([{"kind": "error_rate", "endpoint": "/v5/order/create", "probability": 1}])
    with pytest.raises(ExchangeError, match="10016") as info:
        await ex.create_order(RISK, "market", "buy", 1)
    assert not isinstance(info.value, NetworkError)
    assert (await sim.state())["orders"] == []  # an error reply means nothing was applied
    await ex.fetch_tickers()  # other endpoints unaffected


async def _outcomes(sim: SimHandle, ex: Any, n: int) -> list[bool]:
    out = []
    for _ in range(n):
        try:
            await ex.fetch_time()
            out.append(True)
        except ExchangeNotAvailable:
            out.append(False)
    return out


async def test_error_rate_is_reproducible_with_a_seed(ex: Any, sim: SimHandle) -> None:
    fault = [
        {"kind": "error_rate", "endpoint": "/v5/market/time", "probability": 0.5, "status": 502}
    ]
    await sim.set_faults(fault, seed=42)
    first = await _outcomes(sim, ex, 10)
    await sim.set_faults(fault, seed=42)
    second = await _outcomes(sim, ex, 10)
    assert first == second and True in first and False in first
    counts = await sim.requests()
    assert counts["faults"]["error_rate"] == 2 * first.count(False)


async def test_account_rate_limit_is_10006_in_an_http_200_body(ex: Any, sim: SimHandle) -> None:
    # Bybit sends the per-UID limit as retCode 10006 with HTTP 200 (pybit backs off only
    # then); the old simulator answered HTTP 429.
    await sim.set_faults(
        [{"kind": "rate_limit", "endpoint": "*", "requests": 3, "window_ms": 60_000}]
    )
    for _ in range(3):
        await ex.fetch_time()
    with pytest.raises(RateLimitExceeded):
        await ex.fetch_time()
    async with aiohttp.ClientSession() as s, s.get(f"{sim.url}/v5/market/time") as r:
        body = await r.json()
        assert r.status == 200 and body["retCode"] == 10006
        assert r.headers["X-Bapi-Limit"] == "3" and r.headers["X-Bapi-Limit-Status"] == "0"
        assert int(r.headers["X-Bapi-Limit-Reset-Timestamp"]) > wall_ms()
    assert (await sim.requests())["faults"] == {"rate_limit": 2}


async def test_ip_rate_limit_is_http_403(ex: Any, sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "rate_limit", "requests": 0, "scope": "ip"}])
    async with aiohttp.ClientSession() as s, s.get(f"{sim.url}/v5/market/time") as r:
        assert r.status == 403 and "access too frequent" in await r.text()
    with pytest.raises(RateLimitExceeded):
        await ex.fetch_time()


async def test_every_reply_carries_the_limit_headers(sim: SimHandle) -> None:
    async with aiohttp.ClientSession() as s:
        for n in range(2):
            async with s.get(f"{sim.url}/v5/market/time") as r:
                assert r.headers["X-Bapi-Limit"] == "50"
                assert r.headers["X-Bapi-Limit-Status"] == str(49 - n)


async def test_timeout_holds_past_the_client_timeout(sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "timeout", "endpoint": "/v5/order/create", "ms": 3000}])
    client = sim.ccxt(timeout=500)
    try:
        await client.load_markets()
        t = time.perf_counter()
        with pytest.raises(RequestTimeout):
            await client.create_order(RISK, "market", "buy", 1)
        assert time.perf_counter() - t < 2.5
    finally:
        await client.close()
    assert (await sim.state())["orders"] == []  # held, never applied


async def test_drop_response_applies_then_loses_the_ack(sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "drop_response", "endpoint": "/v5/order/create"}])
    client = sim.ccxt(timeout=2000)
    try:
        await client.load_markets()
        with pytest.raises(NetworkError):
            await client.create_order(RISK, "market", "buy", 2, params={"clientOrderId": "lost-1"})
        # The order exists on the venue: the reconciliation case the client must handle.
        (order,) = (await sim.state())["orders"]
        assert (order["orderLinkId"], order["orderStatus"], order["cumExecQty"]) == (
            "lost-1",
            "Filled",
            "2",
        )
        await sim.set_faults([])
        # Recovery by client id: order/realtime also answers for recent closed orders.
        (found,) = await client.fetch_open_orders(RISK, params={"orderLinkId": "lost-1"})
        assert (found["clientOrderId"], found["status"], found["filled"]) == ("lost-1", "closed", 2)
        (pos,) = await client.fetch_positions()
        assert pos["contracts"] == 2
    finally:
        await client.close()
    assert (await sim.requests())["faults"] == {"drop_response": 1}


async def test_maintenance_window_returns_503(ex: Any, sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "maintenance", "endpoint": "*", "duration_ms": 400}])
    with pytest.raises(ExchangeNotAvailable, match="503"):
        await ex.fetch_balance()
    with pytest.raises(ExchangeNotAvailable):
        await ex.fetch_time()
    st = await sim.state()  # admin endpoints are never faulted
    assert st["time"] == START
    await asyncio.sleep(0.5)  # the window is over
    assert await ex.fetch_time() == START


async def test_stale_tickers_stop_updating(ex: Any, sim: SimHandle) -> None:
    before = (await ex.fetch_ticker("BTC/USDT:USDT"))["last"]
    await sim.set_faults([{"kind": "stale_tickers", "endpoint": "/v5/market/tickers"}])
    await sim.advance(3)
    assert sim.ctx is not None
    assert sim.ctx.engine.price_float("BTCUSDT") != before
    assert (await ex.fetch_ticker("BTC/USDT:USDT"))["last"] == before
    bars = await ex.fetch_ohlcv("BTC/USDT:USDT", "1h", limit=1)
    assert bars[-1][0] == START + 3 * HOUR_MS  # other endpoints move on (in progress)
    await sim.set_faults([])
    assert (await ex.fetch_ticker("BTC/USDT:USDT"))["last"] == sim.ctx.engine.price_float("BTCUSDT")


async def test_clock_skew_breaks_recv_window_and_shifts_time(ex: Any, sim: SimHandle) -> None:
    await ex.fetch_balance()
    for offset in (60_000, -60_000):
        await sim.set_faults([{"kind": "clock_skew", "endpoint": "*", "offset_ms": offset}])
        with pytest.raises(InvalidNonce):
            await ex.fetch_balance()
        assert await ex.fetch_time() == START + offset
    # A skew inside recvWindow (5 s) is tolerated, as on Bybit.
    await sim.set_faults([{"kind": "clock_skew", "endpoint": "*", "offset_ms": 2000}])
    await ex.fetch_balance()


async def test_faults_file_at_startup(data_dir: Path) -> None:
    faults = {"seed": 3, "faults": [{"kind": "error_rate", "endpoint": "*", "probability": 1}]}
    async with sim_server(data_dir, start_ms=START, faults=faults) as sim:
        status, body = await sim.bybit("GET", "/v5/market/time", sign=False)
        assert status == 200 and body["retCode"] == 10016
        assert (await sim.admin("GET", "/sim/faults"))["seed"] == 3


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({"faults": [{"kind": "lag"}]}, "unknown kind"),
        ({"faults": [{"kind": "latency", "ms": -1}]}, "'ms' must be >= 0"),
        ({"faults": [{"kind": "error_rate", "probability": 2}]}, "probability"),
        ({"faults": [{"kind": "error_rate", "status": 404}]}, "5xx"),
        ({"faults": [{"kind": "rate_limit"}]}, "'requests'"),
        ({"faults": [{"kind": "latency", "endpoint": "v5/x"}]}, "endpoint"),
        ({"faults": [{"kind": "drop_response", "ms": 5}]}, "unknown key(s) ms"),
        ({"seed": "x", "faults": []}, "seed"),
        ({"faults": [{"kind": "stale_tickers", "endpoint": "/v5/market/kline"}]}, "tickers"),
        ({"faults": [{"kind": "clock_skew"}]}, "'offset_ms' is required"),
    ],
)
def test_bad_fault_sets_name_the_problem(bad: dict[str, Any], needle: str) -> None:
    with pytest.raises(FaultConfigError, match=None) as info:
        parse_fault_set(bad, BYBIT_FAULTS)
    assert needle in str(info.value)


async def test_bad_runtime_fault_set_keeps_the_old_one(sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "latency", "endpoint": "*", "ms": 1}])
    with pytest.raises(RuntimeError, match="unknown kind"):
        await sim.set_faults([{"kind": "nope"}])
    assert [f["kind"] for f in (await sim.admin("GET", "/sim/faults"))["faults"]] == ["latency"]


async def test_an_endpoint_that_is_not_served_is_refused(sim: SimHandle, data_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="not served"):
        await sim.set_faults([{"kind": "latency", "endpoint": "/v5/order/creat", "ms": 1}])
    typo = {"faults": [{"kind": "drop_response", "endpoint": "/v5/orders/create"}]}
    with pytest.raises(FaultConfigError, match="not served"):
        async with sim_server(data_dir, start_ms=START, faults=typo):
            pass


async def test_consistency_lag_before_any_account_event_lists_nothing(
    ex: Any, sim: SimHandle
) -> None:
    """A lag fault on an account list that has no event yet: an empty list, not a 10016
    (it raised KeyError inside the simulator; found by bench/chaos.py's lag episode)."""
    await sim.set_faults(
        [
            {"kind": "consistency_lag", "endpoint": "/v5/execution/list", "ms": 1500},
            {"kind": "consistency_lag", "endpoint": "/v5/account/transaction-log", "ms": 1500},
        ]
    )
    assert await ex.fetch_my_trades("BTC/USDT:USDT") == []
    assert await ex.fetch_ledger("USDT") == []
