"""The trading state machine: stricter always wins, leaving HALTED takes an explicit resume."""

from __future__ import annotations

import pytest

from bot.domain import TradingState
from bot.risk.state import (
    DAY_MS,
    INITIAL,
    IllegalStateChange,
    Source,
    StateRequest,
    TradingStateMachine,
    Transition,
    allows,
    next_utc_midnight,
)

A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def machine() -> tuple[TradingStateMachine, list[Transition]]:
    log: list[Transition] = []
    return TradingStateMachine(sink=log.append), log


def test_starts_active_and_records_every_transition_with_time_reason_source() -> None:
    sm, log = machine()
    assert sm.state is A and sm.current is INITIAL
    t = sm.reduce(T0, "PAUSE: SIGUSR1", Source.SIGNAL)
    assert t == Transition(T0, A, R, "PAUSE: SIGUSR1", Source.SIGNAL)
    sm.halt(T0 + 1, "KILL: kill file appeared", Source.FILE)
    assert [(x.old, x.new, x.source) for x in log] == [(A, R, Source.SIGNAL), (R, H, Source.FILE)]
    assert sm.state is H


def test_halted_only_leaves_by_explicit_resume() -> None:
    sm, log = machine()
    sm.halt(T0, "KILL: api", Source.API)
    assert sm.reduce(T0 + 1, "PAUSE: SIGUSR1", Source.SIGNAL) is None
    assert sm.request(StateRequest(A, "DAY_ROLLOVER: x"), T0 + 2) is None
    assert sm.tick(T0 + 10 * DAY_MS) is None
    assert sm.state is H
    with pytest.raises(IllegalStateChange, match="operator"):
        sm.resume(T0 + 3, "auto", Source.LIMIT)
    with pytest.raises(IllegalStateChange):
        sm.request(StateRequest(A, "RESUME: by a limit", Source.LIMIT), T0 + 3)
    t = sm.resume(T0 + 4, "operator checked the account", Source.CLI)
    assert t is not None and (t.old, t.new, t.reason) == (
        H,
        A,
        "RESUME: operator checked the account",
    )
    assert len(log) == 2


def test_resume_to_reducing_and_not_to_a_stricter_state() -> None:
    sm, _ = machine()
    sm.halt(T0, "KILL: x", Source.API)
    assert sm.resume(T0 + 1, "step down", Source.API, to=R) is not None
    assert sm.state is R
    with pytest.raises(IllegalStateChange, match="stricter"):
        sm.resume(T0 + 2, "x", Source.API, to=H)


def test_daily_loss_reducing_expires_at_the_next_utc_day() -> None:
    sm, log = machine()
    sm.request(StateRequest(R, "DAILY_LOSS: -5%"), T0)
    midnight = next_utc_midnight(T0)
    assert midnight % DAY_MS == 0 and 0 < midnight - T0 <= DAY_MS
    assert sm.current.until_ms == midnight
    assert sm.tick(midnight - 1) is None
    t = sm.tick(midnight)
    assert t is not None and (t.old, t.new, t.source) == (R, A, Source.LIMIT)
    assert len(log) == 2


def test_sticky_reducing_overrides_a_timed_one_and_never_expires() -> None:
    sm, log = machine()
    sm.request(StateRequest(R, "DAILY_LOSS: -5%"), T0)
    t = sm.request(StateRequest(R, "ORDER_RATE: 25/min"), T0 + 1)
    assert t is not None and t.old is R and t.new is R and t.until_ms is None
    assert sm.tick(T0 + 3 * DAY_MS) is None and sm.state is R
    # A timed request while sticky changes nothing.
    assert sm.request(StateRequest(R, "DAILY_LOSS: again"), T0 + 2) is None
    assert len(log) == 2


def test_sink_failure_leaves_the_state_unchanged() -> None:
    def boom(_: Transition) -> None:
        raise OSError("disk full")

    sm = TradingStateMachine(sink=boom)
    with pytest.raises(OSError):
        sm.halt(T0, "KILL: x", Source.API)
    assert sm.state is A


def test_restart_restores_the_last_transition() -> None:
    stored = Transition.from_record(T0, "REDUCING", "HALTED", "MAX_DRAWDOWN: -15%", "limit")
    sm = TradingStateMachine(stored)
    assert sm.state is H and sm.tick(T0 + 5 * DAY_MS) is None
    timed = Transition.from_record(T0, "ACTIVE", "REDUCING", "DAILY_LOSS: -6%", "limit")
    assert TradingStateMachine(timed).tick(next_utc_midnight(T0)) is not None
    with pytest.raises(ValueError, match="invalid"):
        Transition.from_record(T0, "ACTIVE", "PAUSED", "x", "limit")


@pytest.mark.parametrize(
    ("state", "kind", "reduce_only", "ok"),
    [
        (A, "entry", False, True),
        (R, "entry", False, False),
        (R, "exit", True, True),
        (R, "cancel", False, True),
        (H, "exit", True, False),
        (H, "cancel", False, True),
        (H, "kill", True, True),
        (H, "stop", True, True),
        (H, "stop", False, False),
        (R, "stop", True, True),
    ],
)
def test_allows(state: TradingState, kind: str, reduce_only: bool, ok: bool) -> None:
    assert allows(state, kind, reduce_only) is ok


def test_propose_is_pure_and_commit_rejects_stale_proposals() -> None:
    sm = TradingStateMachine()
    p1 = sm.propose(StateRequest(R, "PAUSE: x", Source.API), T0)
    p2 = sm.propose(StateRequest(H, "KILL: y", Source.API), T0)
    assert sm.state is A
    assert sm.commit(p1) is p1 and sm.state is R
    with pytest.raises(IllegalStateChange, match="stale"):
        sm.commit(p2)
    assert sm.commit(None) is None


async def test_persist_commits_only_after_the_write() -> None:
    sm = TradingStateMachine()
    seen: list[TradingState] = []

    async def write(t: Transition) -> None:
        seen.append(sm.state)  # still the old state while writing

    t = await sm.persist(sm.propose(StateRequest(H, "KILL: x", Source.FILE), T0), write)
    assert t is not None and seen == [A] and sm.state is H
