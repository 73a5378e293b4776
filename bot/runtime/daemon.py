"""The daemon: one running rotor, for every mode.

It runs the start-up (``bot.runtime.lifecycle`` builds the products of
``bot.runtime.services``: storage, then the trading services, then the market data), owns the
trading state and every loop: the bar-close loop (live polling, or replay driving the
simulator's clock), the lease keeper, the kill-file watcher and the control API, which carries
the operator's requests here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import Settings
from bot.domain import TradingState
from bot.execution.client_ids import new_run_id
from bot.observability.logging import get_logger, set_context
from bot.observability.metrics import Metrics
from bot.risk import Source, StateRequest, TradingStateMachine
from bot.runtime import lifecycle, reload, replay
from bot.runtime.barstep import BarStep
from bot.runtime.control import ControlServer
from bot.runtime.degraded import STORAGE_ERRORS, Degradation
from bot.runtime.killswitch import KILL_REASON, KillInterrupted, flatten_and_halt
from bot.runtime.ossignals import KillFile
from bot.runtime.services import Market, Services, Storage
from bot.runtime.supervisor import ControlAdapter
from bot.signals.engine import SignalEngine
from bot.venues.base import VenueError

log = get_logger("rotor.daemon")

# The loop backs off up to this long while the venue or the database fails.
MAX_LOOP_BACKOFF_S = 30.0
# How often the kill file is looked for between polls (the kill starts within a second).
KILL_FILE_CHECK_S = 0.25


class Daemon:
    """One running rotor: runs the start-up, owns the trading state and the loops."""

    state: TradingStateMachine  # restored from storage by ``start``

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
        # The start-up's products, in the order it builds them (None until then).
        self.storage: Storage | None = None
        self.services: Services | None = None
        self.market: Market | None = None
        self.engine: Any = None  # the simulator engine when rotor drives its clock (replay)
        self.bar: BarStep | None = None  # the bar step, once the market data is built
        self.stop_event = asyncio.Event()
        self.kill_event = asyncio.Event()
        self.kill_source = Source.SIGNAL
        self.kill_reason = "operator"
        self._kill_lock = asyncio.Lock()
        self.kill_file = KillFile(
            lambda: self.settings.execution.kill_file,
            lambda: not self.kill_event.is_set() and self.state.state is not TradingState.HALTED,
            lambda: self.request_kill(Source.FILE),
        )
        self.tasks: set[asyncio.Task[Any]] = set()
        self.degraded = Degradation(self.metrics, self.change_state)
        self.control: ControlServer | None = None
        self.running = False  # True once start-up (reconcile, backfill) is complete
        self.started_ms = int(time.time() * 1000)
        self._venue_ms = self.started_ms
        self._venue_read = time.monotonic()

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """Venue time when rotor drives the clock (replay), wall time otherwise."""
        if self.engine is not None:
            return int(self.engine.now_ms)
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
        s = self.settings
        set_context(run_id=self.run_id, mode=s.mode)
        market = lifecycle.check_start(s, live_flag=self.live_flag, environ=self.environ)
        signals = SignalEngine.from_settings(s)
        storage = self.storage = await lifecycle.open_storage(s, self.run_id)
        lease = self.degraded.keep_lease(storage.lease, self.stop_event, lambda: self.state.state)
        self.spawn(lease, "lease")
        self.state = await lifecycle.restore_state(storage.repo)
        self.metrics.set_state(self.state.state)
        if s.control.enabled:
            # Serve health and status from the persisted state on, while the venue is reached,
            # reconciled and the bars are loaded (RELIABILITY.md #48): /readyz says "not yet".
            self.control = ControlServer(s.control, ControlAdapter(self), self.metrics)
            await self.control.start()
        bundle = lifecycle.open_venue(s, signals, market)
        self.engine = bundle.engine
        services = self.services = await lifecycle.build_services(
            s,
            bundle,
            signals,
            storage,
            self.state,
            run_id=self.run_id,
            metrics=self.metrics,
            clock=self.now,
            observe_time=self.observe_venue_time,
            change_state=self.change_state,
            commit=self.commit,
            live_flag=self.live_flag,
            environ=self.environ,
        )
        await lifecycle.reconcile_at_start(services.core)
        current = self.state.current
        if current.reason.startswith(KILL_REASON) and self.state.state is not TradingState.HALTED:
            log.warning("kill_switch_resuming", reason=current.reason)
            await self.run_kill(Source(current.source))
        self.market = await lifecycle.open_market(s, services, signals, storage.repo, self.now())
        self.bar = BarStep(
            services,
            self.market,
            self.metrics,
            now=self.now,
            observe_venue_time=self.observe_venue_time if self.engine is None else None,
        )
        self.running = True
        log.info(
            "daemon_started",
            version=__version__,
            symbols=len(services.symbols),
            state=self.state.state.value,
            db=s.database.masked_url(),
        )

    async def shutdown_partial(self) -> None:
        """Release whatever an interrupted or refused start-up had taken (lease, venue, DB)."""
        await self._release("start-up interrupted")

    async def shutdown(self) -> None:
        """Graceful stop: cancel open entry orders, keep positions and stops, flush, release."""
        if self.services is not None:
            await lifecycle.cancel_entries(self.services.orders)
        await self._release("stopped")
        log.info("daemon_stopped", state=self.state.state.value)

    async def _release(self, reason: str) -> None:
        """Stop the control API and the background tasks, then release what start-up took."""
        if self.control is not None:
            with contextlib.suppress(Exception):
                await self.control.stop()
        for task in list(self.tasks):
            task.cancel()
        venue = None if self.services is None else self.services.venue
        await lifecycle.release(self.storage, venue, self.run_id, reason)

    def _built(self) -> Services:
        """The trading services (start-up built them before anything below runs)."""
        if self.services is None:
            raise RuntimeError("the daemon has not started")
        return self.services

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
            self._built().core.marks.rebase()
            log.warning("drawdown_peak_rebased", state=self.state.state.value)

    async def commit(self, transition: Any) -> None:
        if transition is None:
            return
        storage = self.storage
        assert storage is not None  # the state is restored from storage

        async def write(t: Any) -> None:
            await storage.repo.record_trading_state(
                t.new, ts_ms=t.ts_ms, reason=t.reason, source=t.source.value, old_state=t.old
            )

        try:
            await self.state.persist(transition, write)
        except STORAGE_ERRORS as exc:
            # The database is down: the state still moves (stricter is always safe) and the
            # transition is stored once it is back (RELIABILITY.md #19).
            self.degraded.defer(self.state, transition, exc)
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
        svc = self._built()
        async with self._kill_lock:
            if self.state.state is TradingState.HALTED and not self.kill_event.is_set():
                return
            try:
                result = await flatten_and_halt(
                    svc.killswitch,
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
            svc.core.kill_requested = False  # flat and HALTED; a later resume may trade again
            await svc.core.sync()
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
            if self.engine is not None:
                await self._replay_loop()
            else:
                await self._live_loop()
        finally:
            await self.shutdown()
        return 0

    async def cycle_if_new_bar(self) -> bool:
        """Poll the feed; run one cycle when a new bar has closed (``BarStep``)."""
        assert self.bar is not None, "the bar step exists once start-up has built the market"
        return await self.bar.cycle_if_new_bar()

    @property
    def tickers_stale(self) -> bool:
        return self.bar is not None and self.bar.tickers_stale

    def funding_intervals(self) -> dict[str, float]:
        """Each symbol's funding interval as the venue lists it now (``BarStep``)."""
        assert self.bar is not None
        return self.bar.funding_intervals()

    async def _live_loop(self) -> None:
        s = self.settings
        svc, storage = self._built(), self.storage
        assert storage is not None
        last_sync = time.monotonic()
        backoff = 0.0
        watcher = asyncio.create_task(self.kill_file.watch(KILL_FILE_CHECK_S), name="kill-file")
        try:
            while not self.stop_event.is_set():
                try:
                    await self.handle_operator_requests()
                    cycled = await self.cycle_if_new_bar()
                    if (
                        not cycled
                        and time.monotonic() - last_sync > s.execution.reconcile_interval_s
                    ):
                        await svc.core.resync()
                        cycled = True
                    if cycled:
                        last_sync = time.monotonic()
                    await self.degraded.storage_recovered(storage.repo, svc.orders, self.state)
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

    async def _replay_loop(self) -> None:
        """Cycle on every closed bar until the data ends (or a stop), then close out and
        summarise."""
        engine = self.engine
        speed = self.settings.sim.speed
        start_equity: Decimal = engine.equity()
        bars = 0
        while not self.stop_event.is_set():
            await self.handle_operator_requests()
            if await self.cycle_if_new_bar():
                bars += 1
                if bars % 24 == 0:
                    self.degraded.sample()
            if engine.at_end:
                break
            engine.advance(1)
            if speed > 0:
                await self._sleep(3600.0 / speed)
            elif bars % 50 == 0:
                await asyncio.sleep(0)  # let the control API and signals breathe
        if engine.at_end:
            await self._built().core.close_out("end of data")
            replay.summarise(engine, start_equity, bars, self.state.state)

    async def handle_operator_requests(self) -> None:
        await self.kill_file.check()
        if self.kill_event.is_set():
            await self.run_kill(self.kill_source)

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

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def reload(self) -> None:
        """SIGHUP: re-read the config and apply it live, or keep the old one with a message
        (``bot.runtime.reload``)."""
        self.settings = reload.reload(self.settings, self.config_path, self.services, self.market)
