"""The portfolio's kill-switch step (issue #20): once the kill switch has closed the perps and
the state is HALTED by it, the spot side of "flat". A mixin of ``PortfolioCore``
(``bot.runtime.portfolio_core``), whose ``sync`` runs it after each reconciliation: the spot
sells of ``kill_plan`` (``portfolio.kill_spot``) are sent through the order manager, the kill's
decisions and the coins it leaves are journaled as a rebalance's are, and "flat" is checked
against the venue's coins (no perp; outside the kept coins only dust below a market's
minimum).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Protocol

from bot.domain import Instrument, TradingState
from bot.execution.portfolio import Portfolio
from bot.observability.logging import get_logger
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import AllocationRecord
from bot.portfolio.flat import kill_plan
from bot.portfolio.holdings import Holdings
from bot.portfolio.rebalance import SpotOrder
from bot.risk import TradingStateMachine
from bot.runtime.killswitch import KILL_REASON
from bot.runtime.portfolio_holdings import SpotLeg
from bot.venues.spot import SpotHolding, spot_id

log = get_logger("rotor.portfolio")


class KillObserver(Protocol):
    """A report's view of a kill (the backtest's ``Recorder``)."""

    def killed(
        self, t: int, reason: str, sold: list[str], kept: list[str], left: list[str]
    ) -> None: ...


class PortfolioKill:
    """Mixin of ``PortfolioCore``: the kill switch's spot sells and the check of "flat"."""

    # Provided by the core.
    state: TradingStateMachine
    instruments: dict[str, Instrument]
    portfolio: Portfolio
    clock: Callable[[], int]
    pf: PortfolioConfig
    coins: list[SpotHolding]
    observer: KillObserver | None

    async def refresh(self) -> object:
        raise NotImplementedError

    async def _legs(self) -> dict[str, SpotLeg]:
        raise NotImplementedError

    async def holdings(
        self, legs: Mapping[str, SpotLeg], prices: Mapping[str, Decimal]
    ) -> Holdings:
        raise NotImplementedError

    async def _spot(self, o: SpotOrder, leg: SpotLeg, why: str) -> str:
        raise NotImplementedError

    async def _journal(self, records: list[AllocationRecord], h: Holdings, t: int) -> None:
        raise NotImplementedError

    def _killed(self) -> bool:
        """HALTED by the kill switch (it closed the perps and cancelled the orders)."""
        cur = self.state.current
        return cur.new is TradingState.HALTED and cur.reason.startswith(KILL_REASON)

    async def _kill_spot(self) -> None:
        """Sell what ``kill_plan`` says (``portfolio.kill_spot``), then check flat on the
        venue: no perp, and outside the kept coins only dust below a market's minimum."""
        legs = await self._legs()
        prices = {
            perp: c.price * leg.multiplier
            for c in self.coins
            for perp, leg in legs.items()
            if leg.market.symbol == c.market.symbol
        }
        holdings = await self.holdings(legs, prices)
        markets = {p: leg.planner_market(p) for p, leg in legs.items()}
        sectors = {s: i.sector for s, i in self.instruments.items()}
        plan = kill_plan(holdings, prices, markets, self.pf, sectors, source="kill")
        if not plan.spot:
            return
        sold = [await self._spot(o, legs[o.symbol], "kill") for o in plan.spot]
        await self.refresh()
        # The kill's decisions and the coins it leaves, journaled as a rebalance's are.
        t = self.clock()
        records = [AllocationRecord(t, "kill", o.symbol, o.explanation) for o in plan.spot]
        records += [AllocationRecord(t, "kill", sym, why) for sym, why in plan.kept]
        after = await self.holdings(legs, prices)
        await self._journal(records, after, t)
        kept = {s for s, _ in plan.kept}
        left = sorted(
            spot_id(c.market.symbol)
            for c in self.coins
            for perp, leg in legs.items()
            if leg.market.symbol == c.market.symbol
            and perp not in kept
            and c.qty >= c.market.min_qty
            and c.value >= c.market.min_notional
        )
        flat = not self.portfolio.positions and not left
        if self.observer is not None:
            sold_syms = sorted({o.symbol for o in plan.spot})
            self.observer.killed(t, self.state.current.reason, sold_syms, sorted(kept), left)
        (log.warning if flat else log.error)(
            "kill_switch_spot",
            sold=[s for s in sold if s],
            kept=sorted(kept),
            left=left,
            flat=flat,
            alert=not flat,
        )
