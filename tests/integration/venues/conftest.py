"""Shared set-up for the ccxt venue tests: a data directory and a ``CcxtVenue`` on the sim."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import pytest

from bot.venues.ccxt_client import ClientSpec, Endpoint
from bot.venues.ccxt_venue import CcxtVenue
from tests.simserver import T0, SimHandle, make_data_dir, sim_server

V = TypeVar("V", bound=CcxtVenue)
HOUR = 3_600_000
DAY = 24 * HOUR
N_DAYS = 40
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
PRICES = (40000.0, 2500.0, 100.0, 0.5)
START = T0 + 35 * DAY  # the sim's clock: 35 days of history behind it


def venue_for(
    sim: SimHandle, *, secret: str | None = None, retries: int = 1, cls: type[V] = CcxtVenue
) -> V:
    """A CcxtVenue pointed at the sim the way ``exchange.api_url`` does it (the exchange its
    face serves)."""
    spec = ClientSpec(
        exchange="binanceusdm" if sim.venue == "binanceusdm" else "bybit",
        endpoint=Endpoint.CUSTOM,
        api_url=sim.url,
        api_key=sim.api_key,
        api_secret=secret or sim.api_secret,
        timeout_ms=5_000,
        max_read_retries=retries,
        rate_limit_ms=1,  # ccxt's limiter stays on, spaced for a local server
    )
    return cls(spec, backoff_base_s=0.01)


@contextlib.asynccontextmanager
async def started(v: V) -> AsyncIterator[V]:
    """``v`` with its instruments and the server clock read, closed at the end."""
    await v.load_instruments()
    await v.server_time()
    try:
        yield v
    finally:
        await v.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_dir(
        tmp_path_factory.mktemp("venue-data"), SYMBOLS, n_bars=N_DAYS * 24, prices=PRICES
    )


@pytest.fixture
async def sim(data_dir: Path) -> AsyncIterator[SimHandle]:
    async with sim_server(data_dir, start_ms=START) as handle:
        yield handle


@pytest.fixture
async def bsim(data_dir: Path) -> AsyncIterator[SimHandle]:
    """The same simulator serving its Binance USDⓈ-M (and spot) face."""
    async with sim_server(data_dir, start_ms=START, venue="binanceusdm") as handle:
        yield handle


@pytest.fixture
async def venue(sim: SimHandle) -> AsyncIterator[CcxtVenue]:
    v = venue_for(sim)
    try:
        yield v
    finally:
        await v.close()
