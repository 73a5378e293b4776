"""The daemon's start-up and shutdown.

Start-up order matters for safety: refuse unsafe modes → migrate → take the single-instance
lease → restore state → serve the control API (status from the persisted state) → reconcile
with the venue (no trading if that fails) → resume an interrupted kill switch → backfill data →
trade. Shutdown cancels resting entries, keeps positions and their exchange-side stops, and
releases the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot import __version__
from bot.config import Settings
from bot.data.datadir import DataFileError
from bot.data.freshness import FreshnessTracker
from bot.data.quality import QualityFilter, QualityLimits
from bot.data.sectors import SectorMapError
from bot.data.store import PanelStore
from bot.domain import TradingState
from bot.observability.logging import get_logger, set_context
from bot.risk import Source, TradingStateMachine, from_stored
from bot.runtime.account import DAY_MS, EquityMarks
from bot.runtime.assembly import assemble_core, with_sectors
from bot.runtime.build import build_venue, universe
from bot.runtime.cashflows import CashFlowTracker
from bot.runtime.cashflows import start_point as cash_start
from bot.runtime.control import ControlServer
from bot.runtime.journal import DbJournal
from bot.runtime.killswitch import KILL_REASON
from bot.runtime.safety import check_mode
from bot.signals.engine import SignalEngine
from bot.storage import Lease, LeaseHolder, Repository, create_engine, upgrade
from bot.storage.records import RunRecord
from bot.venues.base import Venue, VenueError
from bot.venues.feed import MarketFeed, PanelStoreSink
from bot.venues.metered import MeteredVenue
from bot.venues.modes import prepare_account

if TYPE_CHECKING:
    from bot.runtime.daemon import Daemon

log = get_logger("rotor.daemon")


class StartupError(Exception):
    """A refusal to start; ``code`` is the process exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


async def start(d: Daemon) -> None:
    """Everything before the first trading cycle; raises ``StartupError`` on refusal."""
    s = d.settings
    set_context(run_id=d.run_id, mode=s.mode)
    try:
        for warning in check_mode(
            s.mode,
            live_flag=d.live_flag,
            url=s.exchange.api_url,
            has_keys=bool(s.exchange.api_key and s.exchange.api_secret),
            environ=d.environ,
        ):
            log.warning("live_trading", message=warning)
    except Exception as exc:
        raise StartupError(str(exc), 2) from exc
    from bot.risk import validate_risk

    problems = validate_risk(s)
    if problems:
        raise StartupError("invalid risk configuration:\n  " + "\n  ".join(problems), 2)
    d.signals = SignalEngine.from_settings(s)
    await open_database(d)
    if s.control.enabled:
        # Serve health and status from the persisted state on, while the venue is reached,
        # reconciled and the bars are loaded (RELIABILITY.md #48): /readyz says "not yet".
        from bot.runtime.supervisor import ControlAdapter

        d.control = ControlServer(s.control, ControlAdapter(d), d.metrics)
        await d.control.start()
    try:
        d.bundle = build_venue(s, d.signals.window_hours)
    except (ValueError, OSError, DataFileError) as exc:  # ClientConfigError, bad --start
        raise StartupError(str(exc), 2) from exc
    d.venue = cast(Venue, MeteredVenue(d.bundle.venue, d.metrics))
    check_host(d)
    if d.bundle.engine is None:
        d.observe_venue_time(await d.venue.server_time())
    await prepare_account(d.venue, s)
    instruments = await d.venue.load_instruments()
    try:
        symbols, tags, _resolution = universe(s, instruments)
    except (SectorMapError, ValueError) as exc:
        raise StartupError(str(exc), 2) from exc
    d.symbols = symbols
    d.instruments = with_sectors(
        {k: instruments[k] for k in symbols},
        {sym: tag for sym, tag in zip(symbols, tags, strict=True) if tag},
    )
    await build_core(d)
    await reconcile_at_start(d)
    capacity = d.signals.window_hours + 48
    d.freshness = FreshnessTracker()
    d.store = PanelStore(
        symbols,
        tags,
        capacity=capacity,
        freshness=d.freshness,
        quality=QualityFilter(QualityLimits.from_config(s.data)),
    )
    d.feed = MarketFeed(
        d.venue,
        symbols,
        PanelStoreSink(d.store),
        backfill_hours=d.signals.window_hours,
        oi_backfill_hours=d.signals.oi_window_hours,
        history=d.repo,  # bars already stored are not downloaded again (RELIABILITY.md #48)
    )
    log.info("backfill_started", symbols=len(symbols), hours=d.signals.window_hours)
    started = time.monotonic()
    bars = await d.feed.backfill(d.now())
    log.info(
        "backfill_done",
        bars=sum(bars.values()),
        requests=dict(d.feed.stats.requests),
        seconds=round(time.monotonic() - started, 1),
    )
    d.last_bar_ts = max(d.feed.last_bar_ts.values(), default=0)
    d.running = True
    log.info(
        "daemon_started",
        version=__version__,
        symbols=len(symbols),
        state=d.state.state.value,
        db=s.database.masked_url(),
    )


