"""Order endpoints: create, cancel, cancel-all, realtime (open + recent) and history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.domain import OrderType, TriggerBy
from bot.sim.http.bybit import spot, views
from bot.sim.http.bybit.fmt import (
    MAX_LINK_ID,
    PARAM_ERROR,
    BybitError,
    bool_param,
    dec_param,
    envelope,
    int_param,
    limit_param,
    ok,
    page,
    side_and_type,
)
from bot.sim.http.bybit.routes_market import symbol_of
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import json_response
from bot.sim.types import SimError, SimOrder

RECENT_CLOSED = 500  # Bybit's order/realtime also answers for the last 500 closed orders
_TRIGGER_BY = {
    "LastPrice": TriggerBy.LAST,
    "MarkPrice": TriggerBy.MARK,
    "IndexPrice": TriggerBy.MARK,
}
_UNSUPPORTED = ("trailingStop", "slLimitPrice", "tpLimitPrice")
_TIF = ("GTC", "IOC", "FOK", "PostOnly")
BATCH_MAX = 20  # Bybit linear: up to 20 orders per batch request


def require_linear(p: dict[str, Any]) -> None:
    """Trading endpoints only know category=linear."""
    cat = p.get("category")
    if cat != "linear":
        raise BybitError(
            PARAM_ERROR, f"params error: category must be 'linear' in the simulator, got {cat!r}"
        )


def _order_args(ctx: SimContext, p: dict[str, Any]) -> dict[str, Any]:
    sym = symbol_of(ctx, p)
    side, otype = side_and_type(p)
    for key in _UNSUPPORTED:
        if p.get(key) not in (None, "", "0"):
            raise BybitError(PARAM_ERROR, f"params error: {key} is not modelled by the simulator")
    if p.get("tpslMode") not in (None, "", "Full"):
        raise BybitError(PARAM_ERROR, "params error: only tpslMode Full is modelled")
    pidx = int_param(p, "positionIdx", 0)
    tif = p.get("timeInForce") or "GTC"
    if tif not in _TIF:
        raise BybitError(PARAM_ERROR, f"params error: timeInForce {tif!r} is invalid")
    link = str(p.get("orderLinkId") or "")
    if len(link) > MAX_LINK_ID:
        raise BybitError(PARAM_ERROR, f"params error: orderLinkId longer than {MAX_LINK_ID} chars")
    qty = dec_param(p, "qty", required=True)
    trigger = dec_param(p, "triggerPrice")
    if trigger is not None and otype == "Limit":
        raise BybitError(PARAM_ERROR, "params error: conditional limit orders are not modelled")
    tb_word = str(p.get("triggerBy") or "LastPrice")
    if tb_word not in _TRIGGER_BY:
        raise BybitError(PARAM_ERROR, f"params error: triggerBy {tb_word!r} is invalid")
    direction = int_param(p, "triggerDirection")
    order_type = (
        OrderType.LIMIT
        if otype == "Limit"
        else (OrderType.STOP_MARKET if trigger is not None else OrderType.MARKET)
    )
    tp, sl = dec_param(p, "takeProfit"), dec_param(p, "stopLoss")
    return {
        "symbol": sym,
        "side": side,
        "order_type": order_type,
        "qty": qty,
        "price": dec_param(p, "price", required=otype == "Limit"),
        "trigger_price": trigger,
        "trigger_by": _TRIGGER_BY[tb_word],
        "trigger_direction": direction,
        "reduce_only": bool_param(p, "reduceOnly") or bool_param(p, "closeOnTrigger"),
        "order_link_id": link or None,
        "time_in_force": tif,
        "take_profit": tp or None,
        "stop_loss": sl or None,
        "position_idx": pidx or 0,
    }


def _place(ctx: SimContext, p: dict[str, Any]) -> SimOrder:
    args = _order_args(ctx, p)
    return ctx.engine.place_order(
        args.pop("symbol"), args.pop("side"), args.pop("order_type"), args.pop("qty"), **args
    )


async def create(request: web.Request) -> web.Response:
    """POST /v5/order/create."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    o = _place(ctx, p)
    return ok(request, {"orderId": o.order_id, "orderLinkId": o.order_link_id})


