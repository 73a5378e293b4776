"""The two spot-wallet (``/sapi``) reads ccxt's ``load_markets`` makes when its
``fetchCurrencies`` option is on and keys are set: answered signed, with empty lists (the
simulator has no spot wallet), so an unmodified client with default options loads markets."""

from __future__ import annotations

from aiohttp import web

from bot.sim.http.binance.routes_market import ok


async def empty(request: web.Request) -> web.Response:
    """GET /sapi/v1/capital/config/getall and /sapi/v1/margin/allPairs: []."""
    return ok([])


def register(app: web.Application) -> None:
    """Add the wallet routes."""
    app.router.add_get("/sapi/v1/capital/config/getall", empty)
    app.router.add_get("/sapi/v1/margin/allPairs", empty)
