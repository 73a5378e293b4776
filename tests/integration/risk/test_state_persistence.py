"""Trading-state transitions survive a restart, on SQLite and PostgreSQL (RISK.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import TradingState
from bot.risk.state import (
    DAY_MS,
    IllegalStateChange,
    Source,
    StateRequest,
    TradingStateMachine,
    Transition,
    from_stored,
    next_utc_midnight,
)
from bot.storage.db import create_engine
from bot.storage.repository import Repository

T0 = 1_700_000_000_000
A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def writer(repo: Repository) -> Callable[[Transition], Awaitable[None]]:
    async def persist(t: Transition) -> None:
        await repo.record_trading_state(
            t.new, ts_ms=t.ts_ms, reason=t.reason, source=t.source.value, old_state=t.old
        )

    return persist


async def boot(url: str) -> tuple[TradingStateMachine, Repository, AsyncEngine]:
    """What the daemon does at start-up: a fresh engine, the last stored transition."""
    engine = create_engine(url)
    repo = Repository(engine)
    return TradingStateMachine(from_stored(await repo.latest_trading_state_event())), repo, engine


async def test_halted_survives_restarts_and_leaves_only_by_resume(migrated_url: str) -> None:
    sm, repo, engine = await boot(migrated_url)
    assert sm.state is A
    persist = writer(repo)
    await sm.persist(sm.propose(StateRequest(R, "PAUSE: SIGUSR1", Source.SIGNAL), T0), persist)
    await sm.persist(sm.propose(StateRequest(H, "MAX_DRAWDOWN: -15%", kill=True), T0 + 1), persist)
    await engine.dispose()

    # Restart 1: still HALTED, no timer or limit brings it back.
    sm, repo, engine = await boot(migrated_url)
    assert sm.state is H
    assert (sm.current.old, sm.current.reason, sm.current.source) == (
        R,
        "MAX_DRAWDOWN: -15%",
        Source.LIMIT,
    )
    assert sm.propose_tick(T0 + 30 * DAY_MS) is None
    assert sm.propose(StateRequest(R, "DAILY_LOSS: -5%"), T0 + 2) is None
    with pytest.raises(IllegalStateChange):
        sm.propose_resume(T0 + 3, "automatic", Source.LIMIT)
    await sm.persist(
        sm.propose_resume(T0 + 4, "flat verified by operator", Source.CLI), writer(repo)
    )
    assert await repo.current_trading_state() is A
    await engine.dispose()

    # Restart 2: the resume persisted too; the whole history is there in order.
    sm, repo, engine = await boot(migrated_url)
    assert sm.state is A and sm.current.source is Source.CLI
    history = await repo.trading_state_history()
    assert [(e.old_state, e.new_state, e.source) for e in history] == [
        (A, R, "signal"),
        (R, H, "limit"),
        (H, A, "cli"),
    ]
    assert [e.ts for e in history] == [T0, T0 + 1, T0 + 4]
    await engine.dispose()


async def test_daily_loss_window_is_kept_across_a_restart(migrated_url: str) -> None:
    sm, repo, engine = await boot(migrated_url)
    await sm.persist(sm.propose(StateRequest(R, "DAILY_LOSS: -5.2%"), T0), writer(repo))
    await engine.dispose()

    sm, repo, engine = await boot(migrated_url)
    midnight = next_utc_midnight(T0)
    assert sm.state is R and sm.current.until_ms == midnight
    assert sm.propose_tick(midnight - 1) is None
    t = await sm.persist(sm.propose_tick(midnight), writer(repo))
    assert t is not None and t.new is A
    assert await repo.current_trading_state() is A
    await engine.dispose()


async def test_a_failed_write_does_not_move_the_state(migrated_url: str) -> None:
    sm, repo, engine = await boot(migrated_url)

    async def broken(_: Transition) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        await sm.persist(sm.propose(StateRequest(H, "KILL: api", Source.API), T0), broken)
    assert sm.state is A and await repo.current_trading_state() is A
    await engine.dispose()
