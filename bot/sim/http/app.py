"""The aiohttp application: envelope, auth, error mapping and fault middleware.

Request flow for ``/v5/*`` (the ``/sim/*`` admin paths skip counting, faults and auth):
count → faults (maintenance 503, rate limit 10006 in HTTP 200 or IP-limit 403, then the body is read, latency,
timeout 504, error 5xx or retCode) → parse params → HMAC auth for non-market paths → handler → drop_response closes the
connection after the handler has applied the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import bot.sim.http.routes_account as routes_account
import bot.sim.http.routes_admin as routes_admin
import bot.sim.http.routes_market as routes_market
import bot.sim.http.routes_position as routes_position
import bot.sim.http.routes_trade as routes_trade
from bot.sim.clock import wall_ms
from bot.sim.faults import Decision
from bot.sim.http.auth import AuthError, verify
from bot.sim.http.context import CTX, PARAMS, SimContext, ctx_of
from bot.sim.http.fmt import (
    PARAM_ERROR,
    RATE_LIMIT,
    SYSTEM_ERROR,
    BybitError,
    envelope,
    json_response,
)
from bot.sim.types import SimError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIX = "/v5/market/"


def _error(ctx: SimContext, path: str, code: int, msg: str, status: int = 200) -> web.Response:
    return json_response(envelope({}, ctx.sim_ms(path), code, msg), status=status)


async def _parse_params(request: web.Request) -> tuple[dict[str, Any], str]:
    """Params and the signed payload (raw query string for GET, raw body for POST)."""
    if request.method == "GET":
        return dict(request.query), request.rel_url.raw_query_string
    raw = await request.text()
    if not raw.strip():
        return {}, raw
    try:
        body = json.loads(raw)
    except ValueError:
        raise BybitError(PARAM_ERROR, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BybitError(PARAM_ERROR, "request body must be a JSON object")
    return body, raw


@web.middleware
async def bybit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults, auth and the Bybit error envelope around every ``/v5`` handler."""
    path = request.path
    if path.startswith("/sim/") or not path.startswith("/v5/"):
        return await handler(request)
    ctx = ctx_of(request)
    ctx.requests[path] += 1
    d = ctx.faults.decide(path, wall_ms())
    if d.maintenance:
        return web.Response(
            status=503, text="Service Unavailable: venue maintenance window (simulated)"
        )
    if d.rate_limited == "ip":
        # Bybit's per-IP limit: an HTTP 403 from the gateway, not a JSON envelope.
        return _limit_headers(web.Response(status=403, text="access too frequent"), d)
    if d.rate_limited:
        # The per-account (UID) limit: retCode 10006 in an HTTP 200 body, as Bybit sends it.
        return _limit_headers(
            _error(ctx, path, RATE_LIMIT, "Too many visits. Exceeded the API Rate Limit."), d
        )
    if request.method != "GET":
        # The whole request has arrived before the venue works on it: a client that gives up
        # (or dies) during a delay must not undo it, as on a real exchange (the body is cached).
        await request.read()
    if d.delay_ms > 0:
        await asyncio.sleep(d.delay_ms / 1000.0)
    if d.hold_ms is not None:
        await asyncio.sleep(d.hold_ms / 1000.0)
        return web.Response(status=504, text="Gateway Timeout (simulated)")
    if d.error_status is not None:
        return web.Response(status=d.error_status, text="Internal error (simulated)")
    if d.error_ret_code is not None:
        return _error(ctx, path, d.error_ret_code, "System error. Please try again later.")
    try:
        params, payload = await _parse_params(request)
        if not path.startswith(PUBLIC_PREFIX):
            headers = {k.upper(): v for k, v in request.headers.items()}
            verify(
                headers,
                payload,
                api_key=ctx.api_key,
                secret=ctx.api_secret,
                server_wall_ms=ctx.server_wall_ms(path),
            )
        request[PARAMS] = params
        ctx.stamp()
        response = await handler(request)
        ctx.stamp()
    except AuthError as exc:
        response = _error(ctx, path, exc.ret_code, exc.msg)
    except BybitError as exc:
        response = _error(ctx, path, exc.ret_code, exc.msg, exc.http_status)
    except SimError as exc:
        response = _error(ctx, path, exc.code, exc.msg)
    except web.HTTPException:
        raise
    except Exception as exc:  # the venue must answer, never crash the connection
        response = _error(ctx, path, SYSTEM_ERROR, f"System error: {type(exc).__name__}: {exc}")
    if d.drop_response and request.transport is not None:
        # The request has been applied; the client never hears about it.
        request.transport.abort()
    return _limit_headers(response, d)


def _limit_headers(response: web.StreamResponse, d: Decision) -> web.StreamResponse:
    """Bybit's rate-limit headers for the endpoint (see ``bot.sim.faults``)."""
    if d.limit is not None:
        limit, remaining, reset_ms = d.limit
        response.headers["X-Bapi-Limit"] = str(limit)
        response.headers["X-Bapi-Limit-Status"] = str(remaining)
        response.headers["X-Bapi-Limit-Reset-Timestamp"] = str(reset_ms)
    return response


def build_app(ctx: SimContext) -> web.Application:
    """The aiohttp application serving ``ctx``."""
    app = web.Application(middlewares=[bybit_middleware])
    app[CTX] = ctx
    routes_market.register(app)
    routes_trade.register(app)
    routes_account.register(app)
    routes_position.register(app)
    routes_admin.register(app)
    return app
