"""The account's event ledger: every fill and funding payment applied exactly once.

Events are applied in time order (funding first at a shared time: it settles on the position
open at the settlement instant). Each is stored together with the position it leads to (and
the closed-position record) in one transaction, and applied in memory only once that
committed: a crash or a database error in between can neither lose an event nor apply it
twice. Liquidations (BustTrade/ADL fills) are recorded with their loss, fees and funding and
raise an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from bot.domain import ExecutionReport, FundingPayment, Position
from bot.execution.client_ids import is_venue_keyed, order_key
from bot.execution.orders import OrderManager
from bot.execution.portfolio import FillEffect, Portfolio
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.storage.records import ClosedPosition
from bot.venues.spot import is_spot

log = get_logger("rotor.reconcile")

# The one rule for events that share an instant: a funding settlement comes before every fill
# stamped at the same time, because it settles on the position held *at* the settlement
# instant (the simulator charges it as its clock arrives there; Bybit stamps the settlement at
# the instant itself). The backtest's trade report sorts with the same key.
FUNDING, FILL = 0, 1
# Venue order id -> client id of the orders fills were attributed to (bounded: cleared when full).
MAX_ATTRIBUTED = 10_000


def event_key(ts: int, kind: int, tie: str | int) -> tuple[int, int, str | int]:
    """Sort key of an account event: time, then funding before fills, then ``tie``."""
    return (ts, kind, tie)


class LedgerStore(Protocol):
    """The storage calls the ledger needs (the repository implements them)."""

    async def record_execution(self, execution: ExecutionReport) -> bool: ...

    async def upsert_position(self, position: Position, *, updated_ms: int) -> None: ...

    async def delete_position(self, symbol: str) -> bool: ...

    async def record_funding(self, payment: FundingPayment) -> bool: ...


async def store_closed(store: object, record: ClosedPosition) -> None:
    """Store a closed position where the store keeps them (the repository; memory stores of
    tests may not)."""
    save = getattr(store, "record_closed_position", None)
    if save is not None:
        await save(record)


@dataclass(slots=True)
class Applied:
    """What one ``Ledger.apply`` booked."""

    fills: int = 0
    funding_payments: int = 0
    liquidations: list[str] = field(default_factory=list)
    # Symbols whose position a fill opened (or flipped): at leverage 1 until the entry's plan
    # or the venue's leverage is known (``Reconciler`` takes the venue's).
    opened: set[str] = field(default_factory=set)


class Ledger:
    """Applies fills and funding to the portfolio and the store, once each."""

    def __init__(
        self,
        store: LedgerStore,
        orders: OrderManager,
        portfolio: Portfolio,
        *,
        clock: Callable[[], int],
        sector_of: Callable[[str], str | None],
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.orders = orders
        self.portfolio = portfolio
        self.clock = clock
        self.sector_of = sector_of
        self.metrics = metrics
        self._client_ids: dict[str, str] = {}  # venue order id -> client id (``_attributed``)

    async def apply(
        self, executions: list[ExecutionReport], payments: list[FundingPayment]
    ) -> Applied:
        """Apply new fills and funding in time order (funding first at a shared time: it
        settles on the position open at the settlement instant).

        Each event is stored together with the position it leads to (and the closed-position
        record) in one transaction, and applied in memory only once that committed: a crash or
        a database error in between can neither lose an event nor apply it twice.
        """
        applied = Applied()
        events: list[tuple[tuple[int, int, str | int], ExecutionReport | FundingPayment]] = [
            (event_key(p.ts, FUNDING, p.venue_id), p) for p in payments
        ]
        events += [
            (event_key(e.ts, FILL, e.exec_id), await self._attributed(e)) for e in executions
        ]
        for _key, item in sorted(events, key=lambda x: x[0]):
            sym = item.symbol
            in_size = isinstance(item, ExecutionReport) and self._in_synced_size(item)
            async with self._transaction() as st:
                if isinstance(item, FundingPayment):
                    new = await st.record_funding(item)
                else:
                    new = await st.record_execution(item)
                if not new:
                    continue  # already applied (a re-read overlap): nothing to compute
                # What it does, on a copy of the position, stored with it in this transaction.
                trial = self.portfolio.trial(sym)
                effect: FillEffect | None = None
                if isinstance(item, FundingPayment):
                    trial.apply_funding(item)
                elif in_size:
                    pass  # stored only: the size taken from the venue already holds it
                else:
                    effect = trial.apply_fill(
                        item, leverage=self._leverage(sym), sector=self.sector_of(sym)
                    )
                closed = self._closed_record(effect, item)
                pos = trial.positions.get(sym)
                if pos is None:
                    await st.delete_position(sym)
                else:
                    await st.upsert_position(pos, updated_ms=self.clock())
                if closed is not None:
                    await store_closed(st, closed)
            # Stored: now apply it for real (the same computation as the trial).
            if isinstance(item, FundingPayment):
                self.portfolio.apply_funding(item)
                applied.funding_payments += 1
                log.info(
                    "funding_applied",
                    symbol=sym,
                    ts=item.ts,
                    amount=str(item.amount),
                    rate=str(item.rate),
                )
                continue
            if in_size:
                log.info(
                    "fill_in_venue_size",
                    exec_id=item.exec_id,
                    symbol=sym,
                    qty=str(item.qty),
                    ts=item.ts,
                    note="listed after reconciliation took the position's size from the venue",
                )
                continue
            applied.fills += 1
            self._apply_fill(item)
            if effect is not None and effect.kind in ("open", "flip"):
                applied.opened.add(sym)
            elif sym not in self.portfolio.positions:
                applied.opened.discard(sym)
            if item.is_liquidation and closed is not None:
                applied.liquidations.append(sym)
                self._alert_liquidation(closed, item)
        return applied

    async def _attributed(self, e: ExecutionReport) -> ExecutionReport:
        """``e`` with the client id of the order it filled. Binance's fill list
        (``/fapi/v1/userTrades``) names the venue's order id only: the order rotor tracks, or
        stored, under that id gives the client id, so a fill is linked to its order on every
        venue (the stop its entry was approved with, the fills reported against applied)."""
        if e.client_order_id or not e.venue_order_id:
            return e
        cid = self._client_ids.get(e.venue_order_id)
        if cid is None:
            tracked = [
                o for o in self.orders.orders.values() if o.venue_order_id == e.venue_order_id
            ]
            if tracked:
                cid = tracked[0].client_order_id
            else:
                find = getattr(self.store, "get_order_by_venue_id", None)
                stored = await find(e.venue_order_id) if find is not None else None
                cid = stored.client_order_id if stored is not None else None
            if cid is None:
                return e  # an order rotor never stored (placed by hand and filled at once)
            if len(self._client_ids) >= MAX_ATTRIBUTED:
                self._client_ids.clear()
            self._client_ids[e.venue_order_id] = cid
        if is_venue_keyed(cid):
            return e  # the venue knows the order by its own id only: the fill names none
        return replace(e, client_order_id=cid)

    async def apply_spot(self, executions: list[ExecutionReport]) -> int:
        """Record spot fills (``spot:`` symbols, the portfolio mode) once each, by exec id, in
        time order; how many were new.

        A spot fill is cash-settled: it moves coins and USDT, which the venue holds and rotor
        reads back (``fetch_spot_holdings``), and opens no position, so it never reaches the
        perpetuals' portfolio. It is stored with the venue's fee in the venue's currency
        (Bybit: the base coin on a buy, USDT on a sell), so the books are the venue's list.
        """
        new = 0
        for e in sorted(executions, key=lambda x: event_key(x.ts, FILL, x.exec_id)):
            if not is_spot(e.symbol):
                raise ValueError(f"{e.exec_id}: {e.symbol} is not a spot market")
            if not await self.store.record_execution(e):
                continue  # already recorded (a re-read overlap)
            new += 1
            key = order_key(e.client_order_id, e.venue_order_id)
            if self.metrics:
                self.metrics.fills.inc()
            log.info(
                "spot_fill_recorded",
                **_fill_fields(e),
                fee_currency=e.fee_currency,
                tracked=key in self.orders.orders,
            )
        return new

    def _transaction(self) -> AbstractAsyncContextManager[LedgerStore]:
        """One transaction on stores that batch (the repository); the store itself otherwise."""
        batch = getattr(self.store, "batch", None)
        if batch is None:
            return nullcontext(self.store)
        cm: AbstractAsyncContextManager[LedgerStore] = batch()
        return cm

    def _in_synced_size(self, e: ExecutionReport) -> bool:
        """Whether ``e`` is already in its position's size: reconciliation took that size
        from a venue report stamped at or after the fill (an adoption or a correction made
        while the execution list lagged, RELIABILITY.md #37)."""
        pos = self.portfolio.positions.get(e.symbol)
        return pos is not None and e.ts <= pos.synced_ms

    def _leverage(self, symbol: str) -> Decimal:
        pos = self.portfolio.positions.get(symbol)
        return pos.leverage if pos is not None else Decimal(1)

    def _apply_fill(self, e: ExecutionReport) -> None:
        key = order_key(e.client_order_id, e.venue_order_id)
        order = self.orders.orders.get(key)
        self.portfolio.apply_fill(
            e, leverage=self._leverage(e.symbol), sector=self.sector_of(e.symbol)
        )
        if self.metrics:
            self.metrics.fills.inc()
        log.info(
            "fill_applied",
            **_fill_fields(e),
            tracked=order is not None,
            liquidation=e.is_liquidation,
        )

    @staticmethod
    def _closed_record(
        effect: FillEffect | None, e: ExecutionReport | FundingPayment
    ) -> ClosedPosition | None:
        """What a fill that closed a position made (None for funding or an opening fill)."""
        if effect is None or effect.closed is None or not isinstance(e, ExecutionReport):
            return None
        closed = effect.closed
        how = "liquidation" if e.is_liquidation else ("flip" if effect.kind == "flip" else "close")
        return ClosedPosition(
            symbol=closed.symbol,
            side=closed.side,
            qty=closed.qty,
            entry_price=closed.entry_price,
            exit_price=e.price,
            realized_pnl=closed.realized_pnl,
            fees=closed.fees,
            funding=closed.funding,
            how=how,
            opened_ms=closed.opened_ms,
            closed_ms=e.ts,
            exec_id=e.exec_id,
        )

    def _alert_liquidation(self, closed: ClosedPosition, e: ExecutionReport) -> None:
        if self.metrics:
            self.metrics.alerts.labels(kind="liquidation").inc()
        log.error(
            "liquidation_detected",
            symbol=e.symbol,
            side=closed.side.value,
            qty=str(e.qty),
            entry=str(closed.entry_price),
            bust_price=str(e.price),
            loss=str(closed.realized_pnl),
            fees=str(closed.fees),
            funding=str(closed.funding),
            net=str(closed.realized_pnl - closed.fees + closed.funding),
            alert=True,
        )


def _fill_fields(e: ExecutionReport) -> dict[str, str]:
    """What a fill's log line says of it (a perp's and a spot fill's alike)."""
    return {
        "exec_id": e.exec_id,
        "symbol": e.symbol,
        "side": e.side.value,
        "qty": str(e.qty),
        "price": str(e.price),
        "fee": str(e.fee),
        "client_order_id": e.client_order_id,
    }
