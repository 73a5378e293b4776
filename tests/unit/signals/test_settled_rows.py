"""``SignalEngine.exits_ruled_out``: the held symbols whose exit arrays (kept by
``next_intent_at``) show no exit at a bar. Without records, the evaluation that skips their
rows holds exactly the entries and exits of the one that decides every active row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.backtest.data import prepare
from bot.backtest.signals import PrecomputedSignals
from bot.config import load_settings
from bot.data.panel import Panel
from bot.data.synthetic import generate
from bot.domain import PositionSide
from bot.signals.engine import SignalEngine
from bot.signals.evaluation import Evaluation, PositionView
from bot.signals.select import entry_bars
from tests.unit.signals.test_next_intent import VARIANTS

RSI = {"strategy.preset": "rsi-reversion"}
START_MS = 1_704_067_200_000  # 2024-01-01
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Panel:
    root = tmp_path_factory.mktemp("synth") / "data"
    generate(root, 12, 40, 5, n_sectors=3, start_ms=START_MS)
    settings = load_settings(None, {}, environ={})
    return prepare(settings, root, None)[1].panel  # type: ignore[no-any-return]


def _intents(ev: Evaluation) -> tuple[Any, ...]:
    return (ev.entries, ev.exits, ev.decisions, ev.symbols, ev.flags)


def _held(panel: Panel, first: int) -> list[PositionView]:
    entry_ms = int(panel.ts[first]) + HOUR_MS
    syms = list(panel.symbols)
    return [
        PositionView(syms[1], PositionSide.LONG, entry_ms, 1.0),
        PositionView(syms[5], PositionSide.LONG, entry_ms - 7 * HOUR_MS, 1.0),
        PositionView(syms[9], PositionSide.SHORT, entry_ms, 1.0),
        PositionView(syms[2], PositionSide.LONG, entry_ms - 30 * HOUR_MS, 1.0),
    ]


@pytest.mark.parametrize("over", VARIANTS)
def test_skipping_settled_rows_changes_no_intent(panel: Panel, over: dict[str, Any]) -> None:
    engine = SignalEngine.from_settings(load_settings(None, over, environ={}))
    engine.precompute(panel)
    first = 20 * 24
    held = _held(panel, first)
    settled_rows = 0
    for j in range(first, panel.n_bars):
        engine.next_intent_at(j - 1, held)  # the runner asks after every cycle
        settled = engine.exits_ruled_out(j, held)
        assert settled <= {p.symbol for p in held}
        full = engine.evaluate_at(j, held, records=False)
        fewer = engine.evaluate_at(j, held, records=False, settled=settled)
        assert _intents(fewer) == _intents(full), f"bar {j}, settled {sorted(settled)}"
        # A settled symbol has no exit at j (the arrays are a superset of the exit bars).
        assert not settled & {x.symbol for x in full.exits}
        settled_rows += len(settled)
    if over["strategy.preset"] != "rotation-reversion":  # its rotation exit may fire anywhere
        assert settled_rows > 0  # the data gives held rows to skip


def test_records_keep_every_row(panel: Panel) -> None:
    """With records (the live path, the portfolio mode) every held row is decided."""
    engine = SignalEngine.from_settings(load_settings(None, RSI, environ={}))
    engine.precompute(panel)
    first = 20 * 24
    held = _held(panel, first)
    j = first + 5
    engine.next_intent_at(j - 1, held)
    settled = engine.exits_ruled_out(j, held)
    assert settled
    ev = engine.evaluate_at(j, held, records=True, settled=settled)
    assert {p.symbol for p in held} <= {d.symbol for d in ev.decisions}


def test_out_of_order_questions_are_not_ruled_out(panel: Panel) -> None:
    """Indices before or beyond what the kept arrays cover are never ruled out, and asking
    ``next_intent_at`` about an earlier bar starts the arrays over."""
    engine = SignalEngine.from_settings(load_settings(None, RSI, environ={}))
    engine.precompute(panel)
    first = 20 * 24
    held = _held(panel, first)
    engine.next_intent_at(first + 50, held)
    assert engine.exits_ruled_out(first + 40, held) == frozenset()
    assert engine.exits_ruled_out(panel.n_bars + 10, held) == frozenset()
    assert (
        engine.exits_ruled_out(first + 50, [PositionView("NOPEUSDT", PositionSide.LONG, 0, 1.0)])
        == frozenset()
    )
    engine.next_intent_at(first + 10, held)
    for j in range(first + 11, first + 60):
        settled = engine.exits_ruled_out(j, held)
        full = engine.evaluate_at(j, held, records=False)
        assert not settled & {x.symbol for x in full.exits}


def test_backtest_signals_skip_settled_rows(panel: Panel) -> None:
    """``PrecomputedSignals.evaluate`` (the backtest's) asks for the settled rows itself."""
    sig = PrecomputedSignals.from_settings(load_settings(None, RSI, environ={}))
    sig.precompute(panel)
    first = 20 * 24
    held = _held(panel, first)
    asked: list[frozenset[str]] = []
    original = sig.exits_ruled_out

    def spy(j: int, positions: Any) -> frozenset[str]:
        out = original(j, positions)
        asked.append(out)
        return out

    sig.exits_ruled_out = spy  # type: ignore[method-assign]
    for j in range(first, first + 100):
        sig.next_intent_at(j - 1, held)
        ev = sig.evaluate(panel, j, held)
        assert _intents(ev) == _intents(sig.evaluate_at(j, held, records=False))
    assert any(asked)


def _most_confirmed(engine: SignalEngine, n: int) -> list[int]:
    """The ``n`` rows that pass their entry rule's necessary condition most often."""
    from collections import Counter

    from bot.signals.select import entry_rows

    t = engine._tables
    assert t is not None
    seen: Counter[int] = Counter()
    for w in range(len(t.ts)):
        seen.update(entry_rows(t, engine.spec, w) or ())
    return [i for i, _ in seen.most_common(n)]


def _walk(panel: Panel, over: dict[str, Any]) -> tuple[int, int]:
    """Walk the bars as the backtest does, holding the rows that pass their entry rule's
    pre-filter most often; every bar with an intent must be reached. Returns (bars with an
    intent, bars passed over that the whole-universe pre-filter alone would stop at)."""
    engine = SignalEngine.from_settings(load_settings(None, over, environ={}))
    engine.precompute(panel)
    first = 20 * 24
    entry_ms = int(panel.ts[first]) + HOUR_MS
    rows = _most_confirmed(engine, 3)
    held = [PositionView(panel.symbols[i], PositionSide.LONG, entry_ms, 1.0) for i in rows]
    t = engine._tables
    assert t is not None
    candidates = set(np.flatnonzero(entry_bars(t, engine.spec)).tolist())
    nxt = first
    checked = held_only = 0
    for j in range(first, panel.n_bars):
        ev = engine.evaluate_at(j, held, records=False)
        if ev.entries or ev.exits:
            assert j >= nxt, f"bar {j} has an intent but was to be skipped (next {nxt})"
            checked += 1
        if j < nxt:
            held_only += (j - t.base) in candidates  # entry_bars alone would stop here
        else:
            nxt = engine.next_intent_at(j, held)
            assert nxt > j
    return checked, held_only


@pytest.mark.parametrize("over", VARIANTS)
def test_bars_only_held_symbols_pass_are_skipped_safely(panel: Panel, over: dict[str, Any]) -> None:
    """``next_intent_at`` passes over the bars where only held symbols pass the entry
    pre-filter (a held symbol never enters); no bar with an intent is passed over."""
    _walk(panel, over)


def test_held_only_bars_are_passed_over(panel: Panel) -> None:
    checked, held_only = _walk(panel, RSI)
    assert checked > 0 and held_only > 0
