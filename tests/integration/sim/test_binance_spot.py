"""Unmodified ccxt ``binance`` (spot) against the simulator's Binance face: exchangeInfo,
tickers, the spot wallet apart from the USDⓈ-M one (a transfer moves USDT), market orders in
base and quote units with the commission in the asset received, trades, Binance's codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ccxt.base.errors import BadRequest, InsufficientFunds, OrderNotFound

from bot.domain import Side
from tests.simserver import SimHandle

BTC = "BTC/USDT"


@pytest.fixture
async def spot(bsim: SimHandle) -> AsyncIterator[Any]:
    client = bsim.binance_spot()
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


async def test_markets_tickers_and_the_separate_spot_wallet(spot: Any, bsim: SimHandle) -> None:
    m = spot.market(BTC)
    assert m["spot"] and m["base"] == "BTC" and m["limits"]["cost"]["min"] == 5
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    assert m["precision"]["amount"] == float(eng.spot_market("BTCUSDT").qty_step)
    t = await spot.fetch_ticker(BTC)
    assert t["last"] > 0 and t["bid"] <= t["last"] <= t["ask"]
    bal = await spot.fetch_balance()
    assert bal["USDT"]["total"] == 0  # a new spot wallet; the 10,000 USDT are in USDⓈ-M
    with pytest.raises(InsufficientFunds):
        await spot.create_order(BTC, "market", "buy", 0.001)
    await spot.transfer("USDT", 1000, "linear", "spot")
    assert (await spot.fetch_balance())["USDT"]["free"] == 1000
    assert eng.wallet_balance == 9000  # the futures wallet paid it


async def test_market_orders_fees_in_the_asset_received(spot: Any, bsim: SimHandle) -> None:
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    await spot.transfer("USDT", 2000, "linear", "spot")
    buy = await spot.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "b-1"})
    assert buy["status"] == "closed" and buy["filled"] == 0.01 and buy["clientOrderId"] == "b-1"
    ask = (eng.spot_fill_price("BTCUSDT", Side.BUY)).quantize(Decimal("1e-8"))
    assert buy["average"] == float(ask)
    assert buy["fee"]["currency"] == "BTC" and buy["fee"]["cost"] == pytest.approx(0.00001)
    bal = await spot.fetch_balance()
    assert bal["BTC"]["total"] == pytest.approx(0.00999)
    assert bal["USDT"]["total"] == pytest.approx(2000 - 0.01 * float(ask))
    got = await spot.fetch_order(buy["id"], BTC)
    assert got["status"] == "closed" and got["filled"] == 0.01
    cost = await spot.create_market_buy_order_with_cost(BTC, 100)
    assert cost["status"] == "closed" and cost["cost"] <= 100 and cost["filled"] > 0
    sell = await spot.create_order(BTC, "market", "sell", 0.005)
    assert sell["fee"]["currency"] == "USDT"
    trades = await spot.fetch_my_trades(BTC)
    assert [t["order"] for t in trades] == [buy["id"], cost["id"], sell["id"]]
    assert {o["id"] for o in await spot.fetch_orders(BTC)} == {buy["id"], cost["id"], sell["id"]}
    assert await spot.fetch_open_orders(BTC) == []
    assert eng.positions == {} and eng.executions == []  # the USDⓈ-M side saw nothing
    await spot.transfer("USDT", 100, "spot", "linear")
    assert eng.wallet_balance == 8100


async def test_binance_spot_refusals(spot: Any, bsim: SimHandle) -> None:
    await spot.transfer("USDT", 100, "linear", "spot")
    with pytest.raises(InsufficientFunds):
        await spot.create_order(BTC, "market", "sell", 1)
    with pytest.raises(BadRequest, match="NOTIONAL"):  # ccxt maps -1013 to BadRequest
        await spot.create_order(BTC, "market", "buy", 0.00001)
    with pytest.raises(OrderNotFound):
        await spot.fetch_order("12345", BTC)
    placed = await spot.create_order(BTC, "market", "buy", 0.001)
    with pytest.raises(OrderNotFound):
        await spot.cancel_order(placed["id"], BTC)
    assert bsim.ctx is not None
    ask = bsim.ctx.engine.spot_fill_price("BTCUSDT", Side.BUY)
    limit = await spot.create_order(BTC, "limit", "buy", 0.0001, float(ask * 2))
    assert limit["status"] == "closed" and limit["average"] == float(ask)


async def test_transfer_ids_and_the_transfer_history(spot: Any, bsim: SimHandle) -> None:
    """Each transfer answers its own ``tranId``; the history (``GET /sapi/v1/asset/transfer``,
    one type a read, newest first) lists them, as ccxt ``fetch_transfers`` reads it."""
    assert await spot.fetch_transfers("USDT", None, None, {"fromAccount": "linear"}) == []
    first = await spot.transfer("USDT", 300, "linear", "spot")
    second = await spot.transfer("USDT", 200, "linear", "spot")
    back = await spot.transfer("USDT", 50, "spot", "linear")
    ids = [first["id"], second["id"], back["id"]]
    assert len(set(ids)) == 3 and all(i for i in ids)
    into = await spot.fetch_transfers("USDT", None, None, {"fromAccount": "linear"})
    assert [(t["id"], t["amount"], t["status"]) for t in into] == [
        (second["id"], 200, "ok"),
        (first["id"], 300, "ok"),
    ]
    out = await spot.fetch_transfers("USDT", None, None, {"fromAccount": "spot"})
    assert [(t["id"], t["amount"]) for t in out] == [(back["id"], 50)]
    page = await spot.sapiGetAssetTransfer({"type": "UMFUTURE_MAIN", "size": 1, "current": 2})
    assert page["total"] == 2 and [r["tranId"] for r in page["rows"]] == [int(first["id"])]
    assert bsim.ctx is not None
    assert [t.tran_id for t in bsim.ctx.engine.spot_transfers] == [int(i) for i in ids]
    with pytest.raises(InsufficientFunds):  # more than the spot wallet holds
        await spot.transfer("USDT", 10_000, "spot", "linear")


async def test_spot_weights_count_apart_from_the_futures_ones(
    spot: Any, bex: Any, bsim: SimHandle
) -> None:
    """Spot (api.binance.com) has its own IP weight limit: Binance's weights per endpoint,
    counted apart from ``/fapi``'s; the transfer weighs 900 on the account's limit."""
    await bex.fetch_balance()
    futures_used = int(bex.last_response_headers["X-MBX-USED-WEIGHT-1M"])
    await spot.fetch_balance()  # GET /api/v3/account: 20
    used = int(spot.last_response_headers["X-MBX-USED-WEIGHT-1M"])
    await spot.fetch_balance()
    assert int(spot.last_response_headers["X-MBX-USED-WEIGHT-1M"]) == used + 20
    await bex.fetch_balance()
    assert int(bex.last_response_headers["X-MBX-USED-WEIGHT-1M"]) == futures_used + 5
    await spot.transfer("USDT", 100, "linear", "spot")
    assert spot.last_response_headers["X-SAPI-USED-UID-WEIGHT-1M"] == "900"
    await spot.create_order(BTC, "market", "buy", 0.001)
    assert spot.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert spot.last_response_headers["X-MBX-ORDER-COUNT-1D"] == "1"
