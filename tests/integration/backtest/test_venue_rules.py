"""Issue #16: a backtest and a replay play the account rules of the venue being traded
(``exchange.name``): Binance's 20x default leverage, its liquidation formula and its client ids
unique among open orders only; Bybit's otherwise. Backtest and replay must agree, so both
builders take the rules from the same setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.backtest.data import prepare
from bot.backtest.runner import BacktestRunner
from bot.config import load_settings
from bot.runtime.build import build_venue
from bot.sim.rules import rules_for
from tests.simserver import T0, make_data_dir


@pytest.mark.parametrize("exchange", ["bybit", "binanceusdm"])
def test_backtest_and_replay_play_the_venue_rules(tmp_path: Path, exchange: str) -> None:
    data = make_data_dir(tmp_path / "data", n_bars=400)
    over = {"exchange.name": exchange, "sim.data_dir": str(data), "mode": "replay"}
    settings = load_settings(None, over, environ={})
    effective, loaded = prepare(settings, data)
    runner = BacktestRunner(effective, loaded, start_ms=T0 + 300 * 3_600_000)
    bundle = build_venue(settings, warmup_hours=24)
    assert bundle.engine is not None
    assert runner.engine.rules is bundle.engine.rules is rules_for(exchange)
