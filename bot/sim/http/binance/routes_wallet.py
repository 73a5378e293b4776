"""The wallet (``/sapi``) on the simulator's Binance face.

- ``POST /sapi/v1/asset/transfer`` (user universal transfer, ``MAIN_UMFUTURE`` /
  ``UMFUTURE_MAIN``, USDT): moves USDT between the spot wallet (``routes_spot``) and the
  USDⓈ-M wallet, at most what the source has free (-2010 otherwise, as a spot order's
  insufficient balance); answers ``{"tranId": n}``. Binance's transfer takes no client id: a
  client that lost the answer finds the transfer in the history.
- ``GET /sapi/v1/asset/transfer``: that history for one ``type``, newest first, paged by
  ``current`` and ``size`` (default 10, at most 100), ``startTime`` / ``endTime`` (neither:
  the last 7 days); ``{"total": n, "rows": [...]}``, every row ``CONFIRMED`` (a simulated
  transfer is done when answered).
- The reads ccxt's ``load_markets`` makes when keys are set (the currency list when its
  ``fetchCurrencies`` option is on; the margin pairs of ``ccxt.binance`` spot): answered
  signed, with empty lists (the simulator models no margin trading and no currency list), so
  an unmodified client with default options loads markets.
"""

from __future__ import annotations

from aiohttp import web

from bot.sim.http.binance import params as prm
from bot.sim.http.binance.errors import invalid
from bot.sim.http.binance.routes_market import ok
from bot.sim.http.binance.routes_spot import spot_error
from bot.sim.http.context import ctx_of, params_of
from bot.sim.http.numbers import dec
from bot.sim.types import SimError

TRANSFER_TYPES = {"MAIN_UMFUTURE": -1, "UMFUTURE_MAIN": 1}  # sign: into the spot wallet
_WEEK_MS = 7 * 86_400_000


def _type(p: prm.Params) -> str:
    kind = prm.text(p, "type", required=True)
    if kind not in TRANSFER_TYPES:
        raise invalid("type", f"the simulator moves USDT by {' or '.join(TRANSFER_TYPES)}")
    return kind


async def transfer(request: web.Request) -> web.Response:
    """POST /sapi/v1/asset/transfer: USDT between the spot and the USDⓈ-M wallets."""
    ctx, p = ctx_of(request), params_of(request)
    kind = _type(p)
    if prm.text(p, "asset", required=True) != "USDT":
        raise invalid("asset", "the simulator's wallets hold USDT")
    amount = prm.decimal(p, "amount", required=True)
    assert amount is not None
    if amount <= 0:
        raise invalid("amount")
    try:
        done = ctx.engine.spot_transfer(TRANSFER_TYPES[kind] * amount)
    except SimError as exc:
        raise spot_error(exc) from None
    return ok({"tranId": done.tran_id})


async def transfer_history(request: web.Request) -> web.Response:
    """GET /sapi/v1/asset/transfer: one type's transfers, newest first, one page."""
    ctx, p = ctx_of(request), params_of(request)
    kind = _type(p)
    sign = TRANSFER_TYPES[kind]
    start, end = prm.integer(p, "startTime"), prm.integer(p, "endTime")
    if start is None and end is None:
        start = ctx.engine.now_ms - _WEEK_MS
    page, size = prm.integer(p, "current", 1), prm.integer(p, "size", 10)
    if page < 1 or not 1 <= size <= 100:
        raise invalid("size" if page >= 1 else "current")
    rows = [
        {"asset": "USDT", "amount": dec(abs(t.amount)), "type": kind, "status": "CONFIRMED",
         "tranId": t.tran_id, "timestamp": t.ts}
        for t in reversed(ctx.engine.spot_transfers)
        if (t.amount > 0) == (sign > 0)
        and (start is None or t.ts >= start)
        and (end is None or t.ts <= end)
    ]  # fmt: skip
    body: dict[str, object] = {"total": len(rows)}
    if rows:  # Binance leaves "rows" out of an empty history
        body["rows"] = rows[(page - 1) * size : page * size]
    return ok(body)


async def empty(request: web.Request) -> web.Response:
    """GET /sapi/v1/capital/config/getall, /sapi/v1/margin/allPairs and
    /sapi/v1/margin/isolated/allPairs: []."""
    return ok([])


def register(app: web.Application) -> None:
    """Add the wallet routes."""
    app.router.add_post("/sapi/v1/asset/transfer", transfer)
    app.router.add_get("/sapi/v1/asset/transfer", transfer_history)
    app.router.add_get("/sapi/v1/capital/config/getall", empty)
    app.router.add_get("/sapi/v1/margin/allPairs", empty)
    app.router.add_get("/sapi/v1/margin/isolated/allPairs", empty)
