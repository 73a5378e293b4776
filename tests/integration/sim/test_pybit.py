"""Fidelity with a second, independent client: Bybit's official SDK ``pybit`` (unmodified,
from PyPI) against the simulator's HTTP face (issue #14, item 6).

pybit is synchronous (``requests``); each call runs in a thread while the simulator serves in
this test's event loop. The only change to the client is its base URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import RISK_SYMBOL, START
from tests.simserver import SimHandle

T = TypeVar("T")
LIN = {"category": "linear"}


def session(sim: SimHandle) -> Any:
    s = HTTP(api_key=sim.api_key, api_secret=sim.api_secret, max_retries=2, retry_delay=0)
    s.endpoint = sim.url  # the one change: talk to the simulator instead of api.bybit.com
    return s


async def run(fn: Callable[..., T], **kw: Any) -> T:
    return await asyncio.to_thread(fn, **kw)


async def test_public_endpoints(sim: SimHandle) -> None:
    s = session(sim)
    assert int((await run(s.get_server_time))["result"]["timeSecond"]) == START // 1000
    kl = (await run(s.get_kline, **LIN, symbol="BTCUSDT", interval="60", limit=3))["result"]
    assert int(kl["list"][0][0]) == START  # the newest row is the candle in progress
    mark = (await run(s.get_mark_price_kline, **LIN, symbol="BTCUSDT", interval="60",
                      limit=2))["result"]  # fmt: skip
    assert len(mark["list"][0]) == 5
    insts = (await run(s.get_instruments_info, **LIN))["result"]["list"]
    assert {i["status"] for i in insts} == {"Trading"}
    [t] = (await run(s.get_tickers, **LIN, symbol="ETHUSDT"))["result"]["list"]
    assert int(t["nextFundingTime"]) == START + 8 * HOUR_MS
    book = (await run(s.get_orderbook, **LIN, symbol="ETHUSDT", limit=1))["result"]
    assert book["b"][0][0] == t["bid1Price"] and book["a"][0][0] == t["ask1Price"]
    oi = (await run(s.get_open_interest, **LIN, symbol="ETHUSDT", intervalTime="5min",
                    limit=3))["result"]["list"]  # fmt: skip
    assert [int(r["timestamp"]) for r in oi] == [START, START - 300_000, START - 600_000]


async def test_private_trading_paths(sim: SimHandle) -> None:
    s = session(sim)
    info = (await run(s.get_account_info))["result"]
    assert info["marginMode"] == "REGULAR_MARGIN"  # a new account is cross, as on Bybit
    await run(s.set_margin_mode, setMarginMode="ISOLATED_MARGIN")
    with pytest.raises(InvalidRequestError) as err:
        await run(s.switch_position_mode, **LIN, symbol=RISK_SYMBOL, mode=0)
    assert err.value.status_code == 110025
    # An order without orderLinkId (as from the web UI), then TP/SL on the position.
    placed = (await run(s.place_order, **LIN, symbol=RISK_SYMBOL, side="Buy",
                        orderType="Market", qty="10"))["result"]  # fmt: skip
    assert placed["orderLinkId"] == ""
    await run(s.set_trading_stop, **LIN, symbol=RISK_SYMBOL, takeProfit="110", stopLoss="95",
              tpslMode="Full", positionIdx=0)  # fmt: skip
    [pos] = (await run(s.get_positions, **LIN, symbol=RISK_SYMBOL))["result"]["list"]
    assert (pos["size"], pos["takeProfit"], pos["stopLoss"]) == ("10", "110", "95")
    open_ = (await run(s.get_open_orders, **LIN, symbol=RISK_SYMBOL))["result"]["list"]
    assert sorted(o["stopOrderType"] for o in open_) == ["StopLoss", "TakeProfit"]
    assert {o["orderLinkId"] for o in open_} == {""}
    # Amend, batch create and cancel.
    await run(s.place_order, **LIN, symbol=RISK_SYMBOL, side="Buy", orderType="Limit",
              qty="1", price="90", orderLinkId="py-1", timeInForce="PostOnly")  # fmt: skip
    await run(s.amend_order, **LIN, symbol=RISK_SYMBOL, orderLinkId="py-1", price="91")
    batch = await run(s.place_batch_order, **LIN, request=[
        {"symbol": RISK_SYMBOL, "side": "Buy", "orderType": "Limit", "qty": "1", "price": "89",
         "orderLinkId": "py-2"},
        {"symbol": RISK_SYMBOL, "side": "Buy", "orderType": "Limit", "qty": "1", "price": "88",
         "orderLinkId": "py-1"},
    ])  # fmt: skip
    assert [c["code"] for c in batch["retExtInfo"]["list"]] == [0, 110072]
    cancel = await run(s.cancel_batch_order, **LIN, request=[
        {"symbol": RISK_SYMBOL, "orderLinkId": "py-1"},
        {"symbol": RISK_SYMBOL, "orderLinkId": "py-2"},
    ])  # fmt: skip
    assert [c["code"] for c in cancel["retExtInfo"]["list"]] == [0, 0]
    await run(s.place_order, **LIN, symbol=RISK_SYMBOL, side="Sell", orderType="Market",
              qty="10", reduceOnly=True)  # fmt: skip
    [closed] = (await run(s.get_closed_pnl, **LIN, symbol=RISK_SYMBOL))["result"]["list"]
    assert (closed["closedSize"], closed["closedPnl"]) == ("10", "-1.1")
    log = (await run(s.get_transaction_log, accountType="UNIFIED", **LIN))["result"]["list"]
    assert [r["type"] for r in log] == ["TRADE", "TRADE"]


async def test_error_paths(sim: SimHandle) -> None:
    s = session(sim)
    cases = [
        ({"qty": "0.5"}, 10001),  # RISKUSDT's qty step is 1
        ({"qty": "1", "triggerPrice": "90"}, 10001),  # a conditional order needs a direction
        ({"qty": "1", "triggerPrice": "110", "triggerDirection": 2}, 110093),  # already crossed
        ({"qty": "1", "reduceOnly": True}, 110017),
        ({"qty": "1", "orderLinkId": "x" * 37}, 10001),
    ]
    for extra, code in cases:
        with pytest.raises(InvalidRequestError) as err:
            await run(s.place_order, **LIN, symbol=RISK_SYMBOL, side="Sell", orderType="Market",
                      **extra)  # fmt: skip
        assert err.value.status_code == code, extra
    bad_key = HTTP(api_key=sim.api_key, api_secret="wrong", max_retries=1)
    bad_key.endpoint = sim.url
    with pytest.raises(InvalidRequestError) as err:
        await run(bad_key.get_wallet_balance, accountType="UNIFIED")
    assert err.value.status_code == 10004


async def test_rate_limits_as_pybit_expects_them(sim: SimHandle) -> None:
    s = session(sim)
    # The per-account limit: retCode 10006 in an HTTP 200 body with the reset timestamp;
    # pybit sleeps until X-Bapi-Limit-Reset-Timestamp and retries, and the retry succeeds.
    await sim.set_faults([{"kind": "rate_limit", "endpoint": "/v5/market/time", "requests": 1,
                           "window_ms": 1500}])  # fmt: skip
    await run(s.get_server_time)
    assert (await run(s.get_server_time))["retCode"] == 0
    assert (await sim.requests())["faults"] == {"rate_limit": 1}
    # The per-IP limit is an HTTP 403, which pybit reports as such.
    await sim.set_faults([{"kind": "rate_limit", "requests": 0, "scope": "ip"}])
    with pytest.raises(FailedRequestError) as err:
        await run(s.get_server_time)
    assert err.value.status_code == 403 and "IP rate limit" in err.value.message


async def test_funding_timing(sim: SimHandle) -> None:
    s = session(sim)
    # START is a settlement instant: the 00:00 settlement is listed as done, and a position
    # opened now (after it) does not pay it.
    hist = (await run(s.get_funding_rate_history, **LIN, symbol="ETHUSDT", limit=1))["result"]
    assert int(hist["list"][0]["fundingRateTimestamp"]) == START
    await run(s.place_order, **LIN, symbol="ETHUSDT", side="Buy", orderType="Market",
              qty="0.1")  # fmt: skip
    funding = (await run(s.get_executions, **LIN, execType="Funding"))["result"]["list"]
    assert funding == []
    await sim.advance(8)  # the clock arrives at the next settlement: charged on arrival
    funding = (await run(s.get_executions, **LIN, execType="Funding"))["result"]["list"]
    assert [int(f["execTime"]) for f in funding] == [START + 8 * HOUR_MS]
    rate = (await run(s.get_funding_rate_history, **LIN, symbol="ETHUSDT",
                      limit=1))["result"]["list"][0]  # fmt: skip
    assert int(rate["fundingRateTimestamp"]) == START + 8 * HOUR_MS
    assert D(funding[0]["feeRate"]) == D(rate["fundingRate"])
    [settle] = (await run(s.get_transaction_log, accountType="UNIFIED", type="SETTLEMENT"))[
        "result"
    ]["list"]
    assert D(settle["funding"]) == -D(funding[0]["execFee"]) == D(settle["change"])
