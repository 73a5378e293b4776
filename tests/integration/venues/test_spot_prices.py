"""``fetch_spot_prices``: what the portfolio core values coins and sizes spot orders at, on
every venue it runs on: the engine's (replay, backtest, paper) and ccxt's over HTTP (Bybit's
unified account, Binance spot), against a data directory with spot files for some markets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.data.spotfiles import derive_spot
from bot.sim import SimEngine
from bot.sim.market import SimMarket
from bot.sim.venue import SimVenue
from bot.venues.ccxt_binance_spot import BinanceSpotVenue
from bot.venues.ccxt_spot import SpotCcxtVenue
from tests.integration.venues.conftest import N_DAYS, PRICES, START, SYMBOLS, started, venue_for
from tests.simserver import SimHandle, make_data_dir, sim_server

ASKED = ["BTCUSDT", "SOLUSDT", "NOPEUSDT"]


@pytest.fixture(scope="module")
def spot_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venue tests' data with spot files 3 % above the perpetual for BTC and ETH only."""
    root = make_data_dir(
        tmp_path_factory.mktemp("spot-prices"), SYMBOLS, n_bars=N_DAYS * 24, prices=PRICES
    )
    assert derive_spot(root, 300.0, symbols=["BTCUSDT", "ETHUSDT"]) == ["BTCUSDT", "ETHUSDT"]
    return root


def _expected(root: Path) -> dict[str, Decimal]:
    """The engine's prices at START: BTC's the spot file's, SOL's its perpetual's."""
    m = SimMarket.load(root)
    k = m.bar_index(START)
    assert m.spot is not None and "SOLUSDT" not in m.spot.index
    btc = Decimal(repr(m.spot.price_at(m.spot.index["BTCUSDT"], k)))
    sol = Decimal(repr(m.price_at(m.index["SOLUSDT"], k)))
    perp_btc = Decimal(repr(m.price_at(m.index["BTCUSDT"], k)))
    assert btc / perp_btc == pytest.approx(Decimal("1.03"), rel=Decimal("1e-12"))
    return {"BTCUSDT": btc, "SOLUSDT": sol}


async def test_the_engines_venue_gives_the_spot_files_prices(spot_data: Path) -> None:
    v = SimVenue(SimEngine(SimMarket.load(spot_data), start_ms=START))
    assert await v.fetch_spot_prices(ASKED) == _expected(spot_data)


@pytest.fixture
async def spot_sim(spot_data: Path) -> AsyncIterator[SimHandle]:
    async with sim_server(spot_data, start_ms=START) as handle:
        yield handle


@pytest.fixture
async def spot_bsim(spot_data: Path) -> AsyncIterator[SimHandle]:
    async with sim_server(spot_data, start_ms=START, venue="binanceusdm") as handle:
        yield handle


def _on_tick(got: dict[str, Decimal], want: dict[str, Decimal]) -> None:
    """The tickers print the price floored to the spot tick."""
    assert set(got) == set(want)
    for s, p in want.items():
        assert p - got[s] >= 0 and (p - got[s]) / p < Decimal("1e-5"), (s, got[s], p)


async def test_ccxt_venues_read_the_spot_tickers(
    spot_data: Path, spot_sim: SimHandle, spot_bsim: SimHandle
) -> None:
    want = _expected(spot_data)
    async with started(venue_for(spot_sim, cls=SpotCcxtVenue)) as bybit:
        _on_tick(await bybit.fetch_spot_prices(ASKED), want)
        assert await bybit.fetch_spot_prices([]) == {}
    async with started(venue_for(spot_bsim, cls=BinanceSpotVenue)) as binance:
        _on_tick(await binance.fetch_spot_prices(ASKED), want)