async def amend(request: web.Request) -> web.Response:
    """POST /v5/order/amend (by orderId or orderLinkId): qty, price, triggerPrice."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    o = _amend(ctx, p)
    return ok(request, {"orderId": o.order_id, "orderLinkId": o.order_link_id})


def _amend(ctx: SimContext, p: dict[str, Any]) -> SimOrder:
    sym = symbol_of(ctx, p)
    assert sym is not None
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    if oid is None and link is None:
        raise BybitError(PARAM_ERROR, "params error: orderId or orderLinkId is required")
    for key in ("takeProfit", "stopLoss"):
        if p.get(key) not in (None, ""):
            raise BybitError(PARAM_ERROR, f"params error: amending {key} is not modelled")
    return ctx.engine.amend_order(
        sym,
        order_id=oid,
        order_link_id=link,
        qty=dec_param(p, "qty"),
        price=dec_param(p, "price"),
        trigger_price=dec_param(p, "triggerPrice"),
    )


def _batch(p: dict[str, Any]) -> list[dict[str, Any]]:
    reqs = p.get("request")
    if not isinstance(reqs, list) or not reqs or not all(isinstance(r, dict) for r in reqs):
        raise BybitError(PARAM_ERROR, "params error: request must be a non-empty list")
    if len(reqs) > BATCH_MAX:
        raise BybitError(PARAM_ERROR, f"params error: at most {BATCH_MAX} orders per batch")
    return [{**r, "category": p.get("category")} for r in reqs]


async def _run_batch(request: web.Request, action: Any, with_time: bool) -> web.Response:
    """Each item succeeds or fails on its own, as Bybit reports batches: ``result.list`` has
    one row per item (ids empty on failure), ``retExtInfo.list`` its code and message."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    rows, codes = [], []
    for item in _batch(p):
        try:
            o = action(ctx, item)
        except (BybitError, SimError) as exc:
            code = exc.ret_code if isinstance(exc, BybitError) else exc.code
            rows.append(
                {
                    "category": "linear",
                    "symbol": str(item.get("symbol") or ""),
                    "orderId": "",
                    "orderLinkId": str(item.get("orderLinkId") or ""),
                    **({"createAt": ""} if with_time else {}),
                }
            )
            codes.append({"code": code, "msg": exc.msg})
            continue
        rows.append(
            {
                "category": "linear",
                "symbol": o.symbol,
                "orderId": o.order_id,
                "orderLinkId": o.order_link_id,
                **({"createAt": str(o.created_ms)} if with_time else {}),
            }
        )
        codes.append({"code": 0, "msg": "OK"})
    body = envelope({"list": rows}, ctx.sim_ms(request.path))
    body["retExtInfo"] = {"list": codes}
    return json_response(body)


def _cancel_one(ctx: SimContext, p: dict[str, Any]) -> SimOrder:
    sym = symbol_of(ctx, p)
    assert sym is not None
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    if oid is None and link is None:
        raise BybitError(PARAM_ERROR, "params error: orderId or orderLinkId is required")
    return ctx.engine.cancel_order(sym, order_id=oid, order_link_id=link)


async def create_batch(request: web.Request) -> web.Response:
    """POST /v5/order/create-batch."""
    return await _run_batch(request, _place, True)


async def amend_batch(request: web.Request) -> web.Response:
    """POST /v5/order/amend-batch."""
    return await _run_batch(request, _amend, False)


async def cancel_batch(request: web.Request) -> web.Response:
    """POST /v5/order/cancel-batch."""
    return await _run_batch(request, _cancel_one, False)


async def cancel(request: web.Request) -> web.Response:
    """POST /v5/order/cancel (by orderId or orderLinkId)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    o = _cancel_one(ctx, p)
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
    seen = ctx.engine.orders[: ctx.visible(request.path, "order")]
    recent_closed = [o for o in seen if not o.is_open][-RECENT_CLOSED:]
    shown = {id(o) for o in seen}
    pool = [o for o in ctx.engine.open_orders() if id(o) in shown]
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
    seen = ctx.engine.orders[: ctx.visible(request.path, "order")]
    pool = [o for o in seen if not o.is_open]
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
    app.router.add_post("/v5/order/create", spot.or_spot(create, spot.create))
    app.router.add_post("/v5/order/cancel", spot.or_spot(cancel, spot.cancel))
    app.router.add_post("/v5/order/cancel-all", spot.or_spot(cancel_all, spot.cancel_all))
    app.router.add_post("/v5/order/amend", amend)
    app.router.add_post("/v5/order/create-batch", create_batch)
    app.router.add_post("/v5/order/amend-batch", amend_batch)
    app.router.add_post("/v5/order/cancel-batch", cancel_batch)
    app.router.add_get("/v5/order/realtime", spot.or_spot(realtime, spot.realtime))
    app.router.add_get("/v5/order/history", spot.or_spot(history, spot.history))
