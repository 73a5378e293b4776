"""Engine records as rotor's venue-neutral reports (the in-process faces' mapping): orders,
fills, funding, and engine refusals as the venue error classes of the same meaning
(110007 → InsufficientFundsError, 110072 → DuplicateClientIdError, 110001 →
OrderNotFoundError, a crossed trigger → StopCrossedError, every other code → RejectedError).
"""

from __future__ import annotations

from bot.domain import ExecutionReport, FundingPayment, OrderReport, OrderStatus
from bot.sim.types import SimError, SimExecution, SimFunding, SimOrder, SimStatus
from bot.venues.base import (
    DuplicateClientIdError,
    InsufficientFundsError,
    OrderNotFoundError,
    RejectedError,
    StopCrossedError,
)

_STATUS = {
    SimStatus.NEW: OrderStatus.ACCEPTED,
    SimStatus.UNTRIGGERED: OrderStatus.ACCEPTED,
    SimStatus.TRIGGERED: OrderStatus.ACCEPTED,
    SimStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    SimStatus.FILLED: OrderStatus.FILLED,
    SimStatus.CANCELLED: OrderStatus.CANCELED,
    SimStatus.DEACTIVATED: OrderStatus.CANCELED,
    SimStatus.REJECTED: OrderStatus.REJECTED,
    SimStatus.PARTIALLY_FILLED_CANCELED: OrderStatus.CANCELED,
}


def order_status(status: SimStatus) -> OrderStatus:
    """Bybit order status → rotor's order state."""
    return _STATUS[status]


def order_report(o: SimOrder, symbol: str | None = None) -> OrderReport:
    """A sim order as the venue-neutral ``OrderReport`` (``symbol``: rotor's name of its
    market when it is not the engine's, ``spot:BTCUSDT``)."""
    return OrderReport(
        symbol=symbol or o.symbol,
        client_order_id=o.order_link_id,
        venue_order_id=o.order_id,
        side=o.side,
        type=o.order_type,
        status=order_status(o.status),
        qty=o.qty,
        filled_qty=o.cum_exec_qty,
        price=o.price,
        avg_fill_price=o.avg_price,
        trigger_price=o.trigger_price,
        trigger_by=o.trigger_by if o.trigger_price is not None else None,
        reduce_only=o.reduce_only,
        created_ms=o.created_ms,
        updated_ms=o.updated_ms,
        reject_reason=o.reject_reason,
    )


def execution_report(e: SimExecution) -> ExecutionReport:
    """A sim fill as the venue-neutral ``ExecutionReport``."""
    return ExecutionReport(
        exec_id=e.exec_id,
        symbol=e.symbol,
        client_order_id=e.order_link_id,
        venue_order_id=e.order_id,
        side=e.side,
        qty=e.qty,
        price=e.price,
        fee=e.fee,
        ts=e.ts,
        is_maker=e.is_maker,
        is_liquidation=e.exec_type == "BustTrade",
    )


def funding_payment(f: SimFunding) -> FundingPayment:
    """A sim funding settlement as the venue-neutral ``FundingPayment``."""
    return FundingPayment(
        symbol=f.symbol,
        ts=f.ts,
        rate=f.rate,
        qty=f.qty,
        mark=f.mark,
        amount=f.amount,
        venue_id=f"funding-{f.symbol}-{f.ts}",
    )


def venue_error(exc: SimError, endpoint: str) -> RejectedError:
    """Map an engine refusal to the venue error class of the same meaning."""
    cls: type[RejectedError]
    if exc.code in (SimError.INSUFFICIENT_BALANCE, SimError.SPOT_INSUFFICIENT_BALANCE):
        cls = InsufficientFundsError
    elif exc.code in (SimError.DUPLICATE_LINK_ID, SimError.SPOT_DUPLICATE_LINK_ID):
        cls = DuplicateClientIdError
    elif exc.code in (SimError.ORDER_NOT_FOUND, SimError.SPOT_ORDER_NOT_FOUND):
        cls = OrderNotFoundError
    elif exc.code in (SimError.TRIGGER_RISING, SimError.TRIGGER_FALLING):
        cls = StopCrossedError
    else:
        cls = RejectedError
    return cls(exc.msg, code=str(exc.code), endpoint=endpoint)
