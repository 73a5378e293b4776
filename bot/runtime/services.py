"""What the daemon's start-up builds: three products, made once each, in the order safety needs
(``bot.runtime.lifecycle`` builds them, ``Daemon.start`` runs the steps):

1. ``Storage``: the database migrated and connected, the single-instance lease taken and the
   run recorded. The trading state is restored from it and ``/status`` answers from then on.
2. ``Services``: the venue and the universe, and the trading core over the database (books
   restored, order manager, reconciler, risk manager, kill switch). Reconciled with the venue
   before anything trades.
3. ``Market``: the bar store and the market feed, backfilled (bars already stored are kept).

Each is frozen: nothing fills in a part later. The objects inside keep their own state (the
books, the bars); a config reload changes settings on them, never swaps a part.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.data.freshness import FreshnessTracker
from bot.data.store import PanelStore
from bot.domain import Instrument
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler
from bot.runtime.build import VenueBundle
from bot.runtime.killswitch import KillSwitch
from bot.runtime.pipeline import TradingCore
from bot.storage import Lease, Repository
from bot.venues.base import Venue
from bot.venues.feed import MarketFeed


@dataclass(frozen=True, slots=True)
class Storage:
    """The database, its repository and this instance's lease."""

    db: AsyncEngine
    repo: Repository
    lease: Lease


@dataclass(frozen=True, slots=True)
class Services:
    """The venue and the trading core built on it.

    ``core`` owns the trading: its risk manager and signal engine are the ones in force (a
    reload replaces them there), ``portfolio``, ``orders`` and ``reconciler`` are the core's.
    """

    bundle: VenueBundle
    venue: Venue  # the bundle's venue, metered
    symbols: list[str]
    tags: list[str | None]  # each symbol's sector tag, as the universe mapped it
    instruments: dict[str, Instrument]  # refreshed in place after each bar's cycle
    portfolio: Portfolio
    orders: OrderManager
    reconciler: Reconciler
    core: TradingCore
    killswitch: KillSwitch


@dataclass(frozen=True, slots=True)
class Market:
    """The bars the signals read and the feed that keeps them current."""

    freshness: FreshnessTracker
    store: PanelStore
    feed: MarketFeed
