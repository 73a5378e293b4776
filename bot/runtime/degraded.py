"""How the daemon degrades instead of dying (RELIABILITY.md #14, #19; RISK.md "Trading state").

- **Storage unavailable** (database down, disk full, locked): trading moves to REDUCING at
  once. The transition is committed in memory and stored as soon as the database answers
  again; an alert is raised on every failed attempt. Nothing is lost silently: every order is
  persisted before it is sent, so an order that cannot be stored is never sent, and fills,
  funding, order and position rows that could not be written are written on the next pass
  (``Reconciler``/``OrderManager`` keep them). The state stays REDUCING until an operator
  resumes, like every limit-driven REDUCING.
- **A fatal venue error** (keys refused, a clock skew a re-sync cannot fix): REDUCING + alert;
  the loop keeps backing off rather than spinning on the error.
- **An unexpected error inside a cycle** (an order status the venue added, a malformed number,
  a bug): REDUCING + alert with the traceback; the loop backs off and keeps running. Only the
  lease (another instance took it) and the kill switch end the process (RELIABILITY.md #39).
- **The lease**: when it cannot be renewed the daemon goes REDUCING and keeps trying to take it
  back; if another instance took it meanwhile, this one stops (only one may trade).
- **Process figures** for RELIABILITY.md #20: asyncio task count and resident memory, exposed
  as metrics and in ``/status``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.domain import TradingState
from bot.execution.orders import OrderManager
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import Source, StateRequest, TradingStateMachine, Transition
from bot.storage import Lease, LeaseHeldError, Repository
from bot.storage.errors import StorageError

log = get_logger("rotor.degraded")

# What a failing database raises through SQLAlchemy, the repository and the OS (disk full).
STORAGE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, StorageError, OSError)
STORAGE = "STORAGE"
VENUE_FATAL = "VENUE_FATAL"
CYCLE_ERROR = "CYCLE_ERROR"
LEASE = "LEASE"
LEASE_RETRY_S = 2.0


def asyncio_tasks() -> int:
    """Tasks alive in the running loop."""
    return len(asyncio.all_tasks())


def rss_bytes() -> int:
    """Resident memory of this process (``/proc``; peak RSS where that is unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class Degradation:
    """The daemon's degraded-mode bookkeeping: unsaved transitions, outages, the lease.

    It moves the trading state only through ``change_state`` (the daemon's), and works on the
    objects each call names; it holds none of them."""

    def __init__(
        self, metrics: Metrics, change_state: Callable[[StateRequest], Awaitable[None]]
    ) -> None:
        self.metrics = metrics
        self.change_state = change_state
        self.pending: list[Transition] = []  # committed in memory, not stored yet
        self.storage_down_since: float | None = None
        self.storage_failures = 0

    @property
    def storage_ok(self) -> bool:
        return self.storage_down_since is None

    # ------------------------------------------------------------------ state changes

    def defer(self, state: TradingStateMachine, transition: Transition, exc: BaseException) -> None:
        """Commit a transition the database refused; it is stored once storage is back."""
        state.commit(transition)
        self.pending.append(transition)
        self.metrics.set_state(state.state)
        log.warning(
            "trading_state",
            old=transition.old.value,
            new=transition.new.value,
            reason=transition.reason,
            source=transition.source.value,
            stored=False,
            error=f"{type(exc).__name__}: {str(exc)[:200]}",
        )

    async def reduce(self, code: str, detail: str) -> None:
        """Move to REDUCING (stored when possible) with an alert."""
        self.metrics.alerts.labels(kind=code.lower()).inc()
        await self.change_state(
            StateRequest(TradingState.REDUCING, f"{code}: {detail}"[:250], Source.LIMIT)
        )

    # ------------------------------------------------------------------ storage

    async def storage_failed(self, exc: BaseException) -> None:
        """A database call failed: REDUCING now, alert, keep running."""
        now = time.monotonic()
        if self.storage_down_since is None:
            self.storage_down_since = now
        self.storage_failures += 1
        log.error(
            "storage_unavailable",
            error=f"{type(exc).__name__}: {str(exc)[:300]}",
            down_s=round(now - self.storage_down_since, 1),
            failures=self.storage_failures,
            alert=True,
        )
        await self.reduce(STORAGE, f"database unavailable ({type(exc).__name__})")

    async def storage_recovered(
        self, repo: Repository, orders: OrderManager, state: TradingStateMachine
    ) -> None:
        """After a loop pass: store what waited (this write doubles as the probe)."""
        if self.storage_down_since is None and not self.pending:
            return
        for transition in list(self.pending):
            await repo.record_trading_state(
                transition.new,
                ts_ms=transition.ts_ms,
                reason=transition.reason,
                source=transition.source.value,
                old_state=transition.old,
            )
            self.pending.remove(transition)
        await orders.flush_unsaved()
        if self.storage_down_since is not None:
            log.warning(
                "storage_recovered",
                down_s=round(time.monotonic() - self.storage_down_since, 1),
                failures=self.storage_failures,
                state=state.state.value,
            )
        self.storage_down_since = None
        self.storage_failures = 0

    # ------------------------------------------------------------------ venue

    async def venue_fatal(self, exc: BaseException) -> None:
        """Credentials refused, unfixable clock skew, ...: stop taking risk, alert."""
        log.error("venue_fatal", error=str(exc)[:300], alert=True)
        await self.reduce(VENUE_FATAL, str(exc)[:200])

    # ------------------------------------------------------------------ anything else

    async def cycle_failed(self, exc: BaseException) -> None:
        """An error nobody expected inside a cycle: stop taking risk, alert, keep running."""
        log.error(
            "cycle_failed",
            error=f"{type(exc).__name__}: {str(exc)[:300]}",
            exc_info=exc,
            alert=True,
        )
        await self.reduce(CYCLE_ERROR, f"{type(exc).__name__}: {str(exc)[:200]}")

    # ------------------------------------------------------------------ lease

    async def keep_lease(
        self, lease: Lease, stop: asyncio.Event, state: Callable[[], TradingState]
    ) -> None:
        """Renew the lease; when it lapses go REDUCING and take it back, or stop (set ``stop``)
        if another instance holds it now."""
        while True:
            try:
                await lease.keep_alive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("lease_lost", error=str(exc)[:300], alert=True)
                # A database refusal leaves the transition in ``pending`` (``Daemon.commit``).
                await self.reduce(LEASE, str(exc)[:200])
            while True:
                await asyncio.sleep(LEASE_RETRY_S)
                try:
                    await lease.acquire()
                except LeaseHeldError as exc:
                    log.error("lease_taken_over", error=str(exc)[:400], alert=True)
                    stop.set()
                    return
                except Exception as exc:
                    log.warning("lease_reacquire_failed", error=str(exc)[:200])
                    continue
                log.warning("lease_reacquired", state=state().value)
                break

    # ------------------------------------------------------------------ process figures

    def sample(self) -> tuple[int, int]:
        """Update the task-count and memory gauges; return ``(tasks, rss_bytes)``."""
        tasks, rss = asyncio_tasks(), rss_bytes()
        self.metrics.asyncio_tasks.set(tasks)
        self.metrics.resident_memory.set(rss)
        return tasks, rss
