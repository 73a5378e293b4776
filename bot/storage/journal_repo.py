"""Runs, decisions, equity snapshots and the persisted trading state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Float, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import CashFlow, Decision, TradingState
from bot.storage import convert
from bot.storage.base import RepositoryBase
from bot.storage.errors import UnknownRunError
from bot.storage.records import EquitySnapshot, RunRecord, TradingStateEvent
from bot.storage.tables import (
    cash_flows,
    decisions,
    equity_snapshots,
    runs,
    trading_state_events,
)

DEFAULT_TRADING_STATE = TradingState.ACTIVE
LATE_FLOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class StoredMarks:
    """The breakers' equity marks as the snapshots give them (see ``equity_marks``)."""

    # All in "equity net of cash flows" (``equity - net_flows`` of each snapshot):
    peak: Decimal | None  # highest since the peak was last re-based
    day_start: Decimal | None  # the first of the UTC day asked for
    rebased_ms: int | None  # when the peak was last re-based (a resume out of HALTED)
    net_flows: Decimal  # every stored cash flow, summed


class JournalRepository(RepositoryBase):
    """What rotor decided and why, how the account stood, and which run did it."""

    # -------------------------------------------------------------------- runs

    async def start_run(self, run: RunRecord) -> None:
        """Record a new run (before any order of it is stored)."""
        async with self._write() as conn:
            await conn.execute(runs.insert().values(convert.run_values(run)))

    async def finish_run(self, run_id: str, *, ended_ms: int, reason: str = "") -> None:
        """Stamp the run's end time and why it ended."""
        async with self._write() as conn:
            result = await conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(ended_ms=ended_ms, end_reason=reason)
            )
        if result.rowcount != 1:
            raise UnknownRunError(run_id)

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._read() as conn:
            row = (
                (await conn.execute(select(runs).where(runs.c.run_id == run_id))).mappings().first()
            )
        return None if row is None else convert.run_from_row(row)

    async def next_order_seq(self, run_id: str, count: int = 1) -> int:
        """Atomically reserve ``count`` sequence numbers for ``run_id``; return the first.

        The numbers are ``first .. first + count - 1``, starting at 1 for a new run, and are
        never handed out twice, even to concurrent callers (one UPDATE … RETURNING).
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        stmt = (
            update(runs)
            .where(runs.c.run_id == run_id)
            .values(order_seq=runs.c.order_seq + count)
            .returning(runs.c.order_seq)
        )
        async with self._write() as conn:
            last = (await conn.execute(stmt)).scalar_one_or_none()
        if last is None:
            raise UnknownRunError(run_id)
        return int(last) - count + 1

    # --------------------------------------------------------------- decisions

    async def insert_decisions(
        self, items: Iterable[Decision], *, run_id: str | None = None
    ) -> int:
        """Bulk-insert decision records in one statement; return how many."""
        rows = [convert.decision_values(d, run_id) for d in items]
        if rows:
            async with self._write() as conn:
                await conn.execute(decisions.insert(), rows)
        return len(rows)

    async def list_decisions(
        self, *, symbol: str | None = None, since_ms: int | None = None, limit: int | None = None
    ) -> list[Decision]:
        """Stored decisions, oldest first."""
        stmt = select(decisions)
        if symbol is not None:
            stmt = stmt.where(decisions.c.symbol == symbol)
        if since_ms is not None:
            stmt = stmt.where(decisions.c.t >= since_ms)
        stmt = stmt.order_by(decisions.c.t, decisions.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.decision_from_row(r) for r in rows]

    # ------------------------------------------------------------------ equity

    async def insert_equity_snapshots(
        self, items: Iterable[EquitySnapshot], *, run_id: str | None = None
    ) -> int:
        """Bulk-insert equity snapshots in one statement; return how many."""
        rows = [convert.equity_values(s, run_id) for s in items]
        if rows:
            async with self._write() as conn:
                await conn.execute(equity_snapshots.insert(), rows)
        return len(rows)

    async def list_equity_snapshots(
        self, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[EquitySnapshot]:
        """Stored snapshots, oldest first."""
        stmt = select(equity_snapshots)
        if since_ms is not None:
            stmt = stmt.where(equity_snapshots.c.ts >= since_ms)
        stmt = stmt.order_by(equity_snapshots.c.ts, equity_snapshots.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.equity_from_row(r) for r in rows]

    async def equity_marks(self, day_start_ms: int) -> StoredMarks:
        """The drawdown peak and the day's starting equity, computed by the database over all
        snapshots (any history length, a few indexed queries), net of cash flows.

        The peak is the highest ``equity - net_flows`` since the last resume out of HALTED (the
        operator's resume re-bases it, RELIABILITY.md #34), or over all snapshots if there was
        none. The day's start is the first snapshot at or after ``day_start_ms``. Values are
        exact: on SQLite (decimal text) the candidates for the maximum are found through their
        float value and the exact maximum is taken among them.
        """
        e, t = equity_snapshots.c, trading_state_events.c
        net = e.equity - e.net_flows
        async with self._read() as conn:
            rebased = (
                await conn.execute(
                    select(func.max(t.ts)).where(
                        t.old_state == TradingState.HALTED.value,
                        t.new_state != TradingState.HALTED.value,
                    )
                )
            ).scalar()
            since = e.ts >= (rebased if rebased is not None else -(2**62))
            if self.dialect == "postgresql":
                peak = (await conn.execute(select(func.max(net)).where(since))).scalar()
            else:
                as_float = cast(e.equity, Float) - cast(e.net_flows, Float)
                top = (await conn.execute(select(func.max(as_float)).where(since))).scalar()
                candidates: Sequence[tuple[Decimal, Decimal]] = (
                    []
                    if top is None
                    else [
                        (r[0], r[1])
                        for r in await conn.execute(
                            select(e.equity, e.net_flows).where(since, as_float >= top - 1e-6)
                        )
                    ]
                )
                peak = max((a - b for a, b in candidates), default=None)
            first = (
                await conn.execute(
                    select(e.equity, e.net_flows)
                    .where(e.ts >= day_start_ms)
                    .order_by(e.ts, e.id)
                    .limit(1)
                )
            ).first()
            flows: list[Decimal] = list((await conn.execute(select(cash_flows.c.amount))).scalars())
        return StoredMarks(
            peak=None if peak is None else Decimal(peak),
            day_start=None if first is None else Decimal(first[0]) - Decimal(first[1]),
            rebased_ms=None if rebased is None else int(rebased),
            net_flows=sum(flows, Decimal(0)),
        )

    # ------------------------------------------------------------------ cash flows

    async def record_cash_flows(self, flows: Iterable[CashFlow], *, seen_ms: int) -> list[CashFlow]:
        """Store each flow once (by the venue's id); return the ones that were new."""
        new: list[CashFlow] = []
        async with self._write() as conn:
            for f in flows:
                stmt = self._insert_ignore(
                    cash_flows,
                    {
                        "venue_id": f.venue_id,
                        "ts": f.ts,
                        "coin": f.coin,
                        "amount": f.amount,
                        "kind": f.kind,
                        "seen_ms": seen_ms,
                    },
                    ["venue_id"],
                )
                if (await conn.execute(stmt)).rowcount != 1:
                    continue
                new.append(f)
                # A flow found late (the log lagged a cycle): the snapshots taken since, whose
                # balance already showed it, are netted of it too. Within ``LATE_FLOW_MS`` of
                # the flow a snapshot may predate it (clocks differ): those are left as taken.
                e = equity_snapshots.c
                later = await conn.execute(
                    select(e.id, e.net_flows).where(e.ts > f.ts + LATE_FLOW_MS)
                )
                for row_id, net in later.all():
                    await conn.execute(
                        update(equity_snapshots)
                        .where(e.id == row_id)
                        .values(net_flows=Decimal(str(net)) + f.amount)
                    )
        return new

    async def list_cash_flows(self, *, since_ms: int | None = None) -> list[CashFlow]:
        """Stored cash flows, oldest first."""
        c = cash_flows.c
        stmt = select(c.venue_id, c.ts, c.coin, c.amount, c.kind).order_by(c.ts, c.id)
        if since_ms is not None:
            stmt = stmt.where(c.ts >= since_ms)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [CashFlow(r[0], int(r[1]), r[2], Decimal(r[3]), r[4]) for r in rows]

    async def latest_account_history_ms(self) -> int | None:
        """The newest stored cash flow or equity snapshot: flows before it are in the books."""
        async with self._read() as conn:
            flow = (await conn.execute(select(func.max(cash_flows.c.ts)))).scalar()
            snap = (await conn.execute(select(func.max(equity_snapshots.c.ts)))).scalar()
        known = [int(t) for t in (flow, snap) if t is not None]
        return max(known) if known else None

    # ----------------------------------------------------------- trading state

    async def record_trading_state(
        self,
        new_state: TradingState,
        *,
        ts_ms: int,
        reason: str,
        source: str,
        old_state: TradingState | None = None,
    ) -> TradingStateEvent:
        """Store a transition (RISK.md: time, reason, source); ``old_state`` defaults to the stored one.

        The repository stores what it is told; which transitions are allowed (e.g. leaving
        HALTED only by ``resume``) is the risk manager's rule.
        """
        async with self._write() as conn:
            if old_state is None:
                latest = await self._latest_event(conn)
                old_state = DEFAULT_TRADING_STATE if latest is None else latest.new_state
            result = await conn.execute(
                trading_state_events.insert()
                .values(
                    ts=ts_ms,
                    old_state=old_state.value,
                    new_state=new_state.value,
                    reason=reason,
                    source=source,
                )
                .returning(trading_state_events.c.id)
            )
            event_id = int(result.scalar_one())
        return TradingStateEvent(ts_ms, old_state, new_state, reason, source, event_id)

    async def latest_trading_state_event(self) -> TradingStateEvent | None:
        """The most recent transition, or None if none was ever stored."""
        async with self._read() as conn:
            return await self._latest_event(conn)

    async def current_trading_state(self) -> TradingState:
        """The persisted trading state: the latest event's ``new_state``, ACTIVE when none."""
        latest = await self.latest_trading_state_event()
        return DEFAULT_TRADING_STATE if latest is None else latest.new_state

    async def trading_state_history(self, limit: int = 100) -> list[TradingStateEvent]:
        """The last ``limit`` transitions, oldest first."""
        stmt = select(trading_state_events).order_by(trading_state_events.c.id.desc()).limit(limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [convert.state_event_from_row(r) for r in reversed(rows)]

    @staticmethod
    async def _latest_event(conn: AsyncConnection) -> TradingStateEvent | None:
        row = (
            (
                await conn.execute(
                    select(trading_state_events).order_by(trading_state_events.c.id.desc()).limit(1)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else convert.state_event_from_row(row)
