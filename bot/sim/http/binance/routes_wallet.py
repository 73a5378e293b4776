"""The wallet (``/sapi``) reads ccxt's ``load_markets`` makes when keys are set (the currency
list when its ``fetchCurrencies`` option is on; the margin pairs of ``ccxt.binance`` spot):
answered signed, with empty lists (the simulator models no margin trading and no currency
list), so an unmodified client with default options loads markets. The spot wallet itself is
``routes_spot``."""

from __future__ import annotations

from aiohttp import web

from bot.sim.http.binance.routes_market import ok


async def empty(request: web.Request) -> web.Response:
    """GET /sapi/v1/capital/config/getall, /sapi/v1/margin/allPairs and
    /sapi/v1/margin/isolated/allPairs: []."""
    return ok([])


def register(app: web.Application) -> None:
    """Add the wallet routes."""
    app.router.add_get("/sapi/v1/capital/config/getall", empty)
    app.router.add_get("/sapi/v1/margin/allPairs", empty)
    app.router.add_get("/sapi/v1/margin/isolated/allPairs", empty)
