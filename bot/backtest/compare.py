"""``--compare``: several presets on the same data, one table (STRATEGY.md, "Presets")."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.backtest.data import prepare, universe_settings
from bot.backtest.report import COMPARE_COLUMNS
from bot.backtest.result import BacktestResult, run_prepared, warmup_begin
from bot.backtest.runner import ProgressHook, default_start
from bot.config import Settings
from bot.signals.engine import SignalEngine
from bot.signals.params import PRESETS


def parse_presets(text: str) -> list[str]:
    """``a,b,c`` → preset names; ValueError naming any unknown one."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise ValueError("--compare: no preset given")
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise ValueError(f"--compare: unknown preset(s) {unknown} (valid: {', '.join(PRESETS)})")
    if len(set(names)) != len(names):
        raise ValueError("--compare: a preset is listed twice")
    return names


def run_compare(
    settings_for: Any,
    presets: Sequence[str],
    data_dir: Path,
    *,
    start_ms: int | None,
    end_ms: int | None,
    progress: ProgressHook | None = None,
) -> list[BacktestResult]:
    """Run each preset (``settings_for(preset) -> Settings``) on data loaded once, over one
    window: without ``start_ms``, from the latest of the presets' own default starts (a preset
    that reads no layer would start far earlier alone: ``SignalEngine.warmup_hours``)."""
    all_settings: list[Settings] = [settings_for(p) for p in presets]
    begin = warmup_begin(all_settings, start_ms)
    _, data = prepare(all_settings[0], data_dir, end_ms, begin_ms=begin)
    if start_ms is None:
        ts = data.market.ts
        start_ms = max(
            default_start(ts, SignalEngine.from_settings(s).warmup_hours) for s in all_settings
        )
    results = []
    for name in presets:
        s = universe_settings(settings_for(name), data_dir)
        results.append(run_prepared(s, data, start_ms=start_ms, progress=progress))
    return results


def table_rows(results: Sequence[BacktestResult]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the side-by-side table."""
    header = ["preset", *(title for _, title, _ in COMPARE_COLUMNS)]
    rows = [[r.preset, *(f(r.summary.get(k)) for k, _, f in COMPARE_COLUMNS)] for r in results]
    return header, rows
