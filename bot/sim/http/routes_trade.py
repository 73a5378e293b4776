"""Order endpoints: create, cancel, cancel-all, realtime (open + recent) and history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.domain import OrderType, Side, TriggerBy
from bot.sim.http import views
from bot.sim.http.context import SimContext, ctx_of, ok, params_of
from bot.sim.http.fmt import (
    MAX_LINK_ID,
    PARAM_ERROR,
    BybitError,
    bool_param,
    dec_param,
    int_param,
    limit_param,
    page,
)
from bot.sim.http.routes_market import symbol_of
from bot.sim.types import SimOrder

RECENT_CLOSED = 500  # Bybit's order/realtime also answers for the last 500 closed orders
_SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}
_TRIGGER_BY = {
    "LastPrice": TriggerBy.LAST,
    "MarkPrice": TriggerBy.MARK,
    "IndexPrice": TriggerBy.MARK,
}
_UNSUPPORTED = ("takeProfit", "stopLoss", "trailingStop", "tpslMode", "slOrderType", "tpOrderType")


def require_linear(p: dict[str, Any]) -> None:
    """Trading endpoints only know category=linear."""
    cat = p.get("category")
    if cat != "linear":
        raise BybitError(
            PARAM_ERROR, f"params error: category must be 'linear' in the simulator, got {cat!r}"
        )


def _order_args(ctx: SimContext, p: dict[str, Any]) -> dict[str, Any]:
    sym = symbol_of(ctx, p)
    side = _SIDES.get(str(p.get("side")))
    if side is None:
        raise BybitError(
            PARAM_ERROR, f"params error: side must be Buy or Sell, got {p.get('side')!r}"
        )
    otype = p.get("orderType")
    if otype not in ("Market", "Limit"):
        raise BybitError(
            PARAM_ERROR, f"params error: orderType must be Market or Limit, got {otype!r}"
        )
    for key in _UNSUPPORTED:
        if p.get(key) not in (None, "", "0"):
            raise BybitError(PARAM_ERROR, f"params error: {key} is not supported by the simulator")
    pidx = int_param(p, "positionIdx", 0)
    if pidx != 0:
        raise BybitError(PARAM_ERROR, "position idx not match position mode (one-way only)")
    tif = p.get("timeInForce") or "GTC"
    if otype == "Limit" and tif != "GTC":
        raise BybitError(
            PARAM_ERROR, f"params error: timeInForce {tif} is not supported (GTC only)"
        )
    link = str(p.get("orderLinkId") or "")
    if len(link) > MAX_LINK_ID:
        raise BybitError(PARAM_ERROR, f"params error: orderLinkId longer than {MAX_LINK_ID} chars")
    qty = dec_param(p, "qty", required=True)
    trigger = dec_param(p, "triggerPrice")
    if trigger is not None and otype == "Limit":
        raise BybitError(PARAM_ERROR, "params error: conditional limit orders are not supported")
    tb_word = str(p.get("triggerBy") or "LastPrice")
    if tb_word not in _TRIGGER_BY:
        raise BybitError(PARAM_ERROR, f"params error: triggerBy {tb_word!r} is invalid")
    direction = int_param(p, "triggerDirection")
    order_type = (
        OrderType.LIMIT
        if otype == "Limit"
        else (OrderType.STOP_MARKET if trigger is not None else OrderType.MARKET)
    )
    return {
        "symbol": sym,
        "side": side,
        "order_type": order_type,
        "qty": qty,
        "price": dec_param(p, "price", required=otype == "Limit"),
        "trigger_price": trigger,
        "trigger_by": _TRIGGER_BY[tb_word],
        "trigger_direction": direction or None,
        "reduce_only": bool_param(p, "reduceOnly") or bool_param(p, "closeOnTrigger"),
        "order_link_id": link or None,
    }


async def create(request: web.Request) -> web.Response:
    """POST /v5/order/create."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    args = _order_args(ctx, p)
    o = ctx.engine.place_order(
        args.pop("symbol"), args.pop("side"), args.pop("order_type"), args.pop("qty"), **args
    )
    return ok(request, {"orderId": o.order_id, "orderLinkId": o.order_link_id})


