"""The Bybit v5 face: signing, the ``{retCode, retMsg, result, retExtInfo, time}`` envelope,
Bybit's refusals and rate-limit headers (SIM-VENUE.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sim.clock import wall_ms
from bot.sim.faults import Decision, FaultProfile
from bot.sim.http.bybit import (
    routes_account,
    routes_market,
    routes_position,
    routes_trade,
    serializers,
)
from bot.sim.http.bybit.auth import AuthError, verify
from bot.sim.http.bybit.fmt import PARAM_ERROR, RATE_LIMIT, SYSTEM_ERROR, BybitError, envelope
from bot.sim.http.context import SimContext
from bot.sim.http.face import Face
from bot.sim.http.numbers import json_response
from bot.sim.rules import BYBIT
from bot.sim.types import SimError

PUBLIC_PREFIX = "/v5/market/"
TICKERS_PATH = "/v5/market/tickers"
# Bybit's default per-UID limits (requests per second) for the rate-limit headers.
WRITE_LIMIT_PER_S = 10
READ_LIMIT_PER_S = 50
_WRITES = ("/v5/order/", "/v5/position/set", "/v5/position/trading-stop", "/v5/position/switch")
BYBIT_FAULTS = FaultProfile(
    laggable=(
        "/v5/execution/list",
        "/v5/order/realtime",
        "/v5/order/history",
        "/v5/position/list",
        "/v5/position/closed-pnl",
        "/v5/account/transaction-log",
        "/v5/account/wallet-balance",
    ),
    tickers=(TICKERS_PATH,),
    scopes=("account", "ip"),
    default_error_code=SYSTEM_ERROR,
)


@dataclass
class DefaultBudget:
    """Bybit's default per-endpoint budget, counted in 1 s windows for the limit headers
    (not enforced: only a ``rate_limit`` fault refuses requests)."""

    windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    @staticmethod
    def limit_for(path: str) -> int:
        writes = path.startswith(_WRITES) and not path.endswith(("realtime", "history"))
        return WRITE_LIMIT_PER_S if writes else READ_LIMIT_PER_S

    def take(self, path: str, wall_ms: int) -> tuple[int, int, int]:
        """Count one request; (limit, remaining, reset wall ms) for the headers."""
        start, used = self.windows.get(path, (wall_ms, 0))
        if wall_ms - start >= 1000:
            start, used = wall_ms, 0
        used += 1
        self.windows[path] = (start, used)
        limit = self.limit_for(path)
        return limit, max(limit - used, 0), start + 1000


def _error(ctx: SimContext, path: str, code: int, msg: str, status: int = 200) -> web.Response:
    return json_response(envelope({}, ctx.sim_ms(path), code, msg), status=status)


class BybitFace(Face):
    """Bybit v5 (``/v5/...``)."""

    name = "bybit"
    rules = BYBIT
    faults = BYBIT_FAULTS
    prefixes = ("/v5/",)

    def __init__(self) -> None:
        self.budget = DefaultBudget()

    def register(self, app: web.Application) -> None:
        routes_market.register(app)
        routes_trade.register(app)
        routes_account.register(app)
        routes_position.register(app)

    async def params(self, request: web.Request, ctx: SimContext) -> dict[str, Any]:
        """The query (GET) or JSON body (POST), HMAC-verified for non-market paths."""
        if request.method == "GET":
            params, payload = dict(request.query), request.rel_url.raw_query_string
        else:
            payload = await request.text()
            params = _json_body(payload)
        if not request.path.startswith(PUBLIC_PREFIX):
            headers = {k.upper(): v for k, v in request.headers.items()}
            verify(
                headers,
                payload,
                api_key=ctx.api_key,
                secret=ctx.api_secret,
                server_wall_ms=ctx.server_wall_ms(request.path),
            )
        return params

    def error(self, ctx: SimContext, path: str, exc: Exception) -> web.Response:
        if isinstance(exc, AuthError):
            return _error(ctx, path, exc.ret_code, exc.msg)
        if isinstance(exc, BybitError):
            return _error(ctx, path, exc.ret_code, exc.msg, exc.http_status)
        if isinstance(exc, SimError):
            return _error(ctx, path, exc.code, exc.msg)
        return _error(ctx, path, SYSTEM_ERROR, f"System error: {type(exc).__name__}: {exc}")

    def injected_error(self, ctx: SimContext, path: str, code: int) -> web.Response:
        return _error(ctx, path, code, "System error. Please try again later.")

    def limited(self, ctx: SimContext, path: str, d: Decision) -> web.Response:
        if d.rate_limited == "ip":
            # Bybit's per-IP limit: an HTTP 403 from the gateway, not a JSON envelope.
            return web.Response(status=403, text="access too frequent")
        # The per-account (UID) limit: retCode 10006 in an HTTP 200 body, as Bybit sends it.
        return _error(ctx, path, RATE_LIMIT, "Too many visits. Exceeded the API Rate Limit.")

    def headers(
        self, ctx: SimContext, request: web.Request, response: web.StreamResponse, d: Decision
    ) -> web.StreamResponse:
        """``X-Bapi-Limit*``: the fault's budget where one applies, else Bybit's default."""
        limit, remaining, reset_ms = d.limit or self.budget.take(request.path, wall_ms())
        response.headers["X-Bapi-Limit"] = str(limit)
        response.headers["X-Bapi-Limit-Status"] = str(remaining)
        response.headers["X-Bapi-Limit-Reset-Timestamp"] = str(reset_ms)
        return response

    def ticker_snapshot(self, ctx: SimContext) -> dict[str, Any]:
        return {TICKERS_PATH: serializers.ticker_rows(ctx)}


def _json_body(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BybitError(PARAM_ERROR, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BybitError(PARAM_ERROR, "request body must be a JSON object")
    return body
