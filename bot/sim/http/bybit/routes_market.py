"""Public market endpoints: time, instruments-info, tickers, kline, funding, OI, risk-limit.

Everything is served "as of" the simulated clock: bars that have not closed, settlements not
yet paid and open interest not yet observed are invisible, exactly as on a live venue.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from aiohttp import web

from bot.sim.http import marketdata as md
from bot.sim.http.bybit import serializers as ser
from bot.sim.http.bybit import series, spot
from bot.sim.http.bybit.fmt import (
    PARAM_ERROR,
    BybitError,
    cursor_offset,
    int_param,
    limit_param,
    ok,
    page,
)
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import flt
from bot.sim.types import SimError

# Bybit kline intervals (minutes) the 1h replay data can answer; coarser ones are aggregated.
KLINE_INTERVALS = {"60": 60, "120": 120, "240": 240, "360": 360, "720": 720, "D": 1440}
RISK_PAGE = 100
OI_INTERVALS = {"5min": 5, "15min": 15, "30min": 30, "1h": 60, "4h": 240, "1d": 1440}


def _linear(params: dict[str, Any], *, required: bool = True) -> bool:
    """True for category=linear; other categories get empty lists (the sim has none)."""
    cat = params.get("category")
    if cat is None or cat == "":
        if required:
            raise BybitError(PARAM_ERROR, "params error: category is required")
        return True
    if cat not in ("linear", "inverse", "spot", "option"):
        raise BybitError(PARAM_ERROR, f"params error: category {cat!r} is invalid")
    return bool(cat == "linear")


def symbol_of(ctx: SimContext, params: dict[str, Any], *, required: bool = True) -> str | None:
    """The ``symbol`` parameter, checked against the replayed universe."""
    sym = params.get("symbol")
    if not sym:
        if required:
            raise BybitError(PARAM_ERROR, "params error: symbol is required")
        return None
    sym = str(sym).upper()
    if sym not in ctx.market.instruments:
        raise BybitError(PARAM_ERROR, f"params error: Symbol Is Invalid ({sym})")
    return sym


async def server_time(request: web.Request) -> web.Response:
    """GET /v5/market/time (simulated time)."""
    t = ctx_of(request).sim_ms(request.path)
    return ok(request, {"timeSecond": str(t // 1000), "timeNano": str(t * 1_000_000)})


async def instruments_info(request: web.Request) -> web.Response:
    """GET /v5/market/instruments-info."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    limit = limit_param(p, 500, 1000)
    # Bybit lists only Trading symbols unless a status is asked for (or a symbol is named).
    sym = symbol_of(ctx, p, required=False)
    status = p.get("status") or ("" if sym else "Trading")
    rows: list[dict[str, Any]] = []
    if linear:
        now = ctx.engine.now_ms
        for inst in md.listed(ctx, now):
            if sym is not None and inst.symbol != sym:
                continue
            row = ctx.instrument_rows.get(inst.symbol)
            if row is None or row["_inst"] != inst:
                row = {**ser.instrument(inst, closed=False), "_inst": inst}
                ctx.instrument_rows[inst.symbol] = row
            if md.is_closed(ctx, inst.symbol, now) and row["status"] == "Trading":
                row = {**row, "status": "Closed"}
            if status and row["status"] != status:
                continue
            rows.append({k: v for k, v in row.items() if k != "_inst"})
    chunk, nxt = page(rows, p.get("cursor"), limit)
    return ok(request, {"category": p["category"], "list": chunk, "nextPageCursor": nxt})


