"""The Binance face's replies carry the keys and value types of Binance's, and it accepts
every USDⓈ-M request ccxt makes that it serves.

References: ccxt's captured ``httpResponse``s and its request fixtures, in
``fixtures/ccxt-binanceusdm/fapi-cases.json`` (PROVENANCE.md). The captures store some
integers as digit strings (``orderId``, ``time``, ``adl``...) where Binance's API, its
official SDK's models and the simulator use JSON integers; that difference is tolerated.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import FIXTURES
from tests.integration.sim.test_shapes import assert_same_shape
from tests.simserver import SimHandle

CASES = json.loads((FIXTURES.parent / "ccxt-binanceusdm" / "fapi-cases.json").read_text())
RESPONSES = CASES["response"]["response-binance.json"]["methods"]
INTS = frozenset({"orderId", "time", "updateTime", "goodTillDate", "adl", "lastUpdateId", "E",
                  "T", "id", "leverage", "feeTier", "tradeGroupId"})  # fmt: skip
IDS = frozenset({"clientOrderId", "clientAlgoId", "tradeId"})


def _ref(method: str, description: str) -> Any:
    for case in RESPONSES[method]:
        if case["description"] == description:
            return case["httpResponse"]
    raise KeyError(f"{method}: no case {description!r}")


def same(ref: Any, got: Any, where: str) -> None:
    assert_same_shape(ref, got, where, ints=INTS, ids=IDS)


async def _ok(sim: SimHandle, method: str, path: str, params: Any = None) -> Any:
    status, body, _ = await sim.binance(method, path, params)
    assert status == 200, (path, body)
    return body


async def test_reply_shapes_match_ccxt_captures(bsim: SimHandle) -> None:
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01",
             "price": "20000", "timeInForce": "GTC"}  # fmt: skip
    placed = await _ok(bsim, "POST", "/fapi/v1/order", limit)
    same(_ref("createOrders", "create swap orders")[0], placed, "createOrders")
    one = await _ok(bsim, "GET", "/fapi/v1/openOrder", {"symbol": "BTCUSDT",
                                                        "orderId": placed["orderId"]})  # fmt: skip
    same(_ref("fetchOpenOrder", "swap open order"), one, "fetchOpenOrder")
    edited = await _ok(bsim, "PUT", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(
        [{"orderId": str(placed["orderId"]), "symbol": "BTCUSDT", "side": "BUY",
          "quantity": "0.02", "price": "20000"}])})  # fmt: skip
    same(_ref("editOrders", "edit swap orders")[0], edited[0], "editOrders")
    await _ok(bsim, "POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY",
                                               "type": "MARKET", "quantity": "0.01"})  # fmt: skip
    risk = await _ok(bsim, "GET", "/fapi/v3/positionRisk")
    same(_ref("fetchPositions", "Fetch linear positions without symbols"), risk, "positionRisk")
    account = await _ok(bsim, "GET", "/fapi/v3/account")
    same(_ref("fetchPositions", "Fetch linear positions using account endnpoint"), account, "v3")
    v2 = await _ok(bsim, "GET", "/fapi/v2/account")
    same(_ref("fetchBalance", "Linear swap balance"), v2, "v2 account")
    trades = await _ok(bsim, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    same(_ref("fetchMyTrades", "Swap private trade"), trades, "userTrades")
    klines = await _ok(bsim, "GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h",
                                                        "limit": 3})  # fmt: skip
    same(_ref("fetchOHLCV", "swap ohlcv"), klines, "klines")
    depth = await _ok(bsim, "GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": 5})
    same(_ref("fetchOrderBook", "swap orderbook"), depth, "depth")
    config = await _ok(bsim, "GET", "/fapi/v1/symbolConfig", {"symbol": "BTCUSDT"})
    same(_ref("fetchMarginMode", "linear swap fetch margin mode"), config, "symbolConfig")


# Request paths ccxt can call that the face does not serve, and why.
NOT_SERVED = {
    "/fapi/v1/aggTrades": "the replay has bars, not trades",
    "/fapi/v1/forceOrders": "not modelled (liquidations are in userTrades and income)",
    "/fapi/v1/positionMargin": "adding/removing isolated margin is not modelled",
    "/fapi/v1/positionMargin/history": "adding/removing isolated margin is not modelled",
    "/fapi/v1/premiumIndexKlines": "the data has no premium index",
    "/fapi/v1/rpiDepth": "no retail-price-improvement book",
    "/fapi/v1/adlQuantile": "ADL is not modelled",
    "/fapi/v1/symbolAdlRisk": "ADL is not modelled",
    "/futures/data/globalLongShortAccountRatio": "no long/short ratio data",
}
# Answers that depend on the account's state (a one-way account refuses hedge-mode orders
# with -4061), not on how the request was read.
STATE_CODES = {-2011, -2013, -2019, -2021, -2022, -4014, -4023, -4046, -4059, -4061, -4164, -5027}
# What the simulator does not model (docs/simulator.md), refused saying so.
LIMITS = {-1120: "simulator's 1h data", -1130: "not modelled by the simulator"}
_SYM = re.compile(r"\b[A-Z0-9]{2,12}USDT\b")


def _requests() -> list[tuple[str, str, str, str]]:
    out = []
    for source in CASES["request"].values():
        for method, cases in source["methods"].items():
            for c in cases:
                if c.get("disabled"):
                    continue
                path = urlsplit(c["url"]).path
                if path.startswith(("/fapi/", "/futures/data/")):
                    out.append((method, c["description"], c["url"], c.get("output") or ""))
    return out


def _http_method(ccxt_method: str, path: str, has_body: bool) -> str:
    if ccxt_method.startswith("cancel"):
        return "DELETE"
    if ccxt_method.startswith("edit"):
        return "PUT"
    if has_body or ccxt_method.startswith(("create", "set", "add", "reduce")):
        return "POST"
    return "GET"


@pytest.mark.parametrize(("ccxt_method", "description", "url", "body"), _requests())
async def test_every_ccxt_request_is_read(
    bsim: SimHandle, ccxt_method: str, description: str, url: str, body: str
) -> None:
    parts = urlsplit(url)
    raw = parts.query + ("&" if parts.query and body else "") + body
    skip = {"timestamp", "recvWindow", "signature"}
    params = {k: v for k, v in parse_qsl(raw, keep_blank_values=True) if k not in skip}
    # The replay's symbols: the fixture's coin becomes BTCUSDT, keeping everything else.
    params = {k: _SYM.sub("BTCUSDT", v) for k, v in params.items()}
    if "pair" in params:
        params["pair"] = "BTCUSDT"
    method = _http_method(ccxt_method, parts.path, bool(body))
    signed = parts.path not in ("/fapi/v1/exchangeInfo",) and "signature=" in raw
    status, reply, _ = await bsim.binance(method, parts.path, params, sign=signed)
    if parts.path in NOT_SERVED:  # documented as not served (docs/simulator.md): 404
        assert status == 404, (parts.path, NOT_SERVED[parts.path])
        return
    if status == 200:
        return
    assert status != 404, f"{method} {parts.path} is not routed"
    assert isinstance(reply, dict), reply
    code = reply["code"]
    if code in LIMITS:
        assert LIMITS[code] in reply["msg"], (method, parts.path, params, reply)
    else:
        assert code in STATE_CODES, (method, parts.path, params, reply)
