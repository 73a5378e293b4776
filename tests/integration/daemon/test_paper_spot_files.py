"""Issue #20, paper mode on a venue whose spot prices are not its perpetuals': the real
``rotor run --mode paper`` in portfolio mode polls ``rotor sim serve`` on data with spot files
2 % above the perpetuals. Its local spot fills are at the venue's spot prices (the files'),
not at the perpetual's per coin, nothing reaches the venue, and the venue's spot tickers are
read in bulk at most once per bar."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.metrics import iso
from bot.data.sample import sample_dir
from bot.data.spotfiles import derive_spot
from bot.sim.market import SimMarket
from bot.sim.spot import spot_symbol_of
from bot.storage import Repository, create_engine
from tests.integration.backtest.test_replay_equals_backtest import copy_until
from tests.integration.daemon.harness import rotor_process, step
from tests.integration.daemon.test_portfolio_replay_paper import END_MS, START_MS
from tests.simserver import sim_subprocess

BASIS = 0.02
SPOT_TICKERS = "GET /api/v3/ticker/24hr"  # Binance's spot tickers (the perps': /fapi/v1/...)


@pytest.mark.parametrize("venue", ["bybit", "binanceusdm"])
async def test_paper_fills_spot_at_the_venues_spot_prices(tmp_path: Path, venue: str) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", END_MS, n_symbols=1000)
    assert derive_spot(data, BASIS * 1e4, noise_bps=10.0, seed=3)
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'paper.db'}"
    args = ["--data", str(data), "--speed", "0", "--start", iso(START_MS), "--venue", venue]
    env = {
        "ROTOR__MODE": "paper",
        "ROTOR__STRATEGY__MODE": "portfolio",
        "ROTOR__PORTFOLIO__REBALANCE__INTERVAL_H": "1",
        "ROTOR__UNIVERSE__SYMBOLS": "[]",
        "ROTOR__EXCHANGE__POLL_INTERVAL_S": "0.5",
    }
    async with sim_subprocess(args) as sim:
        async with rotor_process(sim, db_url, tmp_path / "rotor.log", env) as rotor:
            await step(sim, rotor, 1)
            await sim.admin("POST", "/sim/requests/reset")
            await step(sim, rotor, 2)
            calls = (await sim.requests())["calls"]
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        state = await sim.state()
    assert state["spotOrders"] == [] and state["orders"] == [], "nothing reached the venue"
    if venue == "binanceusdm":
        assert 1 <= calls.get(SPOT_TICKERS, 0) <= 2, calls  # two bars: one bulk read each

    engine = create_engine(db_url)
    try:
        execs = await Repository(engine).list_executions()
    finally:
        await engine.dispose()
    fills = [e for e in execs if e.symbol.startswith("spot:")]
    assert len(fills) >= 5
    m = SimMarket.load(data)
    assert m.spot is not None
    perp_of = {spot_symbol_of(p)[0]: p for p in m.symbols}
    for e in fills:
        sym = e.symbol.removeprefix("spot:")
        k = m.bar_index(e.ts)
        spot = Decimal(repr(m.spot.price_at(m.spot.index[sym], k)))
        # The venue's spot price (on its tick) ± slippage, rounded against the taker.
        assert abs(e.price / spot - 1) < Decimal("0.0007"), (e, spot)
        perp = perp_of[sym]
        per_coin = Decimal(repr(m.price_at(m.index[perp], k))) / spot_symbol_of(perp)[1]
        assert e.price / per_coin - 1 > Decimal("0.01"), (e, per_coin)  # not the perpetual's