async def tickers(request: web.Request) -> web.Response:
    """GET /v5/market/tickers (frozen while a stale_tickers fault is active)."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    sym = symbol_of(ctx, p, required=False)
    rows: list[dict[str, Any]] = []
    if linear:
        rows = ctx.tickers_for(request.path, lambda: ser.ticker_rows(ctx))
        if sym is not None:
            rows = [r for r in rows if r["symbol"] == sym]
    return ok(request, {"category": p["category"], "list": rows})


async def kline(request: web.Request) -> web.Response:
    """GET /v5/market/kline and mark-price-kline: newest first, the newest in progress
    (``category=spot``: the spot market's klines)."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    spot_kline = p.get("category") == "spot" and request.path.endswith("/kline")
    sym = spot.spot_symbol(ctx, p) if spot_kline else symbol_of(ctx, p)
    assert sym is not None
    interval = str(p.get("interval", ""))
    if interval not in KLINE_INTERVALS:
        raise BybitError(
            PARAM_ERROR,
            f"params error: interval {interval!r} not supported by the simulator's 1h data "
            f"(use one of {', '.join(KLINE_INTERVALS)})",
        )
    limit = limit_param(p, 200, 1000)
    start = int_param(p, "start")
    end = int_param(p, "end")
    rows: list[list[str]] = []
    iv_ms = KLINE_INTERVALS[interval] * 60_000
    if spot_kline:  # the spot market's own candles (``spotdata.spot_candles``)
        rows = spot.kline_rows(ctx, sym, iv_ms, start, end, limit)
    elif linear:
        mark = request.path.endswith("mark-price-kline")
        rows = series.kline_rows(ctx, sym, iv_ms, start, end, limit, mark=mark)
    return ok(request, {"symbol": sym, "category": p["category"], "list": rows})


async def orderbook(request: web.Request) -> web.Response:
    """GET /v5/market/orderbook: the quote model's book (``series.orderbook``)."""
    ctx, p = ctx_of(request), params_of(request)
    _linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    limit = limit_param(p, 25, series.BOOK_LEVELS_MAX)
    try:
        book = series.orderbook(ctx, sym, limit)
    except SimError:
        book = {"s": sym, "b": [], "a": [], "ts": ctx.engine.now_ms, "u": 0, "seq": 0, "cts": 0}
    return ok(request, book)


async def funding_history(request: web.Request) -> web.Response:
    """GET /v5/market/funding/history: settlements paid by now, newest first."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    limit = limit_param(p, 200, 200)
    start = int_param(p, "startTime")
    end = int_param(p, "endTime")
    rows: list[dict[str, str]] = []
    if linear:
        s = ctx.market.series[sym]
        now = ctx.engine.now_ms
        hi = now if end is None else min(end, now)
        lo_i = 0 if start is None else int(np.searchsorted(s.funding_ts, start, side="left"))
        hi_i = int(np.searchsorted(s.funding_ts, hi, side="right"))
        if hi_i > lo_i:
            sel = range(hi_i - 1, max(lo_i, hi_i - limit) - 1, -1)
            rows = [
                {
                    "symbol": sym,
                    "fundingRate": flt(float(s.funding_rate[k])),
                    "fundingRateTimestamp": str(int(s.funding_ts[k])),
                }
                for k in sel
            ]
    return ok(request, {"category": p["category"], "list": rows})


async def open_interest(request: web.Request) -> web.Response:
    """GET /v5/market/open-interest: observations up to now, newest first, cursor-paged."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    sym = symbol_of(ctx, p)
    assert sym is not None
    it = str(p.get("intervalTime", ""))
    if it not in OI_INTERVALS:
        raise BybitError(
            PARAM_ERROR, f"params error: intervalTime must be one of {', '.join(OI_INTERVALS)}"
        )
    limit = limit_param(p, 50, 200)
    start = int_param(p, "startTime")
    end = int_param(p, "endTime")
    offset = cursor_offset(p.get("cursor"))
    rows: list[dict[str, str]] = []
    nxt = ""
    if linear:
        iv_ms = OI_INTERVALS[it] * 60_000
        chunk, more = md.oi_points(ctx, sym, iv_ms, start, end, offset, limit)
        nxt = str(offset + limit) if more else ""
        rows = [{"openInterest": flt(v), "timestamp": str(t)} for t, v in chunk]
    return ok(
        request,
        {"symbol": sym, "category": p["category"], "list": rows, "nextPageCursor": nxt},
    )


async def risk_limit(request: web.Request) -> web.Response:
    """GET /v5/market/risk-limit: the leverage tiers, cursor-paged (RISK_PAGE rows a page)."""
    ctx, p = ctx_of(request), params_of(request)
    linear = _linear(p)
    sym = symbol_of(ctx, p, required=False)
    rows: list[dict[str, Any]] = []
    if linear:
        now = ctx.engine.now_ms
        for inst in md.listed(ctx, now):
            trading = inst.status == "Trading" and not md.is_closed(ctx, inst.symbol, now)
            if inst.symbol == sym or (sym is None and trading):
                rows.extend(ser.risk_rows(inst))
    chunk, nxt = page(rows, p.get("cursor"), RISK_PAGE)
    return ok(request, {"category": p["category"], "list": chunk, "nextPageCursor": nxt})


def register(app: web.Application) -> None:
    """Add the market routes."""
    app.router.add_get("/v5/market/time", server_time)
    app.router.add_get(
        "/v5/market/instruments-info", spot.or_spot(instruments_info, spot.instruments_info)
    )
    app.router.add_get("/v5/market/tickers", spot.or_spot(tickers, spot.tickers))
    app.router.add_get("/v5/market/kline", kline)
    app.router.add_get("/v5/market/mark-price-kline", kline)
    app.router.add_get("/v5/market/orderbook", orderbook)
    app.router.add_get("/v5/market/funding/history", funding_history)
    app.router.add_get("/v5/market/open-interest", open_interest)
    app.router.add_get("/v5/market/risk-limit", risk_limit)
