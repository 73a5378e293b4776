"""The backtest's shortcuts change no trade: quiet-bar checks, and no look-ahead."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.backtest.data import prepare
from bot.backtest.result import collect
from bot.backtest.runner import BacktestRunner
from bot.config import load_settings
from bot.data.sample import sample_dir
from tests.integration.backtest.conftest import DAY_MS, SYNTH_START_MS


def _run(root: Path, over: dict[str, Any], start_ms: int | None, **kw: Any) -> Any:
    settings = load_settings(None, over, environ={})
    effective, data = prepare(settings, root, kw.pop("end_ms", None))
    return asyncio.run(BacktestRunner(effective, data, start_ms=start_ms, **kw).run())


def _fills(out: Any) -> list[tuple[Any, ...]]:
    return [(e.symbol, e.side, e.ts, e.qty, e.price, e.exec_type) for e in out.engine.executions]


@pytest.mark.parametrize(
    ("preset", "extra"),
    [
        ("rsi-reversion", {}),
        ("rsi-reversion", {"risk.max_total_open_risk": 0.1, "strategy.stop_mode": "fixed"}),
        ("sector-momentum", {}),
        ("laggard-only", {"strategy.params.gap_max": -0.03, "strategy.params.zgap_max": -0.5}),
    ],
)
def test_quiet_bars_change_no_trade(synth_dir: Path, preset: str, extra: dict[str, Any]) -> None:
    over = {"strategy.preset": preset, **extra}
    start = SYNTH_START_MS + 12 * DAY_MS
    fast = _run(synth_dir, over, start)
    full = _run(synth_dir, over, start, quiet_bars=False)
    assert full.stats.quiet_cycles == 0 and fast.stats.quiet_cycles > 0
    assert _fills(full)  # the preset trades on this data
    assert _fills(fast) == _fills(full)
    assert fast.engine.equity() == full.engine.equity()
    assert [(t.ts_ms, t.new) for t in fast.transitions] == [
        (t.ts_ms, t.new) for t in full.transitions
    ]
    assert fast.stats.rejections == full.stats.rejections
    assert fast.journal.equity.equity == full.journal.equity.equity


def test_quiet_bars_on_the_sample_through_a_halt() -> None:
    # The bundled sample's rsi-reversion run hits the max-drawdown kill switch.
    over = {"strategy.preset": "rsi-reversion"}
    fast = _run(sample_dir(), over, None)
    full = _run(sample_dir(), over, None, quiet_bars=False)
    assert fast.stats.kills >= 1
    assert _fills(fast) == _fills(full)
    assert fast.engine.equity() == full.engine.equity()


def test_truncating_the_data_after_t_changes_no_earlier_trade(synth_dir: Path) -> None:
    over = {"strategy.preset": "rsi-reversion"}
    start = SYNTH_START_MS + 12 * DAY_MS
    cut = SYNTH_START_MS + 30 * DAY_MS
    full = collect(_run(synth_dir, over, start))
    short = collect(_run(synth_dir, over, start, end_ms=cut))
    assert short.summary["end"] < full.summary["end"]

    def entry(t: Any) -> tuple[Any, ...]:
        return (t.symbol, t.side, t.entry_time, t.entry_price, t.qty, t.leverage, t.stop_price)

    def whole(t: Any) -> tuple[Any, ...]:
        return (*entry(t), t.exit_time, t.exit_price, t.pnl, t.exit_reason)

    before = [entry(t) for t in full.trades if t.entry_time < cut]
    assert len(before) >= 5
    assert [entry(t) for t in short.trades if t.entry_time < cut] == before
    done = [whole(t) for t in full.trades if t.exit_time is not None and t.exit_time < cut]
    assert [whole(t) for t in short.trades if t.exit_reason != "end_of_data"] == done
