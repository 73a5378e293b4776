"""Binance USDⓈ-M order endpoints: plain orders, conditional (algo) orders, account trades.

Conditional orders go through the algo service (``/fapi/v1/algoOrder``), as on Binance since
its migration; ``/fapi/v1/order`` refuses them with -4120, as Binance does. In hedge mode an
order names its ``positionSide`` (LONG/SHORT) and may not send ``reduceOnly`` (-1106).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web

from bot.domain import OrderType, Side
from bot.sim.http.binance import account_views, views
from bot.sim.http.binance import params as prm
from bot.sim.http.binance.errors import (
    CANCEL_REJECTED,
    ILLEGAL_CHARS,
    INVALID_ORDER_TYPE,
    LOOKUP_INTERVAL_TOO_BIG,
    NO_SUCH_ORDER,
    PARAM_NOT_REQUIRED,
    POSITION_SIDE_MISMATCH,
    BinanceError,
    invalid,
    mandatory,
)
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.binance.wire import num, order_uuid
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.types import SimOrder

WEEK_MS = 7 * 86_400_000
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
GENERATED_ID = re.compile(r"^(?:web_|autoclose-|delivery-)(\d+)$")
CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
_TIF = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_NOT_MODELLED = ("closePosition", "priceMatch", "goodTillDate", "activationPrice", "callbackRate")


def client_id(p: prm.Params, *names: str) -> str | None:
    for name in names:
        v = prm.text(p, name)
        if v is not None:
            if not CLIENT_ID.match(v):
                raise BinanceError(
                    ILLEGAL_CHARS,
                    f"Illegal characters found in parameter '{name}'; legal range is "
                    r"'^[\.A-Z\:/a-z0-9_-]{1,36}$'.",
                )
            return v
    return None


def _position_idx(ctx: SimContext, sym: str, p: prm.Params) -> int:
    """0 (BOTH) in one-way mode, 1 (LONG) / 2 (SHORT) in hedge mode (-4061 otherwise)."""
    ps = prm.text(p, "positionSide") or "BOTH"
    if ctx.engine.is_hedge(sym):
        if ps not in ("LONG", "SHORT"):
            raise BinanceError(
                POSITION_SIDE_MISMATCH, "Order's position side does not match user's setting."
            )
        if prm.text(p, "reduceOnly") is not None:
            raise BinanceError(PARAM_NOT_REQUIRED, "Parameter 'reduceOnly' sent when not required.")
        return 1 if ps == "LONG" else 2
    if ps != "BOTH":
        raise BinanceError(
            POSITION_SIDE_MISMATCH, "Order's position side does not match user's setting."
        )
    return 0


def common(ctx: SimContext, p: prm.Params) -> tuple[str, Side, int]:
    sym = prm.symbol(ctx, p)
    assert sym is not None
    side = _SIDES[prm.choice(p, "side", tuple(_SIDES))]
    for key in _NOT_MODELLED:
        if prm.text(p, key) not in (None, "false", "NONE", "0"):
            raise invalid(key, "not modelled by the simulator")
    return sym, side, _position_idx(ctx, sym, p)


def place_plain(ctx: SimContext, p: prm.Params) -> SimOrder:
    """A LIMIT or MARKET order (conditional types belong to the algo endpoint)."""
    otype = prm.text(p, "type", required=True)
    if otype in CONDITIONAL:
        raise BinanceError(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API "
            "endpoints instead.",
        )
    if otype not in ("LIMIT", "MARKET"):
        raise BinanceError(INVALID_ORDER_TYPE, "Invalid orderType.")
    sym, side, idx = common(ctx, p)
    quantity = prm.decimal(p, "quantity", required=True)
    assert quantity is not None
    tif = "GTC"
    price = None
    if otype == "LIMIT":
        tif_word = prm.text(p, "timeInForce", required=True)
        if tif_word not in _TIF:
            raise BinanceError(-1115, "Invalid timeInForce.")
        tif = _TIF[tif_word]
        price = prm.decimal(p, "price", required=True)
    elif prm.text(p, "price") is not None:
        raise BinanceError(PARAM_NOT_REQUIRED, "Parameter 'price' sent when not required.")
    return ctx.engine.place_order(
        sym,
        side,
        OrderType.LIMIT if otype == "LIMIT" else OrderType.MARKET,
        quantity,
        price=price,
        reduce_only=bool(prm.boolean(p, "reduceOnly")),
        order_link_id=client_id(p, "newClientOrderId"),
        time_in_force=tif,
        position_idx=idx,
    )


def find(
    ctx: SimContext, sym: str | None, p: prm.Params, id_key: str, client_key: str
) -> SimOrder | None:
    """The order named by ``id_key`` (a Binance id) or ``client_key`` (a client id), of
    ``sym`` when given (-1102 when neither is sent)."""
    n = prm.integer(p, id_key)
    client = prm.text(p, client_key)
    if n is None and client is None:
        raise mandatory(f"{id_key}' or '{client_key}")
    eng = ctx.engine
    if n is not None:
        plain = id_key == "orderId"  # a plain (or actual) order's id, not an algoId
        o = eng.get_order(order_id=views.engine_id_of_plain(n) if plain else order_uuid(n))
        if o is not None and plain and views.plain_id(o) != n:
            o = None  # an algo order's own number is not an order id
        if o is not None and client is not None and views.client_id(o) != client:
            o = None
    else:
        assert client is not None
        o = eng.get_order(order_link_id=client)
        m = GENERATED_ID.match(client)
        if o is None and m:
            o = eng.get_order(order_id=order_uuid(int(m.group(1))))
            o = o if o is not None and views.client_id(o) == client else None
    if o is None or (sym is not None and o.symbol != sym):
        return None
    return o


async def order_post(request: web.Request) -> web.Response:
    """POST /fapi/v1/order: a LIMIT or MARKET order."""
    ctx = ctx_of(request)
    return ok(views.order_row(ctx, place_plain(ctx, params_of(request))))


async def order_get(request: web.Request) -> web.Response:
    """GET /fapi/v1/order: any plain order by orderId or origClientOrderId (-2013)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    o = find(ctx, sym, p, "orderId", "origClientOrderId")
    if o is None or not views.shows_as_plain(o) or not seen(ctx, request.path, o):
        raise BinanceError(NO_SUCH_ORDER, "Order does not exist.")
    return ok(views.order_row(ctx, o))


