"""Binance USDⓈ-M batch order endpoints (``/fapi/v1/batchOrders``): up to 5 new or modified
plain orders, or 10 cancels, each succeeding or failing on its own (an order row, or
``{code, msg}``), through the single-order paths of ``routes_trade``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.sim.http.binance import params as prm
from bot.sim.http.binance import views
from bot.sim.http.binance.errors import (
    CANCEL_REJECTED,
    BinanceError,
    from_sim,
    invalid,
    mandatory,
)
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.binance.routes_trade import amend, find, place_plain
from bot.sim.http.context import ctx_of, params_of
from bot.sim.types import SimError


def _json_list(p: prm.Params, *names: str, most: int) -> tuple[str, list[Any]]:
    for name in names:
        raw = prm.text(p, name)
        if raw is None:
            continue
        try:
            items = json.loads(raw)
        except ValueError:
            raise invalid(name, "not a JSON list") from None
        if not isinstance(items, list) or not items:
            raise invalid(name, "not a non-empty JSON list")
        if len(items) > most:
            raise invalid(name, f"at most {most} items")
        return name, items
    raise mandatory(names[0])


def _each(items: list[Any], act: Any) -> list[dict[str, Any]]:
    """Each item succeeds or fails on its own (an order row, or ``{code, msg}``)."""
    out = []
    for item in items:
        try:
            out.append(act(item))
        except SimError as exc:
            err = from_sim(exc)
            out.append({"code": err.code, "msg": err.msg})
        except BinanceError as exc:
            out.append({"code": exc.code, "msg": exc.msg})
    return out


def _batch_of(request: web.Request, act: Any) -> web.Response:
    """``batchOrders`` (at most 5 objects), each passed to ``act`` on its own."""
    ctx, p = ctx_of(request), params_of(request)
    _, items = _json_list(p, "batchOrders", most=5)

    def one(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise invalid("batchOrders", "items must be objects")
        return views.order_row(ctx, act(ctx, {k: str(v) for k, v in item.items()}))

    return ok(_each(items, one))


async def batch_post(request: web.Request) -> web.Response:
    """POST /fapi/v1/batchOrders: up to 5 plain orders."""
    return _batch_of(request, place_plain)


async def batch_put(request: web.Request) -> web.Response:
    """PUT /fapi/v1/batchOrders: modify up to 5 LIMIT orders."""
    return _batch_of(request, amend)


async def batch_delete(request: web.Request) -> web.Response:
    """DELETE /fapi/v1/batchOrders: cancel up to 10 plain orders by ``orderIdList`` or
    ``origClientOrderIdList`` (ccxt sends them lower-case; both spellings work)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    name, items = _json_list(
        p, "orderIdList", "orderidlist", "origClientOrderIdList", "origclientorderidlist", most=10
    )
    key = "orderId" if name.lower() == "orderidlist" else "origClientOrderId"

    def act(item: Any) -> dict[str, Any]:
        o = find(ctx, sym, {key: str(item)}, "orderId", "origClientOrderId")
        if o is None or views.is_algo(o) or not o.is_open:
            raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")
        ctx.engine.cancel_order(sym, order_id=o.order_id)
        return views.order_row(ctx, o)

    return ok(_each(items, act))


def register(app: web.Application) -> None:
    """Add the batch order routes."""
    r = app.router
    r.add_post("/fapi/v1/batchOrders", batch_post)
    r.add_put("/fapi/v1/batchOrders", batch_put)
    r.add_delete("/fapi/v1/batchOrders", batch_delete)
