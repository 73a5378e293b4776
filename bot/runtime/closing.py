"""Closing positions: the reduce-only market closes of the kill switch, the end of a replay or
backtest and the protective stops, each approved by the risk manager against rotor's books or,
for the kill switch, against the position the venue reports.
"""

from __future__ import annotations

import dataclasses

from bot.domain import (
    OrderIntent,
    Position,
    PositionReport,
)
from bot.execution.orders import NewOrder
from bot.execution.portfolio import position_from_report
from bot.observability.logging import get_logger
from bot.risk import (
    Approved,
    Rejected,
)
from bot.runtime.protection import market_close
from bot.runtime.sync import VenueSync

log = get_logger("rotor.cycle")


class Closing(VenueSync):
    """The trading core's closes (approved like every order)."""

    def approve_close(
        self, intent: OrderIntent, *, held: Position | None = None
    ) -> NewOrder | None:
        """A reduce-only market close for ``intent`` (kill switch, end of data), through the
        risk manager like every order, against rotor's books or ``held``; None (and an error
        log) if it refuses."""
        decision = self._approve_reducing(intent, "close_rejected", held=held)
        return None if decision is None else market_close(decision)

    def approve_venue_close(self, held: PositionReport) -> NewOrder | None:
        """The kill switch's close of a position the venue reports, approved against that
        position (the venue is the source of truth: rotor's books may not know it, #29)."""
        intent = OrderIntent(
            symbol=held.symbol,
            side=held.side,
            kind="kill",
            reference_price=held.mark_price,
            qty=held.qty,
            reduce_only=True,
            reason="kill switch",
            source="kill",
        )
        inst = self.instruments.get(held.symbol)
        sector = None if inst is None else inst.sector
        return self.approve_close(intent, held=position_from_report(held, self.clock(), sector))

    def _approve_reducing(
        self, intent: OrderIntent, refused_event: str, *, held: Position | None = None
    ) -> Approved | None:
        """The risk manager's answer for a reduce-only intent (no market data needed), checked
        against rotor's books or, given ``held``, against that position as the venue reports
        it; a refusal is logged as an error under ``refused_event``."""
        view = self.account_view(self.clock(), {})
        if held is not None:
            others = tuple(p for p in view.positions if p.symbol != held.symbol)
            view = dataclasses.replace(view, positions=(*others, held))
        decision = self.risk.check(intent, view)
        if isinstance(decision, Rejected):
            log.error(
                refused_event,
                symbol=intent.symbol,
                kind=intent.kind,
                codes=[c.value for c in decision.codes],
            )
            return None
        return decision

    async def close_out(self, reason: str) -> None:
        """Close every position at market (the end of a replay or a backtest), then sync."""
        for pos in list(self.portfolio.positions.values()):
            intent = OrderIntent(
                symbol=pos.symbol,
                side=pos.side,
                kind="exit",
                reference_price=pos.entry_price,
                qty=pos.qty,
                reduce_only=True,
                reason=reason,
            )
            new = self.approve_close(intent)
            if new is not None:
                await self.orders.submit(new)
        await self.sync()
