"""Storage-free stand-ins for the database: orders, fills and positions kept in memory.

The backtest runs the daemon's pipeline unchanged; only persistence is swapped. These classes
satisfy ``OrderJournal`` (``bot.execution.orders``), ``ReconcileStore``
(``bot.execution.reconcile``) and the pipeline's ``Journal`` with dictionaries and lists, and
they keep what the report needs afterwards (every order with its intent and reason, the
leverage and stop each entry was approved with, the equity of every cycle).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from bot.domain import ExecutionReport, FundingPayment, Order, Position
from bot.execution.client_ids import order_key
from bot.runtime.journal import Journal
from bot.signals.evaluation import Evaluation
from bot.storage.records import EquitySnapshot, UnbookedOrder

ZERO = Decimal(0)


class MemoryStore:
    """Orders by client id, applied execution ids, positions and funding, all in memory."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        self.exec_ids: set[str] = set()
        self.positions: dict[str, Position] = {}
        self.funding: list[FundingPayment] = []
        self._funding_keys: set[tuple[str, int]] = set()
        # Fill quantity booked per order key, and the orders reported filled beyond it.
        self._booked: dict[str, Decimal] = {}
        self._unbooked: set[str] = set()

    # --- OrderJournal
    async def insert_order(self, order: Order, *, run_id: str | None = None) -> None:
        """Keep the order (the database would insert a row)."""
        self.orders[order.client_order_id] = order
        self._track(order)

    async def update_order(self, order: Order) -> object:
        """Orders are shared objects, so only the open-order index needs care."""
        self.orders[order.client_order_id] = order
        self._track(order)
        return None

    def _track(self, order: Order) -> None:
        key = order.client_order_id
        if order.filled_qty > self._booked.get(key, ZERO):
            self._unbooked.add(key)
        else:
            self._unbooked.discard(key)
        if order.is_terminal:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = order

    # --- ReconcileStore
    async def get_order(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    async def list_open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    async def record_execution(self, execution: ExecutionReport) -> bool:
        """True the first time an execution id is seen (fills are applied once)."""
        if execution.exec_id in self.exec_ids:
            return False
        self.exec_ids.add(execution.exec_id)
        key = order_key(execution.client_order_id, execution.venue_order_id)
        self._booked[key] = booked = self._booked.get(key, ZERO) + execution.qty
        order = self.orders.get(key)
        if order is not None and order.filled_qty <= booked:
            self._unbooked.discard(key)
        return True

    async def unbooked_orders(self, since_ms: int) -> list[UnbookedOrder]:
        """Orders reported filled beyond their recorded executions (as the repository)."""
        out = []
        for key in sorted(self._unbooked):
            o = self.orders[key]
            if o.updated_ms >= since_ms and o.venue_order_id:
                booked = self._booked.get(key, ZERO)
                out.append(
                    UnbookedOrder(
                        key, o.symbol, o.venue_order_id, o.filled_qty, booked, o.updated_ms
                    )
                )
        return out

    async def upsert_position(self, position: Position, *, updated_ms: int) -> None:
        self.positions[position.symbol] = position

    async def delete_position(self, symbol: str) -> bool:
        return self.positions.pop(symbol, None) is not None

    async def record_funding(self, payment: FundingPayment) -> bool:
        """True the first time a (symbol, ts) settlement is seen, as the repository's unique
        key: a pass re-reading the overlap window must not book it again."""
        key = (payment.symbol, payment.ts)
        if key in self._funding_keys:
            return False
        self._funding_keys.add(key)
        self.funding.append(payment)
        return True


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """What the risk manager approved for an entry, as the pipeline saved it on the position."""

    symbol: str
    opened_ms: int
    leverage: Decimal
    stop_price: Decimal | None
    liquidation_price: Decimal | None


class EquityPoint(NamedTuple):
    """One cycle's row of an ``EquityLog``."""

    ts: int
    equity: Decimal
    exposure: float


class EquityLog:
    """Every cycle's equity as the report reads it: the time, the equity (the Decimal, exact)
    and the gross exposure. A snapshot object with its six Decimals is ~700 bytes a cycle, kept
    for the whole run (7,800 cycles: ~5 MB of a backtest's peak); these columns are ~130."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.equity: list[Decimal] = []
        self.exposure = array("d")

    def append(self, snap: EquitySnapshot) -> None:
        self.ts.append(snap.ts)
        self.equity.append(snap.equity)
        self.exposure.append(float(snap.exposure))

    def __len__(self) -> int:
        return len(self.ts)

    def __iter__(self) -> Iterator[EquityPoint]:
        for ts, equity, exposure in zip(self.ts, self.equity, self.exposure, strict=True):
            yield EquityPoint(ts, equity, exposure)


class MemoryJournal(Journal):
    """Keeps every cycle's equity and the approved parameters of every entry."""

    def __init__(self) -> None:
        self.equity = EquityLog()
        self.plans: dict[tuple[str, int], EntryPlan] = {}
        self.cycles = 0

    async def write_cycle(self, evaluation: Evaluation | None, equity: EquitySnapshot) -> None:
        self.cycles += 1
        self.equity.append(equity)

    async def save_position(self, position: Position, now_ms: int) -> None:
        self.plans[(position.symbol, position.opened_ms)] = EntryPlan(
            position.symbol,
            position.opened_ms,
            position.leverage,
            position.stop_price,
            position.liquidation_price,
        )
