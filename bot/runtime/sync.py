"""Where the venue's word overrides the books: each sync reconciles orders, fills, positions
and the balance with the venue (``Reconciler``), applies the cash flows it reports, checks the
venue's leverage and liquidation price of every position against rotor's plan and puts back
the protective stops. Every cycle, every fill and the periodic reconciliation go through it.
"""

from __future__ import annotations

from bot.domain import (
    PositionSide,
)
from bot.execution.reconcile import ReconcileReport
from bot.observability.logging import get_logger
from bot.runtime.views import CoreViews

log = get_logger("rotor.cycle")


class VenueSync(CoreViews):
    """The trading core's sync with the venue (the source of truth)."""

    async def sync(self) -> ReconcileReport:
        """Reconcile orders, fills, positions and balance with the venue."""
        rec = await self.reconciler.run()
        # The pass ended by reading the balance: that read serves (a venue call fewer).
        self.balance = rec.balance or await self.venue.fetch_balance()
        if self.cash_flows is not None:
            # The transfers, read after that balance: those at or before its time are in it
            # and applied now, a later one at the next pass (``CashFlowTracker.apply``).
            await self.cash_flows.apply(await self.cash_flows.fetch(), self.balance.ts)
        await self.check_leverage()
        await self.stops.restore(self.portfolio.positions)
        return rec

    async def resync(self) -> ReconcileReport:
        """The periodic reconciliation between bars: sync, then put back a protective stop
        that went missing (cancelled by hand) at once, not at the next bar (#38)."""
        rec = await self.sync()
        if not self.kill_requested:
            await self.stops.ensure(self.portfolio.positions, rec.open_orders)
        return rec

    async def check_leverage(self, only: str | None = None) -> None:
        """The venue's leverage and liquidation price of each open position against rotor's
        plan (RELIABILITY.md #32): a leverage changed by hand, or a liquidation price on the
        wrong side of the stop, alerts; the leverage is set back at once, so the position is
        as planned before the next cycle."""
        for symbol, vp in self.reconciler.venue_positions.items():
            pos = self.portfolio.positions.get(symbol)
            if (only is not None and symbol != only) or pos is None:
                continue
            planned = self.leverage.get(symbol, pos.leverage)
            problems = []
            if vp.leverage != planned:
                problems.append(f"leverage {vp.leverage} on the venue, {planned} planned")
            liq, stop = vp.liquidation_price, pos.stop_price
            long = pos.side is PositionSide.LONG
            if liq is not None and stop is not None and (liq >= stop if long else liq <= stop):
                problems.append(f"liquidation price {liq} is not beyond the stop {stop}")
            if not problems:
                continue
            log.error("venue_position_mismatch", symbol=symbol, problems=problems, alert=True)
            if vp.leverage != planned:
                await self.venue.set_leverage(symbol, planned)
                log.warning("venue_leverage_corrected", symbol=symbol, leverage=str(planned))
