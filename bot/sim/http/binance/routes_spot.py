"""Binance spot (``/api/v3``) on the simulator: the engine's spot markets (``bot.sim.spot``)
with Binance's spot wallet kept apart from the USDⓈ-M one, as on Binance; USDT moves between
them by ``POST /sapi/v1/asset/transfer`` (``MAIN_UMFUTURE`` / ``UMFUTURE_MAIN``).

Served: ping, time, exchangeInfo (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL),
ticker/24hr, ticker/price, ticker/bookTicker, account, order (POST MARKET or a LIMIT
marketable on arrival, ``quantity`` or ``quoteOrderQty``; GET; DELETE), openOrders, allOrders,
myTrades. Spot orders fill on arrival (no resting spot book): openOrders is empty and a cancel
answers -2011. The commission is paid in the asset received (no BNB discount). The transfer
and its history are ``routes_wallet``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.domain import OrderType, Side
from bot.sim.http.binance import params as prm
from bot.sim.http.binance.errors import (
    BAD_SYMBOL,
    CANCEL_REJECTED,
    NO_SUCH_ORDER,
    BinanceError,
    invalid,
    mandatory,
)
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.binance.routes_spot_market import (
    book_ticker,
    exchange_info,
    klines,
    ping,
    server_time,
    spot_symbol,
    ticker_24hr,
    ticker_price,
)
from bot.sim.http.binance.routes_trade import client_id
from bot.sim.http.binance.wire import num
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import dec
from bot.sim.spot import BASE_COIN, QUOTE_COIN, SPOT_ORDER_ID_PREFIX
from bot.sim.types import SimError, SimOrder, SimStatus, sim_id

# Binance spot codes the face answers with.
INSUFFICIENT = -2010  # NEW_ORDER_REJECTED ("Account has insufficient balance ...")
FILTER_FAILURE = -1013
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_STATUS = {
    SimStatus.FILLED: "FILLED",
    SimStatus.PARTIALLY_FILLED_CANCELED: "FILLED",  # quoteOrderQty: filled as far as it pays
    SimStatus.CANCELLED: "CANCELED",
    SimStatus.REJECTED: "REJECTED",
}


def spot_error(exc: SimError) -> BinanceError:
    """Engine spot refusals in Binance's spot words."""
    if exc.code == SimError.SPOT_INSUFFICIENT_BALANCE:
        return BinanceError(INSUFFICIENT, "Account has insufficient balance for requested action.")
    if exc.code == SimError.SPOT_DUPLICATE_LINK_ID:
        return BinanceError(INSUFFICIENT, "Duplicate order sent.")
    if exc.code in (SimError.SPOT_QTY_TOO_LOW, SimError.SPOT_TOO_MANY_DECIMALS):
        return BinanceError(FILTER_FAILURE, "Filter failure: LOT_SIZE")
    if exc.code == SimError.SPOT_PRICE_DECIMALS:
        return BinanceError(FILTER_FAILURE, "Filter failure: PRICE_FILTER")
    if exc.code == SimError.SPOT_VALUE_TOO_LOW:
        return BinanceError(FILTER_FAILURE, "Filter failure: NOTIONAL")
    if exc.code == SimError.SPOT_SYMBOL:
        return BinanceError(BAD_SYMBOL, "Invalid symbol.")
    return BinanceError(INSUFFICIENT, exc.msg)


# --------------------------------------------------------------------------- account


async def account(request: web.Request) -> web.Response:
    """GET /api/v3/account: the spot wallet (USDT and every coin held)."""
    ctx = ctx_of(request)
    eng = ctx.engine
    balances = [{"asset": "USDT", "free": dec(eng.account.spot_usdt), "locked": "0"}]
    balances += [
        {"asset": c, "free": dec(q), "locked": "0"} for c, q in sorted(eng.coin_balances().items())
    ]
    rate = int(eng.spot_fee * 10_000)
    return ok(
        {
            "makerCommission": rate, "takerCommission": rate, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": dec(eng.spot_fee), "taker": dec(eng.spot_fee),
                                "buyer": "0", "seller": "0"},
            "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": eng.now_ms, "accountType": "SPOT", "balances": balances,
            "permissions": ["SPOT"], "uid": 1,
        }
    )  # fmt: skip


