"""Bybit account reads for ``CcxtVenue``: fills and funding from ``/v5/execution/list``.

ccxt's ``fetch_my_trades`` asks for ``execType=Trade`` only, so rotor reads the execution list
itself: every fill type that changes a position (a liquidation, auto-deleveraging or the
settlement of a delisted contract would otherwise show up only as a vanished position), and
the ``Funding`` rows. Account modes (margin mode, one-way positions) are checked and set at
start-up. The list answers at most 7 days per request and pages by cursor; a
reconciliation reads at most 30 days back (a longer outage is settled by the positions). One
order's fills are read by ``orderId`` with no time window (Bybit: the last 7 days).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.domain import ExecutionReport, FundingPayment
from bot.venues.base import FatalError, MarginMode
from bot.venues.ccxt_map import dec0
from bot.venues.ccxt_reports import to_execution

if TYPE_CHECKING:
    from bot.venues.ccxt_core import CcxtMarketData

DAY_MS = 86_400_000
EXEC_WINDOW_MS = 7 * DAY_MS  # the execution list's widest startTime..endTime
MAX_EXEC_LOOKBACK_MS = 30 * DAY_MS
EXEC_PAGE = 100
MAX_EXEC_PAGES = 50
# Fills that change a position (ccxt's fetch_my_trades asks for "Trade" only).
FILL_TYPES = frozenset({"Trade", "BustTrade", "AdlTrade", "Delivery"})
MARGIN_MODE_NOT_MODIFIED = "110026"
POSITION_MODE_NOT_MODIFIED = "110025"


async def _pages(v: CcxtMarketData, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of one execution-list query, following the cursor."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_EXEC_PAGES):
        q = {**query, "limit": EXEC_PAGE, **({"cursor": cursor} if cursor else {})}
        resp = await v._read("executions", functools.partial(v.ex.privateGetV5ExecutionList, q))
        result = resp.get("result") or {}
        rows.extend(result.get("list") or [])
        cursor = result.get("nextPageCursor") or None
        if not cursor:
            break
    return rows


async def execution_rows(
    v: CcxtMarketData,
    since_ms: int,
    symbol: str | None,
    exec_type: str | None,
    category: str = "linear",
) -> list[dict[str, Any]]:
    """Raw execution-list rows of ``category`` since ``since_ms``, in 7-day windows."""
    if v._server_offset_ms is None:
        await v.server_time()
    now = v.now_ms()
    start = max(since_ms, now - MAX_EXEC_LOOKBACK_MS, 0)
    rows: list[dict[str, Any]] = []
    while start <= now:
        # The last window reaches past ``now`` so a slightly stale clock misses nothing.
        end = start + EXEC_WINDOW_MS - 1
        q: dict[str, Any] = {"category": category, "startTime": start, "endTime": end}
        q |= {"symbol": symbol} if symbol else {}
        q |= {"execType": exec_type} if exec_type else {}
        rows += await _pages(v, q)
        start = end + 1
    return rows


def _fills(v: CcxtMarketData, rows: list[dict[str, Any]]) -> list[ExecutionReport]:
    """The fill rows as reports, oldest first, once each by exec id."""
    seen: dict[str, ExecutionReport] = {}
    for raw in rows:
        if raw.get("execType") not in FILL_TYPES:
            continue
        sym = str(raw.get("symbol") or "")
        market = v.ex.market(v.symbol_of(sym))
        rep = to_execution(v.ex.parse_trade(raw, market), v.instrument(sym))
        seen.setdefault(rep.exec_id, rep)
    return sorted(seen.values(), key=lambda r: (r.ts, r.exec_id))


async def executions(v: CcxtMarketData, since_ms: int, symbol: str | None) -> list[ExecutionReport]:
    """Own fills since ``since_ms`` (liquidations included)."""
    return _fills(v, await execution_rows(v, since_ms, symbol, None))


async def order_executions(
    v: CcxtMarketData, symbol: str, venue_order_id: str
) -> list[ExecutionReport]:
    """One order's fills, by ``orderId``, with no time window."""
    q = {"category": "linear", "symbol": symbol, "orderId": venue_order_id}
    return _fills(v, await _pages(v, q))


async def funding_payments(v: CcxtMarketData, since_ms: int) -> list[FundingPayment]:
    """Funding settled on the account's positions since ``since_ms``, oldest first."""
    out: dict[str, FundingPayment] = {}
    for raw in await execution_rows(v, since_ms, None, "Funding"):
        fee = dec0(raw.get("execFee"))
        mark = dec0(raw.get("execPrice") or raw.get("markPrice"))
        value = dec0(raw.get("execValue"))
        pay = FundingPayment(
            symbol=str(raw.get("symbol") or ""),
            ts=int(raw.get("execTime") or 0),
            rate=dec0(raw.get("feeRate")),
            qty=dec0(raw.get("execQty")) or ((value / mark) if mark else Decimal(0)),
            mark=mark,
            amount=-fee,  # Bybit books funding paid as a positive fee
            venue_id=str(raw.get("execId") or ""),
        )
        out.setdefault(pay.venue_id or f"{pay.symbol}-{pay.ts}", pay)
    return sorted(out.values(), key=lambda p: (p.ts, p.symbol))


async def ensure_account_modes(v: CcxtMarketData, margin_mode: MarginMode) -> None:
    """Read the unified account's margin mode and switch it when it differs
    (``/v5/account/set-margin-mode``), switch USDT perpetuals to one-way mode
    (``/v5/position/switch-mode``; "not modified" is success) and check no position is still
    held in hedge mode; a refusal is a ``FatalError`` saying what to change."""
    want = "ISOLATED_MARGIN" if margin_mode == "isolated" else "REGULAR_MARGIN"
    info = await v._read("account_info", lambda: v.ex.privateGetV5AccountInfo())
    have = str((info.get("result") or {}).get("marginMode") or "")
    if have != want:
        await v._set_mode(
            "set_margin_mode",
            lambda: v.ex.privatePostV5AccountSetMarginMode({"setMarginMode": want}),
            MARGIN_MODE_NOT_MODIFIED,
            lambda exc: (
                f"the account is {have or 'unknown'} and the venue refused {want} ({exc}); "
                "close every position and order, or set execution.margin_mode to match "
                "the account"
            ),
        )
    req = {"category": "linear", "coin": "USDT", "mode": 0}
    await v._set_mode(
        "switch_position_mode",
        lambda: v.ex.privatePostV5PositionSwitchMode(req),
        POSITION_MODE_NOT_MODIFIED,
        lambda exc: (
            f"the venue refused one-way position mode ({exc}); close the hedge-mode "
            "positions and orders first"
        ),
    )
    resp = await v._read(
        "positions",
        lambda: v.ex.privateGetV5PositionList({"category": "linear", "settleCoin": "USDT"}),
    )
    hedged = sorted(
        str(r.get("symbol"))
        for r in (resp.get("result") or {}).get("list") or []
        if int(r.get("positionIdx") or 0) != 0
    )
    if hedged:
        raise FatalError(
            f"positions held in hedge mode on {', '.join(hedged)}: close them (one-way "
            "mode could not be set for those symbols)",
            endpoint="switch_position_mode",
        )
