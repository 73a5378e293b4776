"""The kill switch (RISK.md, "Kill switch and operator signals").

Cancel every open order, close every position with reduce-only market orders, then verify
against the venue that the account is flat with no open orders. Only a verified flat account
counts as success. Every failed attempt raises an alert and is retried with backoff, so it keeps
working while the exchange is degraded (rate limits, 5xx, timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain import OrderIntent, PositionReport, TradingState
from bot.execution.orders import NewOrder, OrderManager
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.risk import Source, StateRequest, TradingStateMachine, Transition
from bot.venues.base import Venue

log = get_logger("rotor.kill")

# Reasons of the kill switch's state changes start with this (a restart resumes an
# unfinished "KILL: flattening").
KILL_REASON = "KILL"

# The risk manager turns a kill intent into an order (reduce-only, allowed in every state).
Approver = Callable[[OrderIntent], NewOrder | None]


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
            try:
                canceled += await self._cancel_all()
                closed += await self._close_all()
                if await self._verify_flat():
                    log.warning(
                        "kill_switch_flat", attempts=attempt, canceled=canceled, closed=closed
                    )
                    return KillResult(attempt, canceled, closed)
                problem = "venue not flat yet"
            except Exception as exc:  # keep going whatever the venue does
                problem = f"{type(exc).__name__}: {exc}"
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

    async def _cancel_all(self) -> int:
        count = 0
        for report in await self.venue.fetch_open_orders():
            if report.client_order_id not in self.orders.orders:
                await self.orders.adopt(report, intent="kill-cancel")
            await self.orders.cancel(report.client_order_id)
            count += 1
        return count

    async def _close_all(self) -> int:
        count = 0
        for pos in await self.venue.fetch_positions():
            if pos.qty <= 0:
                continue
            new = self.approve(self._intent(pos))
            if new is None:
                raise RuntimeError(f"risk manager refused the kill-switch close of {pos.symbol}")
            result = await self.orders.submit(new)
            if result.outcome == "rejected":
                raise RuntimeError(f"close of {pos.symbol} rejected: {result.detail}")
            count += 1
        return count

    async def _verify_flat(self) -> bool:
        positions = [p for p in await self.venue.fetch_positions() if p.qty > 0]
        open_orders = await self.venue.fetch_open_orders()
        if positions or open_orders:
            log.warning(
                "kill_switch_not_flat",
                positions=[p.symbol for p in positions],
                open_orders=[o.client_order_id for o in open_orders],
            )
            return False
        return True

    @staticmethod
    def _intent(pos: PositionReport) -> OrderIntent:
        return OrderIntent(
            symbol=pos.symbol,
            side=pos.side,
            kind="kill",
            reference_price=pos.mark_price,
            qty=pos.qty,
            reduce_only=True,
            reason="kill switch",
            source="kill",
        )


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
