"""Bybit v5 ``category=spot`` on the simulator's face: the engine's spot markets
(``bot.sim.spot``) as instruments-info, tickers, order create/cancel/realtime/history and
execution/list (the wallet's coins are in ``views.wallet``).

Spot orders fill on arrival (the engine has no resting spot book), so order/realtime lists no
open spot order unless asked for one by id (recent closed orders, as for linear), and a cancel
answers 170213 ``Order does not exist``. Market buys default to ``marketUnit=quoteCoin`` (qty
in USDT), market sells to ``baseCoin``, as on Bybit. The consistency-lag fault does not apply
to spot views.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.domain import OrderType, Side
from bot.sim.http import marketdata as md
from bot.sim.http.bybit import views
from bot.sim.http.bybit.fmt import (
    PARAM_ERROR,
    BybitError,
    dec_param,
    int_param,
    limit_param,
    ok,
    page,
    side_and_type,
)
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import amt, dec, flt
from bot.sim.http.spotdata import spot_candles, spot_quotes
from bot.sim.spot import BASE_COIN, QUOTE_COIN, SpotSpec
from bot.sim.types import SimError, SimExecution, SimOrder

SPOT = "spot"
RECENT_CLOSED = 500
_MAX_ORDER_AMT = "2000000"


Handler = Callable[[web.Request], Awaitable[web.Response]]


def is_spot(p: dict[str, Any]) -> bool:
    """Whether a request names ``category=spot``."""
    return p.get("category") == SPOT


def or_spot(linear: Handler, spot: Handler) -> Handler:
    """One route for both categories: ``category=spot`` goes to ``spot``, any other to
    ``linear`` (which checks it)."""

    async def route(request: web.Request) -> web.Response:
        return await (spot if is_spot(params_of(request)) else linear)(request)

    return route


def spot_symbol(ctx: SimContext, p: dict[str, Any], *, required: bool = True) -> str | None:
    """The ``symbol`` parameter, checked against the spot markets (170121 otherwise)."""
    sym = p.get("symbol")
    if not sym:
        if required:
            raise BybitError(PARAM_ERROR, "params error: symbol is required")
        return None
    sym = str(sym).upper()
    if sym not in ctx.engine.spot_markets():
        raise BybitError(SimError.SPOT_SYMBOL, f"Invalid symbol. ({sym})")
    return sym


def _trading(ctx: SimContext, spec: SpotSpec) -> bool:
    return ctx.engine.is_listed(spec.perp) and not md.is_closed(ctx, spec.perp, ctx.engine.now_ms)


def instrument_row(spec: SpotSpec, trading: bool) -> dict[str, Any]:
    """One spot instruments-info row (Bybit v5 field names)."""
    return {
        "symbol": spec.symbol,
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "innovation": "0",
        "status": "Trading" if trading else "Closed",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": dec(spec.qty_step),
            "quotePrecision": "0.00000001",
            "minOrderQty": dec(spec.min_qty),
            "maxOrderQty": "1000000000",
            "minOrderAmt": dec(spec.min_notional),
            "maxOrderAmt": _MAX_ORDER_AMT,
        },
        "priceFilter": {"tickSize": dec(spec.tick)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


async def instruments_info(request: web.Request) -> web.Response:
    """GET /v5/market/instruments-info category=spot."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    status = p.get("status") or ("" if sym else "Trading")
    rows = []
    for spec in ctx.engine.spot_markets().values():
        if sym is not None and spec.symbol != sym:
            continue
        row = instrument_row(spec, _trading(ctx, spec))
        if not status or row["status"] == status:
            rows.append(row)
    chunk, nxt = page(rows, p.get("cursor"), limit_param(p, 500, 1000))
    return ok(request, {"category": SPOT, "list": chunk, "nextPageCursor": nxt})


