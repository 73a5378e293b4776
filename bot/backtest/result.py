"""A finished backtest as figures: trades, equity curve, summary; plus the one-call API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.metrics import EquityCurve, config_hash, monthly_returns, pnl_by, summarise
from bot.backtest.runner import BacktestRunner, ProgressHook, RunOutput, RunStats
from bot.backtest.signals import PrecomputedSignals
from bot.backtest.trades import EntryInfo, Trade, build_trades
from bot.config import Settings
from bot.risk import Transition
from bot.signals.engine import LayerMemo


@dataclass(slots=True)
class BacktestResult:
    """Everything the outputs and the comparison need."""

    settings: Settings
    preset: str
    summary: dict[str, Any]
    trades: list[Trade]
    curve: EquityCurve
    transitions: list[Transition]
    stats: RunStats
    start_equity: float

    def pnl_by_sector(self) -> list[tuple[str, float, int]]:
        return pnl_by(self.trades, "sector")

    def pnl_by_exit_reason(self) -> list[tuple[str, float, int]]:
        return pnl_by(self.trades, "exit_reason")

    def monthly(self) -> list[tuple[str, float]]:
        return monthly_returns(self.curve, self.start_equity)


def collect(out: RunOutput) -> BacktestResult:
    """Turn the run's records into trades, the equity curve and the summary."""
    eng = out.engine
    log = out.journal.equity
    curve = EquityCurve(
        ts=np.array(log.ts, dtype=np.int64),
        equity=np.array([float(e) for e in log.equity], dtype=np.float64),
        exposure=np.array(log.exposure, dtype=np.float64),
    )
    entries = {k: EntryInfo(p.leverage, p.stop_price) for k, p in out.journal.plans.items()}
    sectors = {s: i.sector for s, i in out.instruments.items()}
    trades = build_trades(eng.executions, eng.funding_payments, out.store.orders, entries, sectors)
    fees = sum((e.fee for e in eng.executions), Decimal(0))
    funding = sum((f.amount for f in eng.funding_payments), Decimal(0))
    liquidations = sum(1 for e in eng.executions if e.exec_type == "BustTrade")
    preset = out.settings.strategy.preset
    start_equity = float(out.starting_equity)
    summary = summarise(
        curve,
        trades,
        start_equity=start_equity,
        fees=fees,
        funding=funding,
        liquidations=liquidations,
        start_ms=out.start_ms,
        end_ms=out.end_ms,
        cfg_hash=config_hash(out.settings),
        preset=preset,
    )
    summary["bars"] = out.stats.bars
    summary["halted"] = any(t.new.value == "HALTED" for t in out.transitions)
    return BacktestResult(
        settings=out.settings,
        preset=preset,
        summary=summary,
        trades=trades,
        curve=curve,
        transitions=out.transitions,
        stats=out.stats,
        start_equity=start_equity,
    )


def run_backtest(
    settings: Settings,
    data_dir: Path,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    progress: ProgressHook | None = None,
) -> BacktestResult:
    """Load ``data_dir`` and backtest ``settings`` over ``[start_ms, end_ms)``."""
    from bot.backtest.data import prepare

    begin = warmup_begin([settings], start_ms)
    effective, data = prepare(settings, data_dir, end_ms, begin_ms=begin)
    return run_prepared(effective, data, start_ms=start_ms, progress=progress)


def warmup_begin(settings: list[Settings], start_ms: int | None) -> int | None:
    """Where the data a run starting at ``start_ms`` needs begins: the daemon's history
    window (``SignalEngine.window_hours`` + 48 h) before it; None = from the first bar."""
    if start_ms is None:
        return None
    from bot.signals.engine import SignalEngine

    hours = max(SignalEngine.from_settings(s).window_hours for s in settings) + 48
    return start_ms - hours * 3_600_000


def run_prepared(
    settings: Settings,
    data: Any,
    *,
    start_ms: int | None = None,
    progress: ProgressHook | None = None,
    memo: LayerMemo | None = None,
) -> BacktestResult:
    """Backtest on already loaded data (``--compare`` and ``optimize`` load once; ``memo``
    lets runs on the same data share the signal layers their parameters agree on)."""
    signals = PrecomputedSignals.from_settings(settings, memo=memo)
    runner = BacktestRunner(settings, data, start_ms=start_ms, progress=progress, signals=signals)
    return collect(asyncio.run(runner.run()))
