"""Bybit's account ledgers: ``/v5/account/transaction-log`` and ``/v5/position/closed-pnl``.

Transaction log: one row per wallet change (``bot.sim.types.SimTransaction``): TRADE (a fill:
``cashFlow`` the realised PnL, ``fee``), SETTLEMENT (funding: ``funding`` is the signed cash,
negative when paid, as in Bybit's replies), TRANSFER_IN / TRANSFER_OUT (``POST /sim/transfer``),
LIQUIDATION and DELIVERY; ``change = cashFlow − fee + funding`` and ``cashBalance`` the wallet
after it.

Closed PnL: one row per order that closed (part of) a position: its fills' closed size,
average entry and exit, and ``closedPnl`` = the realised PnL of that part minus the closing
fees and the opening fees that part had paid (funding is not in it, as on Bybit).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import OrderType, Side
from bot.sim.engine import SimEngine
from bot.sim.http.numbers import amt, dec
from bot.sim.types import ZERO, SimExecution, SimTransaction


def transaction_row(n: int, t: SimTransaction) -> dict[str, Any]:
    """One transaction-log row (``n`` makes the id unique)."""
    funding = -t.fee if t.kind == "SETTLEMENT" else ZERO  # SETTLEMENT books funding as a fee
    fee = ZERO if t.kind == "SETTLEMENT" else t.fee
    return {
        "id": f"{t.ts}-{n}",
        "symbol": t.symbol,
        "category": "linear" if t.symbol else "",
        "side": t.side or "None",
        "transactionTime": str(t.ts),
        "type": t.kind,
        "qty": dec(t.qty),
        "size": dec(t.qty),
        "currency": "USDT",
        "tradePrice": dec(t.price) if t.price else "",
        "funding": amt(funding),
        "fee": amt(fee),
        "cashFlow": amt(t.cash_flow),
        "change": amt(t.change),
        "cashBalance": amt(t.balance),
        "feeRate": dec(t.fee_rate),
        "bonusChange": "0",
        "tradeId": t.ref_id,
        "orderId": t.order_id,
        "orderLinkId": t.order_link_id,
    }


def closed_pnl_rows(eng: SimEngine, executions: list[SimExecution]) -> list[dict[str, Any]]:
    """Closed-PnL records, one per closing order, oldest first (by its last closing fill)."""
    by_order: dict[str, list[SimExecution]] = {}
    for e in executions:
        if e.closed_size > 0:
            by_order.setdefault(e.order_id, []).append(e)
    rows = []
    for oid, fills in by_order.items():
        o = eng.get_order(order_id=oid)
        closed = sum((e.closed_size for e in fills), ZERO)
        entry_value = sum((e.closed_size * e.entry_price for e in fills), ZERO)
        exit_value = sum((e.closed_size * e.price for e in fills), ZERO)
        fees = sum((e.fee * e.closed_size / e.qty + e.entry_fee for e in fills), ZERO)
        pnl = sum((e.closed_pnl for e in fills), ZERO) - fees
        side = fills[0].side
        rows.append(
            {
                "symbol": fills[0].symbol,
                "orderId": oid,
                "side": "Buy" if side is Side.BUY else "Sell",
                "qty": dec(o.qty if o else closed),
                "orderPrice": dec(o.price if o and o.price is not None else fills[-1].price),
                "orderType": "Limit" if o and o.order_type is OrderType.LIMIT else "Market",
                "execType": fills[-1].exec_type,
                "closedSize": dec(closed),
                "cumEntryValue": amt(entry_value),
                "avgEntryPrice": amt(entry_value / closed),
                "cumExitValue": amt(exit_value),
                "avgExitPrice": amt(exit_value / closed),
                "closedPnl": amt(pnl),
                "fillCount": str(len(fills)),
                "leverage": dec(eng.leverage(fills[0].symbol)),
                "createdTime": str(o.created_ms if o else fills[0].ts),
                "updatedTime": str(fills[-1].ts),
                "_ts": fills[-1].ts,
            }
        )
    rows.sort(key=lambda r: (int(r["_ts"]), r["orderId"]))
    return rows


def realised(rows: list[dict[str, Any]]) -> Decimal:
    """Σ closedPnl of closed-PnL rows."""
    return sum((Decimal(r["closedPnl"]) for r in rows), ZERO)
