"""Small constructed markets and a scripted signal source for hand-checkable backtests.

The scripted engine replaces only the signal rules: its intents still go through
``TradingCore`` (risk checks, order manager, stops, reconciliation) and the ``SimEngine``
(fills, fees, funding, stops, liquidation), exactly like the real signal engine's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.data import prepare
from bot.backtest.result import BacktestResult, collect
from bot.backtest.runner import BacktestRunner
from bot.backtest.signals import PrecomputedSignals
from bot.config import Settings, load_settings
from bot.data.datadir import Funding, Ohlcv, write_funding, write_ohlcv
from bot.data.panel import HOUR_MS, Panel
from bot.domain import PositionSide
from bot.signals.evaluation import (
    EntryIntent,
    Evaluation,
    ExitIntent,
    PositionView,
    RegimeRow,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
H = HOUR_MS
Bar = tuple[float, float, float, float]  # open, high, low, close


def flat(n: int, price: float) -> list[Bar]:
    return [(price, price, price, price)] * n


def write_market(
    root: Path,
    bars: Mapping[str, Sequence[Bar]],
    funding: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    intervals: Mapping[str, int] | None = None,
    sectors: Mapping[str, str] | None = None,
) -> Path:
    """A data directory: hourly bars from ``T0``, funding as (hour, rate), exact instruments."""
    funding = funding or {}
    sectors = sectors or {}
    inst: dict[str, Any] = {}
    for sym, rows in bars.items():
        a = np.array(rows, dtype=np.float64)
        ts = T0 + np.arange(len(rows), dtype=np.int64) * H
        write_ohlcv(
            root / "ohlcv" / f"{sym}.parquet",
            Ohlcv(ts, a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.full(len(rows), 1e6)),
        )
        if sym in funding:
            f = np.array(funding[sym], dtype=np.float64)
            write_funding(
                root / "funding" / f"{sym}.parquet",
                Funding((T0 + f[:, 0] * H).astype(np.int64), f[:, 1]),
            )
        inst[sym] = {
            "tick_size": "0.01",
            "qty_step": "0.001",
            "min_qty": "0.001",
            "min_notional": "5",
            "funding_interval_h": (intervals or {}).get(sym, 8),
            "tiers": [{"floor": "0", "cap": "1000000", "mmr": "0.01", "max_leverage": "50"}],
        }
    (root / "instruments.json").write_text(json.dumps(inst), encoding="utf-8")
    lines = ["symbol,sector", "BTCUSDT,benchmark"]
    lines += [f"{s},{sectors.get(s, 'l1')}" for s in bars if s != "BTCUSDT"]
    (root / "sectors.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def settings(**over: Any) -> Settings:
    """Round numbers: 10,000 USDT, 0.05 % taker fee, no slippage, 5x, 2 % risk, no cost
    allowance, an 8 % fixed stop."""
    base: dict[str, Any] = {
        "backtest.starting_equity": 10_000,
        "backtest.fee_taker": 0.0005,
        "backtest.slippage": 0.0,
        "risk.leverage": 5,
        "risk.cost_allowance": 0.0,
        "risk.risk_per_trade": 0.02,
        "strategy.stop_mode": "fixed",
        "strategy.stop_pct": 0.08,
    }
    base.update(over)
    return load_settings(None, base, environ={})


@dataclass
class Script:
    """Entries ``(bar j, symbol, rank)`` and exits ``(bar j, symbol)``, decided at j's close."""

    entries: list[tuple[int, str, float]] = field(default_factory=list)
    exits: list[tuple[int, str]] = field(default_factory=list)
    stop_distance: float = 0.08


class ScriptedSignals(PrecomputedSignals):
    """The signal engine's interface with scripted decisions instead of rules."""

    script: Script

    def precompute(self, panel: Panel) -> Any:
        self._panel = panel
        return None

    def evaluate(
        self,
        panel: Panel,
        j: int | None = None,
        positions: Sequence[PositionView] = (),
        predicted_f8h: Mapping[str, float] | None = None,
    ) -> Evaluation:
        jj = panel.n_bars - 1 if j is None else j
        held = {p.symbol: p for p in positions}
        entries = [
            EntryIntent(
                sym,
                PositionSide.LONG,
                None,
                rank,
                float(panel.close[panel.index[sym], jj]),
                self.script.stop_distance,
                1.0,
                None,
                ("scripted",),
            )
            for at, sym, rank in self.script.entries
            if at == jj and sym not in held
        ]
        entries.sort(key=lambda e: (-e.rank, e.symbol))
        exits = [
            ExitIntent(sym, held[sym].side, ("exit_rsi",))
            for at, sym in self.script.exits
            if at == jj and sym in held
        ]
        regime = RegimeRow(True, None, None)
        return Evaluation(panel.close_time(jj), jj, "scripted", regime, [], [], [], entries, exits)

    def next_intent_at(self, j: int, positions: Sequence[PositionView] = ()) -> int:
        """The next scripted bar: the bars between are skipped, as the rules' own filters
        let the backtest skip them (so these hand-checked scenarios run with skipping)."""
        bars = [at for at, *_ in (*self.script.entries, *self.script.exits) if at > j]
        return min(bars, default=self._panel.n_bars)


def run(root: Path, s: Settings, script: Script, *, start_hour: int = 10) -> BacktestResult:
    """Backtest ``root`` with scripted signals from ``T0 + start_hour``."""
    effective, data = prepare(s, root)
    signals = ScriptedSignals.from_settings(effective)
    signals.script = script
    runner = BacktestRunner(effective, data, start_ms=T0 + start_hour * H, signals=signals)
    return collect(asyncio.run(runner.run()))