# --------------------------------------------------------------------------- orders


def _status(o: SimOrder) -> str:
    return _STATUS.get(o.status, "NEW")


def order_row(ctx: SimContext, o: SimOrder) -> dict[str, Any]:
    """GET /api/v3/order's object."""
    quote = o.market_unit == QUOTE_COIN
    return {
        "symbol": o.symbol,
        "orderId": num(o.order_id),
        "orderListId": -1,
        "clientOrderId": o.order_link_id,
        "price": dec(o.price) if o.price is not None else "0",
        "origQty": dec(o.cum_exec_qty) if quote else dec(o.qty),
        "executedQty": dec(o.cum_exec_qty),
        "cummulativeQuoteQty": dec(o.cum_exec_value),
        "status": _status(o),
        "timeInForce": "GTC" if o.order_type is OrderType.MARKET else o.time_in_force,
        "type": "MARKET" if o.order_type is OrderType.MARKET else "LIMIT",
        "side": "BUY" if o.side is Side.BUY else "SELL",
        "stopPrice": "0",
        "icebergQty": "0",
        "time": o.created_ms,
        "updateTime": o.updated_ms,
        "isWorking": True,
        "workingTime": o.created_ms,
        "origQuoteOrderQty": dec(o.qty) if quote else "0",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def _fills(ctx: SimContext, o: SimOrder) -> list[dict[str, Any]]:
    return [
        {"price": dec(e.price), "qty": dec(e.qty), "commission": dec(e.fee),
         "commissionAsset": e.fee_currency, "tradeId": num(e.exec_id)}
        for e in ctx.engine.spot_executions
        if e.order_id == o.order_id
    ]  # fmt: skip


async def new_order(request: web.Request) -> web.Response:
    """POST /api/v3/order: MARKET (``quantity`` or ``quoteOrderQty``) or a marketable LIMIT."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    assert sym is not None
    side = _SIDES.get(str(prm.text(p, "side", required=True)))
    if side is None:
        raise invalid("side")
    otype = prm.text(p, "type", required=True)
    if otype not in ("MARKET", "LIMIT"):
        raise invalid("type", "the simulator's spot orders are MARKET or LIMIT")
    qty = prm.decimal(p, "quantity")
    quote = prm.decimal(p, "quoteOrderQty")
    if otype == "MARKET" and (qty is None) == (quote is None):
        raise mandatory("quantity")  # exactly one of quantity and quoteOrderQty
    if otype == "LIMIT" and (qty is None or quote is not None):
        raise mandatory("quantity")
    link = client_id(p, "newClientOrderId")
    try:
        o = ctx.engine.place_spot_order(
            sym, side, qty if qty is not None else Decimal(quote or 0),
            order_type=OrderType.LIMIT if otype == "LIMIT" else OrderType.MARKET,
            price=prm.decimal(p, "price", required=otype == "LIMIT"),
            order_link_id=link, time_in_force=prm.text(p, "timeInForce") or "GTC",
            market_unit=QUOTE_COIN if quote is not None else BASE_COIN,
        )  # fmt: skip
    except SimError as exc:
        raise spot_error(exc) from None
    row = order_row(ctx, o)
    kind = prm.text(p, "newOrderRespType") or "FULL"
    if kind == "ACK":
        return ok({k: row[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId")}
                  | {"transactTime": o.created_ms})  # fmt: skip
    row = {
        k: v
        for k, v in row.items()
        if k not in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty")
    }
    row["transactTime"] = o.created_ms
    if kind == "FULL":
        row["fills"] = _fills(ctx, o)
    return ok(row)


def _find(ctx: SimContext, p: prm.Params, sym: str) -> SimOrder | None:
    oid = prm.integer(p, "orderId")
    link = prm.text(p, "origClientOrderId")
    if oid is None and link is None:
        raise mandatory("orderId")
    eng = ctx.engine
    o = eng.get_spot_order(
        order_id=sim_id(SPOT_ORDER_ID_PREFIX, oid) if oid is not None else None,
        order_link_id=link,
    )
    return o if o is not None and o.symbol == sym else None


async def get_order(request: web.Request) -> web.Response:
    """GET /api/v3/order by orderId or origClientOrderId."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    assert sym is not None
    o = _find(ctx, p, sym)
    if o is None:
        raise BinanceError(NO_SUCH_ORDER, "Order does not exist.")
    return ok(order_row(ctx, o))


async def cancel_order(request: web.Request) -> web.Response:
    """DELETE /api/v3/order: every spot order is already final."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    assert sym is not None
    _find(ctx, p, sym)
    raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")


async def open_orders(request: web.Request) -> web.Response:
    """GET /api/v3/openOrders: none (spot orders fill on arrival)."""
    ctx, p = ctx_of(request), params_of(request)
    spot_symbol(ctx, p, required=False)
    return ok([])


async def all_orders(request: web.Request) -> web.Response:
    """GET /api/v3/allOrders (symbol required), oldest first."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    rows = [
        order_row(ctx, o)
        for o in ctx.engine.spot_orders
        if o.symbol == sym
        and (start is None or o.created_ms >= start)
        and (end is None or o.created_ms <= end)
    ]
    return ok(rows[-prm.limit(p, 500, 1000) :])


