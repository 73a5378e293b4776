"""The daemon's start-up steps and its release at shutdown.

Each step builds one product of ``bot.runtime.services`` (or refuses with ``StartupError``);
``Daemon.start`` runs them in the order safety needs: refuse unsafe modes → migrate → take the
single-instance lease → restore state → serve the control API (status from the persisted
state) → reconcile with the venue (no trading if that fails) → resume an interrupted kill
switch → backfill data → trade. A step that fails releases what it took itself; shutdown
cancels resting entries, keeps positions and their exchange-side stops, and releases the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bot import __version__
from bot.config import Settings
from bot.data.datadir import DataFileError
from bot.data.freshness import FreshnessTracker
from bot.data.quality import QualityFilter, QualityLimits
from bot.data.sectors import SectorMapError
from bot.data.store import PanelStore
from bot.execution.orders import OrderManager
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import StateRequest, TradingStateMachine, Transition, from_stored
from bot.runtime.account import DAY_MS, EquityMarks
from bot.runtime.assembly import assemble_core, with_sectors
from bot.runtime.build import VenueBundle, build_venue, replay_data_dir, universe
from bot.runtime.cashflows import CashFlowTracker
from bot.runtime.cashflows import start_point as cash_start
from bot.runtime.journal import DbJournal
from bot.runtime.pipeline import TradingCore
from bot.runtime.safety import check_mode
from bot.runtime.services import Market, Services, Storage
from bot.signals.engine import SignalEngine
from bot.storage import Lease, LeaseHolder, Repository, create_engine, upgrade
from bot.storage.records import RunRecord
from bot.venues.base import Venue, VenueError
from bot.venues.feed import MarketFeed, PanelStoreSink
from bot.venues.metered import MeteredVenue
from bot.venues.modes import AccountModesError, prepare_account

if TYPE_CHECKING:
    from bot.sim.market import SimMarket

log = get_logger("rotor.daemon")


class StartupError(Exception):
    """A refusal to start; ``code`` is the process exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def check_start(
    settings: Settings, *, live_flag: bool, environ: Mapping[str, str]
) -> SimMarket | None:
    """Refuse an unsafe mode (live without the flag, keys on the wrong host) or an invalid
    risk configuration, before anything is opened. A replay's market is loaded here, and
    returned for the venue (``open_venue``): a bad data file is refused by name before the
    database, the lease or the control port are touched, and every file is read once."""
    s = settings
    try:
        for warning in check_mode(
            s.mode,
            live_flag=live_flag,
            url=s.exchange.api_url,
            has_keys=bool(s.exchange.api_key and s.exchange.api_secret),
            environ=environ,
        ):
            log.warning("live_trading", message=warning)
    except Exception as exc:
        raise StartupError(str(exc), 2) from exc
    from bot.risk import validate_risk

    problems = validate_risk(s)
    if problems:
        raise StartupError("invalid risk configuration:\n  " + "\n  ".join(problems), 2)
    if s.mode != "replay":
        return None
    # The footers first (preflight, when the directory opens), then every column: the
    # perpetuals' files and the optional spot files, held to the candle rules `rotor data
    # check` applies (``read_spot``), once; the venue is built on this market.
    from bot.sim.market import SimMarket

    root = replay_data_dir(s)
    if not root.is_dir():
        raise StartupError(f"{root}: data directory not found", 2)
    try:
        return SimMarket.load(root)
    except (DataFileError, ValueError, OSError) as exc:
        raise StartupError(str(exc), 2) from exc


# ---------------------------------------------------------------------- 1. storage


