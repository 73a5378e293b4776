"""Where an order is born: the cycle's exits and entries become ``OrderIntent``s, each is
checked by the risk manager against a fresh account view, and an approved one is sent through
the ``OrderManager`` (persisted before it is sent, idempotent client id). An entry sets the
venue's leverage first and plans its protective stop; its fill is synced at once so the next
check sees the new position.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.domain import (
    Order,
    OrderIntent,
    OrderType,
)
from bot.execution.orders import ENTRY_INTENTS, NewOrder
from bot.observability.logging import get_logger
from bot.risk import (
    Approved,
    MarketSnapshot,
    Rejected,
)
from bot.runtime.closing import Closing
from bot.runtime.views import CycleReport
from bot.signals.evaluation import Evaluation

log = get_logger("rotor.cycle")

# The cycle report's code for an entry held back while an earlier one is unsettled.
ENTRY_UNSETTLED = "ENTRY_UNSETTLED"


class Intents(Closing):
    """The trading core's intents: from the evaluation to orders on the venue."""

    async def _exits(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        targets = {ex.symbol: ",".join(ex.reasons) for ex in evaluation.exits}
        for symbol, why in self.closing.items():  # delisting: out before the delivery
            targets.setdefault(symbol, f"DELISTING: {why}")
        for symbol, reason in targets.items():
            pos = self.portfolio.positions.get(symbol)
            if pos is None:
                continue
            snap = market.get(symbol)
            ref = (snap.mark if snap and snap.mark else None) or pos.entry_price
            intent = OrderIntent(
                symbol=symbol,
                side=pos.side,
                kind="exit",
                reference_price=ref,
                qty=pos.qty,
                reduce_only=True,
                sector=pos.sector,
                reason=reason,
            )
            if await self._send(intent, market, report):
                report.exits.append(symbol)

    async def _entries(
        self, evaluation: Evaluation, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> None:
        for entry in evaluation.entries:
            if entry.symbol in self.portfolio.positions:
                continue
            if entry.symbol in self.reconciler.venue_positions:
                # The venue holds a position rotor has not booked (its fills are late, or it
                # is not ours): a second entry could double it (RELIABILITY.md #37, #40).
                report.rejections.setdefault(entry.symbol, []).append(ENTRY_UNSETTLED)
                log.warning("entry_unsettled", symbol=entry.symbol, orders=["venue position"])
                continue
            if entry.symbol in self.closing:
                log.info("entry_skipped", symbol=entry.symbol, why=self.closing[entry.symbol])
                continue
            unsettled = self.unsettled_entries(entry.symbol)
            if unsettled:
                # An earlier entry may still fill (its outcome is unknown, or it is resting):
                # a second one could double the position (RELIABILITY.md #40).
                report.rejections.setdefault(entry.symbol, []).append(ENTRY_UNSETTLED)
                log.warning(
                    "entry_unsettled",
                    symbol=entry.symbol,
                    orders=[f"{o.client_order_id}:{o.status.value}" for o in unsettled],
                )
                continue
            if await self._send(entry.to_order_intent(), market, report):
                report.entries.append(entry.symbol)

    async def _send(
        self, intent: OrderIntent, market: Mapping[str, MarketSnapshot], report: CycleReport
    ) -> bool:
        """Risk-check one intent against a fresh view, then send it; True when it filled."""
        decision = self.risk.check(intent, self.account_view(self.clock(), market))
        for request in decision.state_requests:
            await self.change_state(request)
        if isinstance(decision, Rejected):
            codes = [c.value for c in decision.codes]
            report.rejections.setdefault(intent.symbol, []).extend(codes)
            for code in codes:
                if self.metrics:
                    self.metrics.risk_rejections.labels(reason=code).inc()
            log.info(
                "risk_rejected",
                symbol=intent.symbol,
                kind=intent.kind,
                codes=codes,
                detail=[r.message for r in decision.reasons],
            )
            return False
        return await self._execute(decision)

    async def _execute(self, ok: Approved) -> bool:
        intent = ok.intent
        if intent.kind in ENTRY_INTENTS:
            await self._set_leverage(ok.symbol, ok.leverage_used)
            self.stops.plan(ok.symbol, ok.stop_price)
        new = NewOrder(
            symbol=ok.symbol,
            side=ok.side,
            type=OrderType.MARKET,
            qty=ok.qty,
            intent=intent.kind,
            reduce_only=ok.reduce_only,
            reason=intent.reason[:200],
            planned_stop=ok.stop_price if intent.kind in ENTRY_INTENTS else None,
        )
        self.order_rate.record(self.clock())
        result = await self.orders.submit(new)
        log.info(
            "intent_executed",
            symbol=ok.symbol,
            kind=intent.kind,
            outcome=result.outcome,
            qty=str(ok.qty),
            leverage=str(ok.leverage_used),
            stop=str(ok.stop_price),
            liq=str(ok.liquidation_price),
            risk=str(ok.risk_amount),
        )
        if result.outcome != "confirmed":
            return False
        rec = await self.sync()  # apply the fill now so the next check sees the new position
        pos = self.portfolio.positions.get(ok.symbol)
        if pos is not None and intent.kind in ENTRY_INTENTS:
            pos.leverage = ok.leverage_used
            self.leverage.pop(ok.symbol, None)
            pos.stop_price = ok.stop_for(pos, self.instruments.get(ok.symbol))
            self.stops.plan(ok.symbol, pos.stop_price)
            if pos.liquidation_price is None:  # the venue's own, read by the sync, wins
                pos.liquidation_price = ok.liquidation_price
            await self.check_leverage(ok.symbol)  # the venue's leverage and liq vs the stop
            await self.journal.save_position(pos, self.clock())
            await self.stops.ensure(self.portfolio.positions, rec.open_orders)
        if pos is None:
            self.stops.forget(ok.symbol)
        return True

    async def _set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Before every entry, never cached: the leverage may have been changed by hand on the
        venue since rotor last set it (RELIABILITY.md #32); "not modified" is success."""
        await self.venue.set_leverage(symbol, leverage)
        self.leverage[symbol] = leverage  # the plan of the entry in flight

    def unsettled_entries(self, symbol: str) -> list[Order]:
        """Entry orders in ``symbol`` not settled yet (sent, unknown, resting, part-filled)."""
        return [o for o in self.orders.open_orders(symbol) if o.intent in ENTRY_INTENTS]
