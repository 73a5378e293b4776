"""Binance USDⓈ-M public market endpoints, served as of the simulated clock.

exchangeInfo, time, 24h tickers, last prices, book tickers, premium index (mark, index,
funding), klines (trade, mark and index price; oldest first, the last one in progress),
funding history and funding info, open interest and its history, the order book.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import web

from bot.sim.http import marketdata as md
from bot.sim.http.binance import params as prm
from bot.sim.http.binance import wire
from bot.sim.http.binance.errors import INVALID_INTERVAL, BinanceError, invalid
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import json_response
from bot.sim.types import SimError

# Kline intervals the 1h replay data can answer (coarser ones are aggregated).
KLINE_INTERVALS = {"1h": 1, "2h": 2, "4h": 4, "6h": 6, "8h": 8, "12h": 12, "1d": 24}
OI_PERIODS = {"5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240, "6h": 360}
OI_PERIODS |= {"12h": 720, "1d": 1440}
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
MINUTE_MS = 60_000
TICKER_PATHS = (
    "/fapi/v1/ticker/24hr",
    "/fapi/v1/premiumIndex",
    "/fapi/v1/ticker/bookTicker",
    "/fapi/v1/ticker/price",
    "/fapi/v2/ticker/price",
)


def ok(body: Any) -> web.Response:
    """A successful Binance reply (the bare JSON payload)."""
    return json_response(body)


def _builders(ctx: SimContext) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    return {
        "/fapi/v1/ticker/24hr": lambda: wire.ticker24_rows(ctx),
        "/fapi/v1/premiumIndex": lambda: wire.premium_rows(ctx),
        "/fapi/v1/ticker/bookTicker": lambda: wire.book_rows(ctx),
        "/fapi/v1/ticker/price": lambda: wire.price_rows(ctx),
        "/fapi/v2/ticker/price": lambda: wire.price_rows(ctx),
    }


def ticker_snapshot(ctx: SimContext) -> dict[str, Any]:
    """Every ticker endpoint's full payload now (what a stale_tickers fault freezes)."""
    return {path: build() for path, build in _builders(ctx).items()}


def _pick(rows: list[dict[str, Any]], sym: str | None) -> Any:
    """The whole list, or the one symbol's object (Binance answers an object then)."""
    if sym is None:
        return rows
    for r in rows:
        if r["symbol"] == sym:
            return r
    raise BinanceError(-1121, "Invalid symbol.")


async def ping(request: web.Request) -> web.Response:
    """GET /fapi/v1/ping."""
    return ok({})


async def server_time(request: web.Request) -> web.Response:
    """GET /fapi/v1/time (simulated time)."""
    return ok({"serverTime": ctx_of(request).sim_ms(request.path)})


async def exchange_info(request: web.Request) -> web.Response:
    """GET /fapi/v1/exchangeInfo: every symbol that exists now."""
    ctx = ctx_of(request)
    now = ctx.engine.now_ms
    symbols = []
    for inst in md.listed(ctx, now):
        row = ctx.instrument_rows.get(inst.symbol)
        if row is None or row["_inst"] != inst:
            row = {**wire.symbol_row(inst, closed=False), "_inst": inst}
            ctx.instrument_rows[inst.symbol] = row
        out = {k: v for k, v in row.items() if k != "_inst"}
        if md.is_closed(ctx, inst.symbol, now) and out["status"] == "TRADING":
            out["status"] = "CLOSE"
        symbols.append(out)
    return ok(
        {
            "timezone": "UTC",
            "serverTime": ctx.sim_ms(request.path),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 2400,
                },
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }
    )


def _tickers(request: web.Request, key: str) -> web.Response:
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    rows = ctx.tickers_for(request.path, _builders(ctx)[key])
    return ok(_pick(rows, sym))


async def ticker_24hr(request: web.Request) -> web.Response:
    """GET /fapi/v1/ticker/24hr (one symbol: an object)."""
    return _tickers(request, "/fapi/v1/ticker/24hr")


async def premium_index(request: web.Request) -> web.Response:
    """GET /fapi/v1/premiumIndex: mark, index, funding rate and next funding time."""
    return _tickers(request, "/fapi/v1/premiumIndex")


async def book_ticker(request: web.Request) -> web.Response:
    """GET /fapi/v1/ticker/bookTicker."""
    return _tickers(request, "/fapi/v1/ticker/bookTicker")


async def ticker_price(request: web.Request) -> web.Response:
    """GET /fapi/v1/ticker/price and /fapi/v2/ticker/price."""
    return _tickers(request, request.path)


def _interval(p: prm.Params, name: str = "interval") -> int:
    iv = prm.text(p, name, required=True)
    if iv not in KLINE_INTERVALS:
        raise BinanceError(
            INVALID_INTERVAL,
            f"Invalid interval. The simulator's 1h data answers {', '.join(KLINE_INTERVALS)} "
            f"(got {iv!r})",
        )
    return KLINE_INTERVALS[iv] * 60 * MINUTE_MS


async def klines(request: web.Request) -> web.Response:
    """GET /fapi/v1/klines, markPriceKlines and indexPriceKlines (``pair``)."""
    ctx, p = ctx_of(request), params_of(request)
    index = request.path.endswith("indexPriceKlines")
    sym = prm.symbol(ctx, {"symbol": p.get("pair")} if index else p)
    assert sym is not None
    iv_ms = _interval(p)
    limit = prm.limit(p, 500, 1500)
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    kind = "trade" if request.path.endswith("/klines") else "price"
    return ok(wire.kline_rows(ctx, sym, iv_ms, start, end, limit, kind=kind))


