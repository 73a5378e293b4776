"""Row ↔ domain conversion. Money stays ``Decimal`` end to end (see ``bot.storage.types``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import RowMapping

from bot.domain import (
    Action,
    Decision,
    ExecutionReport,
    FundingPayment,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    TradingState,
    TriggerBy,
)
from bot.storage.records import ClosedPosition, EquitySnapshot, RunRecord, TradingStateEvent
from bot.storage.types import jsonable

Row = RowMapping


def _dec(value: Any) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal from a money column, got {type(value).__name__}")
    return value


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


def order_values(order: Order) -> dict[str, Any]:
    """The mutable and immutable columns of one order (without ``run_id``)."""
    return {
        "client_order_id": order.client_order_id,
        "venue_order_id": order.venue_order_id or None,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "qty": order.qty,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "trigger_by": order.trigger_by.value if order.trigger_by is not None else None,
        "reduce_only": order.reduce_only,
        "status": order.status.value,
        "filled_qty": order.filled_qty,
        "avg_fill_price": order.avg_fill_price,
        "fees": order.fees,
        "reason": order.reason,
        "intent": order.intent,
        "created_ms": order.created_ms,
        "updated_ms": order.updated_ms,
        "planned_stop": order.planned_stop,
    }


# Columns an update may change; identity, side, type and creation time never change.
ORDER_MUTABLE = (
    "venue_order_id",
    "qty",
    "price",
    "trigger_price",
    "trigger_by",
    "reduce_only",
    "status",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "reason",
    "intent",
    "updated_ms",
)


def order_from_row(row: Row) -> Order:
    """Rebuild an ``Order`` (its in-memory ``history`` starts empty)."""
    return Order(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        type=OrderType(row["type"]),
        qty=_dec(row["qty"]),
        price=_opt_dec(row["price"]),
        trigger_price=_opt_dec(row["trigger_price"]),
        trigger_by=TriggerBy(row["trigger_by"]) if row["trigger_by"] else None,
        reduce_only=bool(row["reduce_only"]),
        status=OrderStatus(row["status"]),
        venue_order_id=row["venue_order_id"],
        filled_qty=_dec(row["filled_qty"]),
        avg_fill_price=_opt_dec(row["avg_fill_price"]),
        fees=_dec(row["fees"]),
        reason=row["reason"],
        intent=row["intent"],
        created_ms=int(row["created_ms"]),
        updated_ms=int(row["updated_ms"]),
        planned_stop=_opt_dec(row["planned_stop"]),
    )


def execution_values(e: ExecutionReport) -> dict[str, Any]:
    return {
        "exec_id": e.exec_id,
        "client_order_id": e.client_order_id or None,
        "venue_order_id": e.venue_order_id or None,
        "symbol": e.symbol,
        "side": e.side.value,
        "qty": e.qty,
        "price": e.price,
        "fee": e.fee,
        "ts": e.ts,
        "is_maker": e.is_maker,
        "is_liquidation": e.is_liquidation,
        "fee_currency": e.fee_currency,
    }


def execution_from_row(row: Row) -> ExecutionReport:
    return ExecutionReport(
        exec_id=row["exec_id"],
        symbol=row["symbol"],
        client_order_id=row["client_order_id"] or "",
        venue_order_id=row["venue_order_id"] or "",
        side=Side(row["side"]),
        qty=_dec(row["qty"]),
        price=_dec(row["price"]),
        fee=_dec(row["fee"]),
        ts=int(row["ts"]),
        is_maker=bool(row["is_maker"]),
        is_liquidation=bool(row["is_liquidation"]),
        fee_currency=str(row["fee_currency"]),
    )


def position_values(p: Position, updated_ms: int) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "side": p.side.value,
        "qty": p.qty,
        "entry_price": p.entry_price,
        "leverage": p.leverage,
        "stop_price": p.stop_price,
        "liquidation_price": p.liquidation_price,
        "margin": p.margin,
        "sector": p.sector,
        "realized_pnl": p.realized_pnl,
        "fees": p.fees,
        "funding": p.funding,
        "entry_bar": p.entry_bar,
        "opened_ms": p.opened_ms,
        "synced_ms": p.synced_ms,
        "updated_ms": updated_ms,
    }


def position_from_row(row: Row) -> Position:
    return Position(
        symbol=row["symbol"],
        side=PositionSide(row["side"]),
        qty=_dec(row["qty"]),
        entry_price=_dec(row["entry_price"]),
        leverage=_dec(row["leverage"]),
        opened_ms=int(row["opened_ms"]),
        stop_price=_opt_dec(row["stop_price"]),
        liquidation_price=_opt_dec(row["liquidation_price"]),
        margin=_dec(row["margin"]),
        sector=row["sector"],
        realized_pnl=_dec(row["realized_pnl"]),
        fees=_dec(row["fees"]),
        funding=_dec(row["funding"]),
        entry_bar=row["entry_bar"],
        synced_ms=int(row["synced_ms"]),
    )


def funding_values(f: FundingPayment) -> dict[str, Any]:
    return {
        "symbol": f.symbol,
        "ts": f.ts,
        "rate": f.rate,
        "qty": f.qty,
        "mark": f.mark,
        "amount": f.amount,
        "venue_id": f.venue_id,
    }


def funding_from_row(row: Row) -> FundingPayment:
    return FundingPayment(
        symbol=row["symbol"],
        ts=int(row["ts"]),
        rate=_dec(row["rate"]),
        qty=_dec(row["qty"]),
        mark=_dec(row["mark"]),
        amount=_dec(row["amount"]),
        venue_id=row["venue_id"],
    )


def closed_position_values(c: ClosedPosition) -> dict[str, Any]:
    return {
        "symbol": c.symbol,
        "side": c.side.value,
        "qty": c.qty,
        "entry_price": c.entry_price,
        "exit_price": c.exit_price,
        "realized_pnl": c.realized_pnl,
        "fees": c.fees,
        "funding": c.funding,
        "how": c.how,
        "exec_id": c.exec_id,
        "opened_ms": c.opened_ms,
        "closed_ms": c.closed_ms,
    }


def closed_position_from_row(row: Row) -> ClosedPosition:
    return ClosedPosition(
        symbol=row["symbol"],
        side=PositionSide(row["side"]),
        qty=_dec(row["qty"]),
        entry_price=_dec(row["entry_price"]),
        exit_price=None if row["exit_price"] is None else _dec(row["exit_price"]),
        realized_pnl=_dec(row["realized_pnl"]),
        fees=_dec(row["fees"]),
        funding=_dec(row["funding"]),
        how=row["how"],
        exec_id=row["exec_id"],
        opened_ms=int(row["opened_ms"]),
        closed_ms=int(row["closed_ms"]),
    )


def decision_values(d: Decision, run_id: str | None) -> dict[str, Any]:
    return {
        "t": d.t,
        "symbol": d.symbol,
        "sector": d.sector,
        "action": d.action.value,
        "reasons": list(d.reasons),
        "scores": jsonable(d.scores),
        "run_id": run_id,
    }


def decision_from_row(row: Row) -> Decision:
    reasons: Sequence[Any] = row["reasons"] or ()
    return Decision(
        t=int(row["t"]),
        symbol=row["symbol"],
        sector=row["sector"],
        action=Action(row["action"]),
        reasons=tuple(str(r) for r in reasons),
        scores=dict(row["scores"] or {}),
    )


def equity_values(s: EquitySnapshot, run_id: str | None) -> dict[str, Any]:
    return {
        "ts": s.ts,
        "equity": s.equity,
        "wallet": s.wallet,
        "upnl": s.upnl,
        "exposure": s.exposure,
        "open_risk": s.open_risk,
        "net_flows": s.net_flows,
        "run_id": run_id,
    }


def equity_from_row(row: Row) -> EquitySnapshot:
    return EquitySnapshot(
        ts=int(row["ts"]),
        equity=_dec(row["equity"]),
        wallet=_dec(row["wallet"]),
        upnl=_dec(row["upnl"]),
        exposure=_dec(row["exposure"]),
        open_risk=_dec(row["open_risk"]),
        net_flows=_dec(row["net_flows"]),
    )


def state_event_from_row(row: Row) -> TradingStateEvent:
    return TradingStateEvent(
        ts=int(row["ts"]),
        old_state=TradingState(row["old_state"]),
        new_state=TradingState(row["new_state"]),
        reason=row["reason"],
        source=row["source"],
        id=int(row["id"]),
    )


def run_values(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "mode": r.mode,
        "started_ms": r.started_ms,
        "ended_ms": r.ended_ms,
        "end_reason": r.end_reason,
        "config_hash": r.config_hash,
        "version": r.version,
        "host": r.host,
        "pid": r.pid,
        "order_seq": r.order_seq,
    }


def run_from_row(row: Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        mode=row["mode"],
        started_ms=int(row["started_ms"]),
        config_hash=row["config_hash"],
        version=row["version"],
        host=row["host"],
        pid=int(row["pid"]),
        ended_ms=None if row["ended_ms"] is None else int(row["ended_ms"]),
        end_reason=row["end_reason"],
        order_seq=int(row["order_seq"]),
    )
