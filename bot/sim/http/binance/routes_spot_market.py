"""Binance spot (``/api/v3``) public market data on the simulator: ping, time, exchangeInfo,
tickers, klines."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sim.http.binance import params as prm
from bot.sim.http.binance.errors import BAD_SYMBOL, BinanceError
from bot.sim.http.binance.routes_market import _interval, ok
from bot.sim.http.binance.wire import fixed
from bot.sim.http.context import SimContext, ctx_of, params_of
from bot.sim.http.numbers import dec
from bot.sim.http.spotdata import spot_candles, spot_quotes
from bot.sim.spot import SpotSpec


def spot_symbol(ctx: SimContext, p: prm.Params, *, required: bool = True) -> str | None:
    sym = prm.text(p, "symbol", required=required)
    if sym is None:
        return None
    sym = sym.upper()
    if sym not in ctx.engine.spot_markets():
        raise BinanceError(BAD_SYMBOL, "Invalid symbol.")
    return sym


async def ping(request: web.Request) -> web.Response:
    """GET /api/v3/ping."""
    return ok({})


async def server_time(request: web.Request) -> web.Response:
    """GET /api/v3/time (simulated time)."""
    return ok({"serverTime": ctx_of(request).sim_ms(request.path)})


def symbol_row(spec: SpotSpec) -> dict[str, Any]:
    """One exchangeInfo symbol."""
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": dec(spec.tick),
                "maxPrice": "1000000.00000000",
                "tickSize": dec(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": dec(spec.min_qty),
                "maxQty": "9000000000",
                "stepSize": dec(spec.qty_step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": dec(spec.min_qty),
                "maxQty": "9000000000",
                "stepSize": dec(spec.qty_step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": dec(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


async def exchange_info(request: web.Request) -> web.Response:
    """GET /api/v3/exchangeInfo: every spot market whose perpetual trades now."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    listed = {q.spec.symbol: q.spec for q in spot_quotes(ctx, sym)}
    return ok(
        {
            "timezone": "UTC",
            "serverTime": ctx.sim_ms(request.path),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [symbol_row(s) for s in listed.values()],
        }
    )


def _one_or_all(rows: list[dict[str, Any]], sym: str | None) -> web.Response:
    return ok(rows[0] if sym is not None and rows else rows)


async def ticker_24hr(request: web.Request) -> web.Response:
    """GET /api/v3/ticker/24hr (one symbol: an object)."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    now = ctx.engine.now_ms
    rows = []
    for q in spot_quotes(ctx, sym):
        op = q.open_24h if q.open_24h is not None else q.last
        rows.append(
            {
                "symbol": q.spec.symbol, "priceChange": dec(q.last - op),
                "priceChangePercent": f"{q.change_24h * 100:.3f}",
                "weightedAvgPrice": dec(q.last), "prevClosePrice": dec(op),
                "lastPrice": dec(q.last), "lastQty": dec(q.book_size),
                "bidPrice": dec(q.bid), "bidQty": dec(q.book_size),
                "askPrice": dec(q.ask), "askQty": dec(q.book_size),
                "openPrice": dec(op), "highPrice": dec(q.high_24h or q.last),
                "lowPrice": dec(q.low_24h or q.last), "volume": f"{q.volume_24h:.8f}",
                "quoteVolume": f"{q.turnover_24h:.8f}", "openTime": now - 86_400_000,
                "closeTime": now, "firstId": 0, "lastId": 0, "count": 0,
            }
        )  # fmt: skip
    return _one_or_all(rows, sym)


async def ticker_price(request: web.Request) -> web.Response:
    """GET /api/v3/ticker/price."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    rows = [{"symbol": q.spec.symbol, "price": dec(q.last)} for q in spot_quotes(ctx, sym)]
    return _one_or_all(rows, sym)


async def book_ticker(request: web.Request) -> web.Response:
    """GET /api/v3/ticker/bookTicker."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p, required=False)
    rows = [
        {"symbol": q.spec.symbol, "bidPrice": dec(q.bid), "bidQty": dec(q.book_size),
         "askPrice": dec(q.ask), "askQty": dec(q.book_size)}
        for q in spot_quotes(ctx, sym)
    ]  # fmt: skip
    return _one_or_all(rows, sym)


async def klines(request: web.Request) -> web.Response:
    """GET /api/v3/klines: the spot market's klines oldest first, the last in progress
    (``spotdata.spot_candles``), prices and amounts at 8 decimals as Binance spot prints."""
    ctx, p = ctx_of(request), params_of(request)
    sym = spot_symbol(ctx, p)
    assert sym is not None
    iv_ms = _interval(p)
    limit = prm.limit(p, 500, 1000)
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    spec = ctx.engine.spot_market(sym)
    rows = [
        [
            c.open_ms,
            fixed(c.open, 8),
            fixed(c.high, 8),
            fixed(c.low, 8),
            fixed(c.close, 8),
            fixed(c.volume, 8),
            c.open_ms + iv_ms - 1,
            fixed(c.turnover, 8),
            c.bars,
            "0.00000000",
            "0.00000000",
            "0",
        ]
        for c in spot_candles(ctx, spec, iv_ms, start, end, limit, from_containing=False)
    ]
    return ok(rows)