async def open_order_get(request: web.Request) -> web.Response:
    """GET /fapi/v1/openOrder: an open plain order (-2013 when it is not open)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    o = find(ctx, sym, p, "orderId", "origClientOrderId")
    if o is None or views.is_algo(o) or not o.is_open:
        raise BinanceError(NO_SUCH_ORDER, "Order does not exist.")
    return ok(views.order_row(ctx, o))


async def order_delete(request: web.Request) -> web.Response:
    """DELETE /fapi/v1/order: cancel an open plain order (-2011 when unknown or closed)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    o = find(ctx, sym, p, "orderId", "origClientOrderId")
    if o is None or views.is_algo(o) or not o.is_open:
        raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")
    ctx.engine.cancel_order(sym, order_id=o.order_id)
    return ok(views.order_row(ctx, o))


async def open_orders(request: web.Request) -> web.Response:
    """GET /fapi/v1/openOrders: open plain orders (of one symbol, or all)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    rows = [
        views.order_row(ctx, o)
        for o in ctx.engine.open_orders(sym)
        if not views.is_algo(o) and seen(ctx, request.path, o)
    ]
    return ok(rows)


async def cancel_all_open(request: web.Request) -> web.Response:
    """DELETE /fapi/v1/allOpenOrders: cancel the symbol's open plain orders (not the algo
    orders, as on Binance)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    for o in ctx.engine.open_orders(sym):
        if not views.is_algo(o):
            ctx.engine.cancel_order(o.symbol, order_id=o.order_id)
    return ok({"code": 200, "msg": "The operation of cancel all open order is done."})


def window(p: prm.Params, now: int) -> tuple[int, int]:
    """[startTime, endTime] of a history query: the last 7 days by default, at most 7 days
    (-1127)."""
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    if start is None and end is None:
        return now - WEEK_MS, now
    if start is None:
        return end - WEEK_MS, end
    if end is None:
        return start, start + WEEK_MS
    if end - start > WEEK_MS:
        raise BinanceError(
            LOOKUP_INTERVAL_TOO_BIG, "More than 7 days between startTime and endTime."
        )
    return start, end


def seen(ctx: SimContext, path: str, o: SimOrder) -> bool:
    """Whether ``path`` shows ``o`` yet (consistency_lag holds new orders back; ``seq`` is
    an order's place in the engine's list)."""
    return o.seq <= ctx.visible(path, "order")


