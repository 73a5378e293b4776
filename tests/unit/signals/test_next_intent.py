"""``SignalEngine.next_intent_at`` is a superset filter: every bar whose evaluation holds an
entry or an exit is at or before the next bar it names (each rule's ``*_bars`` test)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backtest.data import prepare
from bot.config import load_settings
from bot.data.panel import Panel
from bot.data.synthetic import generate
from bot.domain import PositionSide
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import PositionView

START_MS = 1_704_067_200_000  # 2024-01-01
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Panel:
    root = tmp_path_factory.mktemp("synth") / "data"
    generate(root, 12, 40, 5, n_sectors=3, start_ms=START_MS)
    settings = load_settings(None, {}, environ={})
    return prepare(settings, root, None)[1].panel  # type: ignore[no-any-return]


VARIANTS: list[dict[str, Any]] = [
    {"strategy.preset": "rsi-reversion"},
    {"strategy.preset": "rsi-reversion", "strategy.params.take_profit": True},
    # No exit rule and no time stop: a position's exit arrays extend chunk by chunk to the end.
    {"strategy.preset": "rsi-reversion", "strategy.params.exit_rule": "none"},
    {"strategy.preset": "rsi-reversion", "strategy.params.confirm": False},
    {"strategy.preset": "laggard-only", "strategy.params.exit_rule": "ema"},
    {"strategy.preset": "laggard-only", "strategy.params.exit_rule": "gap"},
    {"strategy.preset": "laggard-only", "strategy.params.confirm": False},
    {"strategy.preset": "rotation-reversion", "strategy.params.require_leader": False},
    {"strategy.preset": "rotation-reversion", "strategy.entry_timeframe": "4h"},
    {"strategy.preset": "sector-momentum"},
]


@pytest.mark.parametrize("over", VARIANTS)
def test_no_bar_with_an_intent_is_skipped(panel: Panel, over: dict[str, Any]) -> None:
    engine = SignalEngine.from_settings(load_settings(None, over, environ={}))
    engine.precompute(panel)
    first = 20 * 24
    entry_ms = int(panel.ts[first]) + HOUR_MS
    syms = list(panel.symbols)
    held = [
        PositionView(syms[1], PositionSide.LONG, entry_ms, 1.0),
        PositionView(syms[5], PositionSide.LONG, entry_ms - 7 * HOUR_MS, 1.0),
        PositionView(syms[9], PositionSide.SHORT, entry_ms, 1.0),
    ]
    checked = skipped = 0
    for positions in ([], held):
        nxt = first
        for j in range(first, panel.n_bars):
            ev = engine.evaluate_at(j, positions, records=False)
            if ev.entries or ev.exits:
                assert j >= nxt, f"bar {j} has an intent but was to be skipped (next {nxt})"
                checked += 1
            if j < nxt:
                skipped += 1
            else:
                nxt = engine.next_intent_at(j, positions)
                assert nxt > j
    assert checked > 0  # the data gives intents to miss
    # Without confirmation an RSI entry, and a momentum ranking, may come on any bar.
    if over["strategy.preset"] != "sector-momentum" and over.get("strategy.params.confirm", 1):
        assert skipped > 0
