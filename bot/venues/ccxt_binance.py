"""Binance USDⓈ-M account reads and per-symbol margin type for ``CcxtVenue`` (issue #16).

Binance differs from Bybit where rotor reads the account:

- **Fills**: ``/fapi/v1/userTrades`` needs a symbol and answers at most 7 days per request.
  Without a symbol, the symbols that had fills are found in the income history
  (``/fapi/v1/income``: every fill books a COMMISSION, every close a REALIZED_PNL, a
  liquidation an INSURANCE_CLEAR), then each symbol's trades are read in 7-day windows.
  A fill that booked neither commission nor realised P&L is not found this way; its effect is
  still reconciled from the positions. A trade is a **liquidation** when the income history
  books an INSURANCE_CLEAR against its trade id (Binance's trade rows do not say so); that
  clearance (the margin left beyond the loss at the liquidation mark) is booked as the fill's
  fee, so rotor's books add up to the wallet.
- **Funding** exists only in the income history (FUNDING_FEE rows), never as an execution.
- **Leverage** is not in ``/fapi/v3/positionRisk`` (what ccxt's ``fetch_positions`` reads);
  it is per symbol in ``/fapi/v1/symbolConfig``, read once per position read that found a
  position (``with_leverage``).
- **Margin type** is per symbol (a new account is cross on every symbol). At start-up one
  ``/fapi/v1/symbolConfig`` read shows every symbol's type: a symbol holding a position in the
  other type stops the start (Binance refuses the change, -4048); the others are switched by
  ``ensure_margin_type`` before their first leverage change, i.e. before the first entry.
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.domain import ExecutionReport, FundingPayment, PositionReport
from bot.venues.base import FatalError, MarginMode, RejectedError
from bot.venues.ccxt_map import dec0
from bot.venues.ccxt_reports import to_execution

if TYPE_CHECKING:
    from bot.venues.ccxt_core import CcxtMarketData

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS  # userTrades answers at most this span per request
MAX_LOOKBACK_MS = 30 * DAY_MS  # as the Bybit reads: a longer outage is settled by positions
INCOME_PAGE = 1000
TRADES_PAGE = 1000
MAX_PAGES = 50
# Income types that name a symbol whose fills changed a position.
FILL_INCOME = frozenset({"COMMISSION", "REALIZED_PNL", "INSURANCE_CLEAR"})
MARGIN_TYPE = {"isolated": "ISOLATED", "cross": "CROSSED"}
MARGIN_TYPE_ALREADY_SET = "-4046"


def _start(v: CcxtMarketData, since_ms: int) -> int:
    return max(since_ms, v.now_ms() - MAX_LOOKBACK_MS, 0)


async def income_rows(
    v: CcxtMarketData,
    since_ms: int,
    income_type: str | None = None,
    *,
    symbol: str | None = None,
) -> list[dict[str, Any]]:
    """Raw ``/fapi/v1/income`` rows since ``since_ms`` (oldest first), every page."""
    rows: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        q: dict[str, Any] = {"startTime": _start(v, since_ms), "limit": INCOME_PAGE, "page": page}
        if income_type:
            q["incomeType"] = income_type
        if symbol:
            q["symbol"] = symbol
        batch = await v._read("income", functools.partial(v.ex.fapiPrivateGetIncome, q))
        rows.extend(batch or [])
        if len(batch or []) < INCOME_PAGE:
            break
    return rows


async def executions(v: CcxtMarketData, since_ms: int, symbol: str | None) -> list[ExecutionReport]:
    """Own fills since ``since_ms``, oldest first, unique by exec id (see the module doc)."""
    if v._server_offset_ms is None:
        await v.server_time()
    rows = await income_rows(v, since_ms, symbol=symbol)
    if symbol is not None:
        symbols = [symbol]
    else:
        symbols = sorted(
            {str(r.get("symbol")) for r in rows if r.get("incomeType") in FILL_INCOME}
            - {"", "None"}
        )
    clearance: dict[str, Decimal] = {}
    for r in rows:
        if r.get("incomeType") == "INSURANCE_CLEAR" and r.get("tradeId"):
            tid = str(r["tradeId"])
            clearance[tid] = clearance.get(tid, Decimal(0)) - dec0(r.get("income"))
    seen: dict[str, ExecutionReport] = {}
    for sym in symbols:
        for trade in await _symbol_trades(v, sym, since_ms):
            rep = to_execution(trade, v.instrument(sym))
            if rep.exec_id in clearance:
                fee = rep.fee + clearance[rep.exec_id]
                rep = dataclasses.replace(rep, is_liquidation=True, fee=fee)
            seen.setdefault(rep.exec_id, rep)
    return sorted(seen.values(), key=lambda r: (r.ts, r.exec_id))


async def order_executions(
    v: CcxtMarketData, symbol: str, venue_order_id: str
) -> list[ExecutionReport]:
    """One order's fills (``/fapi/v1/userTrades`` by ``orderId``), oldest first."""
    if v._server_offset_ms is None:
        await v.server_time()
    cs = v.symbol_of(symbol)
    trades = await v._read(
        "executions",
        functools.partial(v.ex.fetch_my_trades, cs, None, TRADES_PAGE, {"orderId": venue_order_id}),
    )
    seen: dict[str, ExecutionReport] = {}
    for trade in trades:
        rep = to_execution(trade, v.instrument(symbol))
        seen.setdefault(rep.exec_id, rep)
    return sorted(seen.values(), key=lambda r: (r.ts, r.exec_id))


