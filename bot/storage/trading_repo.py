"""Orders, executions, positions and funding: the records reconciliation relies on."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import (
    TERMINAL_STATUSES,
    ExecutionReport,
    FundingPayment,
    Order,
    OrderStatus,
    Position,
)
from bot.storage import convert
from bot.storage.base import RepositoryBase
from bot.storage.errors import DuplicateOrderError, OrderNotFoundError, UnknownRunError
from bot.storage.records import ClosedPosition, UnbookedOrder
from bot.storage.tables import closed_positions, executions, funding_payments, orders, positions

ZERO = Decimal(0)
_TERMINAL = sorted(s.value for s in TERMINAL_STATUSES)


class TradingRepository(RepositoryBase):
    """Orders, fills, positions and funding payments."""

    # ------------------------------------------------------------------ orders

    async def insert_order(self, order: Order, *, run_id: str | None = None) -> None:
        """Persist a new order in one INSERT (call before sending it to the venue).

        Raises ``DuplicateOrderError`` if the client id is taken and ``UnknownRunError`` if
        ``run_id`` was never started. Inside a batch on PostgreSQL either error aborts the batch.
        """
        values = convert.order_values(order)
        values["run_id"] = run_id
        try:
            async with self._write() as conn:
                await conn.execute(orders.insert().values(values))
        except IntegrityError as exc:
            text = str(exc.orig).lower()
            if "client_order_id" in text:
                raise DuplicateOrderError(order.client_order_id) from exc
            if "foreign key" in text:
                raise UnknownRunError(run_id) from exc
            raise

    async def update_order(self, order: Order, *, expect_status: OrderStatus | None = None) -> bool:
        """Write the order's mutable fields (status, fills, venue id, fees, ...).

        With ``expect_status`` the row changes only if its stored status is still that one
        (compare-and-set against a concurrent writer); returns False when it was not.
        Raises ``OrderNotFoundError`` if the order is not stored.
        """
        values = convert.order_values(order)
        changes = {k: values[k] for k in convert.ORDER_MUTABLE}
        stmt = update(orders).where(orders.c.client_order_id == order.client_order_id)
        if expect_status is not None:
            stmt = stmt.where(orders.c.status == expect_status.value)
        async with self._write() as conn:
            result = await conn.execute(stmt.values(changes))
            if result.rowcount == 1:
                return True
            exists = await conn.scalar(
                select(orders.c.id).where(orders.c.client_order_id == order.client_order_id)
            )
        if exists is None:
            raise OrderNotFoundError(order.client_order_id)
        return False

    async def get_order(self, client_order_id: str) -> Order | None:
        """The stored order with this client id, or None."""
        async with self._read() as conn:
            row = (
                (
                    await conn.execute(
                        select(orders).where(orders.c.client_order_id == client_order_id)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else convert.order_from_row(row)

    async def get_order_by_venue_id(self, venue_order_id: str) -> Order | None:
        """The stored order the venue knows by this id, or None."""
        async with self._read() as conn:
            row = (
                (
                    await conn.execute(
                        select(orders)
                        .where(orders.c.venue_order_id == venue_order_id)
                        .order_by(orders.c.id.desc())
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else convert.order_from_row(row)

    async def list_open_orders(self, symbol: str | None = None) -> list[Order]:
        """Every non-terminal order (NEW, SUBMITTED, ACCEPTED, PARTIALLY_FILLED, UNKNOWN), oldest first."""
        stmt = select(orders).where(orders.c.status.not_in(_TERMINAL))
        if symbol is not None:
            stmt = stmt.where(orders.c.symbol == symbol)
        async with self._read() as conn:
            rows = (await conn.execute(stmt.order_by(orders.c.id))).mappings().all()
        return [convert.order_from_row(r) for r in rows]

    async def list_orders(
        self,
        *,
        run_id: str | None = None,
        symbol: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders filtered by run, symbol and creation time, oldest first."""
        stmt = select(orders)
        if run_id is not None:
            stmt = stmt.where(orders.c.run_id == run_id)
        if symbol is not None:
            stmt = stmt.where(orders.c.symbol == symbol)
        if since_ms is not None:
            stmt = stmt.where(orders.c.created_ms >= since_ms)
        stmt = stmt.order_by(orders.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.order_from_row(r) for r in rows]

    async def planned_stop(self, symbol: str, opened_ms: int) -> Decimal | None:
        """The stop the entry that opened ``symbol``'s position was approved with: the order
        whose fill at ``opened_ms`` opened it. None for a position no rotor entry opened (an
        adopted one): an older, unrelated order's stop never applies (RELIABILITY.md #41)."""
        stmt = (
            select(orders.c.planned_stop)
            .select_from(
                executions.join(orders, orders.c.client_order_id == executions.c.client_order_id)
            )
            .where(
                executions.c.symbol == symbol,
                executions.c.ts == opened_ms,
                orders.c.planned_stop.is_not(None),
            )
            .order_by(executions.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            stop = (await conn.execute(stmt)).scalar_one_or_none()
        return None if stop is None else Decimal(str(stop))

    async def unbooked_orders(self, since_ms: int) -> list[UnbookedOrder]:
        """Orders updated since ``since_ms`` whose reported filled quantity is more than the
        stored executions add up to (their fills are late on the venue's execution list).

        An execution belongs to an order by its client id or, when it has none (Binance's
        trade rows, a hand order on Bybit), by the venue's order id."""
        async with self._read() as conn:
            rows = (
                await conn.execute(
                    select(
                        orders.c.client_order_id,
                        orders.c.venue_order_id,
                        orders.c.symbol,
                        orders.c.filled_qty,
                        orders.c.updated_ms,
                    ).where(orders.c.updated_ms >= since_ms, orders.c.venue_order_id.is_not(None))
                )
            ).all()
            filled = [r for r in rows if r.filled_qty > 0]
            if not filled:
                return []
            by_cid = {r.client_order_id for r in filled}
            by_vid = {r.venue_order_id for r in filled}
            fills = (
                await conn.execute(
                    select(
                        executions.c.client_order_id, executions.c.venue_order_id, executions.c.qty
                    ).where(
                        executions.c.client_order_id.in_(by_cid)
                        | (
                            executions.c.client_order_id.is_(None)
                            & executions.c.venue_order_id.in_(by_vid)
                        )
                    )
                )
            ).all()
        booked_cid: dict[str, Decimal] = {}
        booked_vid: dict[str, Decimal] = {}
        for f in fills:
            if f.client_order_id is not None:
                booked_cid[f.client_order_id] = booked_cid.get(f.client_order_id, ZERO) + f.qty
            else:
                booked_vid[f.venue_order_id] = booked_vid.get(f.venue_order_id, ZERO) + f.qty
        out = []
        for r in filled:
            booked = booked_cid.get(r.client_order_id, ZERO) + booked_vid.get(
                r.venue_order_id, ZERO
            )
            if r.filled_qty > booked:
                out.append(
                    UnbookedOrder(
                        key=r.client_order_id,
                        symbol=r.symbol,
                        venue_order_id=r.venue_order_id,
                        filled_qty=r.filled_qty,
                        booked_qty=booked,
                        updated_ms=r.updated_ms,
                    )
                )
        return out

    # -------------------------------------------------------------- executions

    async def record_execution(self, execution: ExecutionReport) -> bool:
        """Store a fill once: False when its ``exec_id`` was already recorded (apply nothing)."""
        stmt = self._insert_ignore(executions, convert.execution_values(execution), ["exec_id"])
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def list_executions(
        self,
        *,
        client_order_id: str | None = None,
        symbol: str | None = None,
        since_ms: int | None = None,
    ) -> list[ExecutionReport]:
        """Recorded fills in the order they were stored."""
        stmt = select(executions)
        if client_order_id is not None:
            stmt = stmt.where(executions.c.client_order_id == client_order_id)
        if symbol is not None:
            stmt = stmt.where(executions.c.symbol == symbol)
        if since_ms is not None:
            stmt = stmt.where(executions.c.ts >= since_ms)
        async with self._read() as conn:
            rows = (await conn.execute(stmt.order_by(executions.c.id))).mappings().all()
        return [convert.execution_from_row(r) for r in rows]

    # --------------------------------------------------------------- positions

    async def upsert_position(self, position: Position, *, updated_ms: int) -> None:
        """Insert or replace the open position of ``position.symbol``."""
        values = convert.position_values(position, updated_ms)
        async with self._write() as conn:
            await conn.execute(self._upsert(positions, values, ["symbol"]))

    async def delete_position(self, symbol: str) -> bool:
        """Remove a closed position; False if none was stored."""
        async with self._write() as conn:
            result = await conn.execute(delete(positions).where(positions.c.symbol == symbol))
        return result.rowcount > 0

    async def get_position(self, symbol: str) -> Position | None:
        async with self._read() as conn:
            row = (
                (await conn.execute(select(positions).where(positions.c.symbol == symbol)))
                .mappings()
                .first()
            )
        return None if row is None else convert.position_from_row(row)

    async def list_positions(self) -> list[Position]:
        """Every stored open position, by symbol."""
        async with self._read() as conn:
            rows = (
                (await conn.execute(select(positions).order_by(positions.c.symbol)))
                .mappings()
                .all()
            )
        return [convert.position_from_row(r) for r in rows]

    # ----------------------------------------------------------------- funding

    async def record_funding(self, payment: FundingPayment) -> bool:
        """Store a funding settlement once per (symbol, ts); False if already recorded."""
        stmt = self._insert_ignore(
            funding_payments, convert.funding_values(payment), ["symbol", "ts"]
        )
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def list_funding(
        self, *, symbol: str | None = None, since_ms: int | None = None
    ) -> list[FundingPayment]:
        """Recorded funding payments, oldest first."""
        stmt = select(funding_payments)
        if symbol is not None:
            stmt = stmt.where(funding_payments.c.symbol == symbol)
        if since_ms is not None:
            stmt = stmt.where(funding_payments.c.ts >= since_ms)
        stmt = stmt.order_by(funding_payments.c.ts, funding_payments.c.symbol)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.funding_from_row(r) for r in rows]

    async def latest_account_event_ms(self) -> int | None:
        """The newest recorded fill or funding time: where reconciliation resumes reading."""
        async with self._read() as conn:
            a = await conn.scalar(select(func.max(executions.c.ts)))
            b = await conn.scalar(select(func.max(funding_payments.c.ts)))
        found = [int(x) for x in (a, b) if x is not None]
        return max(found) if found else None

    # ------------------------------------------------------- closed positions

    async def record_closed_position(self, closed: ClosedPosition) -> bool:
        """Store a closed position once per (symbol, close time, how); False if already there."""
        stmt = self._insert_ignore(
            closed_positions,
            convert.closed_position_values(closed),
            ["symbol", "closed_ms", "how"],
        )
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def list_closed_positions(
        self, *, symbol: str | None = None, how: str | None = None
    ) -> list[ClosedPosition]:
        """Closed positions, oldest close first."""
        stmt = select(closed_positions)
        if symbol is not None:
            stmt = stmt.where(closed_positions.c.symbol == symbol)
        if how is not None:
            stmt = stmt.where(closed_positions.c.how == how)
        stmt = stmt.order_by(closed_positions.c.closed_ms, closed_positions.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.closed_position_from_row(r) for r in rows]
