"""The Binance face refuses as Binance does: codes, HTTP statuses and headers (signing,
order rules, rate limits, bans), whatever client sends the request."""

from __future__ import annotations

import time
from typing import Any

from tests.integration.sim.conftest import RISK_SYMBOL
from tests.simserver import SimHandle

ORDER = {"symbol": RISK_SYMBOL, "side": "BUY", "type": "MARKET"}


async def _err(sim: SimHandle, method: str, path: str, params: Any = None, **kw: Any) -> tuple:
    status, body, headers = await sim.binance(method, path, params, **kw)
    assert isinstance(body, dict) and set(body) == {"code", "msg"}, body
    return status, body["code"], body["msg"], headers


async def test_signing_refusals(bsim: SimHandle) -> None:
    path = "/fapi/v3/account"
    assert (await _err(bsim, "GET", path, headers={"X-MBX-APIKEY": ""}))[:2] == (401, -2014)
    assert (await _err(bsim, "GET", path, headers={"X-MBX-APIKEY": "nope"}))[:2] == (401, -2015)
    status, code, _, _ = await _err(
        bsim, "GET", path, sign=False, headers={"X-MBX-APIKEY": bsim.api_key}
    )
    assert (status, code) == (400, -1102)  # no signature
    bad = SimHandle(bsim.url, bsim.api_key, "wrong-secret", venue="binanceusdm")
    try:
        assert (await _err(bad, "GET", path))[:2] == (400, -1022)
    finally:
        await bad.close()
    old = int(time.time() * 1000) - 60_000
    status, code, msg, _ = await _err(bsim, "GET", path, timestamp=old)
    assert (status, code) == (400, -1021) and "recvWindow" in msg
    ahead = int(time.time() * 1000) + 5_000
    assert (await _err(bsim, "GET", path, timestamp=ahead))[:2] == (400, -1021)
    # Binance's own SDK signs with everything in the query, ccxt a POST's body: both work.
    for in_query in (True, False):
        status, _, _ = await bsim.binance(
            "POST", "/fapi/v1/leverage", {"symbol": RISK_SYMBOL, "leverage": 5}, in_query=in_query
        )
        assert status == 200
    # Public market data needs no key.
    status, body, headers = await bsim.binance("GET", "/fapi/v1/time", sign=False)
    assert status == 200 and "serverTime" in body and "X-MBX-USED-WEIGHT-1M" in headers


async def test_order_refusals_carry_binance_codes(bsim: SimHandle) -> None:
    cases = [
        ({**ORDER, "quantity": "3000"}, -2019),  # 300k at 20x: margin is insufficient
        ({**ORDER, "quantity": "100000"}, -2027),  # beyond the tiers at this leverage
        ({**ORDER, "quantity": "0"}, -4003),
        ({**ORDER, "quantity": "0.5"}, -4023),  # not a multiple of the step (1)
        ({**ORDER, "quantity": "1", "side": "SELL", "reduceOnly": "true"}, -2022),
        ({**ORDER, "type": "LIMIT", "quantity": "1", "price": "4", "timeInForce": "GTC"}, -4164),
        ({**ORDER, "type": "STOP_MARKET", "quantity": "1", "stopPrice": "90"}, -4120),
        ({**ORDER, "type": "LIMIT", "quantity": "1", "price": "90"}, -1102),  # no timeInForce
        ({**ORDER, "quantity": "1", "newClientOrderId": "bad id!"}, -1100),
        ({**ORDER, "symbol": "NOPEUSDT", "quantity": "1"}, -1121),
        ({**ORDER, "quantity": "1", "positionSide": "LONG"}, -4061),  # one-way account
    ]
    for params, code in cases:
        status, got, msg, _ = await _err(bsim, "POST", "/fapi/v1/order", params)
        assert (status, got) == (400, code), (params, msg)
    # Post-only that would take liquidity: -5022 and no order is recorded.
    gtx = {**ORDER, "type": "LIMIT", "quantity": "1", "price": "101", "timeInForce": "GTX"}
    assert (await _err(bsim, "POST", "/fapi/v1/order", gtx))[1] == -5022
    assert bsim.ctx is not None and bsim.ctx.engine.orders == []
    # Unknown orders: cancel -2011, query -2013.
    q = {"symbol": RISK_SYMBOL, "orderId": 424242}
    assert (await _err(bsim, "DELETE", "/fapi/v1/order", q))[1] == -2011
    assert (await _err(bsim, "GET", "/fapi/v1/order", q))[1] == -2013
    assert (await _err(bsim, "GET", "/fapi/v1/userTrades"))[1] == -1102  # symbol required


