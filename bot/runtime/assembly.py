"""The trading core's object graph, wired once for every mode.

The daemon (replay, paper, testnet, live) and the backtester build the same objects in the
same way: a portfolio restored from storage, the order manager, the reconciler, the risk
manager, the ``TradingCore`` and the kill switch. Only the venue, the store, the journal, the
clock and the state callbacks differ, and those are the arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from bot.config import Settings
from bot.domain import Instrument, Order, Position
from bot.execution.client_ids import ClientIdFactory
from bot.execution.orders import OrderJournal, OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler, ReconcileStore
from bot.observability.metrics import Metrics
from bot.risk import RiskManager, TradingStateMachine
from bot.runtime.account import EquityMarks
from bot.runtime.journal import Journal
from bot.runtime.killswitch import KillSwitch
from bot.runtime.pipeline import TradingCore
from bot.runtime.views import StatePersister, TransitionPersister
from bot.signals.engine import SignalEngine
from bot.venues.base import Venue


class CoreStore(OrderJournal, ReconcileStore, Protocol):
    """What the core persists to: the database repository, or memory in a backtest."""


@dataclass(slots=True)
class CoreParts:
    portfolio: Portfolio
    orders: OrderManager
    reconciler: Reconciler
    risk: RiskManager
    core: TradingCore
    killswitch: KillSwitch


def assemble_core(
    settings: Settings,
    venue: Venue,
    instruments: Mapping[str, Instrument],
    signals: SignalEngine,
    store: CoreStore,
    state: TradingStateMachine,
    *,
    run_id: str,
    clock: Callable[[], int],
    journal: Journal,
    change_state: StatePersister,
    commit_transition: TransitionPersister,
    positions: Iterable[Position] = (),
    open_orders: Iterable[Order] = (),
    metrics: Metrics | None = None,
    marks: EquityMarks | None = None,
    resume_from_ms: int | None = None,
    kill_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> CoreParts:
    """Build the core around ``venue`` and ``store``; ``positions`` and ``open_orders`` are
    what storage remembers from an earlier run (reconciliation checks them at the first sync).
    """
    ex = settings.execution
    portfolio = Portfolio()
    portfolio.restore(list(positions))
    orders = OrderManager(
        venue,
        store,
        ClientIdFactory(ex.client_id_prefix, run_id),
        clock,
        metrics=metrics,
        unknown_grace_ms=int(ex.order_timeout_s * 2000),
    )
    for order in open_orders:
        orders.track(order)

    def sector_of(symbol: str) -> str | None:
        inst = instruments.get(symbol)
        return None if inst is None else inst.sector

    reconciler = Reconciler(
        venue,
        store,
        orders,
        portfolio,
        prefix=ex.client_id_prefix,
        policy=ex.unknown_position_policy,
        clock=clock,
        sector_of=sector_of,
        metrics=metrics,
        resume_from_ms=resume_from_ms,
    )
    risk = RiskManager.from_settings(settings)
    core = core_type(settings)(
        settings,
        venue,
        instruments,
        signals,
        risk,
        state,
        orders,
        portfolio,
        reconciler,
        journal=journal,
        change_state=change_state,
        commit_transition=commit_transition,
        clock=clock,
        metrics=metrics,
        marks=marks,
    )
    if hasattr(core, "history") and hasattr(store, "list_orders"):
        core.history = store  # the portfolio finds its perps' roles in the stored orders
    if hasattr(core, "sleeves") and getattr(venue, "two_wallets", False):
        from bot.runtime.sleeves import Sleeves

        # Two wallets (Binance): the rebalance's transfers, stored before they are sent.
        core.sleeves = Sleeves(cast(Any, venue), cast(Any, store), clock)
    killswitch = KillSwitch(
        venue,
        orders,
        core.approve_venue_close,
        metrics=metrics,
        max_backoff_s=ex.kill_retry_max_backoff_s,
        sleep=kill_sleep,
    )
    return CoreParts(portfolio, orders, reconciler, risk, core, killswitch)


def core_type(settings: Settings) -> type[TradingCore]:
    """The core for ``strategy.mode``: the presets' (perp) or the portfolio's."""
    if settings.strategy.mode == "portfolio":
        from bot.runtime.portfolio_core import PortfolioCore

        return PortfolioCore
    return TradingCore


def with_sectors(
    instruments: Mapping[str, Instrument], sectors: Mapping[str, str]
) -> dict[str, Instrument]:
    """Instruments with their sector filled in from the sector map."""
    return {
        s: dataclasses.replace(i, sector=sectors.get(s, i.sector)) for s, i in instruments.items()
    }
