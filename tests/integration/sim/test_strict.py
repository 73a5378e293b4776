"""The HTTP face as strict as Bybit (issue #14): what a person does by hand, order options,
ledgers, and the smaller fidelity points. Raw signed requests; ccxt where it has the call."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from bot.data.datadir import DataDir
from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import RISK_SYMBOL, START
from tests.simserver import SimHandle

LIN = {"category": "linear"}


async def call(sim: SimHandle, method: str, path: str, **params: Any) -> dict[str, Any]:
    status, body = await sim.bybit(method, path, {**LIN, **params})
    assert status == 200, body
    return dict(body)


async def ok(sim: SimHandle, method: str, path: str, **params: Any) -> dict[str, Any]:
    body = await call(sim, method, path, **params)
    assert body["retCode"] == 0, body
    return dict(body["result"])


async def buy_risk(sim: SimHandle, qty: str = "10", **kw: Any) -> dict[str, Any]:
    return await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                    orderType="Market", qty=qty, **kw)  # fmt: skip


async def orders(sim: SimHandle, **params: Any) -> list[dict[str, Any]]:
    res = await ok(sim, "GET", "/v5/order/realtime", symbol=RISK_SYMBOL, **params)
    return list(res["list"])


async def position(sim: SimHandle) -> dict[str, Any]:
    res = await ok(sim, "GET", "/v5/position/list", symbol=RISK_SYMBOL)
    return dict(res["list"][0])


async def test_trading_stop_creates_orders_without_order_link_id(sim: SimHandle) -> None:
    await buy_risk(sim)
    await ok(sim, "POST", "/v5/position/trading-stop", symbol=RISK_SYMBOL, takeProfit="110",
             stopLoss="95", tpslMode="Full", positionIdx=0)  # fmt: skip
    pos = await position(sim)
    assert (pos["takeProfit"], pos["stopLoss"]) == ("110", "95")
    tpsl = {o["stopOrderType"]: o for o in await orders(sim)}
    assert set(tpsl) == {"TakeProfit", "StopLoss"}
    for o in tpsl.values():
        assert o["orderLinkId"] == "" and o["reduceOnly"] and o["qty"] == "10"
    assert tpsl["TakeProfit"]["triggerDirection"] == 1 and tpsl["StopLoss"]["triggerDirection"] == 2
    # A wrong-side TP is refused as Bybit refuses it; "0" cancels.
    bad = await call(sim, "POST", "/v5/position/trading-stop", symbol=RISK_SYMBOL, takeProfit="90")
    assert bad["retCode"] == 10001 and "higher" in bad["retMsg"]
    await ok(sim, "POST", "/v5/position/trading-stop", symbol=RISK_SYMBOL, takeProfit="0")
    assert [o["stopOrderType"] for o in await orders(sim)] == ["StopLoss"]
    # An order placed without orderLinkId is listed with "" and cancelled by its orderId.
    placed = await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                      orderType="Limit", qty="1", price="90")  # fmt: skip
    assert placed["orderLinkId"] == ""
    await ok(sim, "POST", "/v5/order/cancel", symbol=RISK_SYMBOL, orderId=placed["orderId"])


async def test_take_profit_and_stop_loss_on_create(sim: SimHandle) -> None:
    await buy_risk(sim, takeProfit="120", stopLoss="90")
    pos = await position(sim)
    assert (pos["takeProfit"], pos["stopLoss"], pos["tpslMode"]) == ("120", "90", "Full")
    bad = await call(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                     orderType="Market", qty="1", stopLoss="105")  # fmt: skip
    assert bad["retCode"] == 10001 and "StopLoss" in bad["retMsg"]


async def test_time_in_force_and_amend(sim: SimHandle) -> None:
    # RISKUSDT trades flat at 100 with no spread configured.
    post = await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                    orderType="Limit", qty="1", price="101", timeInForce="PostOnly")  # fmt: skip
    ioc = await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                   orderType="Limit", qty="1", price="99", timeInForce="IOC")  # fmt: skip
    fok = await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                   orderType="Limit", qty="1", price="101", timeInForce="FOK")  # fmt: skip
    by_id = {}
    for placed in (post, ioc, fok):
        [row] = await orders(sim, orderId=placed["orderId"])
        by_id[placed["orderId"]] = row
    assert by_id[post["orderId"]]["orderStatus"] == "Cancelled"
    assert by_id[post["orderId"]]["rejectReason"] == "EC_PostOnlyWillTakeLiquidity"
    assert by_id[ioc["orderId"]]["orderStatus"] == "Cancelled"
    assert by_id[fok["orderId"]]["orderStatus"] == "Filled"
    assert by_id[fok["orderId"]]["timeInForce"] == "FOK"
    rest = await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                    orderType="Limit", qty="1", price="95", orderLinkId="am-1")  # fmt: skip
    await ok(sim, "POST", "/v5/order/amend", symbol=RISK_SYMBOL, orderLinkId="am-1",
             price="96", qty="2")  # fmt: skip
    [row] = await orders(sim, orderLinkId="am-1")
    assert (row["price"], row["qty"], row["orderStatus"]) == ("96", "2", "New")
    # Amended through the market it fills; a filled order can no longer be amended.
    await ok(sim, "POST", "/v5/order/amend", symbol=RISK_SYMBOL, orderId=rest["orderId"],
             price="100")  # fmt: skip
    [row] = await orders(sim, orderLinkId="am-1")
    assert row["orderStatus"] == "Filled"
    late = await call(sim, "POST", "/v5/order/amend", symbol=RISK_SYMBOL, orderLinkId="am-1",
                      price="97")  # fmt: skip
    assert late["retCode"] == 110001


async def test_batch_create_and_cancel_report_each_item(sim: SimHandle) -> None:
    good = {"symbol": RISK_SYMBOL, "side": "Buy", "orderType": "Limit", "qty": "1",
            "price": "90", "orderLinkId": "b-1"}  # fmt: skip
    dup = {**good, "price": "91"}  # the same orderLinkId: 110072 for this item only
    status, body = await sim.bybit(
        "POST", "/v5/order/create-batch", {**LIN, "request": [good, dup]}
    )
    assert status == 200 and body["retCode"] == 0
    assert [c["code"] for c in body["retExtInfo"]["list"]] == [0, 110072]
    assert body["result"]["list"][0]["orderLinkId"] == "b-1"
    assert body["result"]["list"][1]["orderId"] == ""
    req = {**LIN, "request": [{"symbol": RISK_SYMBOL, "orderLinkId": "b-1"},
                              {"symbol": RISK_SYMBOL, "orderLinkId": "nope"}]}  # fmt: skip
    status, body = await sim.bybit("POST", "/v5/order/cancel-batch", req)
    assert [c["code"] for c in body["retExtInfo"]["list"]] == [0, 110001]


async def test_switch_mode_refusals(sim: SimHandle) -> None:
    same = await call(sim, "POST", "/v5/position/switch-mode", symbol=RISK_SYMBOL, mode=0)
    assert same["retCode"] == 110025
    await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
             orderType="Limit", qty="1", price="90")  # fmt: skip
    assert (await call(sim, "POST", "/v5/position/switch-mode", symbol=RISK_SYMBOL,
                       mode=3))["retCode"] == 110028  # fmt: skip
    await buy_risk(sim)
    assert (await call(sim, "POST", "/v5/position/switch-mode", symbol=RISK_SYMBOL,
                       mode=3))["retCode"] == 110024  # fmt: skip


async def test_transaction_log_closed_pnl_and_transfers(sim: SimHandle) -> None:
    await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "500"})
    await buy_risk(sim, "10")  # 10 × 100, taker fee 0.055 %: 0.55
    await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "-1500"})
    await ok(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Sell",
             orderType="Market", qty="10", reduceOnly=True)  # fmt: skip
    log = await ok(sim, "GET", "/v5/account/transaction-log", accountType="UNIFIED")
    rows = log["list"][::-1]  # oldest first
    assert [r["type"] for r in rows] == ["TRANSFER_IN", "TRADE", "TRANSFER_OUT", "TRADE"]
    assert [r["change"] for r in rows] == ["500", "-0.55", "-1500", "-0.55"]
    assert [r["cashBalance"] for r in rows] == ["10500", "10499.45", "8999.45", "8998.9"]
    [closed] = (await ok(sim, "GET", "/v5/position/closed-pnl", symbol=RISK_SYMBOL))["list"]
    # Flat price: the closed PnL is both fees (the opening one and the closing one).
    assert (closed["side"], closed["closedSize"], closed["closedPnl"]) == ("Sell", "10", "-1.1")
    assert closed["avgEntryPrice"] == closed["avgExitPrice"] == "100"
    with pytest.raises(RuntimeError, match="exceeds the available"):
        await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "-100000"})


async def test_orderbook_matches_the_quote_model(sim: SimHandle) -> None:
    book = await ok(sim, "GET", "/v5/market/orderbook", symbol="BTCUSDT", limit=3)
    [t] = (await ok(sim, "GET", "/v5/market/tickers", symbol="BTCUSDT"))["list"]
    assert book["b"][0][0] == t["bid1Price"] and book["a"][0][0] == t["ask1Price"]
    assert len(book["b"]) == len(book["a"]) == 3
    assert D(book["b"][0][0]) > D(book["b"][1][0]) and D(book["a"][0][0]) < D(book["a"][1][0])


async def test_mark_price_kline_and_exact_turnover(sim: SimHandle, data_dir: Any) -> None:
    mark = await ok(sim, "GET", "/v5/market/mark-price-kline", symbol="ETHUSDT", interval="60",
                    limit=3)  # fmt: skip
    assert [len(r) for r in mark["list"]] == [5, 5, 5] and int(mark["list"][0][0]) == START
    trade = await ok(sim, "GET", "/v5/market/kline", symbol="ETHUSDT", interval="60", limit=200)
    o = DataDir(data_dir).ohlcv("ETHUSDT")
    for row in trade["list"][1:]:  # the closed ones
        k = int((o.ts == int(row[0])).argmax())
        want = D(repr(float(o.volume[k]))) * D(repr(float(o.close[k])))
        assert D(row[6]) == want, row  # exact decimal, no binary float noise
        assert "e" not in row[6].lower() and len(row[6].split(".")[-1]) < 12
    [t] = (await ok(sim, "GET", "/v5/market/tickers", symbol="ETHUSDT"))["list"]
    day = (o.ts >= START - 24 * HOUR_MS) & (o.ts < START)
    assert D(t["volume24h"]) == sum((D(repr(float(v))) for v in o.volume[day]), D(0))


async def test_instruments_default_lists_trading_only_and_executions_carry_the_mark(
    sim: SimHandle,
) -> None:
    assert sim.ctx is not None
    sim.ctx.engine.slippage = D("0.01")  # a fill 1 % away from the mark
    rows = (await ok(sim, "GET", "/v5/market/instruments-info"))["list"]
    assert rows and {r["status"] for r in rows} == {"Trading"}
    await sim.admin("POST", "/sim/instrument", {"symbol": "SOLUSDT", "status": "Closed"})
    rows = (await ok(sim, "GET", "/v5/market/instruments-info"))["list"]
    assert "SOLUSDT" not in {r["symbol"] for r in rows}
    closed = (await ok(sim, "GET", "/v5/market/instruments-info", status="Closed"))["list"]
    assert [r["symbol"] for r in closed] == ["SOLUSDT"]
    refused = await call(sim, "POST", "/v5/order/create", symbol="SOLUSDT", side="Buy",
                         orderType="Market", qty="1")  # fmt: skip
    assert refused["retCode"] == 110066
    await buy_risk(sim, "1")
    [ex] = (await ok(sim, "GET", "/v5/execution/list", symbol=RISK_SYMBOL))["list"]
    assert ex["markPrice"] == "100" and ex["execPrice"] == "101"


async def test_open_interest_finer_than_the_data_is_a_step_function(sim: SimHandle) -> None:
    rows = (await ok(sim, "GET", "/v5/market/open-interest", symbol="BTCUSDT",
                     intervalTime="5min", limit=13))["list"]  # fmt: skip
    stamps = [int(r["timestamp"]) for r in rows]
    assert stamps == [START - 5 * 60_000 * j for j in range(13)]  # on the 5-min grid
    hourly = (await ok(sim, "GET", "/v5/market/open-interest", symbol="BTCUSDT",
                       intervalTime="1h", limit=2))["list"]  # fmt: skip
    # Every 5-min point carries the hourly observation at or before it, never a later one.
    assert {r["openInterest"] for r in rows[1:]} == {hourly[1]["openInterest"]}
    assert rows[0]["openInterest"] == hourly[0]["openInterest"]


async def test_delisting_with_delivery_time_settles_positions(sim: SimHandle) -> None:
    await buy_risk(sim, "10")
    await sim.admin("POST", "/sim/instrument",
                    {"symbol": RISK_SYMBOL, "deliveryTime": START + 2 * HOUR_MS})  # fmt: skip
    [info] = (await ok(sim, "GET", "/v5/market/instruments-info", symbol=RISK_SYMBOL))["list"]
    assert (info["status"], info["deliveryTime"]) == ("Settling", str(START + 2 * HOUR_MS))
    more = await call(sim, "POST", "/v5/order/create", symbol=RISK_SYMBOL, side="Buy",
                      orderType="Market", qty="1")  # fmt: skip
    assert more["retCode"] == 110042  # pre-delivery: only reducing orders
    await sim.advance(2)
    assert (await position(sim))["size"] == "0"
    execs = (await ok(sim, "GET", "/v5/execution/list", symbol=RISK_SYMBOL))["list"]
    assert execs[0]["execType"] == "Delivery" and execs[0]["execTime"] == str(START + 2 * HOUR_MS)
    [info] = (await ok(sim, "GET", "/v5/market/instruments-info", symbol=RISK_SYMBOL))["list"]
    assert info["status"] == "Closed"


async def test_consistency_lag_shows_the_position_before_its_execution(sim: SimHandle) -> None:
    await sim.set_faults([{"kind": "consistency_lag", "endpoint": "/v5/execution/list",
                           "ms": 60_000}])  # fmt: skip
    await buy_risk(sim, "10")
    assert (await position(sim))["size"] == "10"
    assert (await ok(sim, "GET", "/v5/execution/list", symbol=RISK_SYMBOL))["list"] == []
    await sim.set_faults([])
    assert len((await ok(sim, "GET", "/v5/execution/list", symbol=RISK_SYMBOL))["list"]) == 1


async def test_new_listing_does_not_exist_before_its_launch(sim: SimHandle) -> None:
    await sim.admin("POST", "/sim/instrument",
                    {"symbol": "ETHUSDT",
                     "launchTime": START + HOUR_MS})  # fmt: skip
    syms = {r["symbol"] for r in (await ok(sim, "GET", "/v5/market/instruments-info"))["list"]}
    assert "ETHUSDT" not in syms
    await sim.advance(1)
    syms = {r["symbol"] for r in (await ok(sim, "GET", "/v5/market/instruments-info"))["list"]}
    assert "ETHUSDT" in syms


async def test_a_symbol_cannot_be_traded_before_its_launch(sim: SimHandle) -> None:
    await sim.admin("POST", "/sim/instrument", {"symbol": "ETHUSDT", "launchTime": START + HOUR_MS})
    early = await call(sim, "POST", "/v5/order/create", symbol="ETHUSDT", side="Buy",
                       orderType="Market", qty="0.01")  # fmt: skip
    assert early["retCode"] == 110066
