"""Reconciliation: make the database agree with the venue (ARCHITECTURE.md, pattern 3).

Run at start-up (always) and periodically. It compares the venue's open orders, executions
since the last sync, positions and balance with what rotor has stored:
- rotor's own orders (recognised by the client-id prefix) are adopted when the database has no
  row for them (e.g. after a SIGKILL between send and store); foreign orders are tracked too;
- tracked orders that are no longer open on the venue are settled by a targeted query;
- executions are applied once each (``bot.execution.ledger``), interleaved in time with the funding
  settled on the account (both read from the venue since the last sync, less ``OVERLAP_MS``,
  so funding paid while rotor was down is booked too, #10); liquidations (BustTrade/ADL fills)
  are recorded with their loss, fees and funding and raise an alert (#9);
- an order the venue reported filled beyond its stored executions (the execution list lags,
  #37) is settled by ``bot.execution.late_fills`` (the ``LateFills`` mixin), which holds its
  symbol's position meanwhile (no new entry is sent there);
- every closed position is stored with its PnL, fees and funding (``closed_positions``);
- an unknown position follows ``execution.unknown_position_policy``: ``adopt`` (with an alert)
  or ``refuse`` (the daemon must not trade).
If reconciliation fails, the caller must not trade.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from bot.domain import BalanceReport, Order, OrderReport, OrderStatus, PositionReport
from bot.execution.client_ids import is_own, order_key
from bot.execution.late_fills import FIRST_LOOKBACK_MS as FIRST_LOOKBACK_MS  # re-exported
from bot.execution.late_fills import LateFills
from bot.execution.ledger import Ledger, LedgerStore, store_closed
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.storage.records import ClosedPosition, UnbookedOrder
from bot.venues.base import Venue, change_tracking

log = get_logger("rotor.reconcile")

# The account's lists (executions, funding) are re-read this far behind the last sync: a row
# the venue lists late, stamped with its own earlier time, is still found. Fills of rotor's
# orders do not depend on it: they are settled per order (``LateFills._late_fills``), with no
# window.
OVERLAP_MS = 6 * 3_600_000


class ReconcileStore(LedgerStore, Protocol):
    """The storage calls reconciliation needs (the repository implements them)."""

    async def get_order(self, client_order_id: str) -> Order | None: ...

    async def list_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def unbooked_orders(self, since_ms: int) -> list[UnbookedOrder]: ...


OrderState = tuple[OrderStatus, Decimal, str | None]


def order_state(order: Order) -> OrderState:
    """What reconciliation compares of a tracked order with the venue's report."""
    return order.status, order.filled_qty, order.venue_order_id


class ReconcileRefused(Exception):
    """Reconciliation found something the policy says must stop trading."""


@dataclass(slots=True)
class ReconcileReport:
    """What one reconciliation pass found and did."""

    adopted_orders: list[str] = field(default_factory=list)
    settled_orders: list[str] = field(default_factory=list)
    new_fills: int = 0
    liquidations: list[str] = field(default_factory=list)
    adopted_positions: list[str] = field(default_factory=list)
    vanished_positions: list[str] = field(default_factory=list)
    corrected_positions: list[str] = field(default_factory=list)
    awaiting_executions: list[str] = field(default_factory=list)
    funding_payments: int = 0
    balance: BalanceReport | None = None  # read at the end of the pass
    # The venue's open orders as the pass read them: what the stop keeper checks right after
    # (an order sent since is asked about by itself, not by listing every order again).
    open_orders: list[OrderReport] = field(default_factory=list)

    @property
    def equity(self) -> Decimal | None:
        return self.balance.equity if self.balance is not None else None

    @property
    def discrepancies(self) -> int:
        return (
            len(self.adopted_orders)
            + len(self.adopted_positions)
            + len(self.vanished_positions)
            + len(self.corrected_positions)
        )


