"""The trading state machine: ACTIVE, REDUCING, HALTED (RISK.md, "Trading state").

- ACTIVE allows everything; REDUCING only reduce-only orders and cancels; HALTED only cancels
  and the kill switch's flattening.
- Every transition carries its time, reason and source (limit, signal, api, cli, file).
- Limits may only make the state stricter. Leaving HALTED, or a sticky REDUCING, takes an
  explicit ``resume`` from an operator source. The one timed state is the daily-loss REDUCING,
  which ends at the next 00:00 UTC; its end is derived from the reason code and the transition
  time, so it survives a restart without extra columns.
- ``decide`` is pure; ``TradingStateMachine`` holds the current transition and hands every new
  one to an injected sink (the storage repository, directly or through a queue) — persistence
  is the caller's port, this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain import TradingState

DAY_MS = 86_400_000
_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Source(StrEnum):
    """Who asked for a transition."""

    LIMIT = "limit"
    SIGNAL = "signal"
    API = "api"
    CLI = "cli"
    FILE = "file"


OPERATOR_SOURCES = frozenset({Source.SIGNAL, Source.API, Source.CLI, Source.FILE})

# Reason codes that open a transition's reason text ("CODE: details").
DAILY_LOSS = "DAILY_LOSS"
MAX_DRAWDOWN = "MAX_DRAWDOWN"
ORDER_RATE = "ORDER_RATE"
DAY_ROLLOVER = "DAY_ROLLOVER"
RESUME = "RESUME"
PAUSE = "PAUSE"
KILL = "KILL"
TIMED_REASONS = frozenset({DAILY_LOSS})


class IllegalStateChange(ValueError):
    """A transition the rules forbid (e.g. a limit trying to resume trading)."""


def next_utc_midnight(ts_ms: int) -> int:
    """The first 00:00 UTC strictly after ``ts_ms``."""
    return (ts_ms // DAY_MS + 1) * DAY_MS


def reason_code(reason: str) -> str:
    """The leading ``CODE`` of a ``"CODE: details"`` reason."""
    return reason.split(":", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class Transition:
    """One persisted state change (also used as "the current state")."""

    ts_ms: int
    old: TradingState
    new: TradingState
    reason: str
    source: Source

    @property
    def until_ms(self) -> int | None:
        """When a timed REDUCING ends by itself (the next UTC day), else None."""
        if self.new is TradingState.REDUCING and reason_code(self.reason) in TIMED_REASONS:
            return next_utc_midnight(self.ts_ms)
        return None

    @classmethod
    def from_record(cls, ts_ms: int, old: str, new: str, reason: str, source: str) -> Transition:
        """Rebuild from a stored row; unknown values raise ``ValueError`` naming the field."""
        try:
            return cls(ts_ms, TradingState(old), TradingState(new), reason, Source(source))
        except ValueError as exc:
            raise ValueError(
                f"stored trading-state transition at {ts_ms} is invalid: {exc}"
            ) from None


INITIAL = Transition(
    0, TradingState.ACTIVE, TradingState.ACTIVE, "INITIAL: no stored state", Source.LIMIT
)


@dataclass(frozen=True, slots=True)
class StateRequest:
    """A request to change state; ``kill`` asks the runtime to flatten (the max-drawdown breaker)."""

    target: TradingState
    reason: str
    source: Source = Source.LIMIT
    kill: bool = False


def decide(current: Transition, request: StateRequest, now_ms: int) -> Transition | None:
    """The transition ``request`` causes from ``current``, or None if it changes nothing.

    Stricter targets always apply. Same-rank requests only matter when a sticky REDUCING
    replaces a timed one. A less strict target is ignored unless the reason is a ``RESUME``
    from an operator source; a ``RESUME`` from a limit raises ``IllegalStateChange``.
    """
    cur, tgt = current.new, request.target
    if _RANK[tgt] > _RANK[cur]:
        return Transition(now_ms, cur, tgt, request.reason, request.source)
    if tgt is cur:
        timed_now = current.until_ms is not None
        timed_new = reason_code(request.reason) in TIMED_REASONS
        if tgt is TradingState.REDUCING and timed_now and not timed_new:
            return Transition(now_ms, cur, tgt, request.reason, request.source)
        return None
    if reason_code(request.reason) != RESUME:
        return None  # already stricter than asked: a pause or breaker never loosens the state
    if request.source not in OPERATOR_SOURCES:
        raise IllegalStateChange(
            f"{request.source} cannot resume trading from {cur}: leaving {cur} takes an explicit "
            "resume from an operator (signal, api, cli or file)"
        )
    return Transition(now_ms, cur, tgt, request.reason, request.source)


def expire(current: Transition, now_ms: int) -> Transition | None:
    """A timed REDUCING whose window has passed returns to ACTIVE (source ``limit``)."""
    until = current.until_ms
    if until is not None and now_ms >= until:
        return Transition(
            now_ms,
            TradingState.REDUCING,
            TradingState.ACTIVE,
            f"{DAY_ROLLOVER}: daily loss window ended at {until}",
            Source.LIMIT,
        )
    return None


# Reduce-only orders that protect a position: its stop, and the market close that replaces a
# stop the price already crossed (RELIABILITY.md #36, #42).
PROTECTIVE_KINDS = frozenset({"stop", "stop_close"})


def allows(state: TradingState, kind: str, reduce_only: bool) -> bool:
    """Whether an order of ``kind`` may be sent in ``state``. Cancels, the kill switch and
    reduce-only protective stops are always allowed: they can never add risk (RELIABILITY.md
    #42, a position found while HALTED still gets its stop)."""
    if kind == "cancel" or kind == "kill" or (kind in PROTECTIVE_KINDS and reduce_only):
        return True
    if state is TradingState.ACTIVE:
        return True
    if state is TradingState.REDUCING:
        return reduce_only
    return False


Sink = Callable[[Transition], None]
AsyncSink = Callable[[Transition], Awaitable[object]]


class StoredTransition(Protocol):
    """Anything shaped like a stored row (``bot.storage.TradingStateEvent``)."""

    @property
    def ts(self) -> int: ...
    @property
    def old_state(self) -> TradingState | str: ...
    @property
    def new_state(self) -> TradingState | str: ...
    @property
    def reason(self) -> str: ...
    @property
    def source(self) -> str: ...


def from_stored(event: StoredTransition | None) -> Transition | None:
    """The last stored transition as a ``Transition`` (None when nothing was stored)."""
    if event is None:
        return None
    return Transition.from_record(
        event.ts, str(event.old_state), str(event.new_state), event.reason, event.source
    )


class TradingStateMachine:
    """Holds the current state; every transition is persisted before the state moves.

    Synchronous callers inject ``sink``. Async storage uses the two-step form::

        t = machine.propose(request, now_ms)      # pure: nothing changes yet
        await machine.persist(t, repo_writer)     # write, then commit in memory
    """

    def __init__(self, current: Transition | None = None, sink: Sink | None = None) -> None:
        self._current = current or INITIAL
        self._sink = sink

    @property
    def current(self) -> Transition:
        """The transition that produced the current state."""
        return self._current

    @property
    def state(self) -> TradingState:
        return self._current.new

    # ----------------------------------------------------------------- pure proposals

    def propose(self, request: StateRequest, now_ms: int) -> Transition | None:
        """What ``request`` would do now, without doing it (see ``decide``)."""
        return decide(self._current, request, now_ms)

    def propose_resume(
        self, now_ms: int, reason: str, source: Source, to: TradingState = TradingState.ACTIVE
    ) -> Transition | None:
        """What an explicit resume would do; only operator sources may resume."""
        if source not in OPERATOR_SOURCES:
            raise IllegalStateChange(f"resume needs an operator source, not {source}")
        if _RANK[to] > _RANK[self.state]:
            raise IllegalStateChange(f"resume cannot go from {self.state} to stricter {to}")
        text = reason if reason_code(reason) == RESUME else f"{RESUME}: {reason}"
        return decide(self._current, StateRequest(to, text, source), now_ms)

    def propose_tick(self, now_ms: int) -> Transition | None:
        """Whether a timed REDUCING has expired."""
        return expire(self._current, now_ms)

    def commit(self, transition: Transition | None) -> Transition | None:
        """Adopt a persisted proposal; it must start from the current state."""
        if transition is None:
            return None
        if transition.old is not self.state:
            raise IllegalStateChange(
                f"stale proposal {transition.old} -> {transition.new}: state is now {self.state}"
            )
        self._current = transition
        return transition

    async def persist(self, transition: Transition | None, sink: AsyncSink) -> Transition | None:
        """Await ``sink(transition)`` then commit; a failing sink leaves the state unchanged."""
        if transition is None:
            return None
        await sink(transition)
        return self.commit(transition)

    # ------------------------------------------------------------- synchronous forms

    def _apply(self, transition: Transition | None) -> Transition | None:
        if transition is not None and self._sink is not None:
            self._sink(transition)
        return self.commit(transition)

    def request(self, request: StateRequest, now_ms: int) -> Transition | None:
        """Apply a request (from a limit, breaker or operator); see ``decide``."""
        return self._apply(self.propose(request, now_ms))

    def reduce(self, now_ms: int, reason: str, source: Source) -> Transition | None:
        """Pause entries (SIGUSR1, ``POST /pause``, a breaker)."""
        return self.request(StateRequest(TradingState.REDUCING, reason, source), now_ms)

    def halt(self, now_ms: int, reason: str, source: Source) -> Transition | None:
        """Enter HALTED (the kill switch records this before it starts flattening)."""
        return self.request(StateRequest(TradingState.HALTED, reason, source, kill=True), now_ms)

    def resume(
        self, now_ms: int, reason: str, source: Source, to: TradingState = TradingState.ACTIVE
    ) -> Transition | None:
        """Explicitly leave HALTED or REDUCING; only operator sources may."""
        return self._apply(self.propose_resume(now_ms, reason, source, to))

    def tick(self, now_ms: int) -> Transition | None:
        """Let a timed REDUCING expire; call once per cycle."""
        return self._apply(self.propose_tick(now_ms))

    def allows(self, kind: str, reduce_only: bool) -> bool:
        """``allows`` for the current state."""
        return allows(self.state, kind, reduce_only)
