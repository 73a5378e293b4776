"""The portfolio daemon's holdings from the venue (``venue_holdings``): coins in the
perpetual's units, USDT split between the futures sleeve's collateral and the spot cash."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from bot.runtime.portfolio_holdings import legs_of, venue_holdings
from bot.venues.spot import SpotHolding, SpotInfo

BTC = SpotInfo("BTCUSDT", "BTC", D("0.000001"), D("0.000001"), D(5))
PEPE = SpotInfo("PEPEUSDT", "PEPE", D(1), D(1), D(5))
DOGE = SpotInfo("DOGEUSDT", "DOGE", D("0.1"), D("0.1"), D(5))  # no perp in the universe


def test_coins_in_perp_units_and_unknown_coins_left_out() -> None:
    legs = legs_of(["BTCUSDT", "1000PEPEUSDT", "ETHUSDT"], {m.symbol: m for m in (BTC, PEPE, DOGE)})
    assert set(legs) == {"BTCUSDT", "1000PEPEUSDT"} and legs["1000PEPEUSDT"].multiplier == 1000
    assert legs["1000PEPEUSDT"].planner_market("1000PEPEUSDT").qty_step == D("0.001")
    coins = [
        SpotHolding(BTC, D("0.1"), D(90000)),
        SpotHolding(PEPE, D(2_000_000), D("0.00001")),
        SpotHolding(DOGE, D(100), D("0.2")),
    ]
    prices = {"BTCUSDT": D(90000), "1000PEPEUSDT": D("0.01")}
    h = venue_holdings(D(5000), D(0), coins, legs, [], D("0.8"), prices)
    assert h.spot == {"BTCUSDT": D("0.1"), "1000PEPEUSDT": D(2000)}
    nav = D(5000) + D(9000) + D(20)  # DOGE has no perp here: not the portfolio's
    assert h.futures_collateral == D("0.2") * nav and h.cash == D(5000) - D("0.2") * nav
    # Less USDT than the sleeve's target: all of it is collateral, no spot cash.
    short = venue_holdings(D(1000), D(0), coins, legs, [], D("0.8"), prices)
    assert short.futures_collateral == D(1000) and short.cash == 0


@given(
    usdt=st.decimals(0, 10**6, places=2),
    btc=st.decimals(0, 10, places=6),
    upnl=st.decimals(-1000, 1000, places=2),
    share=st.decimals("0.5", 1, places=2),
)
def test_the_split_never_invents_usdt(usdt: D, btc: D, upnl: D, share: D) -> None:
    legs = legs_of(["BTCUSDT"], {"BTCUSDT": BTC})
    coins = [SpotHolding(BTC, btc, D(90000))] if btc else []
    h = venue_holdings(usdt, upnl, coins, legs, [], share, {"BTCUSDT": D(90000)})
    assert h.cash + h.futures_collateral == usdt
    assert D(0) <= h.futures_collateral <= usdt and h.cash >= 0