async def tickers(request: web.Request) -> web.Response:
    """GET /v5/market/tickers category=spot: the perpetual's quote per coin (no open interest
    or funding: ccxt reads a row without them as spot)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    rows = [
        {
            "symbol": q.spec.symbol,
            "bid1Price": dec(q.bid),
            "bid1Size": dec(q.book_size),
            "ask1Price": dec(q.ask),
            "ask1Size": dec(q.book_size),
            "lastPrice": dec(q.last),
            "prevPrice24h": dec(q.open_24h),
            "price24hPcnt": f"{q.change_24h:.4f}",
            "highPrice24h": dec(q.high_24h),
            "lowPrice24h": dec(q.low_24h),
            "turnover24h": f"{q.turnover_24h:.4f}",
            "volume24h": flt(round(q.volume_24h, 8)),
            "usdIndexPrice": dec(q.last),
        }
        for q in spot_quotes(ctx, sym)
    ]
    return ok(request, {"category": SPOT, "list": rows})


def kline_rows(
    ctx: SimContext, sym: str, iv_ms: int, start: int | None, end: int | None, limit: int
) -> list[list[str]]:
    """GET /v5/market/kline category=spot rows, newest first (the newest in progress):
    ``[start, open, high, low, close, volume (coins), turnover (USDT)]``."""
    spec = ctx.engine.spot_market(sym)
    return [
        [
            str(c.open_ms),
            flt(c.open),
            flt(c.high),
            flt(c.low),
            flt(c.close),
            flt(c.volume),
            dec(c.turnover),
        ]
        for c in reversed(spot_candles(ctx, spec, iv_ms, start, end, limit))
    ]


# --------------------------------------------------------------------------- orders


async def create(request: web.Request) -> web.Response:
    """POST /v5/order/create category=spot (Market, or a Limit marketable on arrival)."""
    ctx, p = ctx_of(request), params_of(request)
    o = place(ctx, p)
    return ok(request, {"orderId": o.order_id, "orderLinkId": o.order_link_id})


def place(ctx: SimContext, p: dict[str, Any]) -> SimOrder:
    sym = spot_symbol(ctx, p)
    assert sym is not None
    side, otype = side_and_type(p)
    for key in ("triggerPrice", "takeProfit", "stopLoss", "orderFilter"):
        if p.get(key) not in (None, "", "0", "Order"):
            raise BybitError(
                PARAM_ERROR, f"params error: spot {key} is not modelled by the simulator"
            )
    if str(p.get("isLeverage") or "0") != "0":
        raise BybitError(PARAM_ERROR, "params error: spot margin trading is not modelled")
    unit = p.get("marketUnit") or (QUOTE_COIN if side is Side.BUY else BASE_COIN)
    if unit not in (BASE_COIN, QUOTE_COIN):
        raise BybitError(PARAM_ERROR, f"params error: marketUnit {unit!r} is invalid")
    qty = dec_param(p, "qty", required=True)
    assert qty is not None
    return ctx.engine.place_spot_order(
        sym, side, qty,
        order_type=OrderType.LIMIT if otype == "Limit" else OrderType.MARKET,
        price=dec_param(p, "price", required=otype == "Limit"),
        order_link_id=str(p.get("orderLinkId") or "") or None,
        time_in_force=str(p.get("timeInForce") or "GTC"),
        market_unit=str(unit),
    )  # fmt: skip


async def cancel(request: web.Request) -> web.Response:
    """POST /v5/order/cancel category=spot: every spot order is already final."""
    ctx, p = ctx_of(request), params_of(request)
    spot_symbol(ctx, p)
    if not (p.get("orderId") or p.get("orderLinkId")):
        raise BybitError(PARAM_ERROR, "params error: orderId or orderLinkId is required")
    raise BybitError(SimError.SPOT_ORDER_NOT_FOUND, "Order does not exist.")


async def cancel_all(request: web.Request) -> web.Response:
    """POST /v5/order/cancel-all category=spot: nothing is open."""
    ctx, p = ctx_of(request), params_of(request)
    spot_symbol(ctx, p, required=False)
    return ok(request, {"list": [], "success": "1"})


def order_row(ctx: SimContext, o: SimOrder) -> dict[str, Any]:
    """A spot order in Bybit's fields (the linear row, with the spot differences)."""
    row = views.order_row(o)
    spec = ctx.engine.spot_market(o.symbol)
    fee_ccy = spec.base if o.side is Side.BUY else spec.quote
    quote = o.market_unit == QUOTE_COIN
    row.update(
        {
            "marketUnit": o.market_unit if o.order_type is OrderType.MARKET else "",
            "isLeverage": "0",
            "cumFeeDetail": {fee_ccy: dec(o.cum_exec_fee)} if o.cum_exec_fee else {},
            "leavesQty": "0",
            "leavesValue": amt(o.qty - o.cum_exec_value) if quote else "0",
            "price": dec(o.price) if o.price is not None else "0",
            "triggerPrice": "0",
            "takeProfit": "0",
            "stopLoss": "0",
            "createType": "",
            "closeOnTrigger": False,
        }
    )
    return row