async def my_trades(request: web.Request) -> web.Response:
    """GET /api/v3/myTrades (symbol required), oldest first."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    oid = prm.integer(p, "orderId")
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    rows = [
        {"symbol": e.symbol, "id": num(e.exec_id), "orderId": num(e.order_id),
         "orderListId": -1, "price": dec(e.price), "qty": dec(e.qty),
         "quoteQty": dec(e.value), "commission": dec(e.fee),
         "commissionAsset": e.fee_currency, "time": e.ts, "isBuyer": e.side is Side.BUY,
         "isMaker": e.is_maker, "isBestMatch": True}
        for e in ctx.engine.spot_executions
        if e.symbol == sym
        and (oid is None or num(e.order_id) == oid)
        and (start is None or e.ts >= start)
        and (end is None or e.ts <= end)
    ]  # fmt: skip
    return ok(rows[-prm.limit(p, 500, 1000) :])


PUBLIC_PATHS = (
    "/api/v3/ping",
    "/api/v3/time",
    "/api/v3/exchangeInfo",
    "/api/v3/ticker/24hr",
    "/api/v3/ticker/price",
    "/api/v3/ticker/bookTicker",
    "/api/v3/klines",
)


def register(app: web.Application) -> None:
    """Add the spot routes."""
    r = app.router
    r.add_get("/api/v3/ping", ping)
    r.add_get("/api/v3/time", server_time)
    r.add_get("/api/v3/exchangeInfo", exchange_info)
    r.add_get("/api/v3/ticker/24hr", ticker_24hr)
    r.add_get("/api/v3/ticker/price", ticker_price)
    r.add_get("/api/v3/ticker/bookTicker", book_ticker)
    r.add_get("/api/v3/klines", klines)
    r.add_get("/api/v3/account", account)
    r.add_post("/api/v3/order", new_order)
    r.add_get("/api/v3/order", get_order)
    r.add_delete("/api/v3/order", cancel_order)
    r.add_get("/api/v3/openOrders", open_orders)
    r.add_get("/api/v3/allOrders", all_orders)
    r.add_get("/api/v3/myTrades", my_trades)
