"""The daemon: one running rotor, for every mode.

It owns the venue, the database, the trading state, the bar-close loop (live polling, or
replay driving the simulator's clock), the kill switch and operator requests. Start-up and
shutdown live in ``bot.runtime.lifecycle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings, load_settings
from bot.data.freshness import FreshnessTracker
from bot.data.panel import HOUR_MS
from bot.data.store import PanelStore
from bot.domain import Instrument, TradingState
from bot.execution.client_ids import new_run_id
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.execution.reconcile import Reconciler
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import RiskManager, Source, StateRequest, TradingStateMachine
from bot.runtime import lifecycle
from bot.runtime.build import VenueBundle
from bot.runtime.control import ControlServer
from bot.runtime.degraded import STORAGE_ERRORS, Degradation
from bot.runtime.instruments import refresh_instruments
from bot.runtime.killswitch import KillInterrupted, KillSwitch, flatten_and_halt
from bot.runtime.pipeline import TradingCore
from bot.signals.engine import SignalEngine
from bot.storage import Lease, Repository
from bot.venues.base import Venue, VenueError
from bot.venues.feed import MarketFeed

log = get_logger("rotor.daemon")

# The loop backs off up to this long while the venue or the database fails.
MAX_LOOP_BACKOFF_S = 30.0
# How often the kill file is looked for between polls (the kill starts within a second).
KILL_FILE_CHECK_S = 0.25


class Daemon:
    """One running rotor: owns the venue, the database, the loop and the control API."""

    # Set by the start-up (``lifecycle.start``), in this order.
    signals: SignalEngine
    db: AsyncEngine
    repo: Repository
    lease: Lease
    state: TradingStateMachine
    bundle: VenueBundle
    venue: Venue
    symbols: list[str]
    instruments: dict[str, Instrument]
    portfolio: Portfolio
    orders: OrderManager
    reconciler: Reconciler
    risk: RiskManager
    core: TradingCore
    killswitch: KillSwitch
    freshness: FreshnessTracker
    store: PanelStore
    feed: MarketFeed
    last_bar_ts: int

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None = None,
        live_flag: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.live_flag = live_flag
        self.environ = dict(os.environ if environ is None else environ)
        self.run_id = new_run_id()
        self.metrics = Metrics()
        self.stop_event = asyncio.Event()
        self.kill_event = asyncio.Event()
        self.kill_source = Source.SIGNAL
        self.kill_reason = "operator"
        self._kill_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.degraded = Degradation(self)
        self.tickers_stale = False
        self.control: ControlServer | None = None
        self.running = False  # True once start-up (reconcile, backfill) is complete
        self.started_ms = int(time.time() * 1000)
        self._venue_ms = self.started_ms
        self._venue_read = time.monotonic()

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """Venue time when rotor drives the clock (replay), wall time otherwise."""
        if self.bundle.engine is not None:
            return int(self.bundle.engine.now_ms)  # type: ignore[attr-defined]
        # Venue time, advanced by the wall clock since it was read: against a replaying
        # simulator (testnet mode) this is simulated time, on a real exchange it is ~wall time.
        return self._venue_ms + int((time.monotonic() - self._venue_read) * 1000)

    def observe_venue_time(self, venue_ms: int) -> None:
        """Re-anchor the clock on a venue timestamp (each tickers poll carries one)."""
        if venue_ms > 0:
            self._venue_ms, self._venue_read = venue_ms, time.monotonic()

    # ------------------------------------------------------------------ start-up / shutdown

    async def start(self) -> None:
        """Everything before the first trading cycle; raises ``StartupError`` on refusal."""
        await lifecycle.start(self)

    async def shutdown_partial(self) -> None:
        """Release whatever an interrupted or refused start-up had taken (lease, venue, DB)."""
        await lifecycle.shutdown_partial(self)

    async def shutdown(self) -> None:
        """Graceful stop: cancel open entry orders, keep positions and stops, flush, release."""
        await lifecycle.shutdown(self)

    # ------------------------------------------------------------------ state

    async def change_state(self, request: StateRequest) -> None:
        """Persist, then commit, a trading-state change; kill requests start the kill switch."""
        if request.kill:
            # The kill switch records REDUCING while it flattens and HALTED once verified flat.
            self.request_kill(request.source, request.reason)
            return
        await self.commit(self.state.propose(request, self.now()))

    async def resume(self, source: Source) -> None:
        """An operator's resume. Out of HALTED it also re-bases the drawdown peak: the
        operator has accepted the account as it is now (the resume event is the persisted
        mark, ``Repository.equity_marks``), so the max-drawdown breaker does not fire again
        on the loss that halted it (RELIABILITY.md #34)."""
        was_halted = self.state.state is TradingState.HALTED
        transition = self.state.propose_resume(self.now(), "RESUME: operator", source)
        await self.commit(transition)
        if was_halted and self.state.state is not TradingState.HALTED:
            self.core.marks.rebase()
            log.warning("drawdown_peak_rebased", state=self.state.state.value)

    async def commit(self, transition: Any) -> None:
        if transition is None:
            return

        async def write(t: Any) -> None:
            await self.repo.record_trading_state(
                t.new, ts_ms=t.ts_ms, reason=t.reason, source=t.source.value, old_state=t.old
            )

        try:
            await self.state.persist(transition, write)
        except STORAGE_ERRORS as exc:
            # The database is down: the state still moves (stricter is always safe) and the
            # transition is stored once it is back (RELIABILITY.md #19).
            self.degraded.defer(transition, exc)
            return
        self.metrics.set_state(self.state.state)
        log.warning(
            "trading_state",
            old=transition.old.value,
            new=transition.new.value,
            reason=transition.reason,
            source=transition.source.value,
        )

    def request_kill(self, source: Source, reason: str = "operator") -> None:
        self.kill_source = source
        self.kill_reason = reason
        self.kill_event.set()

    async def run_kill(self, source: Source) -> None:
        """Flatten and verify, then HALTED; the state shows the kill in progress meanwhile."""
        async with self._kill_lock:
            if self.state.state is TradingState.HALTED and not self.kill_event.is_set():
                return
            try:
                result = await flatten_and_halt(
                    self.killswitch,
                    self.state,
                    self.commit,
                    self.now,
                    source=source,
                    why=self.kill_reason,
                    stop=self.stop_event,
                )
            except KillInterrupted as exc:
                # Stopping: the state stays "KILL: flattening" and the next start resumes it.
                log.error("kill_switch_interrupted", problem=str(exc), alert=True)
                return
            self.kill_event.clear()
            self.core.kill_requested = False  # flat and HALTED; a later resume may trade again
            await self.core.sync()
            log.warning(
                "kill_switch_done",
                attempts=result.attempts,
                canceled=result.canceled,
                closed=result.closed,
                state=self.state.state.value,
            )

    # ------------------------------------------------------------------ loops

    async def run(self) -> int:
        """Run until stopped (or, in replay, until the data ends); returns the exit code."""
        try:
            if self.bundle.drives_clock:
                from bot.runtime.replay import replay_loop

                await replay_loop(self)
            else:
                await self._live_loop()
        finally:
            await self.shutdown()
        return 0

    async def cycle_if_new_bar(self) -> bool:
        """Poll the feed; run one cycle when a new bar has closed. Returns True if it did."""
        await self.feed.poll()
        if self.bundle.engine is None:
            self.observe_venue_time(self.feed.venue_ms)
        newest = max(self.feed.last_bar_ts.values(), default=0)
        if newest:
            closed_age_s = (self.now() - (newest + HOUR_MS)) / 1000
            self.metrics.data_age.labels(feed="klines").set(max(0.0, closed_age_s))
        if newest <= self.last_bar_ts:
            return False
        panel = self.store.panel(end_ts=newest)
        if panel.n_bars == 0:
            self.last_bar_ts = newest
            return False
        j = panel.n_bars - 1
        missing = frozenset(s for s, ts in self.feed.last_bar_ts.items() if ts < newest)
        # The bar counts as done only once its cycle completed: a cycle that failed (venue or
        # database) is run again at the next poll. That is safe because every cycle starts by
        # reconciling, so what a failed attempt already did is known before it decides again.
        await self.core.on_bar(
            panel,
            j,
            self.feed.tickers,
            missing_bars=missing,
            funding_interval_h=self.funding_intervals(),
            ticker_ms=self._ticker_time(newest + self.feed.tf_ms),
        )
        self.last_bar_ts = newest
        # After the cycle (off the path from tickers to orders): the next cycle trades on them.
        await refresh_instruments(self)
        return True

    def funding_intervals(self) -> dict[str, float]:
        """Each symbol's funding interval as the venue lists it now (F8h normalisation uses the
        current interval, not the gap between the last two settlements: RELIABILITY.md #43)."""
        return {s: float(i.funding_interval_h) for s, i in self.instruments.items()}

    def _ticker_time(self, bar_close_ms: int) -> int:
        """When the market data was current: now, or when tickers froze (#13), so the risk
        manager's stale-data guard blocks entries while prices do not move."""
        frozen = self.feed.tickers_frozen(bar_close_ms)
        if frozen != self.tickers_stale:
            self.tickers_stale = frozen
            self.metrics.data_stale.set(1 if frozen else 0)
            (log.error if frozen else log.warning)(
                "tickers_stale" if frozen else "tickers_fresh",
                last_change_ms=self.feed.content_changed_ms,
                bar_close_ms=bar_close_ms,
                alert=frozen,
            )
        age_s = max(0, bar_close_ms - self.feed.content_changed_ms) / 1000
        self.metrics.data_age.labels(feed="tickers").set(age_s if frozen else 0.0)
        return self.feed.content_changed_ms if frozen else self.now()

    async def _live_loop(self) -> None:
        s = self.settings
        last_sync = time.monotonic()
        backoff = 0.0
        watcher = asyncio.create_task(self._watch_kill_file(), name="kill-file")
        try:
            while not self.stop_event.is_set():
                try:
                    await self.handle_operator_requests()
                    cycled = await self.cycle_if_new_bar()
                    if (
                        not cycled
                        and time.monotonic() - last_sync > s.execution.reconcile_interval_s
                    ):
                        await self.core.resync()
                        cycled = True
                    if cycled:
                        last_sync = time.monotonic()
                    await self.degraded.storage_recovered()
                    backoff = 0.0
                except VenueError as exc:
                    backoff = min(MAX_LOOP_BACKOFF_S, max(s.exchange.poll_interval_s, backoff * 2))
                    self.metrics.venue_errors.labels(type=exc.outcome).inc()
                    log.warning(
                        "venue_degraded", error=str(exc), outcome=exc.outcome, backoff_s=backoff
                    )
                    if exc.outcome == "fatal":
                        await self.degraded.venue_fatal(exc)
                except STORAGE_ERRORS as exc:
                    backoff = min(MAX_LOOP_BACKOFF_S, max(s.exchange.poll_interval_s, backoff * 2))
                    await self.degraded.storage_failed(exc)
                except Exception as exc:  # never end the process on a surprise (#39)
                    backoff = min(MAX_LOOP_BACKOFF_S, max(s.exchange.poll_interval_s, backoff * 2))
                    await self.degraded.cycle_failed(exc)
                self.degraded.sample()
                await self._sleep(max(s.exchange.poll_interval_s, backoff))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def handle_operator_requests(self) -> None:
        await self.check_kill_file()
        if self.kill_event.is_set():
            await self.run_kill(self.kill_source)

    async def check_kill_file(self) -> None:
        """Request the kill switch when the kill file exists (and the account is not HALTED)."""
        kill_file = self.settings.execution.kill_file
        if (
            kill_file is not None
            and not self.kill_event.is_set()
            and self.state.state is not TradingState.HALTED
            and await asyncio.to_thread(Path(kill_file).exists)
        ):
            log.warning("kill_file_found", path=str(kill_file))
            self.request_kill(Source.FILE)

    async def _watch_kill_file(self) -> None:
        """Look for the kill file between polls, so it acts within a second (#46)."""
        while True:
            await asyncio.sleep(KILL_FILE_CHECK_S)
            try:
                await self.check_kill_file()
            except OSError as exc:  # an unreadable directory: the loop's own check reports
                log.warning("kill_file_unreadable", error=str(exc))

    async def _sleep(self, seconds: float) -> None:
        """Wait until the next poll; a stop or a kill request ends the wait at once (#46)."""
        waits = [
            asyncio.create_task(self.stop_event.wait()),
            asyncio.create_task(self.kill_event.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    def sector_of(self, symbol: str) -> str | None:
        inst = self.instruments.get(symbol)
        return None if inst is None else inst.sector

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def reload(self) -> None:
        """SIGHUP: re-read the config. An invalid one, or one changing a setting that cannot
        be applied live (the exchange, the database, ...), is refused with a message and the old
        one kept; otherwise every setting takes effect at once (``bot.runtime.reload``)."""
        from bot.runtime import reload

        try:
            fresh = load_settings(self.config_path)
            from bot.risk import validate_risk

            problems = validate_risk(fresh)
            if problems:
                raise ConfigError(problems)
        except ConfigError as exc:
            log.error("config_reload_rejected", errors=exc.errors, alert=True)
            return
        changed = reload.changed_keys(self.settings, fresh)
        refused = reload.refusals(self, fresh, changed)
        if refused:
            log.error(
                "config_reload_refused",
                errors=refused,
                note="the old configuration stays in force",
                alert=True,
            )
            return
        reload.apply(self, fresh)
        log.warning("config_reloaded", changed=changed)
