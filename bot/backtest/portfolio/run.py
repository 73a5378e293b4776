"""The portfolio backtest: ``BacktestRunner``'s run of the daemon's ``PortfolioCore``
(docs/portfolio.md, "Backtest") — the very execution replay, paper and testnet run — with a
recorder on the core for the report, and the two baselines as target policies of the same
core on engines of their own.

The report's figures come from the objects that traded: the NAV series is the journal's
equity snapshot of every cycle, the fills, fees, funding and roles' P&L are the engine's
(``flows``), the weights, decision records, skipped rebalances and kills are what the core
told its observer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import numpy as np

from bot.backtest.data import BacktestData, prepare
from bot.backtest.portfolio.baselines import baseline_settings, baselines
from bot.backtest.portfolio.flows import Flows, flows_of
from bot.backtest.portfolio.weights import Weights, weights_of
from bot.backtest.result import warmup_begin
from bot.backtest.runner import BacktestRunner, ProgressHook, RunOutput
from bot.backtest.signals import PrecomputedSignals
from bot.config import Settings
from bot.portfolio.allocate import Allocation
from bot.portfolio.config import PortfolioConfig
from bot.portfolio.explain import AllocationRecord, Rule
from bot.portfolio.holdings import Holdings, MissingPrice
from bot.risk import Transition
from bot.runtime.portfolio_core import Policy, PortfolioCore
from bot.signals.engine import LayerMemo
from bot.signals.evaluation import Evaluation
from bot.sim.engine import SimEngine

HOUR_MS = 3_600_000


def _worth_keeping(r: AllocationRecord) -> bool:
    """decisions.jsonl leaves out a token inside its band and the daily "no hedge" note;
    every other record (targets, trades, waits, transfers, roles) is written."""
    rule = r.explanation.rule
    return rule is not Rule.HOLD_IN_BAND and not (r.subject == "hedge" and rule is Rule.HEDGE_CLOSE)


@dataclass(slots=True)
class Recorder:
    """The core's observer: what the report needs of each rebalance and kill."""

    pf: PortfolioConfig
    engine: SimEngine
    weights: list[Weights] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)
    skips: dict[str, int] = field(default_factory=dict)  # skipped rebalances by cause
    rebalances: int = 0

    def rebalanced(
        self, ev: Evaluation, alloc: Allocation, after: Holdings, prices: Mapping[str, Decimal]
    ) -> None:
        self.rebalances += 1
        self.records.extend(r.to_json() for r in alloc.records() if _worth_keeping(r))
        sectors = {r.symbol: r.sector for r in ev.symbols}
        try:
            # The coins at the engine's spot prices the rebalance was sized and filled at.
            spot = alloc.spot_prices or None
            self.weights.append(
                weights_of(after, prices, alloc.targets, self.pf, sectors, ev.t, spot)
            )
        except MissingPrice:  # a coin bought at the next open lost its price at this close
            return

    def skipped(self, t: int, why: str) -> None:
        code = (
            "held_symbol_without_price" if why == MissingPrice.__name__ else "nothing_to_allocate"
        )
        self.skips[code] = self.skips.get(code, 0) + 1

    def killed(
        self, t: int, reason: str, sold: list[str], kept: list[str], left: list[str]
    ) -> None:
        """One record per kill: the core sells a coin the kill kept for want of a price at a
        later sync, which adds to the same kill's record (``last_t``)."""
        eng = self.engine
        flat = not left and not eng.positions
        last = self.kills[-1] if self.kills else None
        if last is not None and last["reason"] == reason:
            last["sold"] = sorted({*last["sold"], *sold})
            last["kept"] = [k for k in last["kept"] if k not in sold]
            last |= {"last_t": t, "flat": flat, "left": left, "nav": str(eng.equity())}
            return
        closed = sorted({x.symbol for x in eng.executions if x.ts == t and x.closed_size > 0})
        self.kills.append(
            {"t": t, "reason": reason, "sold": sold, "closed": closed, "kept": kept,
             "flat": flat, "left": left, "nav": str(eng.equity()), "last_t": t}
        )  # fmt: skip


