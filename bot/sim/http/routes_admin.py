"""Sim-only admin endpoints under ``/sim/`` (no auth, never faulted, never counted).

- ``GET /sim/state``: simulated time, balances, positions and every order ever placed, in
  Bybit's field names whatever the face (the admin view is the simulator's, not a venue's),
  with the face's ``venue``, the account's margin modes and position modes.
- ``GET /sim/requests``: request counts per API endpoint (``endpoints``; ``calls`` by method
  and path, since Binance creates, queries and cancels on one path), the venue's request
  weight served (``weight`` by method and path, ``totalWeight``: Binance's IP weight, as its
  documentation weighs each request; none on Bybit) and injected-fault counts;
  ``POST /sim/requests/reset`` zeroes them.
- ``POST /sim/advance {"bars": n}``: step the clock.
- ``GET /sim/faults``, ``POST /sim/faults {"seed": .., "faults": [..]}``: read / replace faults.
- ``POST /sim/transfer {"coin": "USDT", "amount": "-1500"}``: a deposit or withdrawal, in the
  transaction log as TRANSFER_IN / TRANSFER_OUT.
- ``POST /sim/instrument {"symbol": .., "status"?, "deliveryTime"?, "tickSize"?, "qtyStep"?,
  "fundingInterval"?, "launchTime"?}``: an instrument change from now on
  (``bot.sim.instruments``; the same fields as ``instrument_events.json``, without ``time``).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bot.sim.clock import wall_ms
from bot.sim.faults import FaultConfigError
from bot.sim.http.bybit import views
from bot.sim.http.context import CTX, SimContext, ctx_of
from bot.sim.http.numbers import amt, dec
from bot.sim.instruments import InstrumentEventError, parse_event
from bot.sim.types import SimError

MAX_ADVANCE = 1_000_000


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _bad(msg: str) -> web.Response:
    return _json({"error": msg}, status=400)


async def _body(request: web.Request) -> Any:
    raw = await request.text()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not valid JSON: {exc}"}),
            content_type="application/json",
        ) from None


def served_paths(app: web.Application) -> set[str]:
    """The API paths this app answers (what a fault's ``endpoint`` may name)."""
    face = app[CTX].face
    return {r.canonical for r in app.router.resources() if face.guards(r.canonical)}


def state(ctx: SimContext) -> dict[str, Any]:
    """The venue's whole state in Bybit field names (whatever the face)."""
    eng = ctx.engine
    acct = eng.account
    return {
        "venue": ctx.face.name,
        "marginMode": acct.margin_mode,
        "symbolMarginModes": dict(sorted(acct.symbol_modes.items())),
        "hedgeMode": acct.hedge_default,
        "symbolHedgeModes": dict(sorted(acct.hedge_symbols.items())),
        "time": ctx.sim_ms(),
        "barTime": eng.now_ms,
        "atEnd": eng.at_end,
        "speed": ctx.clock.speed,
        "balances": {
            "USDT": {
                "walletBalance": amt(eng.wallet_balance),
                "equity": amt(eng.equity()),
                "available": amt(eng.available()),
            }
        },
        "positions": [
            views.position_row(ctx, p.symbol, p) for _, p in sorted(eng.positions.items())
        ],
        "orders": [views.order_row(o) for o in eng.orders],
        "spotOrders": [views.order_row(o) for o in eng.spot_orders],
        "coins": {c: dec(q) for c, q in sorted(eng.coin_balances().items())},
        # Binance: the spot wallet's USDT and the transfers (> 0 into the spot wallet).
        "spotUsdt": dec(acct.spot_usdt),
        "transfers": [
            {"tranId": t.tran_id, "amount": dec(t.amount), "ts": t.ts} for t in eng.spot_transfers
        ],
        "executionCount": len(eng.executions),
        "fundingCount": len(eng.funding_payments),
    }


async def get_state(request: web.Request) -> web.Response:
    """GET /sim/state."""
    return _json(state(ctx_of(request)))


async def get_requests(request: web.Request) -> web.Response:
    """GET /sim/requests."""
    ctx = ctx_of(request)
    return _json(
        {
            "total": sum(ctx.requests.values()),
            "endpoints": dict(sorted(ctx.requests.items())),
            "calls": dict(sorted(ctx.calls.items())),
            "weight": dict(sorted(ctx.weights.items())),
            "totalWeight": sum(ctx.weights.values()),
            "faults": dict(sorted(ctx.faults.counts.items())),
            "faultsByEndpoint": dict(sorted(ctx.faults.counts_by_endpoint.items())),
        }
    )


async def reset_requests(request: web.Request) -> web.Response:
    """POST /sim/requests/reset."""
    ctx = ctx_of(request)
    ctx.requests.clear()
    ctx.calls.clear()
    ctx.weights.clear()
    ctx.faults.counts.clear()
    ctx.faults.counts_by_endpoint.clear()
    return _json({"total": 0})


async def advance(request: web.Request) -> web.Response:
    """POST /sim/advance {"bars": n}."""
    ctx = ctx_of(request)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad('body must be a JSON object like {"bars": 1}')
    bars = body.get("bars", 1)
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_ADVANCE:
        return _bad(f"'bars' must be an integer in [1, {MAX_ADVANCE}], got {bars!r}")
    done = ctx.clock.advance(bars)
    ctx.stamp()
    return _json({"advanced": done, "time": ctx.sim_ms(), "atEnd": ctx.engine.at_end})


async def get_faults(request: web.Request) -> web.Response:
    """GET /sim/faults."""
    return _json(ctx_of(request).faults.describe())


async def post_faults(request: web.Request) -> web.Response:
    """POST /sim/faults: replace the active fault set (validated; the old set stays on error)."""
    ctx = ctx_of(request)
    body = await _body(request)
    try:
        ctx.faults.install(body, wall_ms(), served_paths(request.app))
    except FaultConfigError as exc:
        return _bad(str(exc))
    ctx.stale_snapshot = None
    ctx.freeze_tickers_if_stale()
    return _json(ctx.faults.describe())


async def transfer(request: web.Request) -> web.Response:
    """POST /sim/transfer {"coin": "USDT", "amount": "<signed decimal>"}."""
    ctx = ctx_of(request)
    body = await _body(request)
    if not isinstance(body, dict) or set(body) - {"coin", "amount"}:
        return _bad('body must be {"coin": "USDT", "amount": "<signed decimal string>"}')
    if body.get("coin", "USDT") != "USDT":
        return _bad(f"coin: only USDT is simulated, got {body.get('coin')!r}")
    try:
        amount = Decimal(str(body.get("amount")))
    except InvalidOperation:
        return _bad(f"amount: not a number ({body.get('amount')!r})")
    try:
        ctx.engine.transfer(amount)
    except SimError as exc:
        return _bad(f"amount: {exc.msg}")
    return _json({"walletBalance": amt(ctx.engine.wallet_balance), "time": ctx.sim_ms()})


async def instrument(request: web.Request) -> web.Response:
    """POST /sim/instrument: change an instrument from now on."""
    ctx = ctx_of(request)
    body = await _body(request)
    try:
        ev = parse_event(body, "instrument", ctx.engine.now_ms, set(ctx.engine.instruments))
    except InstrumentEventError as exc:
        return _bad(str(exc))
    if ev.ts != ctx.engine.now_ms:
        return _bad("instrument: 'time' is not accepted here (changes apply from now on)")
    ctx.engine.schedule_event(ev)
    inst = ctx.engine.instrument_now(ev.symbol)
    return _json(
        {
            "symbol": inst.symbol,
            "status": inst.status,
            "tickSize": str(inst.tick_size),
            "qtyStep": str(inst.qty_step),
            "fundingInterval": inst.funding_interval_h * 60,
            "deliveryTime": inst.extra.get("deliveryTime", "0"),
        }
    )


def register(app: web.Application) -> None:
    """Add the admin routes."""
    app.router.add_get("/sim/state", get_state)
    app.router.add_get("/sim/requests", get_requests)
    app.router.add_post("/sim/requests/reset", reset_requests)
    app.router.add_post("/sim/advance", advance)
    app.router.add_get("/sim/faults", get_faults)
    app.router.add_post("/sim/faults", post_faults)
    app.router.add_post("/sim/transfer", transfer)
    app.router.add_post("/sim/instrument", instrument)
