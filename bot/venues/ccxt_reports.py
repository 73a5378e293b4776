"""Convert ccxt orders, own fills, positions and balances into rotor's account reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import (
    BalanceReport,
    CashFlow,
    ExecutionReport,
    Instrument,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    PositionSide,
    Side,
    TriggerBy,
)
from bot.venues.ccxt_map import MappingError, dec, dec0, first_dec, snap

# Bybit's raw orderStatus is finer than ccxt's open/closed/canceled.
_BYBIT_STATUS: dict[str, OrderStatus] = {
    "Created": OrderStatus.ACCEPTED,
    "New": OrderStatus.ACCEPTED,
    "Untriggered": OrderStatus.ACCEPTED,
    "Triggered": OrderStatus.ACCEPTED,
    "Active": OrderStatus.ACCEPTED,
    "PendingCancel": OrderStatus.ACCEPTED,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Deactivated": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
}
_CCXT_STATUS: dict[str, OrderStatus] = {
    "open": OrderStatus.ACCEPTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}
_TRIGGER_BY = {
    "MarkPrice": TriggerBy.MARK,
    "MARK_PRICE": TriggerBy.MARK,
    "LastPrice": TriggerBy.LAST,
    "CONTRACT_PRICE": TriggerBy.LAST,
}


# --------------------------------------------------------------------------- orders


def order_status(order: dict[str, Any]) -> OrderStatus:
    info = order.get("info") or {}
    raw = info.get("orderStatus") if isinstance(info, dict) else None
    if raw in _BYBIT_STATUS:
        return _BYBIT_STATUS[raw]
    status = _CCXT_STATUS.get(str(order.get("status") or "").lower())
    if status is None:
        raise MappingError(f"order {order.get('id')}: unknown status {order.get('status')!r}")
    filled = dec0(order.get("filled"))
    if status is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def to_order_report(order: dict[str, Any], inst: Instrument | None) -> OrderReport:
    """A ccxt order structure as an ``OrderReport``."""
    info = order.get("info") or {}
    symbol_id = str(info.get("symbol") or (inst.symbol if inst else order.get("symbol")))
    trigger = dec(order.get("triggerPrice") or order.get("stopPrice"))
    raw_type = str(order.get("type") or "").lower()
    if trigger is not None and raw_type in ("market", "stop_market", "stop"):
        otype = OrderType.STOP_MARKET
    elif raw_type == "limit":
        otype = OrderType.LIMIT
    else:
        otype = OrderType.MARKET
    trig_raw = info.get("triggerBy") or info.get("workingType")
    trigger_by = _TRIGGER_BY.get(str(trig_raw)) if trigger is not None else None
    side = order.get("side")
    if side not in ("buy", "sell"):
        raise MappingError(f"order {order.get('id')}: side missing")
    qty = dec0(info.get("qty") or order.get("amount"))
    filled = dec0(info.get("cumExecQty") or order.get("filled"))
    if inst is not None:
        qty, filled = snap(qty, inst.qty_step), snap(filled, inst.qty_step)
    created = int(order.get("timestamp") or 0)
    reason = str(info.get("rejectReason") or "")
    return OrderReport(
        symbol=symbol_id,
        client_order_id=str(order.get("clientOrderId") or ""),
        # A triggered Binance conditional (algo) order fills as an actual order with an id of
        # its own: its fills carry that id, so it is the one rotor keeps from then on.
        venue_order_id=str(info.get("actualOrderId") or order.get("id") or ""),
        side=Side(side),
        type=otype,
        status=order_status(order),
        qty=qty,
        filled_qty=filled,
        price=dec(order.get("price")) if otype is OrderType.LIMIT else None,
        avg_fill_price=dec(order.get("average")) if filled > 0 else None,
        trigger_price=trigger,
        trigger_by=trigger_by,
        reduce_only=bool(order.get("reduceOnly")),
        created_ms=created,
        updated_ms=int(order.get("lastUpdateTimestamp") or created),
        reject_reason="" if reason in ("EC_NoError", "") else reason,
    )


def to_execution(trade: dict[str, Any], inst: Instrument | None) -> ExecutionReport:
    """A ccxt trade (own fill) as an ``ExecutionReport``; fee positive = paid."""
    info = trade.get("info") or {}
    qty = dec0(info.get("execQty") or trade.get("amount"))
    if inst is not None:
        qty = snap(qty, inst.qty_step)
    fee = trade.get("fee") or {}
    fee_cost = dec(info.get("execFee")) if info.get("execFee") not in (None, "") else None
    if fee_cost is None:
        fee_cost = dec0(fee.get("cost"))
    exec_type = str(info.get("execType") or "")
    return ExecutionReport(
        exec_id=str(trade["id"]),
        symbol=str(info.get("symbol") or (inst.symbol if inst else trade.get("symbol"))),
        client_order_id=str(info.get("orderLinkId") or trade.get("clientOrderId") or ""),
        venue_order_id=str(trade.get("order") or ""),
        side=Side(str(trade["side"])),
        qty=qty,
        price=dec0(info.get("execPrice") or trade.get("price")),
        fee=fee_cost,
        ts=int(trade.get("timestamp") or 0),
        is_maker=trade.get("takerOrMaker") == "maker",
        is_liquidation=exec_type in ("BustTrade", "AdlTrade"),
    )


def to_position(pos: dict[str, Any], inst: Instrument | None, now_ms: int) -> PositionReport | None:
    """A ccxt position as a ``PositionReport``; None for a flat (zero-size) entry."""
    info = pos.get("info") or {}
    qty = dec0(info.get("size") or pos.get("contracts"))
    qty = abs(qty)
    if inst is not None:
        qty = snap(qty, inst.qty_step)
    if qty == 0 or pos.get("side") not in ("long", "short"):
        return None
    margin = first_dec(info.get("positionIM"), pos.get("initialMargin"), pos.get("collateral"))
    return PositionReport(
        symbol=str(info.get("symbol") or (inst.symbol if inst else pos.get("symbol"))),
        side=PositionSide(str(pos["side"])),
        qty=qty,
        entry_price=dec0(info.get("avgPrice") or pos.get("entryPrice")),
        leverage=first_dec(info.get("leverage"), pos.get("leverage")) or Decimal(1),
        liquidation_price=first_dec(info.get("liqPrice"), pos.get("liquidationPrice")),
        margin=margin if margin is not None else Decimal(0),
        unrealized_pnl=first_dec(info.get("unrealisedPnl"), pos.get("unrealizedPnl")) or Decimal(0),
        mark_price=first_dec(info.get("markPrice"), pos.get("markPrice")) or Decimal(0),
        ts=int(pos.get("lastUpdateTimestamp") or pos.get("timestamp") or now_ms),
    )


def to_balance(balance: dict[str, Any], now_ms: int, coin: str = "USDT") -> BalanceReport:
    """The USDT wallet from a ccxt balance, from the venue's raw coin row when present:
    Bybit's unified-account coin (``equity``, ``unrealisedPnl``), Binance's account asset
    (``marginBalance`` = wallet + unrealised P&L, ``availableBalance``)."""
    ts = int(balance.get("timestamp") or now_ms)
    unified = balance.get(coin) or {}
    raw_coin: dict[str, Any] = {}
    info = balance.get("info") or {}
    lists = ((info.get("result") or {}).get("list") or []) if isinstance(info, dict) else []
    if lists and isinstance(lists[0], dict):
        for c in lists[0].get("coin") or []:
            if c.get("coin") == coin:
                raw_coin = c
    assets = (info.get("assets") or []) if isinstance(info, dict) else []
    for a in assets:
        if isinstance(a, dict) and a.get("asset") == coin:
            raw_coin = {
                "walletBalance": a.get("walletBalance"),
                "equity": a.get("marginBalance"),
                "unrealisedPnl": a.get("unrealizedProfit"),
                "availableToWithdraw": a.get("availableBalance"),
            }
    wallet = first_dec(raw_coin.get("walletBalance"), unified.get("total")) or Decimal(0)
    equity = dec(raw_coin.get("equity"))
    if equity is None:
        equity = wallet + dec0(raw_coin.get("unrealisedPnl"))
    # Coin-level figures only: the account-level totals are in USD across every collateral
    # coin and would not add up with the USDT wallet (ccxt's "free" is wallet − locked − IM).
    available = first_dec(raw_coin.get("availableToWithdraw"), unified.get("free"), wallet)
    assert available is not None
    return BalanceReport(wallet_balance=wallet, equity=equity, available=available, ts=ts)


# Money moved in or out: Bybit's transaction-log types, Binance's income type.
TRANSFER_KINDS = frozenset({"TRANSFER_IN", "TRANSFER_OUT", "TRANSFER"})


def to_cash_flow(row: dict[str, Any]) -> CashFlow:
    """One ccxt ledger entry as a signed cash flow (the venue's own signed change first)."""
    info = row.get("info") or {}
    change = info.get("change", info.get("cashFlow", info.get("income")))
    if change is not None and str(change) != "":
        amount = dec0(change)
    else:
        amount = dec0(row.get("amount"))
        if row.get("direction") == "out":
            amount = -abs(amount)
    kind = str(info.get("type") or info.get("incomeType") or row.get("type") or "")
    ts = int(row.get("timestamp") or info.get("transactionTime") or info.get("time") or 0)
    venue_id = str(row.get("id") or info.get("id") or info.get("tranId") or f"{kind}-{ts}")
    return CashFlow(venue_id=venue_id, ts=ts, coin="USDT", amount=amount, kind=kind)
