"""Deposits, withdrawals and transfers: read from the venue's transaction log and kept out of
profit and loss (RELIABILITY.md #35).

Each sync reads the transfers since the last read (ccxt ``fetch_ledger``; Bybit's
``/v5/account/transaction-log``), stores each once by the venue's id, and moves the breakers'
marks by the same amount (``EquityMarks``: a withdrawal lowers the equity and the peak and the
day's start alike). Only flows up to the time of the balance just read are applied, so the
balance and the flows always agree. A flow found late (the log lagged by more than a minute)
is applied by its venue time (the log is re-read as far back as the executions are): the stored snapshots from then on are corrected and the marks
are re-read from the database. A flow that happened while rotor was down is read at start-up,
before trading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.domain import CashFlow
from bot.execution.reconcile import OVERLAP_MS  # the log lists rows late as the other lists
from bot.observability.logging import get_logger
from bot.runtime.account import DAY_MS, EquityMarks
from bot.venues.base import Venue

if TYPE_CHECKING:  # SQLAlchemy is not imported by storage-free runs (the backtest)
    from bot.storage import Repository

log = get_logger("rotor.cashflows")


class CashFlowTracker:
    """Reads new cash flows each sync and keeps ``marks`` net of them."""

    def __init__(
        self,
        venue: Venue,
        repo: Repository,
        marks: EquityMarks,
        clock: Callable[[], int],
        *,
        since_ms: int,
    ) -> None:
        self.venue = venue
        self.repo = repo
        self.marks = marks
        self.clock = clock
        self._since = since_ms

    async def fetch(self) -> list[CashFlow]:
        """The venue's transfers since the last read (run beside the balance read)."""
        return await self.venue.fetch_cash_flows(max(0, self._since - OVERLAP_MS), self.clock())

    async def apply(self, flows: list[CashFlow], until_ms: int) -> list[CashFlow]:
        """Store and apply ``flows`` up to ``until_ms`` (the time of the balance read beside
        them: a later flow is not in that balance yet and is applied at the next read);
        returns the new ones."""
        now = self.clock()
        until = min(until_ms, now) if until_ms > 0 else now
        due = [f for f in flows if f.ts <= until]
        new = await self.repo.record_cash_flows(due, seen_ms=now) if due else []
        self._since = max(self._since, until)
        if not new:
            return []
        for f in new:
            log.warning(
                "cash_flow",
                kind=f.kind,
                amount=str(f.amount),
                coin=f.coin,
                ts=f.ts,
                venue_id=f.venue_id,
                note="not profit or loss: the breakers' marks move with it",
            )
        stored = await self.repo.equity_marks(now // DAY_MS * DAY_MS)
        self.marks.reset(stored.peak, stored.day_start, stored.net_flows, now)
        return new


async def start_point(repo: Repository, now_ms: int) -> int:
    """Where the first read starts: the newest stored flow or equity snapshot (flows before
    that are already in the books), or now on a new database (nothing to net yet)."""
    marks_from = await repo.latest_account_history_ms()
    return now_ms if marks_from is None else marks_from
