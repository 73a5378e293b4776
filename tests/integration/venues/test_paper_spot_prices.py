"""Paper trading prices spot at the venue's spot tickers (issue #20): against ``rotor sim
serve`` on data with spot files 3 % above the perpetuals, a paper spot fill is at the sim's
spot price (the file's), not at the perpetual's per coin; the spot tickers are read in bulk
at most once per bar however many spot prices the bar asks for. A spot market the venue does
not list follows its perpetual."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.data.spotfiles import derive_spot
from bot.domain import Instrument, OrderStatus, OrderType, Side, Ticker
from bot.sim.live import LiveEngine
from bot.sim.market import SimMarket
from bot.venues.base import OrderRequest
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.paper import PaperCosts, PaperVenue
from bot.venues.spot import TO_SPOT
from tests.integration.venues.conftest import N_DAYS, PRICES, START, SYMBOLS
from tests.simserver import SimHandle, make_data_dir, sim_server

BASIS = Decimal("1.03")
SPOT_TICKERS = {
    "bybit": "GET /v5/market/tickers",  # the perpetuals' bulk tickers share the path
    "binanceusdm": "GET /api/v3/ticker/24hr",
}


@pytest.fixture(scope="module")
def spot_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_data_dir(
        tmp_path_factory.mktemp("paper-spot"), SYMBOLS, n_bars=N_DAYS * 24, prices=PRICES
    )
    assert derive_spot(root, 300.0, symbols=["BTCUSDT"]) == ["BTCUSDT"]
    return root


def _file_prices(root: Path, t_ms: int) -> tuple[Decimal, Decimal]:
    """BTC's spot file price and its perpetual's price at ``t_ms`` (the sim's clock)."""
    m = SimMarket.load(root)
    k = m.bar_index(t_ms)
    assert m.spot is not None
    spot = Decimal(repr(m.spot.price_at(m.spot.index["BTCUSDT"], k)))
    perp = Decimal(repr(m.price_at(m.index["BTCUSDT"], k)))
    assert spot / perp == pytest.approx(BASIS, rel=Decimal("1e-12"))
    return spot, perp


@pytest.fixture(params=["bybit", "binanceusdm"])
async def paper(
    spot_data: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[PaperVenue, SimHandle]]:
    async with sim_server(spot_data, start_ms=START, venue=request.param) as sim:
        data = CcxtMarketData(ClientSpec.public(request.param, sim.url, rate_limit_ms=1))
        venue = PaperVenue(data, Decimal(100_000), PaperCosts())
        try:
            await venue.load_instruments()
            yield venue, sim
        finally:
            await venue.close()


def _buy(cid: str, qty: str) -> OrderRequest:
    return OrderRequest(cid, "spot:BTCUSDT", Side.BUY, type=OrderType.MARKET, qty=Decimal(qty))


async def test_paper_spot_fills_at_the_venues_spot_price_one_read_per_bar(
    spot_data: Path, paper: tuple[PaperVenue, SimHandle]
) -> None:
    venue, sim = paper
    await venue.fetch_tickers()
    if venue.two_wallets:  # Binance's rules: the spot wallet pays
        await venue.send_transfer(TO_SPOT, Decimal(10_000))
    await sim.admin("POST", "/sim/requests/reset")
    for bar, cid in enumerate(("b-1", "b-2")):
        now = (await sim.state())["barTime"]
        spot, perp = _file_prices(spot_data, now)
        # Every spot read of the bar: the venue's spot ticker (the file's price, on the tick).
        got = await venue.fetch_spot_prices(["BTCUSDT", "SOLUSDT"])
        assert spot - got["BTCUSDT"] >= 0 and (spot - got["BTCUSDT"]) / spot < Decimal("1e-5")
        [held] = await venue.fetch_spot_holdings() if bar else [None]
        rep = await venue.create_order(_buy(cid, "0.01"))
        assert rep.status is OrderStatus.FILLED
        # At the spot price plus slippage, 3 % away from the perpetual's.
        assert got["BTCUSDT"] <= rep.avg_fill_price <= got["BTCUSDT"] * Decimal("1.0006")
        assert rep.avg_fill_price / perp > Decimal("1.029")
        [fill] = [e for e in venue.engine.spot_executions if e.order_link_id == cid]
        assert fill.mark == got["BTCUSDT"]
        if held is not None:
            assert held.price == got["BTCUSDT"]
        assert await venue.fetch_spot_prices(["BTCUSDT"]) == {"BTCUSDT": got["BTCUSDT"]}
        calls = (await sim.requests())["calls"]
        # One bulk spot read this bar (Bybit: plus the perpetual tickers polled).
        perp_polls = 1 if bar and venue.data.name == "bybit" else 0
        assert calls.get(SPOT_TICKERS[venue.data.name]) == 1 + perp_polls, calls
        await sim.advance(1)
        await sim.admin("POST", "/sim/requests/reset")
        await venue.fetch_tickers()
    assert venue.engine.coin_balances()["BTC"] == Decimal("0.02") * (1 - venue.costs.spot_fee)


def test_a_market_the_venue_does_not_list_follows_its_perpetual() -> None:
    eng = LiveEngine(
        equity=Decimal(10_000),
        fee_taker=Decimal("0.00055"),
        fee_maker=Decimal("0.0002"),
        slippage=Decimal(0),
    )
    one = Decimal("0.000001")
    insts = {
        s: Instrument(s, s[:-4], "USDT", one, one, one, Decimal(5), ())
        for s in ("BTCUSDT", "1000PEPEUSDT")
    }
    eng.set_instruments(insts)
    ticks = {
        s: Ticker(s, START, p, p, p, p, p, 0.0, 0, 1.0)
        for s, p in (("BTCUSDT", 40_000.0), ("1000PEPEUSDT", 0.012))
    }
    eng.on_tickers(ticks, {})
    assert eng.spot_price("PEPEUSDT") == Decimal("0.000012")  # no read yet: the perpetual's
    eng.on_spot_prices(["BTCUSDT"], {"BTCUSDT": Decimal("41234.5")})
    assert eng.spot_price("BTCUSDT") == Decimal("41234.5")
    assert eng.spot_price("PEPEUSDT") == Decimal("0.000012")  # not listed: the perpetual's