async def funding_rate(request: web.Request) -> web.Response:
    """GET /fapi/v1/fundingRate: settlements paid by now, oldest first (with ``startTime``
    the first ``limit`` from it, else the last ``limit`` up to ``endTime``)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p, required=False)
    limit = prm.limit(p, 100, 1000)
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    now = ctx.engine.now_ms
    hi_t = now if end is None else min(end, now)
    m = ctx.market
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for s in [sym] if sym is not None else m.symbols:
        se = m.series[s]
        lo = 0 if start is None else int(np.searchsorted(se.funding_ts, start, side="left"))
        hi = int(np.searchsorted(se.funding_ts, hi_t, side="right"))
        sel = (
            range(lo, min(hi, lo + limit)) if start is not None else range(max(lo, hi - limit), hi)
        )
        inst = m.instruments[s]
        i = m.index[s]
        for k in sel:
            ts = int(se.funding_ts[k])
            mark = m.price_at(i, m.bar_index(ts))
            row = {
                "symbol": s,
                "fundingRate": wire.fixed(float(se.funding_rate[k]), 8),
                "fundingTime": ts,
                "markPrice": wire.fixed(mark, max(wire.places(inst.tick_size), 8)),
            }
            rows.append((ts, s, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    rows = rows[:limit] if start is not None else rows[-limit:]
    return ok([r[2] for r in rows])


async def funding_info(request: web.Request) -> web.Response:
    """GET /fapi/v1/fundingInfo: every symbol's funding interval now (Binance lists only the
    symbols whose settings were adjusted; the simulator lists all, see docs/simulator.md)."""
    ctx = ctx_of(request)
    rows = [
        {
            "symbol": inst.symbol,
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": inst.funding_interval_h,
            "disclaimer": False,
        }
        for inst in md.listed(ctx, ctx.engine.now_ms)
    ]
    return ok(rows)


async def open_interest(request: web.Request) -> web.Response:
    """GET /fapi/v1/openInterest: the latest observation up to now."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    s = ctx.market.series[sym]
    now = ctx.engine.now_ms
    k = int(np.searchsorted(s.oi_ts, now, side="right")) - 1
    if k < 0:
        raise invalid("symbol", f"{sym} has no open interest yet")
    inst = ctx.market.instruments[sym]
    return ok({"openInterest": wire.qty(inst, float(s.oi[k])), "symbol": sym, "time": now})


async def open_interest_hist(request: web.Request) -> web.Response:
    """GET /futures/data/openInterestHist: open interest on the ``period`` grid (a step
    function of the hourly data), oldest first."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    period = prm.choice(p, "period", tuple(OI_PERIODS))
    limit = prm.limit(p, 30, 500)
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    iv_ms = OI_PERIODS[period] * MINUTE_MS
    points, _ = md.oi_points(ctx, sym, iv_ms, start, end, 0, 10**9)
    points.reverse()  # oldest first
    points = points[:limit] if start is not None else points[-limit:]
    m = ctx.market
    i = m.index[sym]
    rows = []
    for t, v in points:
        price = m.price_at(i, m.bar_index(t))
        rows.append(
            {
                "symbol": sym,
                "sumOpenInterest": wire.fixed(v, 8),
                "sumOpenInterestValue": wire.fixed(v * price, 8),
                "CMCCirculatingSupply": "0",
                "timestamp": t,
            }
        )
    return ok(rows)


async def depth(request: web.Request) -> web.Response:
    """GET /fapi/v1/depth: the quote model's book (``marketdata.book``)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = prm.symbol(ctx, p)
    assert sym is not None
    n = int(prm.integer(p, "limit", 500))
    if n not in DEPTH_LIMITS:
        raise invalid("limit", f"one of {DEPTH_LIMITS}")
    inst = ctx.market.instruments[sym]
    now = ctx.engine.now_ms
    try:
        bids, asks, size = md.book(ctx, sym, n)
    except SimError:
        bids, asks, size = [], [], inst.qty_step
    sz = wire.qty(inst, size)
    return ok(
        {
            "lastUpdateId": now,
            "E": now,
            "T": now,
            "bids": [[wire.px(inst, b), sz] for b in bids],
            "asks": [[wire.px(inst, a), sz] for a in asks],
        }
    )


def register(app: web.Application) -> None:
    """Add the public market routes."""
    r = app.router
    r.add_get("/fapi/v1/ping", ping)
    r.add_get("/fapi/v1/time", server_time)
    r.add_get("/fapi/v1/exchangeInfo", exchange_info)
    r.add_get("/fapi/v1/ticker/24hr", ticker_24hr)
    r.add_get("/fapi/v1/ticker/price", ticker_price)
    r.add_get("/fapi/v2/ticker/price", ticker_price)
    r.add_get("/fapi/v1/ticker/bookTicker", book_ticker)
    r.add_get("/fapi/v1/premiumIndex", premium_index)
    r.add_get("/fapi/v1/klines", klines)
    r.add_get("/fapi/v1/markPriceKlines", klines)
    r.add_get("/fapi/v1/indexPriceKlines", klines)
    r.add_get("/fapi/v1/fundingRate", funding_rate)
    r.add_get("/fapi/v1/fundingInfo", funding_info)
    r.add_get("/fapi/v1/openInterest", open_interest)
    r.add_get("/futures/data/openInterestHist", open_interest_hist)
    r.add_get("/fapi/v1/depth", depth)
