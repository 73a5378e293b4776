"""Position endpoints: list, leverage, position mode, TP/SL and closed PnL."""

from __future__ import annotations

from aiohttp import web

from bot.domain import TriggerBy
from bot.sim.http.bybit import ledger_views, views
from bot.sim.http.bybit.fmt import (
    PARAM_ERROR,
    BybitError,
    dec_param,
    int_param,
    limit_param,
    ok,
    page,
)
from bot.sim.http.bybit.routes_market import symbol_of
from bot.sim.http.bybit.routes_trade import require_linear
from bot.sim.http.context import ctx_of, params_of

WEEK_MS = 7 * 86_400_000


async def position_list(request: web.Request) -> web.Response:
    """GET /v5/position/list: one symbol (even when flat) or every open USDT position."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    limit = limit_param(p, 20, 200)
    sym = symbol_of(ctx, p, required=False)
    if sym is None and not (p.get("settleCoin") or p.get("baseCoin")):
        raise BybitError(PARAM_ERROR, "params error: symbol, baseCoin or settleCoin is required")
    if sym is not None:
        rows = [views.position_row(ctx, sym, ctx.engine.positions.get(sym))]
    else:
        rows = [
            views.position_row(ctx, s, pos)
            for s, pos in sorted(ctx.engine.positions.items())
            if pos.size > 0
            and (not p.get("baseCoin") or ctx.market.instruments[s].base == p["baseCoin"])
        ]
    chunk, nxt = page(rows, p.get("cursor"), limit)
    return ok(request, {"category": "linear", "list": chunk, "nextPageCursor": nxt})


async def set_leverage(request: web.Request) -> web.Response:
    """POST /v5/position/set-leverage (one-way: buy and sell leverage must match)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    buy = dec_param(p, "buyLeverage", required=True)
    sell = dec_param(p, "sellLeverage", required=True)
    if buy != sell:
        raise BybitError(PARAM_ERROR, "buy leverage must equal sell leverage in one-way mode")
    assert buy is not None
    ctx.engine.set_leverage(sym, buy)
    return ok(request, {})


async def switch_mode(request: web.Request) -> web.Response:
    """POST /v5/position/switch-mode (by symbol or coin): the account is one-way (0), so
    that is "not modified" (110025); hedge mode (3) is refused as Bybit refuses a switch with
    a position (110024) or open orders (110028), otherwise as not modelled (110029)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    mode = int_param(p, "mode")
    sym = symbol_of(ctx, p, required=False)
    if sym is None and not p.get("coin"):
        raise BybitError(PARAM_ERROR, "params error: symbol or coin is required")
    if mode not in (0, 3):
        raise BybitError(PARAM_ERROR, f"params error: mode must be 0 or 3, got {mode!r}")
    if mode == 0:
        raise BybitError(110025, "Position mode is not modified")
    syms = [sym] if sym is not None else list(ctx.engine.instruments)
    if any(s in ctx.engine.positions for s in syms):
        raise BybitError(
            110024, "You have an existing position, so position mode cannot be switched"
        )
    if any(ctx.engine.open_orders(s) for s in syms):
        raise BybitError(110028, "Open orders exist, so you cannot change position mode")
    raise BybitError(110029, "Hedge mode is not modelled by the simulator (one-way only)")


async def trading_stop(request: web.Request) -> web.Response:
    """POST /v5/position/trading-stop: the position's TP/SL (Full mode; "0" cancels)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    if p.get("tpslMode") not in (None, "", "Full"):
        raise BybitError(PARAM_ERROR, "params error: only tpslMode Full is modelled")
    if int_param(p, "positionIdx", 0) != 0:
        raise BybitError(PARAM_ERROR, "position idx not match position mode")
    for key in ("trailingStop", "activePrice"):
        if p.get(key) not in (None, "", "0"):
            raise BybitError(PARAM_ERROR, f"params error: {key} is not modelled")
    tb = {"MarkPrice": TriggerBy.MARK, "LastPrice": TriggerBy.LAST, "IndexPrice": TriggerBy.MARK}
    trigger_by = tb.get(str(p.get("slTriggerBy") or p.get("tpTriggerBy") or "MarkPrice"))
    if trigger_by is None:
        raise BybitError(PARAM_ERROR, "params error: tpTriggerBy/slTriggerBy is invalid")
    ctx.engine.set_trading_stop(
        sym,
        take_profit=dec_param(p, "takeProfit"),
        stop_loss=dec_param(p, "stopLoss"),
        trigger_by=trigger_by,
    )
    return ok(request, {})


async def closed_pnl(request: web.Request) -> web.Response:
    """GET /v5/position/closed-pnl: newest first, within [startTime, endTime] (default the
    last 7 days), cursor-paged."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    limit = limit_param(p, 50, 100)
    sym = symbol_of(ctx, p, required=False)
    end = int_param(p, "endTime") or ctx.engine.now_ms
    start = int_param(p, "startTime") or end - WEEK_MS
    if end - start > WEEK_MS:
        raise BybitError(PARAM_ERROR, "params error: startTime and endTime span at most 7 days")
    visible = ctx.engine.executions[: ctx.visible(request.path, "exec")]
    rows = [
        {k: v for k, v in r.items() if k != "_ts"}
        for r in reversed(ledger_views.closed_pnl_rows(ctx.engine, visible))
        if (sym is None or r["symbol"] == sym) and start <= int(r["_ts"]) <= end
    ]
    chunk, nxt = page(rows, p.get("cursor"), limit)
    return ok(request, {"category": "linear", "list": chunk, "nextPageCursor": nxt})


def register(app: web.Application) -> None:
    """Add the position routes."""
    app.router.add_get("/v5/position/list", position_list)
    app.router.add_post("/v5/position/set-leverage", set_leverage)
    app.router.add_post("/v5/position/switch-mode", switch_mode)
    app.router.add_post("/v5/position/trading-stop", trading_stop)
    app.router.add_get("/v5/position/closed-pnl", closed_pnl)
