"""Account and execution endpoints: wallet, margin mode, transaction log, executions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sim.http.bybit import ledger_views, spot, views
from bot.sim.http.bybit.fmt import (
    PARAM_ERROR,
    BybitError,
    int_param,
    limit_param,
    ok,
    page,
)
from bot.sim.http.bybit.routes_market import symbol_of
from bot.sim.http.bybit.routes_trade import require_linear
from bot.sim.http.context import ctx_of, params_of
from bot.sim.http.numbers import dec

MARGIN_MODES = ("ISOLATED_MARGIN", "REGULAR_MARGIN", "PORTFOLIO_MARGIN")
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


async def set_margin_mode(request: web.Request) -> web.Response:
    """POST /v5/account/set-margin-mode: REGULAR_MARGIN (cross) or ISOLATED_MARGIN (portfolio
    margin is not modelled); refused with open positions or orders."""
    ctx, p = ctx_of(request), params_of(request)
    mode = p.get("setMarginMode")
    if mode not in MARGIN_MODES:
        raise BybitError(PARAM_ERROR, f"params error: setMarginMode {mode!r} is invalid")
    if mode == "PORTFOLIO_MARGIN":
        raise BybitError(PARAM_ERROR, "PORTFOLIO_MARGIN is not modelled by the simulator")
    ctx.engine.set_margin_mode(str(mode))
    return ok(request, {"reasons": []})


async def wallet_balance(request: web.Request) -> web.Response:
    """GET /v5/account/wallet-balance accountType=UNIFIED."""
    ctx, p = ctx_of(request), params_of(request)
    acct = p.get("accountType")
    if acct != "UNIFIED":
        raise BybitError(PARAM_ERROR, f"accountType only support UNIFIED, got {acct!r}")
    return ok(request, {"list": [views.wallet(ctx)]})


async def execution_list(request: web.Request) -> web.Response:
    """GET /v5/execution/list: fills (Trade, BustTrade, Delivery) and Funding, newest first."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    limit = limit_param(p, 50, 100)
    sym = symbol_of(ctx, p, required=False)
    etype = p.get("execType") or None
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    oid, link = p.get("orderId") or None, p.get("orderLinkId") or None
    items: list[tuple[int, int, dict[str, Any]]] = []
    n_exec = ctx.visible(request.path, "exec")
    n_fund = ctx.visible(request.path, "funding")
    if etype in (None, "Trade", "BustTrade", "Delivery"):
        for n, e in enumerate(ctx.engine.executions[:n_exec]):
            if etype is not None and e.exec_type != etype:
                continue
            if (oid and e.order_id != oid) or (link and e.order_link_id != link):
                continue
            if sym is None or e.symbol == sym:
                items.append((e.ts, n, views.execution_row(ctx, e)))
    if etype in (None, "Funding") and not oid and not link:
        for n, f in enumerate(ctx.engine.funding_payments[:n_fund]):
            if sym is None or f.symbol == sym:
                items.append((f.ts, -1 - n, views.funding_row(f)))
    items = [
        it for it in items if (start is None or it[0] >= start) and (end is None or it[0] <= end)
    ]
    items.sort(key=lambda it: (it[0], it[1]), reverse=True)
    chunk, nxt = page([it[2] for it in items], p.get("cursor"), limit)
    return ok(request, {"category": "linear", "list": chunk, "nextPageCursor": nxt})


async def transaction_log(request: web.Request) -> web.Response:
    """GET /v5/account/transaction-log accountType=UNIFIED: wallet changes newest first,
    within [startTime, endTime] (default the last 24 hours; at most 7 days), by ``type``."""
    ctx, p = ctx_of(request), params_of(request)
    acct = p.get("accountType") or "UNIFIED"
    if acct != "UNIFIED":
        raise BybitError(PARAM_ERROR, f"accountType only support UNIFIED, got {acct!r}")
    if p.get("category") not in (None, "", "linear"):
        raise BybitError(PARAM_ERROR, "params error: category must be linear in the simulator")
    if p.get("currency") not in (None, "", "USDT"):
        return ok(request, {"list": [], "nextPageCursor": ""})
    limit = limit_param(p, 20, 50)
    end = int_param(p, "endTime")
    start = int_param(p, "startTime")
    if end is None:
        end = ctx.engine.now_ms if start is None else start + WEEK_MS
    if start is None:
        start = end - DAY_MS
    if end - start > WEEK_MS:
        raise BybitError(PARAM_ERROR, "params error: startTime and endTime span at most 7 days")
    kind = p.get("type") or None
    txs = ctx.engine.account.transactions[: ctx.visible(request.path, "tx")]
    rows = [
        ledger_views.transaction_row(n, t)
        for n, t in enumerate(txs)
        if start <= t.ts <= end and (kind is None or t.kind == kind)
    ]
    chunk, nxt = page(rows[::-1], p.get("cursor"), limit)
    return ok(request, {"list": chunk, "nextPageCursor": nxt})


async def account_info(request: web.Request) -> web.Response:
    """GET /v5/account/info: a UTA 2.0 account."""
    ctx = ctx_of(request)
    return ok(
        request,
        {
            "unifiedMarginStatus": 6,
            "marginMode": ctx.engine.margin_mode,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(ctx.engine.now_ms),
            "dcpStatus": "OFF",
            "timeWindow": 0,
            "smpGroup": 0,
        },
    )


async def query_api(request: web.Request) -> web.Response:
    """GET /v5/user/query-api: the key's info (ccxt reads ``uta`` from it)."""
    ctx = ctx_of(request)
    return ok(
        request,
        {
            "id": "1",
            "note": "rotor simulator",
            "apiKey": ctx.api_key,
            "readOnly": 0,
            "secret": "",
            "permissions": {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]},
            "ips": ["*"],
            "type": 1,
            "deadlineDay": -1,
            "expiredAt": "",
            "createdAt": "",
            "unified": 0,
            "uta": 1,
            "userID": 1,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
        },
    )


async def fee_rate(request: web.Request) -> web.Response:
    """GET /v5/account/fee-rate: the engine's taker/maker fees for every symbol."""
    ctx, p = ctx_of(request), params_of(request)
    require_linear(p)
    sym = symbol_of(ctx, p, required=False)
    syms = [sym] if sym is not None else ctx.market.symbols
    rows = [
        {
            "symbol": s,
            "takerFeeRate": dec(ctx.engine.fee_taker),
            "makerFeeRate": dec(ctx.engine.fee_maker),
        }
        for s in syms
    ]
    return ok(request, {"list": rows})


def register(app: web.Application) -> None:
    """Add the position/account routes."""
    app.router.add_get("/v5/account/transaction-log", transaction_log)
    app.router.add_post("/v5/account/set-margin-mode", set_margin_mode)
    app.router.add_get("/v5/account/wallet-balance", wallet_balance)
    app.router.add_get("/v5/account/info", account_info)
    app.router.add_get("/v5/account/fee-rate", fee_rate)
    app.router.add_get("/v5/user/query-api", query_api)
    app.router.add_get("/v5/execution/list", spot.or_spot(execution_list, spot.execution_list))