async def _symbol_trades(v: CcxtMarketData, symbol: str, since_ms: int) -> list[dict[str, Any]]:
    """ccxt trades of one symbol since ``since_ms``: 7-day windows, paged by time."""
    cs = v.symbol_of(symbol)
    now = v.now_ms()
    start = _start(v, since_ms)
    out: list[dict[str, Any]] = []
    while start <= now:
        # The last window reaches past ``now`` so a slightly stale clock misses nothing.
        end = start + WEEK_MS - 1
        frm = start
        for _ in range(MAX_PAGES):
            page = await v._read(
                "executions",
                functools.partial(v.ex.fetch_my_trades, cs, frm, TRADES_PAGE, {"until": end}),
            )
            out.extend(page)
            if len(page) < TRADES_PAGE:
                break
            frm = max(int(t.get("timestamp") or frm) for t in page)  # overlap: deduplicated
        start = end + 1
    return out


async def funding_payments(v: CcxtMarketData, since_ms: int) -> list[FundingPayment]:
    """FUNDING_FEE income since ``since_ms`` (``income`` is the signed cash: negative paid)."""
    out: dict[str, FundingPayment] = {}
    for r in await income_rows(v, since_ms, "FUNDING_FEE"):
        pay = FundingPayment(
            symbol=str(r.get("symbol") or ""),
            ts=int(r.get("time") or 0),
            rate=Decimal(0),
            qty=Decimal(0),
            mark=Decimal(0),
            amount=dec0(r.get("income")),
            venue_id=str(r.get("tranId") or ""),
        )
        out.setdefault(pay.venue_id or f"{pay.symbol}-{pay.ts}", pay)
    return sorted(out.values(), key=lambda p: (p.ts, p.symbol))


async def with_leverage(v: CcxtMarketData, positions: list[PositionReport]) -> list[PositionReport]:
    """``positions`` with each symbol's leverage from ``/fapi/v1/symbolConfig`` (one read for
    one position, else one for all symbols); a symbol the venue does not list keeps its own."""
    if not positions:
        return positions
    q = {"symbol": positions[0].symbol} if len(positions) == 1 else {}
    config = await v._read("symbol_config", lambda: v.ex.fapiPrivateGetSymbolConfig(q))
    lev = {str(r.get("symbol")): dec0(r.get("leverage")) for r in config or []}
    return [
        dataclasses.replace(p, leverage=lev[p.symbol]) if lev.get(p.symbol) else p
        for p in positions
    ]


async def check_margin_types(v: CcxtMarketData, mode: MarginMode) -> set[str]:
    """Symbols already in ``mode``; ``FatalError`` naming those holding a position in the
    other type (Binance cannot switch them)."""
    want = MARGIN_TYPE[mode]
    config = await v._read("symbol_config", lambda: v.ex.fapiPrivateGetSymbolConfig({}))
    have = {str(r.get("symbol")): str(r.get("marginType") or "") for r in config or []}
    held = await v._read("positions", lambda: v.ex.fapiPrivateV3GetPositionRisk({}))
    wrong = sorted(
        str(p.get("symbol"))
        for p in held or []
        if dec0(p.get("positionAmt")) != 0 and have.get(str(p.get("symbol"))) != want
    )
    if wrong:
        raise FatalError(
            f"positions held in the other margin type on {', '.join(wrong)}: close them or "
            f"set execution.margin_mode to match (Binance cannot switch a symbol with a "
            f"position to {want})",
            endpoint="set_margin_type",
        )
    return {s for s, t in have.items() if t == want}


async def ensure_margin_type(v: CcxtMarketData, symbol: str, mode: MarginMode) -> None:
    """Switch one symbol to ``mode`` ("no need to change" is success); a refusal (orders or a
    position open in the other type) is a ``RejectedError`` that names the symbol."""
    cs = v.symbol_of(symbol)
    await v._set_mode(
        "set_margin_type",
        lambda: v.ex.set_margin_mode(mode, cs),
        MARGIN_TYPE_ALREADY_SET,
        lambda exc: f"{symbol}: the venue refused {MARGIN_TYPE[mode]} margin ({exc})",
        RejectedError,
    )
