"""Binance USDⓈ-M conditional orders through the algo service: ``/fapi/v1/algoOrder``,
``openAlgoOrders``, ``allAlgoOrders``, ``algoOpenOrders`` (ccxt 4.5.90 sends every stop and
take-profit there; the plain order endpoints do not see them until they trigger)."""

from __future__ import annotations

from aiohttp import web

from bot.domain import OrderType, Side, TriggerBy
from bot.sim.http.binance import params as prm
from bot.sim.http.binance import views
from bot.sim.http.binance.errors import (
    CANCEL_REJECTED,
    INVALID_ORDER_TYPE,
    NO_SUCH_ORDER,
    BinanceError,
    invalid,
)
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.binance.routes_trade import (
    CONDITIONAL,
    client_id,
    common,
    find,
    order_history,
    seen,
)
from bot.sim.http.binance.wire import num
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.types import SimOrder
from bot.sim.validation import FALLING, RISING

MODELLED_ALGO = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
_WORKING = {"MARK_PRICE": TriggerBy.MARK, "CONTRACT_PRICE": TriggerBy.LAST}


def place_algo(ctx: SimContext, p: prm.Params) -> SimOrder:
    """A conditional (algo) order: STOP_MARKET or TAKE_PROFIT_MARKET."""
    if prm.text(p, "algoType", required=True) != "CONDITIONAL":
        raise invalid("algoType", "only CONDITIONAL")
    otype = prm.text(p, "type", required=True)
    if otype not in CONDITIONAL:
        raise BinanceError(INVALID_ORDER_TYPE, "Invalid orderType.")
    if otype not in MODELLED_ALGO:
        raise invalid("type", f"{otype} is not modelled by the simulator")
    sym, side, idx = common(ctx, p)
    quantity = prm.decimal(p, "quantity", required=True)
    trigger = prm.decimal(p, "triggerPrice", required=True)
    assert quantity is not None and trigger is not None
    working = prm.choice(p, "workingType", tuple(_WORKING), "CONTRACT_PRICE")
    # A stop fires as the price moves against the side's position (a buy rising to it, a
    # sell falling to it); a take-profit the other way.
    stop_dir = RISING if side is Side.BUY else FALLING
    direction = stop_dir if otype == "STOP_MARKET" else (FALLING if stop_dir == RISING else RISING)
    return ctx.engine.place_order(
        sym,
        side,
        OrderType.STOP_MARKET,
        quantity,
        trigger_price=trigger,
        trigger_by=_WORKING[working],
        trigger_direction=direction,
        reduce_only=bool(prm.boolean(p, "reduceOnly")),
        order_link_id=client_id(p, "clientAlgoId", "newClientOrderId"),
        position_idx=idx,
    )


async def algo_post(request: web.Request) -> web.Response:
    """POST /fapi/v1/algoOrder: a conditional order."""
    ctx = ctx_of(request)
    return ok(views.algo_row(ctx, place_algo(ctx, params_of(request))))


def _find_algo(ctx: SimContext, p: prm.Params) -> SimOrder | None:
    sym = prm.symbol(ctx, p, required=False)
    o = find(ctx, sym, p, "algoId", "clientAlgoId")
    return o if o is not None and views.is_algo(o) else None


async def algo_get(request: web.Request) -> web.Response:
    """GET /fapi/v1/algoOrder by algoId or clientAlgoId (-2013 when unknown)."""
    ctx, p = ctx_of(request), params_of(request)
    o = _find_algo(ctx, p)
    if o is None or not seen(ctx, request.path, o):
        raise BinanceError(NO_SUCH_ORDER, "Order does not exist.")
    return ok(views.algo_row(ctx, o))


async def algo_delete(request: web.Request) -> web.Response:
    """DELETE /fapi/v1/algoOrder: cancel a conditional order that has not triggered."""
    ctx, p = ctx_of(request), params_of(request)
    o = _find_algo(ctx, p)
    if o is None or not o.is_open:
        raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")
    ctx.engine.cancel_order(o.symbol, order_id=o.order_id)
    return ok(
        {
            "algoId": num(o.order_id),
            "clientAlgoId": views.client_id(o),
            "code": "200",
            "msg": "success",
        }
    )


def _open_algos(ctx: SimContext, sym: str | None) -> list[SimOrder]:
    return [o for o in ctx.engine.open_orders(sym) if views.is_algo(o)]


async def open_algos(request: web.Request) -> web.Response:
    """GET /fapi/v1/openAlgoOrders (of one symbol, or all)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    algo_type = prm.text(p, "algoType")
    if algo_type not in (None, "CONDITIONAL"):
        return ok([])
    rows = [views.algo_row(ctx, o) for o in _open_algos(ctx, sym) if seen(ctx, request.path, o)]
    return ok(rows)


async def all_algos(request: web.Request) -> web.Response:
    """GET /fapi/v1/allAlgoOrders: the symbol's conditional orders."""
    ctx = ctx_of(request)
    return ok([views.algo_row(ctx, o) for o in order_history(request, "algoId", views.is_algo)])


async def cancel_all_algos(request: web.Request) -> web.Response:
    """DELETE /fapi/v1/algoOpenOrders: cancel the symbol's open conditional orders."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    for o in _open_algos(ctx, sym):
        ctx.engine.cancel_order(o.symbol, order_id=o.order_id)
    return ok({"code": 200, "msg": "The operation of cancel all open order is done."})


def register(app: web.Application) -> None:
    """Add the algo order routes."""
    r = app.router
    r.add_post("/fapi/v1/algoOrder", algo_post)
    r.add_get("/fapi/v1/algoOrder", algo_get)
    r.add_delete("/fapi/v1/algoOrder", algo_delete)
    r.add_get("/fapi/v1/openAlgoOrders", open_algos)
    r.add_get("/fapi/v1/allAlgoOrders", all_algos)
    r.add_delete("/fapi/v1/algoOpenOrders", cancel_all_algos)
