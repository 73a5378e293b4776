"""Unmodified ccxt binanceusdm trades on the Binance face: a new account as Binance opens it,
orders, conditional orders through the algo service, positions, balance, trades, income."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ccxt.base.errors import (
    ArgumentsRequired,
    ExchangeError,
    MarginModeAlreadySet,
    OrderNotFound,
)

from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import START
from tests.simserver import SimHandle

RISK = "RISK/USDT:USDT"
BTC = "BTC/USDT:USDT"


def binance_liq(side: str, ep: Decimal, q: Decimal, lev: Decimal, mmr: Decimal) -> Decimal:
    """RISK.md, Binance USDⓈ-M: LP = (WB + cum − s·Q·EP) / (Q·MMR − s·Q), cum = 0."""
    s = 1 if side == "long" else -1
    wb = q * ep / lev
    return (wb - s * q * ep) / (q * mmr - s * q)


async def test_a_new_account_is_cross_one_way_20x(bex: Any) -> None:
    mode = await bex.fetch_margin_mode(BTC)
    assert mode["marginMode"] == "cross"
    assert (await bex.fetch_position_mode())["hedged"] is False
    lev = await bex.fetch_leverage(BTC)
    assert lev["longLeverage"] == 20  # Binance's default, not Bybit's 10x


async def test_margin_type_is_per_symbol(bex: Any, bsim: SimHandle) -> None:
    await bex.set_margin_mode("isolated", RISK)
    with pytest.raises(MarginModeAlreadySet):
        await bex.set_margin_mode("isolated", RISK)
    assert (await bex.fetch_margin_mode(RISK))["marginMode"] == "isolated"
    assert (await bex.fetch_margin_mode(BTC))["marginMode"] == "cross"  # untouched
    await bex.set_leverage(10, RISK)
    await bex.set_leverage(10, RISK)  # the same value again is no error on Binance
    await bex.create_order(RISK, "market", "buy", 25)
    with pytest.raises(ExchangeError, match="-4048"):  # a position: no switch
        await bex.set_margin_mode("cross", RISK)
    [pos] = await bex.fetch_positions([RISK])
    assert pos["marginMode"] == "isolated" and pos["contracts"] == 25
    # RISK.md's worked example at MMR 0.5 %: Binance's formula (90.4523, rounded up to the
    # tick) where the Bybit face says 90.50.
    lp = binance_liq("long", Decimal(100), Decimal(25), Decimal(10), Decimal("0.005"))
    assert (
        Decimal(str(pos["liquidationPrice"]))
        == Decimal("90.46")
        == lp.quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    )


async def test_orders_and_conditional_orders(bex: Any, bsim: SimHandle) -> None:
    await bex.set_margin_mode("isolated", BTC)
    await bex.set_leverage(5, BTC)
    buy = await bex.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "b-1"})
    assert buy["status"] == "closed" and buy["filled"] == 0.01 and buy["clientOrderId"] == "b-1"
    assert (await bex.fetch_order(buy["id"], BTC))["status"] == "closed"
    rest = await bex.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "l-1"})
    assert [o["id"] for o in await bex.fetch_open_orders(BTC)] == [rest["id"]]
    stop = await bex.create_order(
        BTC, "market", "sell", 0.01, None,
        {"triggerPrice": 30000, "reduceOnly": True, "clientOrderId": "s-1"},
    )  # fmt: skip
    # The stop is an algo order: the plain lists do not see it, the trigger lists do.
    assert [o["id"] for o in await bex.fetch_open_orders(BTC)] == [rest["id"]]
    trig = await bex.fetch_open_orders(BTC, params={"trigger": True})
    assert [(o["id"], o["triggerPrice"], o["reduceOnly"]) for o in trig] == [
        (stop["id"], 30000, True)
    ]
    assert (await bex.fetch_order(stop["id"], BTC, {"trigger": True}))["status"] == "open"
    # A stop the price has already crossed: Binance's -2021 (ExchangeError at a local URL).
    with pytest.raises(ExchangeError, match="-2021"):
        await bex.create_order(BTC, "market", "sell", 0.01, None, {"triggerPrice": 90000})
    await bex.cancel_order(stop["id"], BTC, {"trigger": True})
    assert (await bex.fetch_order(stop["id"], BTC, {"trigger": True}))["status"] == "canceled"
    await bex.cancel_all_orders(BTC)
    assert await bex.fetch_open_orders(BTC) == []
    trades = await bex.fetch_my_trades(BTC)
    assert [(t["order"], t["amount"]) for t in trades] == [(buy["id"], 0.01)]
    with pytest.raises(ArgumentsRequired):  # Binance's client refuses it without a symbol
        await bex.fetch_my_trades()


async def test_a_triggered_stop_fills_as_its_actual_order(bex: Any, bsim: SimHandle) -> None:
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    await bex.create_order(BTC, "market", "buy", 0.01)
    price = eng.price_float("BTCUSDT")
    trigger = round(price * 0.999, 1)
    stop = await bex.create_order(
        BTC, "market", "sell", 0.01, None, {"triggerPrice": trigger, "reduceOnly": True}
    )
    for _ in range(48):  # until the random walk crosses the trigger
        await bsim.advance(1)
        if not eng.open_orders("BTCUSDT"):
            break
    algo = await bex.fetch_order(stop["id"], BTC, {"trigger": True})
    # Forwarded to the matching engine as an order of its own ("ai" on Binance): a new id.
    actual_id = algo["info"]["actualOrderId"]
    assert algo["status"] == "closed" and actual_id not in ("", stop["id"])
    actual = await bex.fetch_order(actual_id, BTC)
    assert actual["id"] == actual_id
    assert actual["status"] == "closed" and actual["filled"] == 0.01
    assert actual["clientOrderId"] == stop["clientOrderId"]
    assert await bex.fetch_positions([BTC]) == []
    # Its fills carry the actual order's id; asked by the algo id, Binance finds no fills.
    fills = await bex.fetch_my_trades(BTC, params={"orderId": actual_id})
    assert [(t["order"], t["amount"]) for t in fills] == [(actual_id, 0.01)]
    assert {t["order"] for t in await bex.fetch_my_trades(BTC)} >= {actual_id}
    assert await bex.fetch_my_trades(BTC, params={"orderId": stop["id"]}) == []
    with pytest.raises(OrderNotFound):  # nor is the algo id a plain order's
        await bex.fetch_order(stop["id"], BTC)


async def test_balance_reports_unrealised_pnl(bex: Any, bsim: SimHandle) -> None:
    await bex.create_order(BTC, "market", "buy", 0.05)
    await bsim.advance(3)
    st = await bsim.state()
    bal = await bex.fetch_balance()
    info = bal["info"]
    upnl = Decimal(info["totalUnrealizedProfit"])
    assert upnl != 0
    assert Decimal(info["totalMarginBalance"]) == Decimal(info["totalWalletBalance"]) + upnl
    assert Decimal(str(bal["USDT"]["total"])) == Decimal(info["totalMarginBalance"])
    assert Decimal(info["totalWalletBalance"]) == Decimal(st["balances"]["USDT"]["walletBalance"])


async def test_income_lists_funding_pnl_fees_and_transfers(bex: Any, bsim: SimHandle) -> None:
    await bex.create_order(RISK, "market", "buy", 30)
    await bsim.advance(8)  # through the 8h settlement (RISKUSDT's rates are zero)
    await bex.create_order(RISK, "market", "sell", 30, params={"reduceOnly": True})
    await bsim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "-100"})
    funding = await bex.fetch_funding_history(RISK)
    assert [f["timestamp"] for f in funding] == [START + 8 * HOUR_MS]
    ledger = await bex.fetch_ledger("USDT")
    kinds = [e["info"]["incomeType"] for e in ledger]
    assert kinds == ["COMMISSION", "FUNDING_FEE", "COMMISSION", "TRANSFER"]
    assert ledger[-1]["amount"] == 100 and ledger[-1]["direction"] == "out"


async def test_client_ids_are_unique_among_open_orders_only(bex: Any, bsim: SimHandle) -> None:
    await bex.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "dup"})
    with pytest.raises(ExchangeError, match="-4116"):
        await bex.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "dup"})
    await bex.cancel_all_orders(BTC)
    # Closed: Binance takes the id again and places a second order ("unique among open").
    again = await bex.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "dup"})
    assert again["clientOrderId"] == "dup" and again["status"] == "open"
    assert (await bex.fetch_order(None, BTC, {"clientOrderId": "dup"}))["id"] == again["id"]


async def test_liquidation_costs_the_margin_and_shows_in_income(bex: Any, bsim: SimHandle) -> None:
    eth = "ETH/USDT:USDT"
    await bex.set_margin_mode("isolated", eth)
    await bex.set_leverage(50, eth)
    await bex.create_order(eth, "market", "buy", 1)
    [pos] = await bex.fetch_positions([eth])
    margin = Decimal(pos["info"]["isolatedWallet"])
    liq_price = pos["liquidationPrice"]
    for _ in range(100):
        await bsim.advance(1)
        if not await bex.fetch_positions([eth]):
            break
    else:
        pytest.fail("a 50x long on a random walk was never liquidated")
    trades = await bex.fetch_my_trades(eth)
    closing = trades[-1]["info"]
    # The liquidation trade at the mark that triggered it, its PnL there; the rest of the
    # margin goes to the insurance fund (INSURANCE_CLEAR): the loss is exactly the margin.
    assert closing["side"] == "SELL" and float(closing["price"]) <= liq_price
    income = [i for i in await bex.fetch_ledger("USDT") if i["info"]["symbol"] == "ETHUSDT"]
    kinds = {i["info"]["incomeType"]: Decimal(i["info"]["income"]) for i in income}
    assert kinds["REALIZED_PNL"] == Decimal(closing["realizedPnl"])
    assert kinds["REALIZED_PNL"] + kinds["INSURANCE_CLEAR"] == -margin


async def test_consistency_lag_holds_trades_back(bex: Any, bsim: SimHandle) -> None:
    await bsim.set_faults([{"kind": "consistency_lag", "endpoint": "/fapi/v1/userTrades",
                            "ms": 60_000}])  # fmt: skip
    await bex.create_order(BTC, "market", "buy", 0.01)
    assert len(await bex.fetch_positions([BTC])) == 1  # the position is there at once...
    assert await bex.fetch_my_trades(BTC) == []  # ...its fill not yet
    await bsim.set_faults([])
    assert len(await bex.fetch_my_trades(BTC)) == 1
