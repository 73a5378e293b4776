"""The portfolio mode on a data directory with spot price files (issue #20's last point): the
spot sleeve trades at the spot files' prices, the rebalance values coins and sizes spot
orders at them (not at the perpetuals'), and the daemon's replay still equals the backtest."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.data import prepare
from bot.backtest.portfolio.run import run_prepared
from bot.data.sample import sample_dir
from bot.data.spotfiles import derive_spot
from bot.sim.spot import spot_symbol_of
from tests.integration.backtest.test_replay_equals_backtest import (
    PF_END_MS,
    PF_START_MS,
    _fills,
    _replay,
    _spot_fills,
    copy_until,
    portfolio_replay_settings,
)

BASIS = 0.02  # spot 2 % above the perpetual: far more than any spread or slippage


def test_portfolio_trades_and_sizes_spot_at_the_spot_files_and_replay_equals_backtest(
    tmp_path: Path,
) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", PF_END_MS, n_symbols=1000)
    assert derive_spot(data, BASIS * 1e4, noise_bps=10.0, seed=5)
    settings = portfolio_replay_settings(data, tmp_path)
    replayed = asyncio.run(_replay(settings))
    effective, loaded = prepare(settings, data)
    run = run_prepared(effective, loaded, start_ms=PF_START_MS)
    out = run.output.engine

    # Replay equals backtest, on spot files too.
    spot_fills = _spot_fills(replayed)
    assert len({t for _s, _d, t, *_ in spot_fills}) >= 3  # three daily rebalances traded
    assert _spot_fills(out) == spot_fills
    assert _fills(out) == _fills(replayed)
    assert out.coin_balances() == replayed.coin_balances()
    assert out.equity() == replayed.equity()

    # Every spot fill is priced from the spot file: its reference is the file's price then,
    # about 2 % above the perpetual's per coin.
    m, spot = loaded.market, loaded.market.spot
    assert spot is not None
    perp_of = {spot_symbol_of(p)[0]: p for p in m.symbols}
    for e in out.spot_executions:
        k = m.bar_index(e.ts)
        assert e.mark == Decimal(repr(spot.price_at(spot.index[e.symbol], k)))
        perp = perp_of[e.symbol]
        per_coin = m.price_at(m.index[perp], k) / float(spot_symbol_of(perp)[1])
        assert float(e.mark) / per_coin == pytest.approx(1 + BASIS, abs=0.006), e

    # The rebalance sized every spot order at the spot price (planner units: per perpetual
    # unit), not at the perpetual's close: notional / qty is the spot file's price then.
    orders = [r for r in run.recorder.records if r["kind"] == "spot" and "notional" in r["numbers"]]
    assert len(orders) >= 5
    for r in orders:
        perp, k = r["subject"], m.bar_index(r["t"])
        sym, mult = spot_symbol_of(perp)
        price = Decimal(r["numbers"]["notional"]) / Decimal(r["numbers"]["qty"])
        want = Decimal(repr(spot.price_at(spot.index[sym], k))) * mult
        assert price == pytest.approx(want, rel=Decimal("1e-15")), r
        close = Decimal(repr(m.close_before(m.index[perp], k)))
        assert abs(price / close - 1) > Decimal("0.01"), r  # not the perpetual's
