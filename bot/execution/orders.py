"""The order manager: every order persisted before it is sent, every command ends as
Confirmed, Rejected or Unknown, and Unknown is resolved by a targeted query, never a resend.

ARCHITECTURE.md, pattern 2. ``create_order`` is called at most once per client order id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from bot.domain import Order, OrderReport, OrderStatus, OrderType, Side, TriggerBy
from bot.domain.orders import OPEN_STATUSES, is_legal
from bot.execution.client_ids import ClientIdFactory, is_venue_keyed, order_key
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.venues.base import (
    DuplicateClientIdError,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    Venue,
    VenueError,
)

log = get_logger("rotor.orders")

Outcome = Literal["confirmed", "rejected", "unknown"]

# Intents that open a position (their orders carry the approved stop, ``planned_stop``).
ENTRY_INTENTS = frozenset({"entry", "hedge"})


class OrderJournal(Protocol):
    """Where orders are persisted (the storage repository implements it)."""

    async def insert_order(self, order: Order, *, run_id: str | None = None) -> None: ...

    async def update_order(self, order: Order) -> object: ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How an order command ended."""

    outcome: Outcome
    order: Order
    detail: str = ""
    error: VenueError | None = None  # the venue's refusal, for "rejected"


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What to send; built from a risk-approved intent (or the kill switch / stop upkeep)."""

    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    intent: str
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy | None = None
    reduce_only: bool = False
    reason: str = ""
    planned_stop: Decimal | None = None  # entries: the approved protective stop


class OrderManager:
    """Sends orders and settles their outcomes; owns the in-memory view of non-terminal orders."""

    def __init__(
        self,
        venue: Venue,
        journal: OrderJournal,
        ids: ClientIdFactory,
        clock: Callable[[], int],
        *,
        metrics: Metrics | None = None,
        unknown_grace_ms: int = 20_000,
        query_attempts: int = 3,
        query_delay_s: float = 0.2,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.ids = ids
        self.clock = clock
        self.metrics = metrics
        self.unknown_grace_ms = unknown_grace_ms
        self.query_attempts = query_attempts
        self.query_delay_s = query_delay_s
        self.orders: dict[str, Order] = {}
        # Orders whose latest state could not be written (database down): retried by
        # ``flush_unsaved`` so a storage outage never leaves a stale row behind for good.
        self.unsaved: dict[str, Order] = {}

    # ----------------------------------------------------------------- commands

    async def submit(self, new: NewOrder) -> CommandResult:
        """Persist, then send exactly once; settle the outcome."""
        now = self.clock()
        order = Order(
            client_order_id=self.ids.next(),
            symbol=new.symbol,
            side=new.side,
            type=new.type,
            qty=new.qty,
            price=new.price,
            trigger_price=new.trigger_price,
            trigger_by=new.trigger_by,
            reduce_only=new.reduce_only,
            intent=new.intent,
            reason=new.reason,
            created_ms=now,
            updated_ms=now,
            planned_stop=new.planned_stop,
        )
        order.transition(OrderStatus.SUBMITTED, now)
        # Persist before send: if this raises, nothing was sent.
        await self.journal.insert_order(order, run_id=self.ids.run_id)
        self.orders[order.client_order_id] = order
        self._count(OrderStatus.SUBMITTED)
        request = OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            qty=order.qty,
            price=order.price,
            trigger_price=order.trigger_price,
            trigger_by=order.trigger_by,
            reduce_only=order.reduce_only,
        )
        log.info(
            "order_submit",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side.value,
            type=order.type.value,
            qty=str(order.qty),
            reduce_only=order.reduce_only,
            intent=order.intent,
        )
        try:
            report = await self.venue.create_order(request)
        except DuplicateClientIdError:
            # The venue already has this id: it is ours from an earlier, unclear attempt.
            return await self.resolve(order)
        except RejectedError as exc:
            await self._set(order, OrderStatus.REJECTED, reason=f"{exc.code or ''} {exc}".strip())
            return CommandResult("rejected", order, str(exc), exc)
        except (UnknownOutcomeError, TransientError, VenueError, TimeoutError, OSError) as exc:
            await self._set(order, OrderStatus.UNKNOWN, reason=f"create: {type(exc).__name__}")
            log.warning(
                "order_outcome_unknown",
                client_order_id=order.client_order_id,
                error=str(exc),
                kind=type(exc).__name__,
            )
            return await self.resolve(order)
        await self.apply_report(order, report)
        return CommandResult("confirmed", order)

    async def cancel(self, client_order_id: str) -> CommandResult:
        """Cancel an order; a cancel that races a fill ends with the fill."""
        order = self.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"unknown order {client_order_id}")
        try:
            if is_venue_keyed(client_order_id):
                report = await self.venue.cancel_order_by_venue_id(
                    order.symbol, order.venue_order_id or ""
                )
            else:
                report = await self.venue.cancel_order(order.symbol, client_order_id)
        except (OrderNotFoundError, RejectedError, VenueError, TimeoutError, OSError) as exc:
            # Already filled/cancelled, or the answer was lost: ask the venue what happened.
            log.info("order_cancel_unclear", client_order_id=client_order_id, error=str(exc))
            return await self.resolve(order)
        await self.apply_report(order, report)
        return CommandResult("confirmed", order)

    async def resolve(self, order: Order) -> CommandResult:
        """Targeted query by client order id; mark REJECTED only once the grace period passed."""
        report: OrderReport | None = None
        for attempt in range(self.query_attempts):
            try:
                report = await self._query(order)
                break
            except (VenueError, TimeoutError, OSError) as exc:
                log.warning(
                    "order_query_failed",
                    client_order_id=order.client_order_id,
                    attempt=attempt + 1,
                    error=str(exc),
                )
                await asyncio.sleep(self.query_delay_s * (2**attempt))
        else:
            if order.status != OrderStatus.UNKNOWN and order.status in OPEN_STATUSES:
                return CommandResult("unknown", order, "query failed")
            await self._set(order, OrderStatus.UNKNOWN)
            return CommandResult("unknown", order, "query failed; reconciliation will resolve")
        if report is not None:
            await self.apply_report(order, report)
            return CommandResult("confirmed", order)
        age = self.clock() - order.created_ms
        if (
            order.status in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)
            and age >= self.unknown_grace_ms
        ):
            await self._set(order, OrderStatus.REJECTED, reason="not found on venue")
            return CommandResult("rejected", order, "not found on venue")
        if order.status == OrderStatus.SUBMITTED:
            await self._set(order, OrderStatus.UNKNOWN)
        return CommandResult("unknown", order, "not found yet; will query again")

    async def _query(self, order: Order) -> OrderReport | None:
        """The venue's view of ``order``: by client id, or by venue id when it has none."""
        if is_venue_keyed(order.client_order_id):
            return await self.venue.fetch_order_by_venue_id(
                order.symbol, order.venue_order_id or ""
            )
        return await self.venue.fetch_order(order.symbol, order.client_order_id)

    # ----------------------------------------------------------------- reports

    async def apply_report(self, order: Order, report: OrderReport) -> bool:
        """Move ``order`` to the venue's view; persist when anything changed."""
        changed = False
        if report.venue_order_id and order.venue_order_id != report.venue_order_id:
            order.venue_order_id = report.venue_order_id
            changed = True
        if report.filled_qty != order.filled_qty:
            order.filled_qty = report.filled_qty
            order.avg_fill_price = report.avg_fill_price
            changed = True
        target = report.status
        if target != order.status:
            if not is_legal(order.status, target):
                log.error(
                    "order_transition_refused",
                    client_order_id=order.client_order_id,
                    old=order.status.value,
                    new=target.value,
                )
                if self.metrics:
                    self.metrics.reconcile_discrepancies.labels(kind="illegal_transition").inc()
                return changed
            await self._set(
                order, target, reason=report.reject_reason or order.reason, persist=False
            )
            changed = True
        if changed:
            order.updated_ms = max(order.updated_ms, self.clock())
            await self._save(order)
        if order.is_terminal:
            self.orders.pop(order.client_order_id, None)
        return changed

    async def adopt(self, report: OrderReport, intent: str = "adopted") -> Order:
        """Start tracking a venue order rotor has no row for (found by reconciliation)."""
        order = Order(
            client_order_id=order_key(report.client_order_id, report.venue_order_id),
            symbol=report.symbol,
            side=report.side,
            type=report.type,
            qty=report.qty,
            price=report.price,
            trigger_price=report.trigger_price,
            trigger_by=report.trigger_by,
            reduce_only=report.reduce_only,
            status=report.status,
            venue_order_id=report.venue_order_id,
            filled_qty=report.filled_qty,
            avg_fill_price=report.avg_fill_price,
            intent=intent,
            reason="adopted from venue",
            created_ms=report.created_ms,
            updated_ms=report.updated_ms,
        )
        await self.journal.insert_order(order)
        self.track(order)
        log.warning(
            "order_adopted",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            status=order.status.value,
        )
        return order

    def track(self, order: Order) -> None:
        """Track an order loaded from the database or adopted by reconciliation."""
        if not order.is_terminal:
            self.orders[order.client_order_id] = order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if symbol is None or o.symbol == symbol]

    # ----------------------------------------------------------------- internals

    async def _set(
        self, order: Order, status: OrderStatus, *, reason: str | None = None, persist: bool = True
    ) -> None:
        old = order.status
        if order.transition(status, self.clock()):
            self._count(status)
            log.info(
                "order_transition",
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                old=old.value,
                new=status.value,
                reason=reason or "",
            )
        if reason is not None:
            order.reason = reason
        if persist:
            await self._save(order)
        if order.is_terminal:
            self.orders.pop(order.client_order_id, None)

    async def _save(self, order: Order) -> None:
        try:
            await self.journal.update_order(order)
        except Exception:
            self.unsaved[order.client_order_id] = order
            raise
        self.unsaved.pop(order.client_order_id, None)

    async def flush_unsaved(self) -> int:
        """Write the orders a failed write left behind; returns how many were written."""
        n = 0
        for order in list(self.unsaved.values()):
            await self.journal.update_order(order)
            self.unsaved.pop(order.client_order_id, None)
            n += 1
        if n:
            log.warning("orders_saved_late", count=n)
        return n

    def _count(self, status: OrderStatus) -> None:
        if self.metrics:
            self.metrics.orders.labels(status=status.value).inc()
