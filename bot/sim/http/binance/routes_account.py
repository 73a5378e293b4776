"""Binance USDⓈ-M account endpoints: account and balance, positions, leverage brackets,
leverage, margin type, position mode, symbol configuration, income and commission rates.

A new account is what a new Binance account is: every symbol cross margin (``CROSSED``),
one-way (``dualSidePosition`` false), 20x leverage (``bot.sim.rules.BINANCE``).
"""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from bot.sim.account import CROSS, ISOLATED
from bot.sim.http.binance import account_views, wire
from bot.sim.http.binance import params as prm
from bot.sim.http.binance.errors import INVALID_LEVERAGE, BinanceError
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.types import SimError

WEEK_MS = 7 * 86_400_000
_MARGIN = {"ISOLATED": ISOLATED, "CROSSED": CROSS}
INCOME_TYPES = ("TRANSFER", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR")
SUCCESS = {"code": 200, "msg": "success"}


def _max_notional(ctx: SimContext, sym: str, leverage: Decimal) -> str:
    """The largest position value ``leverage`` is allowed for (the tiers' caps)."""
    caps = [t.cap for t in ctx.market.instruments[sym].tiers if t.max_leverage >= leverage]
    return str(int(max(caps))) if caps else "0"


async def account_v3(request: web.Request) -> web.Response:
    """GET /fapi/v3/account."""
    return ok(account_views.account(ctx_of(request)))


async def account_v2(request: web.Request) -> web.Response:
    """GET /fapi/v2/account."""
    return ok(account_views.account(ctx_of(request), v3=False))


async def balance(request: web.Request) -> web.Response:
    """GET /fapi/v2/balance and /fapi/v3/balance."""
    return ok(account_views.balance_rows(ctx_of(request)))


async def position_risk(request: web.Request) -> web.Response:
    """GET /fapi/v3/positionRisk: symbols with a position or open orders."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    return ok(account_views.position_rows(ctx, sym))


async def position_risk_v2(request: web.Request) -> web.Response:
    """GET /fapi/v2/positionRisk: every symbol (or one), with its leverage and margin type."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    eng = ctx.engine
    rows = []
    for s in [sym] if sym is not None else sorted(eng.instruments):
        held = eng.account.of_symbol(s)
        base = (
            [account_views.position_row(ctx, s, pos) for pos in held]
            if held
            else [account_views.position_row(ctx, s, None)]
        )
        lev = eng.leverage(s)
        for r in base:
            rows.append(
                {
                    **r,
                    "leverage": str(int(lev)),
                    "maxNotionalValue": _max_notional(ctx, s, lev),
                    "marginType": "isolated" if eng.margin_mode_of(s) == ISOLATED else "cross",
                    "isAutoAddMargin": "false",
                }
            )
    return ok(rows)


async def account_config(request: web.Request) -> web.Response:
    """GET /fapi/v1/accountConfig."""
    eng = ctx_of(request).engine
    return ok(
        {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": eng.account.hedge_default,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }
    )


async def leverage_bracket(request: web.Request) -> web.Response:
    """GET /fapi/v1/leverageBracket: every trading symbol's brackets (one symbol: an
    object)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    insts = ctx.market.instruments
    if sym is not None:
        return ok({"symbol": sym, "notionalCoef": 1.0, "brackets": wire.bracket_rows(insts[sym])})
    rows = [
        {"symbol": s, "notionalCoef": 1.0, "brackets": wire.bracket_rows(insts[s])}
        for s in sorted(ctx.engine.instruments)
    ]
    return ok(rows)


async def set_leverage(request: web.Request) -> web.Response:
    """POST /fapi/v1/leverage: an integer in [1, max]; the same value again succeeds."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    lev = prm.integer(p, "leverage", required=True)
    inst = ctx.engine.instruments[sym]
    if not 1 <= lev <= inst.max_leverage:
        raise BinanceError(INVALID_LEVERAGE, f"Leverage {lev} is not valid")
    try:
        ctx.engine.set_leverage(sym, Decimal(lev))
    except SimError as exc:
        if exc.code != SimError.LEVERAGE_NOT_MODIFIED:
            raise
    return ok(
        {
            "leverage": lev,
            "maxNotionalValue": _max_notional(ctx, sym, Decimal(lev)),
            "symbol": sym,
        }
    )


async def set_margin_type(request: web.Request) -> web.Response:
    """POST /fapi/v1/marginType: ISOLATED or CROSSED for one symbol (-4046 when it already
    is; -4048 with a position, -4047 with open orders)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    mode = prm.choice(p, "marginType", tuple(_MARGIN))
    ctx.engine.set_symbol_margin_mode(sym, _MARGIN[mode])
    return ok(SUCCESS)


async def position_mode_get(request: web.Request) -> web.Response:
    """GET /fapi/v1/positionSide/dual."""
    return ok({"dualSidePosition": ctx_of(request).engine.account.hedge_default})


async def position_mode_post(request: web.Request) -> web.Response:
    """POST /fapi/v1/positionSide/dual: hedge (true) or one-way (false) for the account
    (-4059 when it already is; -4068 with a position, -4067 with open orders)."""
    ctx, p = ctx_of(request), params_of(request)
    dual = prm.boolean(p, "dualSidePosition")
    if dual is None:
        raise BinanceError(-1102, "Mandatory parameter 'dualSidePosition' was not sent.")
    ctx.engine.set_position_mode(dual)
    return ok(SUCCESS)


async def symbol_config(request: web.Request) -> web.Response:
    """GET /fapi/v1/symbolConfig: each symbol's margin type and leverage."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    eng = ctx.engine
    rows = []
    for s in [sym] if sym is not None else sorted(eng.instruments):
        lev = eng.leverage(s)
        rows.append(
            {
                "symbol": s,
                "marginType": "ISOLATED" if eng.margin_mode_of(s) == ISOLATED else "CROSSED",
                "isAutoAddMargin": False,
                "leverage": int(lev),
                "maxNotionalValue": _max_notional(ctx, s, lev),
            }
        )
    return ok(rows)


async def income(request: web.Request) -> web.Response:
    """GET /fapi/v1/income: the account's income items, oldest first (the last 7 days when
    neither startTime nor endTime is sent), by ``symbol``/``incomeType``, paged."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    kind = prm.text(p, "incomeType")
    limit = prm.limit(p, 100, 1000)
    page = int(prm.integer(p, "page", 1))
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    if start is None and end is None:
        start = ctx.engine.now_ms - WEEK_MS
    txs = ctx.engine.account.transactions[: ctx.visible(request.path, "tx")]
    rows = [
        r
        for r in account_views.income_rows(ctx, txs)
        if (sym is None or r["symbol"] == sym)
        and (kind is None or r["incomeType"] == kind)
        and (start is None or r["time"] >= start)
        and (end is None or r["time"] <= end)
    ]
    first = (max(page, 1) - 1) * limit
    return ok(rows[first : first + limit])


async def commission_rate(request: web.Request) -> web.Response:
    """GET /fapi/v1/commissionRate: the engine's fees."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    return ok(
        {
            "symbol": sym,
            "makerCommissionRate": str(ctx.engine.fee_maker),
            "takerCommissionRate": str(ctx.engine.fee_taker),
            "rpiCommissionRate": "0",
        }
    )


def register(app: web.Application) -> None:
    """Add the account routes."""
    r = app.router
    r.add_get("/fapi/v3/account", account_v3)
    r.add_get("/fapi/v2/account", account_v2)
    r.add_get("/fapi/v2/balance", balance)
    r.add_get("/fapi/v3/balance", balance)
    r.add_get("/fapi/v3/positionRisk", position_risk)
    r.add_get("/fapi/v2/positionRisk", position_risk_v2)
    r.add_get("/fapi/v1/accountConfig", account_config)
    r.add_get("/fapi/v1/leverageBracket", leverage_bracket)
    r.add_post("/fapi/v1/leverage", set_leverage)
    r.add_post("/fapi/v1/marginType", set_margin_type)
    r.add_get("/fapi/v1/positionSide/dual", position_mode_get)
    r.add_post("/fapi/v1/positionSide/dual", position_mode_post)
    r.add_get("/fapi/v1/symbolConfig", symbol_config)
    r.add_get("/fapi/v1/income", income)
    r.add_get("/fapi/v1/commissionRate", commission_rate)
