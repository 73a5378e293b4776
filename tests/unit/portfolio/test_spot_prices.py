"""Coins at the spot price: ``allocate`` values coins and sizes spot orders at each spot
market's own price (``SpotMarket.price``, the venue's), the perpetuals at their close."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import PositionSide, Side
from bot.portfolio.allocate import allocate
from bot.portfolio.holdings import Holdings, MissingPrice, PerpHolding, value
from bot.portfolio.rebalance import SpotMarket, spot_prices_of
from bot.runtime.portfolio_holdings import SpotLeg
from bot.venues.spot import SpotInfo

from .factory import config, core_rows, evaluation, sector, stats


def test_value_prices_coins_at_the_spot_and_perps_at_the_perp() -> None:
    h = Holdings(
        cash=D(100),
        spot={"BTCUSDT": D("0.1")},
        perps=(PerpHolding("BTCUSDT", PositionSide.SHORT, D("0.1"), D(90000)),),
    )
    v = value(h, {"BTCUSDT": D(80000)}, {"BTCUSDT": D(81000)})
    assert v.spot_value == D(8100) and v.upnl == D(1000)  # the basis is 100 USDT
    assert v.nav == D(100) + D(8100) + D(1000)
    assert value(h, {"BTCUSDT": D(80000)}).spot_value == D(8000)  # default: the one price
    with pytest.raises(MissingPrice, match="BTCUSDT"):
        value(h, {"BTCUSDT": D(80000)}, {})


def test_spot_prices_of_takes_the_venues_where_known() -> None:
    markets = {
        "BTCUSDT": SpotMarket("BTCUSDT", D("0.000001"), D("0.000001"), D(5), D(81000)),
        "ETHUSDT": SpotMarket("ETHUSDT", D("0.0001"), D("0.0001"), D(5)),  # no price known
    }
    got = spot_prices_of({"BTCUSDT": D(80000), "ETHUSDT": D(3000)}, markets)
    assert got == {"BTCUSDT": D(81000), "ETHUSDT": D(3000)}
    # A 1000x contract: the coin's price per perpetual unit.
    leg = SpotLeg(SpotInfo("PEPEUSDT", "PEPE", D(1), D(1), D(5)), D(1000))
    assert leg.planner_market("1000PEPEUSDT", D("0.0000131")).price == D("0.0131")
    assert leg.planner_market("1000PEPEUSDT").price is None


def test_spot_buys_are_sized_at_the_spot_price() -> None:
    rows = core_rows()
    ev = evaluation([sector("l1")], rows)
    perp = {r.symbol: D(repr(r.close)) for r in rows}
    spot = {s: p * D("1.25") for s, p in perp.items()}  # spot 25 % above the perpetuals
    markets = {s: SpotMarket(s, D("0.000001"), D("0.000001"), D(5), spot[s]) for s in perp}
    held = Holdings(cash=D(10000))
    at_spot = allocate(config(), ev, stats(rows), held, markets)
    assert at_spot.spot_prices == spot and at_spot.prices == perp
    buys = {o.symbol: o for o in at_spot.spot.orders if o.side is Side.BUY}
    assert set(buys) == set(perp)
    at_perp = allocate(config(), ev, stats(rows), held)  # no spot price known
    for s, o in buys.items():
        assert o.price == spot[s] and o.notional == o.qty * spot[s]
        twin = next(x for x in at_perp.spot.orders if x.symbol == s)
        # The same USDT buys 1/1.25 as many coins at the spot price.
        assert o.notional == pytest.approx(twin.notional, rel=D("1e-5"))
        assert o.qty == pytest.approx(twin.qty / D("1.25"), rel=D("1e-5"))