async def test_mode_changes_no_need_and_refusals(bsim: SimHandle) -> None:
    mt = {"symbol": RISK_SYMBOL, "marginType": "CROSSED"}
    assert (await _err(bsim, "POST", "/fapi/v1/marginType", mt))[1:3] == (
        -4046, "No need to change margin type.",
    )  # fmt: skip
    dual = {"dualSidePosition": "false"}
    assert (await _err(bsim, "POST", "/fapi/v1/positionSide/dual", dual))[1] == -4059
    assert (await _err(bsim, "POST", "/fapi/v1/leverage", {"symbol": RISK_SYMBOL, "leverage": 50}))[
        1
    ] == -4028
    stop = {**ORDER, "side": "SELL", "type": "STOP_MARKET", "quantity": "1",
            "triggerPrice": "110", "algoType": "CONDITIONAL"}  # fmt: skip
    status, code, msg, _ = await _err(bsim, "POST", "/fapi/v1/algoOrder", stop)
    assert (status, code, msg) == (400, -2021, "Order would immediately trigger.")


async def test_rate_limits_answer_429_and_418_with_retry_after(bsim: SimHandle) -> None:
    for scope, status, code in (("ip", 429, -1003), ("account", 429, -1015), ("ban", 418, -1003)):
        fault = {"kind": "rate_limit", "endpoint": "/fapi/v1/time", "requests": 1,
                 "window_ms": 60_000, "scope": scope}  # fmt: skip
        await bsim.set_faults([fault])
        first = await bsim.binance("GET", "/fapi/v1/time", sign=False)
        assert first[0] == 200
        got, body, headers = await bsim.binance("GET", "/fapi/v1/time", sign=False)
        assert (got, body["code"]) == (status, code)
        assert 1 <= int(headers["Retry-After"]) <= 60
    await bsim.set_faults([])
    _, _, headers = await bsim.binance("GET", "/fapi/v1/ticker/24hr", sign=False)
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 40  # all symbols: weight 40
    _, _, headers = await bsim.binance("POST", "/fapi/v1/order", {**ORDER, "quantity": "1",
                                                                 "type": "LIMIT", "price": "90",
                                                                 "timeInForce": "GTC"})  # fmt: skip
    assert headers["X-MBX-ORDER-COUNT-1M"] == "1"


async def test_faults_look_like_binance(bsim: SimHandle) -> None:
    await bsim.set_faults([{"kind": "error_rate", "endpoint": "/fapi/v1/time"}])
    status, body, _ = await bsim.binance("GET", "/fapi/v1/time", sign=False)
    assert (status, body["code"]) == (500, -1001)
    await bsim.set_faults([{"kind": "maintenance", "endpoint": "*"}])
    assert (await bsim.binance("GET", "/fapi/v1/time", sign=False))[0] == 503
    await bsim.set_faults([{"kind": "stale_tickers", "endpoint": "*"}])
    before = (await bsim.binance("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"},
                                 sign=False))[1]  # fmt: skip
    await bsim.advance(2)
    after = (await bsim.binance("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"},
                                sign=False))[1]  # fmt: skip
    assert after == before
    await bsim.set_faults([])
    fresh = (await bsim.binance("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"},
                                sign=False))[1]  # fmt: skip
    assert fresh["time"] > before["time"]


async def test_request_weight_is_counted_as_binance_documents_it(bsim: SimHandle) -> None:
    """``/sim/requests`` sums the IP weight served per method and path: a symbol-less read
    costs more than one symbol's, new orders weigh 0 on the IP limit (they count on the order
    limits) and the funding reads 0 (they have a limit of their own)."""
    await bsim.admin("POST", "/sim/requests/reset")
    await bsim.binance("GET", "/fapi/v1/premiumIndex", sign=False)
    await bsim.binance("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, sign=False)
    await bsim.binance("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h",
                                                  "limit": 2}, sign=False)  # fmt: skip
    await bsim.binance("GET", "/fapi/v1/fundingInfo", sign=False)
    await bsim.binance("GET", "/fapi/v1/income", {"limit": 10})
    _, _, headers = await bsim.binance("POST", "/fapi/v1/order", {**ORDER, "quantity": "1",
                                                                 "type": "LIMIT", "price": "90",
                                                                 "timeInForce": "GTC"})  # fmt: skip
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1"
    got = await bsim.requests()
    assert got["weight"] == {
        "GET /fapi/v1/premiumIndex": 10 + 1,
        "GET /fapi/v1/klines": 1,
        "GET /fapi/v1/fundingInfo": 0,
        "GET /fapi/v1/income": 30,
        "POST /fapi/v1/order": 0,
    }
    assert got["totalWeight"] == 42