async def cancel(request: web.Request) -> web.Response:
    """POST /v5/order/cancel (by orderId or orderLinkId)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    if oid is None and link is None:
        raise BybitError(PARAM_ERROR, "params error: orderId or orderLinkId is required")
    o = ctx.engine.cancel_order(sym, order_id=oid, order_link_id=link)
    return ok(request, {"orderId": o.order_id, "orderLinkId": o.order_link_id})


def _filter_kind(orders: list[SimOrder], order_filter: str | None) -> list[SimOrder]:
    if order_filter == "StopOrder":
        return [o for o in orders if o.order_type is OrderType.STOP_MARKET]
    if order_filter == "Order":
        return [o for o in orders if o.order_type is not OrderType.STOP_MARKET]
    return orders


async def cancel_all(request: web.Request) -> web.Response:
    """POST /v5/order/cancel-all (a symbol, or every symbol settled in USDT)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p, required=False)
    if sym is None and not (p.get("settleCoin") or p.get("baseCoin")):
        raise BybitError(PARAM_ERROR, "params error: symbol, baseCoin or settleCoin is required")
    orders = ctx.engine.open_orders(sym)
    if p.get("baseCoin"):
        orders = [o for o in orders if ctx.market.instruments[o.symbol].base == p["baseCoin"]]
    orders = _filter_kind(orders, p.get("orderFilter"))
    done = []
    for o in orders:
        ctx.engine.cancel_order(o.symbol, order_id=o.order_id)
        done.append({"orderId": o.order_id, "orderLinkId": o.order_link_id})
    return ok(request, {"list": done, "success": "1"})


def _select(ctx: SimContext, p: dict[str, Any], pool: list[SimOrder]) -> list[SimOrder]:
    sym = symbol_of(ctx, p, required=False)
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    out = [
        o
        for o in pool
        if (sym is None or o.symbol == sym)
        and (oid is None or o.order_id == oid)
        and (link is None or o.order_link_id == link)
    ]
    if p.get("baseCoin"):
        out = [o for o in out if ctx.market.instruments[o.symbol].base == p["baseCoin"]]
    return _filter_kind(out, p.get("orderFilter"))


def _newest_first(orders: list[SimOrder]) -> list[SimOrder]:
    return sorted(orders, key=lambda o: (o.created_ms, o.seq), reverse=True)


async def realtime(request: web.Request) -> web.Response:
    """GET /v5/order/realtime: open orders; with an id (or openOnly) also recent closed ones."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    limit = limit_param(p, 20, 50)
    if not (
        p.get("symbol")
        or p.get("baseCoin")
        or p.get("settleCoin")
        or p.get("orderId")
        or p.get("orderLinkId")
    ):
        raise BybitError(PARAM_ERROR, "params error: symbol, baseCoin or settleCoin is required")
    by_id = bool(p.get("orderId") or p.get("orderLinkId"))
    open_only = int_param(p, "openOnly", 0)
    recent_closed = [o for o in ctx.engine.orders if not o.is_open][-RECENT_CLOSED:]
    pool = ctx.engine.open_orders()
    if by_id or open_only:
        pool = pool + recent_closed
    chunk, nxt = page(_newest_first(_select(ctx, p, pool)), p.get("cursor"), limit)
    return ok(
        request,
        {"category": "linear", "list": [views.order_row(o) for o in chunk], "nextPageCursor": nxt},
    )


async def history(request: web.Request) -> web.Response:
    """GET /v5/order/history: orders in a final status, newest first."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    limit = limit_param(p, 20, 50)
    pool = [o for o in ctx.engine.orders if not o.is_open]
    status = p.get("orderStatus")
    if status:
        pool = [o for o in pool if str(o.status) == status]
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    if start is not None:
        pool = [o for o in pool if o.created_ms >= start]
    if end is not None:
        pool = [o for o in pool if o.created_ms <= end]
    chunk, nxt = page(_newest_first(_select(ctx, p, pool)), p.get("cursor"), limit)
    return ok(
        request,
        {"category": "linear", "list": [views.order_row(o) for o in chunk], "nextPageCursor": nxt},
    )


def register(app: web.Application) -> None:
    """Add the order routes."""
    app.router.add_post("/v5/order/create", create)
    app.router.add_post("/v5/order/cancel", cancel)
    app.router.add_post("/v5/order/cancel-all", cancel_all)
    app.router.add_get("/v5/order/realtime", realtime)
    app.router.add_get("/v5/order/history", history)
