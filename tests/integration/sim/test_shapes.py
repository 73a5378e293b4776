"""The simulator's replies carry the keys and value types of real Bybit replies.

Reference: ``fixtures/ccxt-bybit/response-bybit.json`` (ccxt's captured ``httpResponse``s).
Two documented differences are tolerated: the fixture file stores some integer fields as
digit strings (``retCode``, ``time``, ``positionIdx``...) where Bybit's API and the simulator
send JSON integers; and ccxt injects ``nextPageCursor`` into list rows (and ``timestamp`` into
ticker rows) before the capture, so those keys are not expected from the venue.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.data.panel import HOUR_MS
from tests.conftest import FIXTURES
from tests.integration.sim.conftest import START
from tests.simserver import SimHandle

STRINGIFIED_INTS = {
    "retCode",
    "time",
    "positionIdx",
    "triggerDirection",
    "smpGroup",
    "autoAddMargin",
    "riskId",
    "adlRankIndicator",
    "seq",
    "tradeMode",
    "ts",
    "u",
}
INJECTED_BY_CCXT = {"nextPageCursor", "timestamp"}
IDS = {"orderId", "orderLinkId", "execId", "smpOrderId", "blockTradeId"}  # opaque, not numbers


def _fixture(method: str, description: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / "response-bybit.json").read_text())
    for case in data["methods"][method]:
        if case["description"] == description:
            resp: dict[str, Any] = case["httpResponse"]
            return resp
    raise KeyError(f"{method}: no case {description!r}")


def assert_same_shape(
    ref: Any,
    got: Any,
    where: str = "",
    in_row: bool = False,
    *,
    ints: frozenset[str] | set[str] = STRINGIFIED_INTS,
    ids: frozenset[str] | set[str] = IDS,
) -> None:
    """Every key of ``ref`` is in ``got`` with the same JSON type (recursively); ``ints`` are
    the keys the captures store as digit strings where the venue sends integers, ``ids``
    the opaque string keys."""
    key = where.rsplit(".", 1)[-1].split("[", 1)[0]
    kw: dict[str, Any] = {"ints": ints, "ids": ids}
    if isinstance(ref, dict):
        assert isinstance(got, dict), f"{where}: expected an object, got {got!r}"
        for k, v in ref.items():
            if in_row and k in INJECTED_BY_CCXT:
                continue
            assert k in got, f"{where}: missing key {k!r}"
            assert_same_shape(v, got[k], f"{where}.{k}", **kw)
    elif isinstance(ref, list):
        assert isinstance(got, list), f"{where}: expected a list, got {got!r}"
        if ref:
            assert got, f"{where}: empty list where the venue has rows"
            if not isinstance(ref[0], dict | list):
                assert len(got) == len(ref), f"{where}: row length {len(got)} != {len(ref)}"
                for i, (r, g) in enumerate(zip(ref, got, strict=True)):
                    assert_same_shape(r, g, f"{where}[{i}]", **kw)
            else:
                assert_same_shape(ref[0], got[0], f"{where}[0]", in_row=True, **kw)
    elif key in ints and isinstance(ref, str) and ref.lstrip("-").isdigit():
        assert isinstance(got, int) and not isinstance(got, bool), f"{where}: {got!r} not int"
    else:
        assert type(got) is type(ref), f"{where}: {type(got).__name__} != {type(ref).__name__}"
        if isinstance(ref, str) and ref != "" and _numeric(ref) and key not in ids:
            assert got == "" or _numeric(got), f"{where}: {got!r} is not a number string"


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


async def _get(sim: SimHandle, path: str, **params: Any) -> dict[str, Any]:
    status, body = await sim.bybit("GET", path, params)
    assert status == 200 and body["retCode"] == 0, body
    return dict(body)


async def _post(sim: SimHandle, path: str, **params: Any) -> dict[str, Any]:
    status, body = await sim.bybit("POST", path, params)
    assert status == 200 and body["retCode"] == 0, body
    return dict(body)


async def test_market_data_shapes(sim: SimHandle) -> None:
    cases = [
        ("fetchTicker", "swap ticker", "/v5/market/tickers", {"symbol": "BTCUSDT"}),
        ("fetchFundingRates", "fetchFundingRates", "/v5/market/tickers", {}),
        ("fetchFundingRate", "fetchFundingRate", "/v5/market/tickers", {"symbol": "BTCUSDT"}),
        (
            "fetchOHLCV",
            "swap ohlcv with since and limit",
            "/v5/market/kline",
            {"symbol": "BTCUSDT", "interval": "60", "limit": 3},
        ),
        (
            "fetchOpenInterest",
            "linear OI",
            "/v5/market/open-interest",
            {"symbol": "BTCUSDT", "intervalTime": "1h", "limit": 1},
        ),
    ]
    for method, desc, path, params in cases:
        got = await _get(sim, path, category="linear", **params)
        assert_same_shape(_fixture(method, desc), got, method)


async def test_account_and_order_shapes(sim: SimHandle) -> None:
    lin = {"category": "linear"}
    created = await _post(
        sim, "/v5/order/create", **lin, symbol="RISKUSDT", side="Buy", orderType="Market", qty="3"
    )
    assert_same_shape(_fixture("createOrder", "create spot order"), created, "createOrder")
    await _post(
        sim,
        "/v5/order/create",
        **lin,
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="20000",
        orderLinkId="shape-open",
    )
    await sim.advance(8)  # through a funding settlement of the open RISKUSDT position
    assert (START + 8 * HOUR_MS) % (8 * HOUR_MS) == 0
    checks = [
        (
            "fetchBalance",
            "balance after availableToWithdraw update",
            "/v5/account/wallet-balance",
            {"accountType": "UNIFIED"},
        ),
        (
            "fetchOpenOrder",
            "Fetch an open swap order by its ID and symbol",
            "/v5/order/realtime",
            {**lin, "symbol": "BTCUSDT", "orderLinkId": "shape-open"},
        ),
        (
            "fetchClosedOrder",
            "Fetch swap closed order by its ID and symbol",
            "/v5/order/history",
            {**lin, "symbol": "RISKUSDT", "orderStatus": "Filled"},
        ),
        (
            "fetchClosedOrders",
            "Fetch swap closed orders by the symbol",
            "/v5/order/history",
            {**lin, "symbol": "RISKUSDT"},
        ),
        (
            "fetchPositions",
            "Fetch linear position",
            "/v5/position/list",
            {**lin, "settleCoin": "USDT"},
        ),
        ("fetchPosition", "linear position", "/v5/position/list", {**lin, "symbol": "SOLUSDT"}),
        (
            "fetchMyTrades",
            "swap trades without symbol",
            "/v5/execution/list",
            {**lin, "execType": "Trade"},
        ),
        (
            "fetchFundingHistory",
            "linear funding history",
            "/v5/execution/list",
            {**lin, "execType": "Funding", "symbol": "RISKUSDT"},
        ),
    ]
    for method, desc, path, params in checks:
        got = await _get(sim, path, **params)
        assert_same_shape(_fixture(method, desc), got, method)
    cancelled = await _post(sim, "/v5/order/cancel-all", **lin, symbol="BTCUSDT")
    assert_same_shape(_fixture("cancelAllOrders", "cancel spot orders"), cancelled, "cancelAll")


async def test_new_endpoint_shapes(sim: SimHandle) -> None:
    # Endpoints added for issue #14 against ccxt's captures of the same calls.
    lin = {"category": "linear"}
    book = await _get(sim, "/v5/market/orderbook", **lin, symbol="BTCUSDT", limit=2)
    assert_same_shape(_fixture("fetchOrderBook", "swap orderbook"), book, "fetchOrderBook")
    await _post(sim, "/v5/order/create", **lin, symbol="RISKUSDT", side="Buy",
                orderType="Market", qty="3")  # fmt: skip
    await _post(sim, "/v5/order/create", **lin, symbol="BTCUSDT", side="Buy", orderType="Limit",
                qty="0.001", price="20000", orderLinkId="shape-amend")  # fmt: skip
    amended = await _post(
        sim, "/v5/order/amend", **lin, symbol="BTCUSDT", orderLinkId="shape-amend", qty="0.002"
    )
    assert_same_shape(_fixture("editOrder", "edit order using clientOrderId"), amended, "edit")
    await sim.advance(8)  # through a funding settlement of the RISKUSDT position
    await _post(sim, "/v5/order/create", **lin, symbol="RISKUSDT", side="Sell",
                orderType="Market", qty="3", reduceOnly=True)  # fmt: skip
    ledger = await _get(sim, "/v5/account/transaction-log", accountType="UNIFIED", **lin,
                        type="SETTLEMENT")  # fmt: skip
    assert_same_shape(_fixture("fetchLedger", "fetch ledger"), ledger, "fetchLedger")
    history = await _get(sim, "/v5/position/closed-pnl", **lin, symbol="RISKUSDT")
    ref = _fixture("fetchPositionHistory", "position history")
    assert_same_shape(ref, history, "fetchPositionHistory")


def test_the_shape_check_catches_differences() -> None:
    ref = {"retCode": "0", "result": {"list": [{"a": "1.5", "b": False, "nextPageCursor": "x"}]}}
    assert_same_shape(ref, {"retCode": 0, "result": {"list": [{"a": "2", "b": True}]}})
    for bad in (
        {"retCode": 0, "result": {"list": [{"a": 1.5, "b": False}]}},  # number not string
        {"retCode": 0, "result": {"list": [{"b": False}]}},  # missing key
        {"retCode": 0, "result": {"list": []}},  # no rows
        {"retCode": "0", "result": {"list": [{"a": "x", "b": False}]}},  # retCode type
    ):
        with pytest.raises(AssertionError):
            assert_same_shape(ref, bad)