async def open_storage(settings: Settings, run_id: str) -> Storage:
    """Migrate, connect, take the single-instance lease and record the run."""
    s = settings
    url = s.database.url
    if url.startswith("sqlite") and ":///" in url:
        path = Path(url.split(":///", 1)[1])
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    if s.database.auto_upgrade:
        await upgrade(url, busy_timeout_ms=s.database.busy_timeout_ms)
    db = create_engine(url, busy_timeout_ms=s.database.busy_timeout_ms)
    storage = Storage(
        db,
        Repository(db),
        Lease(db, LeaseHolder.this_process(run_id), ttl_s=s.database.lease_ttl_s),
    )
    try:
        await take_lease(storage)
        await storage.repo.start_run(
            RunRecord(
                run_id=run_id,
                mode=s.mode,
                started_ms=int(time.time() * 1000),
                config_hash=config_hash(s),
                version=__version__,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
        )
    except BaseException:
        await release(storage, None, run_id, "start-up interrupted")
        raise
    return storage


async def take_lease(storage: Storage) -> None:
    """Take the single-instance lease. A dead holder on this host is taken over at once (see
    ``bot.storage.lease``); a second live instance on this host is refused (exit 3); a holder on
    another host is waited out: it may be a stopping old deployment, and a supervisor restarting
    this one would only loop on an exit."""
    from bot.storage import LeaseHeldError

    lease = storage.lease
    while True:
        try:
            await lease.acquire()
            return
        except LeaseHeldError as exc:
            if exc.same_host:
                raise StartupError(str(exc), 3) from exc
            info = exc.info
            left_s = max(0.0, (info.expires_ms - int(time.time() * 1000)) / 1000)
            log.warning(
                "lease_wait",
                holder_host=info.holder.host,
                holder_pid=info.holder.pid,
                holder_run=info.holder.run_id,
                expires_in_s=round(left_s, 1),
            )
            await asyncio.sleep(min(left_s, lease.ttl_ms / 3000) + 0.2)


async def restore_state(repo: Repository) -> TradingStateMachine:
    """The trading state as it was last stored."""
    return TradingStateMachine(from_stored(await repo.latest_trading_state_event()))


# ---------------------------------------------------------------------- 2. services


def open_venue(
    settings: Settings, signals: SignalEngine, market: SimMarket | None = None
) -> VenueBundle:
    """The venue for the mode (no call made yet); a replay's on ``market`` (``check_start``
    loaded it) when given."""
    try:
        return build_venue(settings, signals.warmup_hours, market)
    except (ValueError, OSError, DataFileError) as exc:  # ClientConfigError, bad --start
        raise StartupError(str(exc), 2) from exc


async def build_services(
    settings: Settings,
    bundle: VenueBundle,
    signals: SignalEngine,
    storage: Storage,
    state: TradingStateMachine,
    *,
    run_id: str,
    metrics: Metrics,
    clock: Callable[[], int],
    observe_time: Callable[[int], None],
    change_state: Callable[[StateRequest], Awaitable[None]],
    commit: Callable[[Transition | None], Awaitable[None]],
    live_flag: bool,
    environ: Mapping[str, str],
) -> Services:
    """The account modes set, the universe chosen, and the trading core over the database:
    positions, open orders and equity history restored (reconciled by the caller)."""
    s, repo = settings, storage.repo
    venue = cast(Venue, MeteredVenue(bundle.venue, metrics))
    try:
        check_host(venue, s, live_flag=live_flag, environ=environ)
        if bundle.engine is None:
            observe_time(await venue.server_time())
        try:
            await prepare_account(venue, s)
        except AccountModesError as exc:
            raise StartupError(str(exc), 4) from exc
        listed = await venue.load_instruments()
        try:
            symbols, tags, _resolution = universe(s, listed)
        except (SectorMapError, ValueError) as exc:
            raise StartupError(str(exc), 2) from exc
        instruments = with_sectors(
            {k: listed[k] for k in symbols},
            {sym: tag for sym, tag in zip(symbols, tags, strict=True) if tag},
        )
        parts = assemble_core(
            s,
            venue,
            instruments,
            signals,
            repo,
            state,
            run_id=run_id,
            clock=clock,
            journal=DbJournal(repo, run_id),
            change_state=change_state,
            commit_transition=commit,
            positions=await repo.list_positions(),
            open_orders=await repo.list_open_orders(),
            metrics=metrics,
            marks=await restore_marks(repo, clock()),
            resume_from_ms=await repo.latest_account_event_ms(),
        )
        parts.core.cash_flows = CashFlowTracker(
            venue, repo, parts.core.marks, clock, since_ms=await cash_start(repo, clock())
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await venue.close()
        raise
    return Services(
        bundle,
        venue,
        symbols,
        tags,
        instruments,
        parts.portfolio,
        parts.orders,
        parts.reconciler,
        parts.core,
        parts.killswitch,
    )


async def restore_marks(repo: Repository, now: int) -> EquityMarks:
    """The drawdown peak and today's starting equity, exactly as before the restart (#33)."""
    stored = await repo.equity_marks(now // DAY_MS * DAY_MS)
    return EquityMarks.from_stored(stored.peak, stored.day_start, stored.net_flows, now)


async def reconcile_at_start(core: TradingCore) -> None:
    """Reconciliation must succeed before any trading (RELIABILITY.md)."""
    from bot.execution.reconcile import ReconcileRefused

    last: Exception | None = None
    for attempt in range(5):
        try:
            await core.sync()
            return
        except ReconcileRefused as exc:
            raise StartupError(str(exc), 4) from exc
        except (VenueError, OSError, TimeoutError) as exc:
            if isinstance(exc, VenueError) and exc.outcome == "fatal":
                # Keys refused, unfixable clock skew: retrying cannot help.
                raise StartupError(f"reconciliation failed, not trading: {exc}", 4) from exc
            last = exc
            log.warning("startup_reconcile_retry", attempt=attempt + 1, error=str(exc))
            await asyncio.sleep(min(10.0, 0.5 * 2**attempt))
    raise StartupError(f"reconciliation failed, not trading: {last}", 4)


def check_host(
    venue: Venue, settings: Settings, *, live_flag: bool, environ: Mapping[str, str]
) -> None:
    """Where the keys will really go (the client's effective URL), checked before any call."""
    base = getattr(venue, "api_base_url", None)
    if not isinstance(base, str) or settings.mode not in ("testnet", "live"):
        return
    try:
        check_mode(settings.mode, live_flag=live_flag, url=base, has_keys=True, environ=environ)
    except Exception as exc:
        raise StartupError(str(exc), 2) from exc


# ---------------------------------------------------------------------- 3. market data


async def open_market(
    settings: Settings, services: Services, signals: SignalEngine, repo: Repository, now: int
) -> Market:
    """The bar store and the feed, backfilled up to ``now`` (bars already stored are kept)."""
    freshness = FreshnessTracker()
    store = PanelStore(
        services.symbols,
        services.tags,
        capacity=signals.window_hours + 48,
        freshness=freshness,
        quality=QualityFilter(QualityLimits.from_config(settings.data)),
    )
    feed = MarketFeed(
        services.venue,
        services.symbols,
        PanelStoreSink(store),
        backfill_hours=signals.window_hours,
        oi_backfill_hours=signals.oi_window_hours,
        history=repo,  # bars already stored are not downloaded again (RELIABILITY.md #48)
    )
    log.info("backfill_started", symbols=len(services.symbols), hours=signals.window_hours)
    started = time.monotonic()
    bars = await feed.backfill(now)
    log.info(
        "backfill_done",
        bars=sum(bars.values()),
        requests=dict(feed.stats.requests),
        seconds=round(time.monotonic() - started, 1),
    )
    return Market(freshness, store, feed)


# ---------------------------------------------------------------------- shutdown


async def cancel_entries(orders: OrderManager) -> None:
    """Cancel the resting entry orders (positions and their protective stops stay)."""
    with contextlib.suppress(Exception):
        for order in list(orders.open_orders()):
            if not order.reduce_only and order.intent in ("entry", "hedge"):
                await orders.cancel(order.client_order_id)


async def release(storage: Storage | None, venue: Venue | None, run_id: str, reason: str) -> None:
    """Record the end of the run, then release the lease, the venue and the database. Each
    step is best effort and skipped when start-up never got that far."""
    ended_ms = int(time.time() * 1000)
    steps: list[Callable[[], Awaitable[object]]] = []
    if storage is not None:
        repo, lease = storage.repo, storage.lease
        steps += [
            lambda: repo.finish_run(run_id, ended_ms=ended_ms, reason=reason),
            lease.release,
        ]
    if venue is not None:
        steps.append(venue.close)
    if storage is not None:
        steps.append(storage.db.dispose)
    for step in steps:
        with contextlib.suppress(Exception):
            await step()


def config_hash(settings: Settings) -> str:
    """A short hash of the effective config (secrets masked) for runs and reports."""
    import hashlib
    import json

    blob = json.dumps(settings.masked_dump(), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
