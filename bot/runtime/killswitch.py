"""The kill switch (RISK.md, "Kill switch and operator signals"; RELIABILITY.md #29-#31).

The venue is the source of truth: every attempt re-reads the venue's positions and open orders
and works from them, not from rotor's books (a position opened by hand, or a fill not yet seen,
is closed all the same). Each attempt:
1. cancels the open orders that could add risk (not reduce-only: entries, hand orders);
2. closes every position the venue reports with a reduce-only market order, approved by the
   risk manager against the venue's position;
3. re-reads the positions and cancels what is left (the protective stops) only where the
   position is gone: while a close fails, its stop stays on the venue (#31);
4. verifies against the venue that the account is flat with no open orders.
A failure on one symbol never stops the others: errors are collected, the attempt goes on, and
an attempt with errors fails. Only a verified flat account counts as success; every failed
attempt raises an alert and is retried with backoff, so it keeps working while the exchange is
degraded (rate limits, 5xx, timeouts). Orders without a client id are cancelled by venue id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain import OrderReport, PositionReport, TradingState
from bot.execution.client_ids import order_key
from bot.execution.orders import NewOrder, OrderManager
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import Source, StateRequest, TradingStateMachine, Transition
from bot.venues.base import Venue

log = get_logger("rotor.kill")

# Reasons of the kill switch's state changes start with this (a restart resumes an
# unfinished "KILL: flattening").
KILL_REASON = "KILL"

# The risk manager turns the venue's position into its reduce-only close (allowed in every
# state); None when it refuses.
Approver = Callable[[PositionReport], NewOrder | None]


class KillInterrupted(Exception):
    """The daemon is stopping before the account was verified flat (never a success)."""


@dataclass(frozen=True, slots=True)
class KillResult:
    attempts: int
    canceled: int
    closed: int


class KillSwitch:
    """Flattens the account and verifies it."""

    def __init__(
        self,
        venue: Venue,
        orders: OrderManager,
        approve: Approver,
        *,
        metrics: Metrics | None = None,
        max_backoff_s: float = 30.0,
        first_backoff_s: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.orders = orders
        self.approve = approve
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s
        self.first_backoff_s = first_backoff_s
        self.sleep = sleep

    async def run(
        self, reason: str, max_attempts: int | None = None, stop: asyncio.Event | None = None
    ) -> KillResult:
        """Repeat cancel → close → verify until the venue confirms flat.

        ``stop`` (the daemon's stop event) ends the retries with ``KillInterrupted`` between two
        failed attempts, so SIGTERM still exits in time; the next start resumes the kill.
        """
        attempt = 0
        canceled = closed = 0
        log.warning("kill_switch_started", reason=reason)
        while True:
            attempt += 1
            problems: list[str] = []
            try:
                canceled += await self._cancel(await self._risky_orders(), problems)
                closed += await self._close_all(problems)
                canceled += await self._cancel(await self._leftover_orders(), problems)
                if not problems and await self._verify_flat():
                    log.warning(
                        "kill_switch_flat", attempts=attempt, canceled=canceled, closed=closed
                    )
                    return KillResult(attempt, canceled, closed)
            except Exception as exc:  # keep going whatever the venue does
                problems.append(f"{type(exc).__name__}: {exc}")
            problem = "; ".join(problems) or "venue not flat yet"
            if self.metrics:
                self.metrics.alerts.labels(kind="kill_switch_retry").inc()
            log.error("kill_switch_attempt_failed", attempt=attempt, problem=problem, alert=True)
            if max_attempts is not None and attempt >= max_attempts:
                raise RuntimeError(
                    f"kill switch: account not verified flat after {attempt} attempts"
                )
            delay = min(self.max_backoff_s, self.first_backoff_s * 2 ** (attempt - 1))
            if stop is None:
                await self.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                raise KillInterrupted(
                    f"stopping after {attempt} attempts; the account is NOT verified flat "
                    "and the kill switch resumes at the next start"
                )

    async def _risky_orders(self) -> list[OrderReport]:
        """Open orders that could add risk (entries, orders placed by hand)."""
        return [o for o in await self.venue.fetch_open_orders() if not o.reduce_only]

    async def _leftover_orders(self) -> list[OrderReport]:
        """Open orders of symbols the venue no longer holds a position in (their stops)."""
        held = {p.symbol for p in await self.venue.fetch_positions() if p.qty > 0}
        return [o for o in await self.venue.fetch_open_orders() if o.symbol not in held]

    async def _cancel(self, reports: list[OrderReport], problems: list[str]) -> int:
        """Cancel each (by client id, or by venue id when it has none); collect failures."""
        count = 0
        for report in reports:
            key = order_key(report.client_order_id, report.venue_order_id)
            try:
                if key not in self.orders.orders:
                    await self.orders.adopt(report, intent="kill-cancel")
                result = await self.orders.cancel(key)
            except Exception as exc:
                problems.append(f"cancel {report.symbol} {key}: {type(exc).__name__}: {exc}")
                continue
            if result.order.is_terminal:
                count += 1
            else:
                problems.append(f"cancel {report.symbol} {key}: {result.outcome}")
        return count

    async def _close_all(self, problems: list[str]) -> int:
        """A reduce-only market close of every position the venue reports; collect failures."""
        count = 0
        for pos in await self.venue.fetch_positions():
            if pos.qty <= 0:
                continue
            try:
                new = self.approve(pos)
                if new is None:
                    raise RuntimeError("the risk manager refused the close")
                result = await self.orders.submit(new)
                if result.outcome != "confirmed":
                    raise RuntimeError(f"close {result.outcome}: {result.detail}")
            except Exception as exc:
                problems.append(f"close {pos.symbol}: {type(exc).__name__}: {exc}")
                continue
            count += 1
        return count

    async def _verify_flat(self) -> bool:
        positions = [p for p in await self.venue.fetch_positions() if p.qty > 0]
        open_orders = await self.venue.fetch_open_orders()
        if positions or open_orders:
            log.warning(
                "kill_switch_not_flat",
                positions=[p.symbol for p in positions],
                open_orders=[order_key(o.client_order_id, o.venue_order_id) for o in open_orders],
            )
            return False
        return True


async def flatten_and_halt(
    killswitch: KillSwitch,
    state: TradingStateMachine,
    commit: Callable[[Transition | None], Awaitable[None]],
    clock: Callable[[], int],
    *,
    source: Source,
    why: str,
    stop: asyncio.Event | None = None,
    max_attempts: int | None = None,
) -> KillResult:
    """The kill procedure of every mode: REDUCING while flattening, HALTED only once the venue
    confirms the account flat. ``KillInterrupted`` (a stop) leaves the state at "flattening",
    which the next start resumes."""
    await commit(
        state.propose(
            StateRequest(TradingState.REDUCING, f"{KILL_REASON}: flattening ({why})", source),
            clock(),
        )
    )
    result = await killswitch.run(
        f"kill switch ({source.value}: {why})", max_attempts=max_attempts, stop=stop
    )
    await commit(
        state.propose(
            StateRequest(TradingState.HALTED, f"{KILL_REASON}: verified flat ({why})", source),
            clock(),
        )
    )
    return result