def _select(ctx: SimContext, p: dict[str, Any], pool: list[SimOrder]) -> list[SimOrder]:
    sym = spot_symbol(ctx, p, required=False)
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    return [
        o
        for o in pool
        if (sym is None or o.symbol == sym)
        and (oid is None or o.order_id == oid)
        and (link is None or o.order_link_id == link)
        and (not p.get("baseCoin") or ctx.engine.spot_market(o.symbol).base == p["baseCoin"])
    ]


def _listed(
    request: web.Request, ctx: SimContext, p: dict[str, Any], pool: list[SimOrder]
) -> web.Response:
    chunk, nxt = page(
        sorted(_select(ctx, p, pool), key=lambda o: (o.created_ms, o.seq), reverse=True),
        p.get("cursor"),
        limit_param(p, 20, 50),
    )
    rows = [order_row(ctx, o) for o in chunk]
    return ok(request, {"category": SPOT, "list": rows, "nextPageCursor": nxt})


async def realtime(request: web.Request) -> web.Response:
    """GET /v5/order/realtime category=spot: no order is open; by id (or openOnly) the
    recent closed ones."""
    ctx, p = ctx_of(request), params_of(request)
    by_id = bool(p.get("orderId") or p.get("orderLinkId"))
    pool = ctx.engine.spot_orders[-RECENT_CLOSED:] if by_id or int_param(p, "openOnly", 0) else []
    return _listed(request, ctx, p, pool)


async def history(request: web.Request) -> web.Response:
    """GET /v5/order/history category=spot: every spot order (all final), newest first."""
    ctx, p = ctx_of(request), params_of(request)
    pool = list(ctx.engine.spot_orders)
    status = p.get("orderStatus")
    if status:
        pool = [o for o in pool if str(o.status) == status]
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    pool = [
        o
        for o in pool
        if (start is None or o.created_ms >= start) and (end is None or o.created_ms <= end)
    ]
    return _listed(request, ctx, p, pool)


def execution_row(ctx: SimContext, e: SimExecution, n: int) -> dict[str, Any]:
    """One spot fill as /v5/execution/list shows it (the fee in ``feeCurrency``)."""
    o = ctx.engine.get_spot_order(order_id=e.order_id)
    return {
        "symbol": e.symbol,
        "orderType": "Market" if o is None or o.order_type is OrderType.MARKET else "Limit",
        "underlyingPrice": "",
        "orderLinkId": e.order_link_id,
        "orderId": e.order_id,
        "stopOrderType": "",
        "execTime": str(e.ts),
        "feeCurrency": e.fee_currency,
        "createType": "",
        "feeRate": dec(e.fee_rate),
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": "",
        "execPrice": dec(e.price),
        "markIv": "",
        "orderQty": dec(o.qty) if o is not None else "0",
        "orderPrice": dec(o.price) if o is not None and o.price is not None else "0",
        "execValue": amt(e.value),
        "closedSize": "",
        "execType": e.exec_type,
        "seq": n + 1,
        "side": views.side_word(e.side),
        "indexPrice": "",
        "leavesQty": "0",
        "isMaker": e.is_maker,
        "execFee": dec(e.fee),
        "execId": e.exec_id,
        "marketUnit": o.market_unit if o is not None else "",
        "execQty": dec(e.qty),
    }


async def execution_list(request: web.Request) -> web.Response:
    """GET /v5/execution/list category=spot: spot fills, newest first."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    etype = p.get("execType") or None
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    rows = [
        execution_row(ctx, e, n)
        for n, e in enumerate(ctx.engine.spot_executions)
        if (sym is None or e.symbol == sym)
        and (etype is None or e.exec_type == etype)
        and (oid is None or e.order_id == oid)
        and (link is None or e.order_link_id == link)
        and (start is None or e.ts >= start)
        and (end is None or e.ts <= end)
    ]
    chunk, nxt = page(rows[::-1], p.get("cursor"), limit_param(p, 50, 100))
    return ok(request, {"category": SPOT, "list": chunk, "nextPageCursor": nxt})
