"""The Binance USDⓈ-M face: ``/fapi/...`` and ``/futures/data/...`` over the shared engine.

- Parameters come from the query string and, for POST/PUT/DELETE, the form body too; signed
  endpoints are verified as Binance does (``bot.sim.http.binance.auth``).
- A refusal is ``{"code": <Binance code>, "msg": ...}`` with Binance's HTTP status (400 for a
  bad request, 401 for a bad key); engine refusals are mapped by ``errors.from_sim``.
- Rate limits: a ``rate_limit`` fault answers HTTP 429 with ``Retry-After`` (scope ``ip``:
  -1003 for the IP weight limit; ``account``: -1015 for the order count) or, scope ``ban``,
  HTTP 418 with ``Retry-After`` (an IP ban). Every reply carries ``X-MBX-USED-WEIGHT-1M`` (the
  IP's weight used this minute, from Binance's weights per endpoint, ``weights``; counted, not
  enforced), and new orders ``X-MBX-ORDER-COUNT-10S`` / ``-1M``. Spot (``/api/v3``) and the
  wallet (``/sapi``) count on a limit of their own (another host on Binance): spot orders
  report ``X-MBX-ORDER-COUNT-10S`` / ``-1D``, the wallet ``X-SAPI-USED-IP-WEIGHT-1M`` or, for
  the transfer, ``X-SAPI-USED-UID-WEIGHT-1M``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.sim.clock import wall_ms
from bot.sim.faults import Decision, FaultProfile
from bot.sim.http.binance import (
    routes_account,
    routes_algo,
    routes_batch,
    routes_market,
    routes_spot,
    routes_trade,
    routes_wallet,
)
from bot.sim.http.binance.auth import verify
from bot.sim.http.binance.errors import (
    DISCONNECTED,
    TOO_MANY_ORDERS,
    TOO_MANY_REQUESTS,
    UNKNOWN,
    BinanceError,
    from_sim,
)
from bot.sim.http.binance.weights import ORDER_PATHS, UID_WEIGHTED, is_spot_api, weight
from bot.sim.http.context import SimContext
from bot.sim.http.face import Face
from bot.sim.http.numbers import json_response
from bot.sim.rules import BINANCE
from bot.sim.types import SimError

PUBLIC = frozenset(
    {
        "/fapi/v1/ping",
        "/fapi/v1/time",
        "/fapi/v1/exchangeInfo",
        "/fapi/v1/ticker/24hr",
        "/fapi/v1/ticker/price",
        "/fapi/v2/ticker/price",
        "/fapi/v1/ticker/bookTicker",
        "/fapi/v1/premiumIndex",
        "/fapi/v1/klines",
        "/fapi/v1/markPriceKlines",
        "/fapi/v1/indexPriceKlines",
        "/fapi/v1/fundingRate",
        "/fapi/v1/fundingInfo",
        "/fapi/v1/openInterest",
        "/futures/data/openInterestHist",
        "/fapi/v1/depth",
        *routes_spot.PUBLIC_PATHS,
    }
)
BINANCE_FAULTS = FaultProfile(
    laggable=(
        "/fapi/v1/userTrades",
        "/fapi/v1/allOrders",
        "/fapi/v1/openOrders",
        "/fapi/v1/order",
        "/fapi/v1/income",
        "/fapi/v1/algoOrder",
        "/fapi/v1/openAlgoOrders",
        "/fapi/v1/allAlgoOrders",
    ),
    tickers=routes_market.TICKER_PATHS,
    scopes=("ip", "account", "ban"),
    default_error_code=DISCONNECTED,
)


@dataclass
class Counters:
    """Fixed wall-clock windows: IP weight per minute, new orders per 10 s and per minute."""

    windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, name: str, window_ms: int, n: int, now: int) -> int:
        start, used = self.windows.get(name, (now - now % window_ms, 0))
        if now - start >= window_ms:
            start, used = now - now % window_ms, 0
        used += n
        self.windows[name] = (start, used)
        return used


def _body(code: int, msg: str, status: int, retry_after_ms: int | None = None) -> web.Response:
    resp = json_response({"code": code, "msg": msg}, status=status)
    if retry_after_ms is not None:
        resp.headers["Retry-After"] = str(max(1, math.ceil(retry_after_ms / 1000)))
    return resp


class BinanceFace(Face):
    """Binance USDⓈ-M futures (``/fapi/...``, ``/futures/data/...``; two ``/sapi`` reads) and
    Binance spot (``/api/v3/...``, ``routes_spot``; the wallet transfer)."""

    name = "binanceusdm"
    rules = BINANCE
    faults = BINANCE_FAULTS
    prefixes = ("/fapi/", "/futures/data/", "/sapi/", "/api/v3/")

    def __init__(self) -> None:
        self.counters = Counters()

    def register(self, app: web.Application) -> None:
        routes_market.register(app)
        routes_trade.register(app)
        routes_batch.register(app)
        routes_algo.register(app)
        routes_account.register(app)
        routes_wallet.register(app)
        routes_spot.register(app)

    async def params(self, request: web.Request, ctx: SimContext) -> dict[str, Any]:
        """Query and form-body parameters, verified on signed endpoints."""
        query = request.rel_url.raw_query_string
        body = "" if request.method == "GET" else await request.text()
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        if request.path not in PUBLIC:
            verify(
                api_key_header=request.headers.get("X-MBX-APIKEY"),
                query=query,
                body=body,
                timestamp=params.get("timestamp"),
                recv_window=params.get("recvWindow"),
                api_key=ctx.api_key,
                secret=ctx.api_secret,
                server_wall_ms=ctx.server_wall_ms(request.path),
            )
        return params

    def error(self, ctx: SimContext, path: str, exc: Exception) -> web.Response:
        if isinstance(exc, SimError):
            exc = from_sim(exc)
        if isinstance(exc, BinanceError):
            return _body(exc.code, exc.msg, exc.status)
        return _body(UNKNOWN, f"An unknown error occurred: {type(exc).__name__}: {exc}", 500)

    def injected_error(self, ctx: SimContext, path: str, code: int) -> web.Response:
        status = 500 if code == DISCONNECTED else 400
        msg = "Internal error; unable to process your request. Please try again."
        return _body(code, msg, status)

    def limited(self, ctx: SimContext, path: str, d: Decision) -> web.Response:
        assert d.limit is not None
        limit, _, reset_ms = d.limit
        wait = reset_ms - wall_ms()
        if d.rate_limited == "ban":
            return _body(
                TOO_MANY_REQUESTS,
                f"Way too many requests; IP(127.0.0.1) banned until {reset_ms}. Please use "
                "the websocket for live updates to avoid bans.",
                418,
                wait,
            )
        if d.rate_limited == "account":
            return _body(
                TOO_MANY_ORDERS,
                f"Too many new orders; current limit is {limit} orders per window.",
                429,
                wait,
            )
        return _body(
            TOO_MANY_REQUESTS,
            f"Too many requests; current limit of IP(127.0.0.1) is {limit} requests per "
            "window. Please use the websocket for live updates to avoid polling the API.",
            429,
            wait,
        )

    def headers(
        self, ctx: SimContext, request: web.Request, response: web.StreamResponse, d: Decision
    ) -> web.StreamResponse:
        """``X-MBX-USED-WEIGHT-1M`` (and the order counts on new orders); ``Date`` is the
        server's own (possibly skewed) wall clock, as a real server's is: the only clock a
        -1021 refusal lets a client re-sync from without another request."""
        now = wall_ms()
        response.headers["Date"] = formatdate(ctx.server_wall_ms(request.path) / 1000, usegmt=True)
        w = weight(request.path, request.method, request.query)
        ctx.weights[f"{request.method} {request.path}"] += w
        spot = is_spot_api(request.path)  # api.binance.com: a limit of its own
        used = self.counters.add("spot weight" if spot else "weight", 60_000, w, now)
        if d.limit is not None:  # a rate_limit fault's budget: report it as used weight
            limit, remaining, _ = d.limit
            used = max(used, limit - remaining)
        if request.path.startswith("/sapi/"):
            return self._sapi_headers(request, response, w, used, now)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        if request.method == "POST" and request.path == "/api/v3/order":
            response.headers["X-MBX-ORDER-COUNT-10S"] = str(
                self.counters.add("spot orders10s", 10_000, 1, now)
            )
            response.headers["X-MBX-ORDER-COUNT-1D"] = str(
                self.counters.add("spot orders1d", 86_400_000, 1, now)
            )
        elif request.method == "POST" and request.path in ORDER_PATHS:
            response.headers["X-MBX-ORDER-COUNT-10S"] = str(
                self.counters.add("orders10s", 10_000, 1, now)
            )
            response.headers["X-MBX-ORDER-COUNT-1M"] = str(
                self.counters.add("orders1m", 60_000, 1, now)
            )
        return response

    def _sapi_headers(
        self, request: web.Request, response: web.StreamResponse, w: int, used: int, now: int
    ) -> web.StreamResponse:
        """``/sapi``: IP-weighted reads report ``X-SAPI-USED-IP-WEIGHT-1M``, the transfer
        (weighed per account) ``X-SAPI-USED-UID-WEIGHT-1M``."""
        if (request.method, request.path) in UID_WEIGHTED:
            uid = self.counters.add("sapi uid", 60_000, w, now)
            response.headers["X-SAPI-USED-UID-WEIGHT-1M"] = str(uid)
        else:
            response.headers["X-SAPI-USED-IP-WEIGHT-1M"] = str(used)
        return response

    def ticker_snapshot(self, ctx: SimContext) -> dict[str, Any]:
        return routes_market.ticker_snapshot(ctx)