def order_history(
    request: web.Request, id_key: str, keep: Callable[[SimOrder], bool]
) -> list[SimOrder]:
    """The symbol's orders ``keep`` selects, oldest first, by the Binance id ``id_key`` (≥)
    or within a ≤ 7-day window (the last 7 days by default); ``limit`` of them."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    limit = prm.limit(p, 500, 1000)
    from_id = prm.integer(p, id_key)
    shown = ctx.engine.orders[: ctx.visible(request.path, "order")]
    pool = [o for o in shown if o.symbol == sym and keep(o)]
    id_of = views.plain_id if id_key == "orderId" else (lambda o: num(o.order_id))
    if from_id is not None:
        pool = [o for o in pool if id_of(o) >= from_id]
    else:
        lo, hi = window(p, ctx.engine.now_ms)
        pool = [o for o in pool if lo <= o.created_ms <= hi]
    pool.sort(key=id_of)
    return pool[:limit]


async def all_orders(request: web.Request) -> web.Response:
    """GET /fapi/v1/allOrders: the symbol's plain orders (and actual orders of triggered
    conditional ones)."""
    ctx = ctx_of(request)
    orders = order_history(request, "orderId", views.shows_as_plain)
    return ok([views.order_row(ctx, o) for o in orders])


async def user_trades(request: web.Request) -> web.Response:
    """GET /fapi/v1/userTrades: the symbol's fills, oldest first, from ``fromId`` or within a
    ≤ 7-day window (the last 7 days by default); a symbol is required, as on Binance."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    limit = prm.limit(p, 500, 1000)
    from_id = prm.integer(p, "fromId")
    oid = prm.integer(p, "orderId")
    execs = ctx.engine.executions[: ctx.visible(request.path, "exec")]
    pool = [e for e in execs if e.symbol == sym]
    if oid is not None:  # an actual order's fills by its own id; an algoId finds none
        engine_id = views.engine_id_of_plain(oid)
        o = ctx.engine.get_order(order_id=engine_id)
        if o is not None and views.plain_id(o) != oid:
            engine_id = ""
        pool = [e for e in pool if e.order_id == engine_id]
    if from_id is not None:
        pool = [e for e in pool if num(e.exec_id) >= from_id]
    elif oid is None:
        lo, hi = window(p, ctx.engine.now_ms)
        pool = [e for e in pool if lo <= e.ts <= hi]
    return ok([account_views.trade_row(ctx, e) for e in pool[:limit]])


def amend(ctx: SimContext, p: prm.Params) -> SimOrder:
    """Modify an open LIMIT order's price and quantity (PUT /fapi/v1/order); an amend into
    the market fills like a new marketable limit (-5027 when nothing changes)."""
    sym = prm.symbol(ctx, p)
    assert sym is not None
    o = find(ctx, sym, p, "orderId", "origClientOrderId")
    if o is None or views.is_algo(o) or not o.is_open:
        raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")
    if o.order_type is not OrderType.LIMIT:
        raise invalid("orderId", "only LIMIT orders can be modified")
    if _SIDES[prm.choice(p, "side", tuple(_SIDES))] is not o.side:
        raise invalid("side", "must be the order's side")
    quantity = prm.decimal(p, "quantity", required=True)
    price = prm.decimal(p, "price", required=True)
    if quantity == o.qty and price == o.price:
        raise BinanceError(-5027, "No need to modify the order.")
    return ctx.engine.amend_order(sym, order_id=o.order_id, qty=quantity, price=price)


async def order_put(request: web.Request) -> web.Response:
    """PUT /fapi/v1/order: modify a LIMIT order."""
    ctx = ctx_of(request)
    return ok(views.order_row(ctx, amend(ctx, params_of(request))))


def register(app: web.Application) -> None:
    """Add the order routes."""
    r = app.router
    r.add_post("/fapi/v1/order", order_post)
    r.add_put("/fapi/v1/order", order_put)
    r.add_get("/fapi/v1/order", order_get)
    r.add_delete("/fapi/v1/order", order_delete)
    r.add_get("/fapi/v1/openOrder", open_order_get)
    r.add_get("/fapi/v1/openOrders", open_orders)
    r.add_delete("/fapi/v1/allOpenOrders", cancel_all_open)
    r.add_get("/fapi/v1/allOrders", all_orders)
    r.add_get("/fapi/v1/userTrades", user_trades)
