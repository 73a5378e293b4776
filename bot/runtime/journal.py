"""Per-cycle persistence: what the core records (``Journal``; the no-op base serves storage-free
runs) and the database journal that batches decisions, equity and positions in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain import Decision, Position
from bot.signals.evaluation import Evaluation
from bot.storage.records import EquitySnapshot

if TYPE_CHECKING:  # SQLAlchemy is not imported by storage-free runs (the backtest)
    from bot.storage import Repository


class Journal:
    """Per-cycle persistence of decisions and equity; the no-op base is for storage-free runs."""

    async def write_cycle(self, evaluation: Evaluation | None, equity: EquitySnapshot) -> None:
        return None

    async def save_position(self, position: Position, now_ms: int) -> None:
        return None

    async def write_records(self, records: Sequence[Decision]) -> None:
        """Decision rows outside a cycle's evaluation (the portfolio's records)."""
        return None

    async def planned_stop(self, symbol: str, opened_ms: int) -> Decimal | None:
        """The stop stored with the entry whose fill at ``opened_ms`` opened ``symbol``'s
        position (None: unknown, or the position was not opened by a rotor entry)."""
        return None


class DbJournal(Journal):
    """Writes each cycle's records to the database in one transaction."""

    def __init__(self, repo: Repository, run_id: str) -> None:
        self.repo = repo
        self.run_id = run_id

    async def write_cycle(self, evaluation: Evaluation | None, equity: EquitySnapshot) -> None:
        async with self.repo.batch() as b:
            if evaluation is not None and evaluation.decisions:
                await b.insert_decisions(evaluation.decisions, run_id=self.run_id)
            await b.insert_equity_snapshots([equity], run_id=self.run_id)

    async def save_position(self, position: Position, now_ms: int) -> None:
        await self.repo.upsert_position(position, updated_ms=now_ms)

    async def write_records(self, records: Sequence[Decision]) -> None:
        await self.repo.insert_decisions(records, run_id=self.run_id)

    async def planned_stop(self, symbol: str, opened_ms: int) -> Decimal | None:
        return await self.repo.planned_stop(symbol, opened_ms)
