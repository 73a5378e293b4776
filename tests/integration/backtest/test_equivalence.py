"""The backtest's shortcuts change no trade: quiet-bar checks, skipped bars, and no
look-ahead."""

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


def _snapshots(out: Any) -> list[tuple[Any, ...]]:
    """Every cycle's recorded equity: what the backtest keeps of a snapshot (the time, the
    exact equity, the exposure)."""
    return list(out.journal.equity)


def _same_run(a: Any, b: Any) -> None:
    """Same fills, funding, equity path, state transitions and refusals."""
    assert _fills(a) == _fills(b)
    assert a.engine.funding_payments == b.engine.funding_payments
    assert a.engine.equity() == b.engine.equity()
    assert [(t.ts_ms, t.old, t.new, t.reason) for t in a.transitions] == [
        (t.ts_ms, t.old, t.new, t.reason) for t in b.transitions
    ]
    assert a.stats.rejections == b.stats.rejections
    assert _snapshots(a) == _snapshots(b)


PRESETS = [
    ("rsi-reversion", {}, True),
    ("rsi-reversion", {"risk.max_total_open_risk": 0.1, "strategy.stop_mode": "fixed"}, True),
    (
        "rsi-reversion",
        {"strategy.params.take_profit": True, "strategy.params.time_stop_bars": 6},
        True,
    ),
    (
        "rotation-reversion",
        {
            "strategy.params.require_leader": False,
            "strategy.params.gap_max": -0.03,
            "strategy.params.zgap_max": -0.5,
        },
        True,
    ),
    # The momentum ranking has no whole-window pre-filter: every bar may enter, none skipped.
    ("sector-momentum", {}, False),
    ("laggard-only", {"strategy.params.gap_max": -0.03, "strategy.params.zgap_max": -0.5}, True),
    (
        "laggard-only",
        {
            "strategy.params.exit_rule": "ema",
            "strategy.params.gap_max": -0.03,
            "strategy.params.zgap_max": -0.5,
        },
        True,
    ),
]


@pytest.mark.parametrize(("preset", "extra", "skips"), PRESETS)
def test_quiet_and_skipped_bars_change_no_trade(
    synth_dir: Path, preset: str, extra: dict[str, Any], skips: bool
) -> None:
    over = {"strategy.preset": preset, **extra}
    start = SYNTH_START_MS + 12 * DAY_MS
    fast = _run(synth_dir, over, start)
    quiet = _run(synth_dir, over, start, skip=False)
    full = _run(synth_dir, over, start, quiet_bars=False)
    assert full.stats.quiet_cycles == 0 and full.stats.skipped_cycles == 0
    assert quiet.stats.quiet_cycles > 0 and quiet.stats.skipped_cycles == 0
    assert (fast.stats.skipped_cycles > 0) is skips
    assert _fills(full)  # the preset trades on this data
    _same_run(quiet, full)
    _same_run(fast, full)


def test_quiet_bars_on_the_sample_through_a_halt() -> None:
    # The bundled sample's rsi-reversion run hits the max-drawdown kill switch.
    over = {"strategy.preset": "rsi-reversion"}
    fast = _run(sample_dir(), over, None)
    full = _run(sample_dir(), over, None, quiet_bars=False)
    assert fast.stats.kills >= 1 and fast.stats.skipped_cycles > 0
    _same_run(fast, full)


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


def test_each_funding_settlement_is_booked_once(synth_dir: Path) -> None:
    # Every pass re-reads the last ten minutes of account events; a settlement read again
    # must not be booked again (the repository's unique (symbol, ts), kept by the memory store).
    out = _run(synth_dir, {"strategy.preset": "rsi-reversion"}, SYNTH_START_MS + 12 * DAY_MS)
    venue = sorted((f.symbol, f.ts, f.amount) for f in out.engine.funding_payments)
    assert venue  # positions were held over settlements
    assert sorted((f.symbol, f.ts, f.amount) for f in out.store.funding) == venue