class Reconciler(LateFills):
    """Brings orders, fills, positions and funding in line with the venue."""

    def __init__(
        self,
        venue: Venue,
        store: ReconcileStore,
        orders: OrderManager,
        portfolio: Portfolio,
        *,
        prefix: str,
        policy: Literal["adopt", "refuse"],
        clock: Callable[[], int],
        sector_of: Callable[[str], str | None] = lambda _s: None,
        metrics: Metrics | None = None,
        resume_from_ms: int | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.store = store
        self.orders = orders
        self.portfolio = portfolio
        self.prefix = prefix
        self.policy = policy
        self.clock = clock
        self.sector_of = sector_of
        self.metrics = metrics
        self.ledger = Ledger(
            store, orders, portfolio, clock=clock, sector_of=sector_of, metrics=metrics
        )
        # Symbols whose in-memory position is not stored yet (a failed write is retried).
        self._dirty: set[str] = set()
        # The newest fill/funding time already stored (the first pass reads from there).
        self.resume_from_ms = resume_from_ms
        self.last_sync_ms: int | None = None
        self.venue_positions: dict[str, PositionReport] = {}
        self.wall = wall
        # Orders with fills missing from their executions: when this process first saw each
        # (wall time), and the symbols whose position may be ahead of its executions.
        self._missing_since: dict[str, float] = {}
        self._awaiting: set[str] = set()
        # A venue that tracks its account's changes (``ChangeTracking``, the simulator): the
        # mark at the start of the last full pass, and what that pass left settled (below).
        self._tracking = change_tracking(venue)
        self._mark: tuple[int, ...] | None = None
        self._settled: dict[str, OrderState] | None = None
        self._open_read: list[OrderReport] = []

    async def run(self, *, since_ms: int | None = None) -> ReconcileReport:
        """One full pass; raises ``ReconcileRefused`` under the ``refuse`` policy."""
        report = ReconcileReport()
        started = self.clock()
        mark = self._tracking.account_mark() if self._tracking is not None else None
        await self._flush()
        opened: set[str] = set()
        if since_ms is None and mark is not None and mark == self._mark and self._unchanged():
            # Nothing changed on the venue nor in rotor's orders since a pass that left every
            # order settled: the orders and the fill and funding lists read the same as then,
            # and applying them again does nothing. What moves with the prices is read below.
            report.open_orders = list(self._open_read)
        else:
            opened = await self._orders_and_events(report, since_ms)
        await self._positions(report, opened)
        report.balance = await self.venue.fetch_balance()
        self.last_sync_ms = started
        self._remember(mark, report)
        for kind, n in (
            ("adopted_order", len(report.adopted_orders)),
            ("adopted_position", len(report.adopted_positions)),
            ("vanished_position", len(report.vanished_positions)),
            ("corrected_position", len(report.corrected_positions)),
        ):
            if n and self.metrics:
                self.metrics.reconcile_discrepancies.labels(kind=kind).inc(n)
        quiet = report.discrepancies == 0 and not report.new_fills and not report.settled_orders
        (log.debug if quiet else log.info)(
            "reconciled",
            adopted_orders=report.adopted_orders,
            settled_orders=report.settled_orders,
            new_fills=report.new_fills,
            liquidations=report.liquidations,
            adopted_positions=report.adopted_positions,
            vanished_positions=report.vanished_positions,
            corrected_positions=report.corrected_positions,
            equity=str(report.equity),
            discrepancies=report.discrepancies,
        )
        return report

    async def _orders_and_events(self, report: ReconcileReport, since_ms: int | None) -> set[str]:
        """The full comparison of orders, fills and funding; the symbols a fill opened."""
        await self._orders(report)
        if since_ms is None and self._tracking is not None and self._mark is not None:
            # Everything listed before the last pass's mark is applied: read what came after.
            events = await self._tracking.fetch_account_events_after(self._mark)
        else:
            since = since_ms if since_ms is not None else self._since()
            events = await self.venue.fetch_account_events(since)
        applied = await self.ledger.apply(*events)
        report.new_fills += applied.fills
        report.funding_payments += applied.funding_payments
        report.liquidations += applied.liquidations
        return applied.opened | await self._late_fills(report)

    def _remember(self, mark: tuple[int, ...] | None, report: ReconcileReport) -> None:
        """After a pass: the venue's mark at its start, and the state of every order it
        left tracked when each is settled (seen open on the venue and in the state the venue
        reported); None when one is not (a pass must ask about it again)."""
        self._mark = mark
        if mark is None:
            return
        seen = {order_key(o.client_order_id, o.venue_order_id): o for o in report.open_orders}
        settled: dict[str, OrderState] = {}
        for cid, order in self.orders.orders.items():
            vo = seen.get(cid)
            if vo is None or vo.status != order.status or vo.filled_qty != order.filled_qty:
                self._settled = None
                return
            settled[cid] = order_state(order)
        self._settled = settled
        self._open_read = report.open_orders

    def _unchanged(self) -> bool:
        """Whether a full pass now would find what the last one left: no write pending, no
        fill awaited, the same orders tracked in the same states, all of them settled."""
        if self._settled is None or self._dirty or self.orders.unsaved:
            return False
        if self._awaiting or self._missing_since:
            return False
        tracked = self.orders.orders
        if len(tracked) != len(self._settled):
            return False
        settled = self._settled
        return all(settled.get(cid) == order_state(o) for cid, o in tracked.items())

    def _since(self) -> int:
        if self.last_sync_ms is not None:
            return max(0, self.last_sync_ms - OVERLAP_MS)
        if self.resume_from_ms is not None:
            return max(0, min(self.resume_from_ms, self.clock()) - OVERLAP_MS)
        return max(0, self.clock() - FIRST_LOOKBACK_MS)

    async def _orders(self, report: ReconcileReport) -> None:
        venue_open = report.open_orders = await self.venue.fetch_open_orders()
        seen: set[str] = set()
        for vo in venue_open:
            # An order without a client id (placed in the venue's web UI) is tracked under
            # its venue id, so every pass finds the row the first one stored.
            cid = order_key(vo.client_order_id, vo.venue_order_id)
            seen.add(cid)
            tracked = self.orders.orders.get(cid)
            if tracked is None:
                stored = await self.store.get_order(cid)
                if stored is not None and not stored.is_terminal:
                    self.orders.track(stored)
                    tracked = stored
            if tracked is not None:
                await self.orders.apply_report(tracked, vo)
                continue
            own = is_own(self.prefix, cid)
            await self.orders.adopt(vo, intent="adopted" if own else "foreign")
            report.adopted_orders.append(cid)
            log.warning("reconcile_order_adopted", client_order_id=cid, own=own, alert=not own)
        # Orders the database thinks are open but the venue no longer lists: ask about each.
        for stored in await self.store.list_open_orders():
            if stored.client_order_id not in self.orders.orders:
                self.orders.track(stored)
        for order in list(self.orders.orders.values()):
            if order.client_order_id in seen:
                continue
            result = await self.orders.resolve(order)
            report.settled_orders.append(f"{order.client_order_id}:{result.order.status.value}")

    async def _persist_position(self, symbol: str) -> None:
        self._dirty.add(symbol)
        pos = self.portfolio.positions.get(symbol)
        if pos is None:
            await self.store.delete_position(symbol)
        else:
            await self.store.upsert_position(pos, updated_ms=self.clock())
        self._dirty.discard(symbol)

    async def _flush(self) -> None:
        """Write what an earlier, failed pass could not (orders and positions)."""
        await self.orders.flush_unsaved()
        for symbol in sorted(self._dirty):
            await self._persist_position(symbol)

    async def _positions(self, report: ReconcileReport, opened: set[str]) -> None:
        venue_positions = {p.symbol: p for p in await self.venue.fetch_positions() if p.qty > 0}
        self.venue_positions = venue_positions  # the venue's own view, for the leverage check
        ours = self.portfolio.positions
        for symbol, vp in venue_positions.items():
            mine = ours.get(symbol)
            if mine is None:
                if self._await_executions(symbol, report):
                    continue
                self._unknown_position(vp, report)
                await self._persist_position(symbol)
            elif mine.side != vp.side or mine.qty != vp.qty:
                if self._await_executions(symbol, report):
                    continue
                log.error(
                    "reconcile_position_corrected",
                    symbol=symbol,
                    ours=f"{mine.side.value} {mine.qty}",
                    venue=f"{vp.side.value} {vp.qty}",
                    alert=True,
                )
                mine.side, mine.qty, mine.entry_price = vp.side, vp.qty, vp.entry_price
                mine.synced_ms = vp.ts
                report.corrected_positions.append(symbol)
                await self._persist_position(symbol)
            else:
                mine.liquidation_price = vp.liquidation_price
                mine.margin = vp.margin
                if symbol in opened and mine.leverage != vp.leverage:
                    # Opened by a fill just read: its leverage is the one rotor set on the
                    # venue before the entry (the plan itself is lost after a restart).
                    mine.leverage = vp.leverage
                    await self._persist_position(symbol)
        for symbol in [s for s in ours if s not in venue_positions]:
            if self._await_executions(symbol, report):
                continue
            gone = ours.pop(symbol)
            log.error(
                "reconcile_position_vanished",
                symbol=symbol,
                side=gone.side.value,
                qty=str(gone.qty),
                realized_pnl=str(gone.realized_pnl),
                fees=str(gone.fees),
                funding=str(gone.funding),
                alert=True,
            )
            report.vanished_positions.append(symbol)
            await self._persist_position(symbol)
            await store_closed(
                self.store,
                ClosedPosition(
                    symbol=symbol,
                    side=gone.side,
                    qty=gone.qty,
                    entry_price=gone.entry_price,
                    exit_price=None,
                    realized_pnl=gone.realized_pnl,
                    fees=gone.fees,
                    funding=gone.funding,
                    how="vanished",
                    opened_ms=gone.opened_ms,
                    closed_ms=self.clock(),
                ),
            )

    def _unknown_position(self, vp: PositionReport, report: ReconcileReport) -> None:
        if self.policy == "refuse":
            raise ReconcileRefused(
                f"venue has a {vp.side.value} position of {vp.qty} {vp.symbol} that rotor did not "
                "open; execution.unknown_position_policy = 'refuse' so rotor will not trade. "
                "Close it on the venue or set the policy to 'adopt'."
            )
        self.portfolio.adopt(vp, self.clock(), sector=self.sector_of(vp.symbol))
        report.adopted_positions.append(vp.symbol)
        if self.metrics:
            self.metrics.alerts.labels(kind="position_adopted").inc()
        log.error(
            "reconcile_position_adopted",
            symbol=vp.symbol,
            side=vp.side.value,
            qty=str(vp.qty),
            entry=str(vp.entry_price),
            alert=True,
        )
