"""Late fills: orders the venue reported filled beyond their stored executions (RELIABILITY.md
#37). The venue's execution list lags, so such an order's executions are read by its venue
order id, with no time window, until they add up; meanwhile its symbol's position is neither
adopted nor corrected (within a grace period). Both figures are in the database, so a restart
keeps this. ``LateFills`` is a mixin of ``bot.execution.reconcile.Reconciler``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.execution.ledger import Ledger
from bot.observability.logging import get_logger
from bot.storage.records import UnbookedOrder
from bot.venues.base import Venue
from bot.venues.spot import is_spot

if TYPE_CHECKING:
    from bot.execution.reconcile import ReconcileReport, ReconcileStore

log = get_logger("rotor.reconcile")

# How long a fill the venue reported on an order may stay missing from its executions before
# the position is taken as the venue shows it (RELIABILITY.md #37): this much venue time since
# the fill report was stored, and this much wall time since this process first saw it missing.
EXECUTION_LAG_GRACE_MS = 10 * 60_000
EXECUTION_LAG_GRACE_WALL_S = 60.0
# With nothing recorded yet, the first pass reads this far back; orders filled within it are
# checked for fills their stored executions lack.
FIRST_LOOKBACK_MS = 7 * 86_400_000


class LateFills:
    """Mixin of ``Reconciler``: settles fills missing from their orders' executions and holds
    the positions of symbols that await them."""

    venue: Venue
    store: ReconcileStore
    ledger: Ledger
    clock: Callable[[], int]
    wall: Callable[[], float]
    # Orders with fills missing from their executions: when this process first saw each
    # (wall time), and the symbols whose position may be ahead of its executions.
    _missing_since: dict[str, float]
    _awaiting: set[str]

    async def _late_fills(self, report: ReconcileReport) -> set[str]:
        """Settle fills the venue reported on an order (its filled quantity, stored with the
        order) that its stored executions do not add up to: the execution list was behind
        when it was read, and its rows may now be older than the read window. Each such
        order's executions are read by its venue id, with no time window. Persisted on both
        sides, so this holds across restarts (RELIABILITY.md #37). Returns the symbols whose
        position such a fill opened."""
        now = self.clock()
        unbooked = await self._unbooked(now)
        waiting = [u for u in unbooked if self._within_grace(u, now)]
        fetched = []
        opened: set[str] = set()
        for u in waiting:
            fetched += await self.venue.fetch_order_executions(u.symbol, u.venue_order_id)
        if fetched:
            applied = await self.ledger.apply(fetched, [])
            opened = applied.opened
            report.new_fills += applied.fills
            report.liquidations += applied.liquidations
            if applied.fills:
                log.info("late_fills_settled", fills=applied.fills, orders=len(waiting))
                unbooked = await self._unbooked(now)
                waiting = [u for u in unbooked if self._within_grace(u, now)]
        keys = {u.key for u in unbooked}
        self._missing_since = {k: t for k, t in self._missing_since.items() if k in keys}
        self._awaiting = {u.symbol for u in waiting}
        return opened

    async def _unbooked(self, now_ms: int) -> list[UnbookedOrder]:
        """The perpetuals' orders with fills missing from their executions (spot fills are
        the portfolio core's: they open no position)."""
        found = await self.store.unbooked_orders(max(0, now_ms - FIRST_LOOKBACK_MS))
        return [u for u in found if not is_spot(u.symbol)]

    def _within_grace(self, u: UnbookedOrder, now_ms: int) -> bool:
        """Whether ``u``'s missing fills may still be late rather than never coming."""
        first = self._missing_since.setdefault(u.key, self.wall())
        return (
            now_ms - u.updated_ms <= EXECUTION_LAG_GRACE_MS
            or self.wall() - first <= EXECUTION_LAG_GRACE_WALL_S
        )

    def _await_executions(self, symbol: str, report: ReconcileReport) -> bool:
        if symbol not in self._awaiting:
            return False
        report.awaiting_executions.append(symbol)
        log.info("position_awaits_executions", symbol=symbol)
        return True
