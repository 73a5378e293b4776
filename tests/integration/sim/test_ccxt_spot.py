"""Unmodified ccxt bybit (``defaultType`` spot) trades the simulator's spot markets over HTTP:
markets, tickers, market orders in base and quote units, fees in the coin received, the
unified wallet's coins, executions, order queries and Bybit's spot error codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import pytest
from ccxt.base.errors import BadRequest, InsufficientFunds, InvalidOrder, OrderNotFound

from tests.integration.sim.test_shapes import _fixture, assert_same_shape
from tests.simserver import SimHandle, sim_subprocess

BTC = "BTC/USDT"


@pytest.fixture
async def spot(sim: SimHandle) -> AsyncIterator[Any]:
    client = sim.ccxt(
        options={"defaultType": "spot", "fetchMarkets": {"types": ["spot", "linear"]}}
    )
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


def _price(sim: SimHandle, rounding: str) -> Decimal:
    assert sim.ctx is not None
    eng = sim.ctx.engine
    spec = eng.spot_market("BTCUSDT")
    px = eng.spot_price("BTCUSDT")
    return (px / spec.tick).to_integral_value(rounding=rounding) * spec.tick


async def test_spot_markets_and_tickers(spot: Any, sim: SimHandle) -> None:
    m = spot.market(BTC)
    assert m["spot"] and not m["contract"] and m["base"] == "BTC" and m["quote"] == "USDT"
    assert sim.ctx is not None
    spec = sim.ctx.engine.spot_market("BTCUSDT")
    assert m["precision"]["amount"] == float(spec.qty_step)
    assert m["limits"]["cost"]["min"] == 5
    assert "BTC/USDT:USDT" in spot.markets  # the perpetual is still there
    t = await spot.fetch_ticker(BTC)
    assert t["symbol"] == BTC and t["last"] == float(_price(sim, ROUND_FLOOR))
    assert t["info"].get("openInterest") is None  # a spot row


async def test_market_buy_and_sell_settle_in_coins_and_usdt(spot: Any, sim: SimHandle) -> None:
    assert sim.ctx is not None
    eng = sim.ctx.engine
    usdt0 = eng.wallet_balance
    buy = await spot.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "s-1"})
    order = await spot.fetch_order(buy["id"], BTC)
    ask = _price(sim, ROUND_CEILING)
    assert order["status"] == "closed" and order["filled"] == 0.01
    assert order["average"] == float(ask) and order["clientOrderId"] == "s-1"
    assert order["fee"]["currency"] == "BTC" and order["fee"]["cost"] == pytest.approx(0.00001)
    bal = await spot.fetch_balance()
    assert bal["BTC"]["total"] == pytest.approx(0.00999)
    assert Decimal(str(bal["USDT"]["total"])) == usdt0 - Decimal("0.01") * ask
    trades = await spot.fetch_my_trades(BTC)
    assert len(trades) == 1 and trades[0]["order"] == buy["id"]
    assert trades[0]["fee"]["currency"] == "BTC" and trades[0]["amount"] == 0.01
    sell = await spot.create_order(BTC, "market", "sell", 0.005)
    s = await spot.fetch_order(sell["id"], BTC)
    assert s["status"] == "closed" and s["fee"]["currency"] == "USDT"
    assert (await spot.fetch_balance())["BTC"]["total"] == pytest.approx(0.00499)
    closed = await spot.fetch_closed_orders(BTC)
    assert {o["id"] for o in closed} == {buy["id"], sell["id"]}
    assert await spot.fetch_open_orders(BTC) == []
    assert eng.positions == {} and eng.executions == []  # nothing on the derivatives side


async def test_a_market_buy_with_cost_spends_usdt(spot: Any, sim: SimHandle) -> None:
    placed = await spot.create_market_buy_order_with_cost(BTC, 100)
    assert sim.ctx is not None
    o = sim.ctx.engine.get_spot_order(order_id=placed["id"])
    assert o is not None and o.market_unit == "quoteCoin" and o.qty == 100
    assert 100 - float(o.cum_exec_value) < float(_price(sim, ROUND_CEILING)) * 1e-6 + 1e-9
    order = await spot.fetch_order(placed["id"], BTC)
    assert order["status"] == "closed" and order["filled"] == float(o.cum_exec_qty)


async def test_spot_refusals_map_to_ccxt_errors(spot: Any) -> None:
    with pytest.raises(InsufficientFunds):
        await spot.create_order(BTC, "market", "sell", 1)
    with pytest.raises(InsufficientFunds):
        await spot.create_order(BTC, "market", "buy", 1000)
    with pytest.raises(InvalidOrder):
        await spot.create_order(BTC, "market", "buy", 0.00001)  # below 5 USDT
    with pytest.raises(OrderNotFound):
        await spot.cancel_order("nope", BTC)
    ticker = await spot.fetch_ticker(BTC)
    with pytest.raises(BadRequest, match="not marketable"):
        await spot.create_order(BTC, "limit", "buy", 0.01, ticker["last"] * 0.9)


async def test_a_marketable_limit_fills_at_once_capped_at_its_price(
    spot: Any, sim: SimHandle
) -> None:
    ask = _price(sim, ROUND_CEILING)
    placed = await spot.create_order(BTC, "limit", "buy", 0.01, float(ask * 2))
    order = await spot.fetch_order(placed["id"], BTC)
    assert order["status"] == "closed" and order["average"] == float(ask)


async def test_spot_replies_have_the_captured_shapes(sim: SimHandle) -> None:
    """Order and execution rows carry every key (and JSON type) of ccxt's spot captures."""
    spot_q = {"category": "spot", "symbol": "BTCUSDT"}
    status, body = await sim.bybit(
        "POST", "/v5/order/create", {**spot_q, "side": "Buy", "orderType": "Market", "qty": "50"}
    )
    assert status == 200 and body["retCode"] == 0, body
    oid = body["result"]["orderId"]
    status, got = await sim.bybit("GET", "/v5/order/realtime", {**spot_q, "orderId": oid})
    assert got["result"]["list"][0]["orderStatus"] == "PartiallyFilledCanceled"
    assert got["result"]["list"][0]["marketUnit"] == "quoteCoin"
    assert_same_shape(_fixture("fetchOrder", "fetch spot buy closed order"), got, "order")
    status, got = await sim.bybit("GET", "/v5/execution/list", spot_q)
    assert_same_shape(_fixture("fetchMyTrades", "spot private trade"), got, "execution")
    status, got = await sim.bybit("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    coins = {c["coin"]: c for c in got["result"]["list"][0]["coin"]}
    assert set(coins) == {"USDT", "BTC"}
    ref = _fixture("fetchBalance", "balance after availableToWithdraw update")
    assert_same_shape(ref["result"]["list"][0]["coin"][1], coins["BTC"], "coin")


async def test_rotor_sim_serve_trades_a_1000x_contracts_spot_coin() -> None:
    """`rotor sim serve` on the bundled sample, as a user runs it: ccxt buys PEPE spot (the
    1000PEPEUSDT contract's coin, priced per coin) and sees the coins in its balance."""
    codes: list[int] = []
    async with sim_subprocess(
        ["--speed", "0", "--start", "2026-01-05T00:00:00+00:00"], exit_codes=codes
    ) as sim:
        ex = sim.ccxt(options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}})
        try:
            await ex.load_markets()
            assert "PEPE/USDT" in ex.markets and "1000PEPE/USDT" not in ex.markets
            t = await ex.fetch_ticker("PEPE/USDT")
            assert 0 < t["last"] < 0.001  # per coin, not per 1000
            placed = await ex.create_market_buy_order_with_cost("PEPE/USDT", 50)
            order = await ex.fetch_order(placed["id"], "PEPE/USDT")
            assert order["status"] == "closed" and order["cost"] <= 50
            bal = await ex.fetch_balance()
            assert bal["PEPE"]["total"] == pytest.approx(order["filled"] * 0.999)
            assert bal["USDT"]["total"] == pytest.approx(10000 - order["cost"])
        finally:
            await ex.close()
    assert codes == [0]
