"""The aiohttp application: one request pipeline for every face (``bot.sim.http.face``).

Request flow for a face's API paths (the ``/sim/*`` admin paths skip counting, faults and
auth): count → faults (maintenance, rate limit, then the body is read, latency, timeout 504,
error 5xx or a venue error code) → the face reads and authenticates the parameters → handler
→ drop_response closes the connection after the handler has applied the request. Every
refusal is answered by the face in its venue's words; every reply gets its rate-limit headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

import bot.sim.http.routes_admin as routes_admin
from bot.sim.clock import wall_ms
from bot.sim.http.context import CTX, PARAMS, SimContext, ctx_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def venue_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults, auth and the venue's error replies around every API handler."""
    path = request.path
    ctx = ctx_of(request)
    face = ctx.face
    if not face.guards(path) or request.match_info.http_exception is not None:
        # Admin paths, and paths the face does not serve (404/405 as any venue answers).
        return await handler(request)
    ctx.requests[path] += 1
    ctx.calls[f"{request.method} {path}"] += 1
    d = ctx.faults.decide(path, wall_ms(), request.method)
    if d.maintenance:
        return face.maintenance(ctx, path)
    if d.rate_limited:
        return face.headers(ctx, request, face.limited(ctx, path, d), d)
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
        return face.headers(ctx, request, face.injected_error(ctx, path, d.error_ret_code), d)
    response: web.StreamResponse
    try:
        request[PARAMS] = await face.params(request, ctx)
        ctx.stamp()
        response = await handler(request)
        ctx.stamp()
    except web.HTTPException:
        raise
    except Exception as exc:  # the venue must answer, never crash the connection
        response = face.error(ctx, path, exc)
    if d.drop_response and request.transport is not None:
        # The request has been applied; the client never hears about it.
        request.transport.abort()
    return face.headers(ctx, request, response, d)


def build_app(ctx: SimContext) -> web.Application:
    """The aiohttp application serving ``ctx`` through its face."""
    app = web.Application(middlewares=[venue_middleware])
    app[CTX] = ctx
    ctx.face.register(app)
    routes_admin.register(app)
    return app
