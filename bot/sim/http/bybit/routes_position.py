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
        rows = views.symbol_position_rows(ctx, sym)
    else:
        rows = [
            views.position_row(ctx, pos.symbol, pos)
            for _, pos in sorted(ctx.engine.positions.items())
            if pos.size > 0
            and (not p.get("baseCoin") or ctx.market.instruments[pos.symbol].base == p["baseCoin"])
        ]
    chunk, nxt = page(rows, p.get("cursor"), limit)
    return ok(request, {"category": "linear", "list": chunk, "nextPageCursor": nxt})


async def set_leverage(request: web.Request) -> web.Response:
    """POST /v5/position/set-leverage (the leverage is per symbol, for both sides of a hedge:
    buy and sell leverage must match)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    buy = dec_param(p, "buyLeverage", required=True)
    sell = dec_param(p, "sellLeverage", required=True)
    if buy != sell:
        raise BybitError(PARAM_ERROR, "buy leverage must equal sell leverage (per symbol)")
    assert buy is not None
    ctx.engine.set_leverage(sym, buy)
    return ok(request, {})


async def switch_mode(request: web.Request) -> web.Response:
    """POST /v5/position/switch-mode (by symbol, or every symbol of a coin): one-way (0) or
    hedge (3); refused as Bybit refuses it: already in that mode (110025), with a position
    (110024) or with open orders (110028)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    mode = int_param(p, "mode")
    sym = symbol_of(ctx, p, required=False)
    if sym is None and not p.get("coin"):
        raise BybitError(PARAM_ERROR, "params error: symbol or coin is required")
    if mode not in (0, 3):
        raise BybitError(PARAM_ERROR, f"params error: mode must be 0 or 3, got {mode!r}")
    if sym is None and p.get("coin") != "USDT":
        raise BybitError(PARAM_ERROR, f"params error: coin {p.get('coin')!r} has no symbols")
    ctx.engine.set_position_mode(mode == 3, [sym] if sym is not None else None)
    return ok(request, {})


async def trading_stop(request: web.Request) -> web.Response:
    """POST /v5/position/trading-stop: the position's TP/SL (Full mode; "0" cancels)."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    if p.get("tpslMode") not in (None, "", "Full"):
        raise BybitError(PARAM_ERROR, "params error: only tpslMode Full is modelled")
    idx = int_param(p, "positionIdx", 0)
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
        position_idx=idx or 0,
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