async def open_database(d: Daemon) -> None:
    """Migrate, connect, take the single-instance lease, record the run, restore the state."""
    s = d.settings
    url = s.database.url
    if url.startswith("sqlite") and ":///" in url:
        path = Path(url.split(":///", 1)[1])
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    if s.database.auto_upgrade:
        await upgrade(url, busy_timeout_ms=s.database.busy_timeout_ms)
    d.db = create_engine(url, busy_timeout_ms=s.database.busy_timeout_ms)
    d.repo = Repository(d.db)
    d.lease = Lease(d.db, LeaseHolder.this_process(d.run_id), ttl_s=s.database.lease_ttl_s)
    await take_lease(d)
    d.spawn(d.degraded.keep_lease(), "lease")
    await d.repo.start_run(
        RunRecord(
            run_id=d.run_id,
            mode=s.mode,
            started_ms=int(time.time() * 1000),
            config_hash=config_hash(s),
            version=__version__,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
    )
    d.state = TradingStateMachine(from_stored(await d.repo.latest_trading_state_event()))
    d.metrics.set_state(d.state.state)


async def take_lease(d: Daemon) -> None:
    """Take the single-instance lease. A dead holder on this host is taken over at once (see
    ``bot.storage.lease``); a second live instance on this host is refused (exit 3); a holder on
    another host is waited out: it may be a stopping old deployment, and a supervisor restarting
    this one would only loop on an exit."""
    from bot.storage import LeaseHeldError

    while True:
        try:
            await d.lease.acquire()
            return
        except LeaseHeldError as exc:
            if exc.same_host:
                await d.db.dispose()
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
            await asyncio.sleep(min(left_s, d.lease.ttl_ms / 3000) + 0.2)


async def build_core(d: Daemon) -> None:
    """The trading core over the database: positions, open orders and equity history restored."""
    parts = assemble_core(
        d.settings,
        d.venue,
        d.instruments,
        d.signals,
        d.repo,
        d.state,
        run_id=d.run_id,
        clock=d.now,
        journal=DbJournal(d.repo, d.run_id),
        change_state=d.change_state,
        commit_transition=d.commit,
        positions=await d.repo.list_positions(),
        open_orders=await d.repo.list_open_orders(),
        metrics=d.metrics,
        marks=await restore_marks(d),
        resume_from_ms=await d.repo.latest_account_event_ms(),
    )
    d.portfolio, d.orders, d.reconciler = (
        parts.portfolio,
        parts.orders,
        parts.reconciler,
    )
    d.risk, d.core, d.killswitch = parts.risk, parts.core, parts.killswitch
    d.core.cash_flows = CashFlowTracker(
        d.venue, d.repo, d.core.marks, d.now, since_ms=await cash_start(d.repo, d.now())
    )


async def restore_marks(d: Daemon) -> EquityMarks:
    """The drawdown peak and today's starting equity, exactly as before the restart (#33)."""
    now = d.now()
    stored = await d.repo.equity_marks(now // DAY_MS * DAY_MS)
    return EquityMarks.from_stored(stored.peak, stored.day_start, stored.net_flows, now)


async def reconcile_at_start(d: Daemon) -> None:
    """Reconciliation must succeed before any trading (RELIABILITY.md)."""
    from bot.execution.reconcile import ReconcileRefused

    last: Exception | None = None
    for attempt in range(5):
        try:
            await d.core.sync()
            break
        except ReconcileRefused as exc:
            raise StartupError(str(exc), 4) from exc
        except (VenueError, OSError, TimeoutError) as exc:
            if isinstance(exc, VenueError) and exc.outcome == "fatal":
                # Keys refused, unfixable clock skew: retrying cannot help.
                raise StartupError(f"reconciliation failed, not trading: {exc}", 4) from exc
            last = exc
            log.warning("startup_reconcile_retry", attempt=attempt + 1, error=str(exc))
            await asyncio.sleep(min(10.0, 0.5 * 2**attempt))
    else:
        raise StartupError(f"reconciliation failed, not trading: {last}", 4)
    if d.state.current.reason.startswith(KILL_REASON) and d.state.state is not TradingState.HALTED:
        log.warning("kill_switch_resuming", reason=d.state.current.reason)
        await d.run_kill(Source(d.state.current.source))


def check_host(d: Daemon) -> None:
    """Where the keys will really go (the client's effective URL), checked before any call."""
    base = getattr(d.venue, "api_base_url", None)
    if not isinstance(base, str) or d.settings.mode not in ("testnet", "live"):
        return
    try:
        check_mode(
            d.settings.mode,
            live_flag=d.live_flag,
            url=base,
            has_keys=True,
            environ=d.environ,
        )
    except Exception as exc:
        raise StartupError(str(exc), 2) from exc


async def shutdown_partial(d: Daemon) -> None:
    """Release whatever an interrupted or refused start-up had taken (lease, venue, DB)."""
    await _release(d, "start-up interrupted")


async def shutdown(d: Daemon) -> None:
    """Graceful stop: cancel open entry orders, keep positions and stops, flush, release."""
    with contextlib.suppress(Exception):
        for order in list(d.orders.open_orders()):
            if not order.reduce_only and order.intent in ("entry", "hedge"):
                await d.orders.cancel(order.client_order_id)
    await _release(d, "stopped")
    log.info("daemon_stopped", state=d.state.state.value)


async def _release(d: Daemon, reason: str) -> None:
    """Stop the control API and the background tasks, record the end of the run, then release
    the lease, the venue and the database. Each step is best effort and skipped when start-up
    never got that far."""
    if d.control is not None:
        with contextlib.suppress(Exception):
            await d.control.stop()
    for task in list(d.tasks):
        task.cancel()
    ended_ms = int(time.time() * 1000)
    steps: tuple[tuple[str, Callable[[Any], Awaitable[object]]], ...] = (
        ("repo", lambda repo: repo.finish_run(d.run_id, ended_ms=ended_ms, reason=reason)),
        ("lease", lambda lease: lease.release()),
        ("venue", lambda venue: venue.close()),
        ("db", lambda db: db.dispose()),
    )
    for name, step in steps:
        obj = getattr(d, name, None)
        if obj is not None:
            with contextlib.suppress(Exception):
                await step(obj)


def config_hash(settings: Settings) -> str:
    """A short hash of the effective config (secrets masked) for runs and reports."""
    import hashlib
    import json

    blob = json.dumps(settings.masked_dump(), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
