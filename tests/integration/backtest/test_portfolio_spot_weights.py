"""The portfolio report's weights (``weights.csv``, the stacked areas) value the coins at the
engine's spot prices, the prices the rebalance filled at (issue #20): on data whose spot files
are 2 % above the perpetuals, each token's weight × NAV is its coins at the spot file's price
then, not at the perpetual's close."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.data import prepare
from bot.backtest.metrics import iso
from bot.backtest.portfolio.report import write_outputs
from bot.backtest.portfolio.run import run_prepared
from bot.config import load_settings
from bot.data.sample import sample_dir
from bot.data.spotfiles import derive_spot
from bot.domain import Side
from bot.sim.spot import spot_symbol_of
from tests.integration.backtest.test_replay_equals_backtest import (
    PF_END_MS,
    PF_START_MS,
    copy_until,
)

BASIS = 0.02


def test_the_weights_value_coins_at_the_engines_spot_prices(tmp_path: Path) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", PF_END_MS, n_symbols=1000)
    assert derive_spot(data, BASIS * 1e4, noise_bps=10.0, seed=5)
    settings = load_settings(
        None,
        {
            "mode": "replay",
            "strategy.mode": "portfolio",
            "sim.data_dir": str(data),
            "universe.sector_map": str(data / "sectors.csv"),
            "logging.level": "WARNING",
        },
        environ={},
    )
    effective, loaded = prepare(settings, data)
    run = run_prepared(effective, loaded, start_ms=PF_START_MS)
    eng = run.output.engine
    m, spot = loaded.market, loaded.market.spot
    assert spot is not None
    weights = run.recorder.weights
    assert len(weights) >= 3
    checked = 0
    for w in weights:
        k = m.bar_index(w.t)
        coins: dict[str, Decimal] = {}  # what the spot fills had left by then
        for e in eng.spot_executions:
            if e.ts <= w.t:
                coin = e.symbol.removesuffix("USDT")
                fee = e.fee if e.fee_currency == coin else Decimal(0)
                sign = 1 if e.side is Side.BUY else -1
                coins[coin] = coins.get(coin, Decimal(0)) + sign * e.qty - fee
        for perp, weight in w.tokens.items():
            sym, mult = spot_symbol_of(perp)
            price = Decimal(repr(spot.price_at(spot.index[sym], k)))
            want = coins[sym.removesuffix("USDT")] * price
            assert weight * w.nav == pytest.approx(want, rel=Decimal("1e-20")), (iso(w.t), perp)
            close = Decimal(repr(m.close_before(m.index[perp], k))) / mult
            assert abs(price / close - 1) > Decimal("0.01")  # not the perpetual's
            checked += 1
    assert checked >= 10
    # weights.csv writes these NAVs.
    write_outputs(tmp_path / "out", run, "spot files")
    with (tmp_path / "out" / "weights.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["nav"] for r in rows] == [f"{w.nav:.2f}" for w in weights]
