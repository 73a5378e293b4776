"""A backtest cycle builds its market snapshots once: the quiet-bar check and the full cycle
(``TradingCore.on_bar(market=...)``) read the same ones, and the trades do not change."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.backtest.data import prepare
from bot.backtest.runner import BacktestRunner
from bot.config import load_settings
from bot.domain import Ticker
from bot.risk import MarketSnapshot

OVER = {"strategy.preset": "rsi-reversion", "risk.max_total_open_risk": 0.1}


def test_one_set_of_snapshots_per_cycle(synth_dir: Path) -> None:
    settings = load_settings(None, OVER, environ={})
    effective, data = prepare(settings, synth_dir, None)
    runner = BacktestRunner(effective, data)
    built: list[Mapping[str, MarketSnapshot]] = []
    read: list[Mapping[str, MarketSnapshot]] = []

    async def run() -> Any:
        await runner._build()
        core = runner.core
        make, on_bar = core.market_snapshots, core.on_bar

        def counting(tickers: Mapping[str, Ticker], *a: Any) -> Mapping[str, MarketSnapshot]:
            out = make(tickers, *a)
            built.append(out)
            return out

        async def reading(*a: Any, **kw: Any) -> Any:
            read.append(kw["market"])
            return await on_bar(*a, **kw)

        core.market_snapshots = counting  # type: ignore[method-assign]
        core.on_bar = reading  # type: ignore[method-assign]
        runner._build = _built  # type: ignore[method-assign]
        return await runner.run()

    async def _built() -> None:
        return None

    out = asyncio.run(run())
    stats = out.stats
    assert stats.full_cycles > 0 and stats.quiet_cycles > 0
    assert len(built) == stats.full_cycles + stats.quiet_cycles  # one set per cycle
    assert len(read) == stats.full_cycles
    assert all(any(m is b for b in built) for m in read)  # the cycle's own set
    # Same run as without the shared snapshots' spies (fills and refusals).
    again = asyncio.run(BacktestRunner(effective, data).run())
    assert [(e.symbol, e.ts, e.qty, e.price) for e in out.engine.executions] == [
        (e.symbol, e.ts, e.qty, e.price) for e in again.engine.executions
    ]
    assert again.stats.rejections == stats.rejections
