"""A breaker's kill ends at HALTED and flat; the breaker still firing afterwards (equity stays
below the peak until an operator resumes) must not re-run the kill switch on every bar.

Found by ``make run``: the bundled demo trips the 15 % max-drawdown breaker in the October
2025 crash and then ran the kill switch (three venue calls and three warnings) on each of
the remaining bars. Here a 2 % max drawdown trips it within a two-week slice, through the
daemon in replay mode and through the backtester with every bar a full cycle.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.backtest.data import prepare
from bot.backtest.runner import BacktestRunner
from bot.config import Settings
from bot.data.sample import sample_dir
from bot.domain import TradingState
from bot.runtime.daemon import Daemon
from tests.integration.backtest.test_replay_equals_backtest import (
    END_MS,
    START_MS,
    _settings,
    copy_until,
)


def _tight(settings: Settings) -> Settings:
    risk = settings.risk.model_copy(update={"max_drawdown": 0.02, "daily_loss_limit": 0.5})
    return settings.model_copy(update={"risk": risk})


async def _replay(settings: Settings) -> tuple[Daemon, int]:
    daemon = Daemon(settings, environ={})
    await daemon.start()
    runs = 0
    original = daemon.services.killswitch.run

    async def counted(*args: Any, **kw: Any) -> Any:
        nonlocal runs
        runs += 1
        return await original(*args, **kw)

    daemon.services.killswitch.run = counted  # type: ignore[method-assign]
    await asyncio.wait_for(daemon.run(), timeout=240)
    return daemon, runs


def test_max_drawdown_kill_runs_once_then_stays_halted(tmp_path: Path) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", END_MS)
    settings = _tight(_settings(data, tmp_path / "rotor.db"))

    daemon, runs = asyncio.run(_replay(settings))
    assert daemon.state.state is TradingState.HALTED
    assert "MAX_DRAWDOWN" in daemon.state.current.reason
    assert runs == 1
    assert not daemon.services.core.kill_requested
    assert daemon.services.core.halted_and_flat()

    effective, loaded = prepare(settings, data)
    runner = BacktestRunner(effective, loaded, start_ms=START_MS, quiet_bars=False)
    out = asyncio.run(runner.run())
    assert runner.state.state is TradingState.HALTED
    assert out.stats.kills == 1
    # Both paths traded the same way up to the kill and nothing after it.
    assert [(e.symbol, e.ts, e.qty) for e in out.engine.executions] == [
        (e.symbol, e.ts, e.qty)
        for e in daemon.services.bundle.engine.executions  # type: ignore[attr-defined]
    ]
