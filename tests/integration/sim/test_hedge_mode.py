"""Hedge mode on both faces (RELIABILITY.md #32: the simulator can *be* in it, so rotor's
start-up check is tested against the venue's own answers): switching, a long and a short
side by side listed as each venue lists them, and the venues' refusals."""

from __future__ import annotations

from typing import Any

from tests.integration.sim.conftest import RISK_SYMBOL
from tests.simserver import SimHandle

LIN = {"category": "linear"}


async def _bybit(sim: SimHandle, method: str, path: str, **params: Any) -> dict[str, Any]:
    status, body = await sim.bybit(method, path, {**LIN, **params})
    assert status == 200
    return dict(body)


async def test_bybit_hedge_mode(sim: SimHandle) -> None:
    switch = {"symbol": RISK_SYMBOL, "mode": 3}
    assert (await _bybit(sim, "POST", "/v5/position/switch-mode", **switch))["retCode"] == 0
    rows = (await _bybit(sim, "GET", "/v5/position/list", symbol=RISK_SYMBOL))["result"]["list"]
    assert [(r["positionIdx"], r["size"]) for r in rows] == [(1, "0"), (2, "0")]
    order = {"symbol": RISK_SYMBOL, "orderType": "Market"}
    no_idx = await _bybit(sim, "POST", "/v5/order/create", **order, side="Buy", qty="10")
    assert no_idx["retCode"] == 10001 and "position idx" in no_idx["retMsg"]
    for side, idx, qty in (("Buy", 1, "10"), ("Sell", 2, "4")):
        placed = await _bybit(sim, "POST", "/v5/order/create", **order, side=side, qty=qty,
                              positionIdx=idx)  # fmt: skip
        assert placed["retCode"] == 0, placed
    rows = (await _bybit(sim, "GET", "/v5/position/list", symbol=RISK_SYMBOL))["result"]["list"]
    assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [
        (1, "Buy", "10"), (2, "Sell", "4"),
    ]  # fmt: skip
    back = await _bybit(sim, "POST", "/v5/position/switch-mode", symbol=RISK_SYMBOL, mode=0)
    assert back["retCode"] == 110024
    st = await sim.state()
    assert st["symbolHedgeModes"] == {RISK_SYMBOL: True}
    assert sorted(p["positionIdx"] for p in st["positions"]) == [1, 2]


async def test_binance_hedge_mode(bsim: SimHandle, bex: Any) -> None:
    status, body, _ = await bsim.binance(
        "POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"}
    )
    assert (status, body) == (200, {"code": 200, "msg": "success"})
    assert (await bex.fetch_position_mode())["hedged"] is True
    order = {"symbol": RISK_SYMBOL, "type": "MARKET", "quantity": "10"}
    status, body, _ = await bsim.binance("POST", "/fapi/v1/order", {**order, "side": "BUY"})
    assert (status, body["code"]) == (400, -4061)  # no positionSide in hedge mode
    status, body, _ = await bsim.binance(
        "POST", "/fapi/v1/order",
        {**order, "side": "SELL", "positionSide": "LONG", "reduceOnly": "true"},
    )  # fmt: skip
    assert body["code"] == -1106  # reduceOnly is not sent in hedge mode
    for side, ps, qty in (("BUY", "LONG", "10"), ("SELL", "SHORT", "4")):
        status, body, _ = await bsim.binance(
            "POST", "/fapi/v1/order", {**order, "side": side, "positionSide": ps, "quantity": qty}
        )
        assert status == 200 and body["positionSide"] == ps, body
    _, rows, _ = await bsim.binance("GET", "/fapi/v3/positionRisk", {"symbol": RISK_SYMBOL})
    assert [(r["positionSide"], r["positionAmt"]) for r in rows] == [
        ("LONG", "10"), ("SHORT", "-4"),
    ]  # fmt: skip
    positions = await bex.fetch_positions(["RISK/USDT:USDT"])
    assert sorted((p["side"], p["contracts"], p["hedged"]) for p in positions) == [
        ("long", 10, True), ("short", 4, True),
    ]  # fmt: skip
    status, body, _ = await bsim.binance(
        "POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"}
    )
    assert (status, body["code"]) == (400, -4068)
    # Close both sides; with an open order left the switch is -4067, then it goes through.
    for side, ps, qty in (("SELL", "LONG", "10"), ("BUY", "SHORT", "4")):
        await bsim.binance(
            "POST", "/fapi/v1/order", {**order, "side": side, "positionSide": ps, "quantity": qty}
        )
    await bsim.binance("POST", "/fapi/v1/order", {
        "symbol": RISK_SYMBOL, "side": "BUY", "positionSide": "LONG", "type": "LIMIT",
        "quantity": "1", "price": "90", "timeInForce": "GTC"})  # fmt: skip
    dual_off = {"dualSidePosition": "false"}
    assert (await bsim.binance("POST", "/fapi/v1/positionSide/dual", dual_off))[1]["code"] == -4067
    await bsim.binance("DELETE", "/fapi/v1/allOpenOrders", {"symbol": RISK_SYMBOL})
    assert (await bsim.binance("POST", "/fapi/v1/positionSide/dual", dual_off))[0] == 200
    assert (await bex.fetch_position_mode())["hedged"] is False