class PortfolioBacktest(BacktestRunner):
    """``BacktestRunner`` on a portfolio config, with the core's policy and observer set."""

    def __init__(
        self,
        settings: Settings,
        data: BacktestData,
        *,
        policy: Policy | None = None,
        recorder: Recorder | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(settings, data, **kw)
        self.policy, self.recorder = policy, recorder

    async def _build(self) -> None:
        await super()._build()
        core = cast(PortfolioCore, self.core)
        if self.policy is not None:
            core.policy = self.policy
        core.observer = self.recorder


@dataclass(slots=True)
class PortfolioRun:
    """Everything the report needs."""

    settings: Settings
    start_ms: int
    end_ms: int
    starting_equity: Decimal
    ts: np.ndarray  # bar close times of the NAV series (int64 ms)
    nav: np.ndarray  # the portfolio's equity after each cycle
    baselines: dict[str, np.ndarray]  # baseline name → NAV on the same bars
    output: RunOutput  # the portfolio's engine, store and journal
    flows: Flows
    baseline_flows: dict[str, Flows]
    recorder: Recorder
    transitions: list[Transition] = field(default_factory=list)
    risk_refusals: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


def _series(out: RunOutput) -> dict[int, float]:
    """Equity per bar close (the last snapshot of a time: the close-out's)."""
    return {snap.ts: float(snap.equity) for snap in out.journal.equity}


def _on(ts: np.ndarray, series: dict[int, float], start: float) -> np.ndarray:
    """``series`` on the times ``ts`` (a time it lacks carries the previous value)."""
    out = np.empty(len(ts))
    last = start
    for k, t in enumerate(ts.tolist()):
        last = series.get(t, last)
        out[k] = last
    return out


def run_prepared(
    settings: Settings,
    data: BacktestData,
    *,
    start_ms: int | None = None,
    progress: ProgressHook | None = None,
) -> PortfolioRun:
    """The portfolio and its baselines on loaded data (the signal layers computed once)."""
    started = time.perf_counter()
    memo = LayerMemo(size=2)
    policies = baselines()
    base = baseline_settings(settings)
    recorder: Recorder | None = None
    outs: list[RunOutput] = []
    for i, policy in enumerate([None, *policies]):
        s = settings if policy is None else base
        runner = PortfolioBacktest(
            s, data, start_ms=start_ms, policy=policy,
            progress=None if progress is None else _part(progress, i, 1 + len(policies)),
            signals=PrecomputedSignals.from_settings(s, memo=memo),
        )  # fmt: skip
        if policy is None:
            recorder = runner.recorder = Recorder(s.portfolio, runner.engine)
        outs.append(asyncio.run(runner.run()))
    assert recorder is not None
    out = outs[0]
    series = _series(out)
    ts = np.asarray(list(series), dtype=np.int64)
    first = float(out.starting_equity)
    names = [b.name for b in policies]
    return PortfolioRun(
        settings=settings,
        start_ms=out.start_ms,
        end_ms=out.end_ms,
        starting_equity=out.starting_equity,
        ts=ts,
        nav=np.asarray(list(series.values()), dtype=np.float64),
        baselines={nm: _on(ts, _series(o), first) for nm, o in zip(names, outs[1:], strict=True)},
        output=out,
        flows=flows_of(out.engine, out.store),
        baseline_flows={
            nm: flows_of(o.engine, o.store) for nm, o in zip(names, outs[1:], strict=True)
        },
        recorder=recorder,
        transitions=list(out.transitions),
        risk_refusals=dict(out.stats.rejections),
        elapsed_s=time.perf_counter() - started,
    )


def _part(progress: ProgressHook, i: int, n: int) -> ProgressHook:
    """Run ``i`` of ``n``'s progress as a share of the whole."""
    return lambda done, total: progress(i * total + done, n * total)


def run_portfolio(
    settings: Settings,
    data_dir: Path,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    progress: ProgressHook | None = None,
) -> PortfolioRun:
    """Load ``data_dir`` (with the history the signals and the leaders' windows need before
    ``start_ms``) and backtest the portfolio over ``[start_ms, end_ms)``."""
    begin = warmup_begin([settings], start_ms)  # the signals' history
    if begin is not None and start_ms is not None:  # and the leaders' windows
        rc = settings.portfolio.rotation
        lookback = max(rc.liquidity_lookback_h, rc.momentum_lookback_h) + 48
        begin = min(begin, start_ms - lookback * HOUR_MS)
    effective, data = prepare(settings, data_dir, end_ms, begin_ms=begin)
    return run_prepared(effective, data, start_ms=start_ms, progress=progress)
