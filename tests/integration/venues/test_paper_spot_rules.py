"""Paper spot orders follow the venue's spot market rules (issue #20): against ``rotor sim
serve`` whose BTC spot market has coarser rules than the ones the paper engine would derive
(a 0.001 BTC step and minimum 0.002 BTC where 0.000001 would be derived, a 0.5 tick, a
minimum order value above 5 USDT), the paper engine's spot spec is the one the venue lists
(Bybit instruments-info, Binance exchangeInfo), and an order the venue refuses for its step,
its minimum quantity or its minimum value is refused in paper too. A market the venue does
not list keeps the derived spec."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Instrument, OrderStatus, OrderType, Side, Ticker
from bot.sim.live import LiveEngine
from bot.sim.spot import SpotRules, SpotSpec
from bot.sim.types import SimError
from bot.venues.base import OrderRequest, RejectedError
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.paper import PaperCosts, PaperVenue
from bot.venues.spot import TO_SPOT, SpotInfo
from tests.integration.venues.conftest import N_DAYS, PRICES, START, SYMBOLS
from tests.simserver import SimHandle, make_data_dir, sim_server

STEP, MIN_QTY, TICK = Decimal("0.001"), Decimal("0.002"), Decimal("0.5")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_dir(
        tmp_path_factory.mktemp("paper-rules"), SYMBOLS, n_bars=N_DAYS * 24, prices=PRICES
    )


def _set_venue_rules(sim: SimHandle) -> SpotSpec:
    """Give the sim's BTC spot market coarser rules than derived (its engine lists them on
    both faces): 0.002 BTC is on the step and above the minimum quantity but below the
    minimum value, 0.003 BTC above it."""
    assert sim.ctx is not None
    eng = sim.ctx.engine
    derived = eng.spot_markets()["BTCUSDT"]
    assert derived.qty_step < STEP
    value = (eng.spot_price("BTCUSDT") * Decimal("0.0025")).to_integral_value()
    spec = dataclasses.replace(
        derived, tick=TICK, qty_step=STEP, min_qty=MIN_QTY, min_notional=value
    )
    assert eng._spot is not None and eng._spot_base is not None
    eng._spot["BTCUSDT"] = eng._spot_base["BTC"] = spec
    return spec


async def _listed_rules(sim: SimHandle) -> SpotRules:
    """The BTC spot market's rules as the venue's own instruments endpoint lists them."""
    if sim.venue == "bybit":
        q = {"category": "spot", "symbol": "BTCUSDT"}
        _, body = await sim.bybit("GET", "/v5/market/instruments-info", q, sign=False)
        [row] = body["result"]["list"]
        lot = row["lotSizeFilter"]
        return SpotRules(
            Decimal(row["priceFilter"]["tickSize"]), Decimal(lot["basePrecision"]),
            Decimal(lot["minOrderQty"]), Decimal(lot["minOrderAmt"]),
        )  # fmt: skip
    _, body, _ = await sim.binance("GET", "/api/v3/exchangeInfo", {"symbol": "BTCUSDT"}, sign=False)
    [row] = body["symbols"]
    f: dict[str, Any] = {x["filterType"]: x for x in row["filters"]}
    return SpotRules(
        Decimal(f["PRICE_FILTER"]["tickSize"]), Decimal(f["LOT_SIZE"]["stepSize"]),
        Decimal(f["LOT_SIZE"]["minQty"]), Decimal(f["NOTIONAL"]["minNotional"]),
    )  # fmt: skip


async def _venue_refuses(sim: SimHandle, qty: str) -> tuple[str, str]:
    """The venue's own refusal of a market buy of ``qty`` BTC: its code and message."""
    if sim.venue == "bybit":
        _, body = await sim.bybit(
            "POST", "/v5/order/create",
            {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
             "qty": qty, "marketUnit": "baseCoin"},
        )  # fmt: skip
        assert body["retCode"] != 0, body
        return str(body["retCode"]), str(body["retMsg"])
    _, body, _ = await sim.binance(
        "POST", "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": qty},
    )  # fmt: skip
    assert body["code"] == -1013, body
    return str(body["code"]), str(body["msg"])


async def _refused_alike(venue: PaperVenue, sim: SimHandle, cid: str, qty: str) -> str:
    """Paper refuses a buy of ``qty`` BTC with the venue's code and words; the code."""
    code, msg = await _venue_refuses(sim, qty)
    with pytest.raises(RejectedError) as paper:
        await venue.create_order(_buy(cid, qty))
    assert paper.value.code == code
    if sim.venue == "binanceusdm":
        assert msg in str(paper.value)
    return code


@pytest.fixture(params=["bybit", "binanceusdm"])
async def paper(
    data: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[PaperVenue, SimHandle, SpotSpec]]:
    async with sim_server(data, start_ms=START, venue=request.param) as sim:
        spec = _set_venue_rules(sim)
        md = CcxtMarketData(ClientSpec.public(request.param, sim.url, rate_limit_ms=1))
        venue = PaperVenue(md, Decimal(100_000), PaperCosts())
        try:
            await venue.load_instruments()
            yield venue, sim, spec
        finally:
            await venue.close()


def _buy(cid: str, qty: str) -> OrderRequest:
    return OrderRequest(cid, "spot:BTCUSDT", Side.BUY, type=OrderType.MARKET, qty=Decimal(qty))


async def test_paper_spot_orders_follow_the_venues_spot_rules(
    paper: tuple[PaperVenue, SimHandle, SpotSpec],
) -> None:
    venue, sim, venue_spec = paper
    listed = await _listed_rules(sim)
    assert listed == SpotRules(
        venue_spec.tick, venue_spec.qty_step, venue_spec.min_qty, venue_spec.min_notional
    )
    infos = await venue.spot_markets()
    # The paper engine's spec is the venue's, and the portfolio sees it.
    eng_spec = venue.engine.spot_market("BTCUSDT")
    assert (eng_spec.tick, eng_spec.qty_step, eng_spec.min_qty, eng_spec.min_notional) == (
        listed.tick, listed.qty_step, listed.min_qty, listed.min_notional,
    )  # fmt: skip
    assert infos["BTCUSDT"] == SpotInfo(
        "BTCUSDT", "BTC", listed.qty_step, listed.min_qty, listed.min_notional
    )
    if venue.two_wallets:  # Binance's rules: the spot wallet pays
        await venue.send_transfer(TO_SPOT, Decimal(10_000))
    # Off the venue's step (on the derived one): the venue refuses it, and so does paper, with
    # the venue's code (Bybit's retCode; Binance's -1013 filter failure and its message).
    off_step = await _refused_alike(venue, sim, "r-1", "0.0015")
    too_few = await _refused_alike(venue, sim, "r-2", "0.001")  # below the minimum quantity
    too_small = await _refused_alike(venue, sim, "r-3", "0.002")  # below the minimum value
    if sim.venue == "bybit":
        assert [off_step, too_few, too_small] == [
            str(SimError.SPOT_TOO_MANY_DECIMALS), str(SimError.SPOT_QTY_TOO_LOW),
            str(SimError.SPOT_VALUE_TOO_LOW),
        ]  # fmt: skip
    # On the step and above both minimums: filled, at a price on the venue's tick.
    rep = await venue.create_order(_buy("ok-1", "0.003"))
    assert rep.status is OrderStatus.FILLED and rep.filled_qty == Decimal("0.003")
    assert rep.avg_fill_price is not None and rep.avg_fill_price % TICK == 0
    assert not venue.engine.spot_orders[:-1]  # the refused ones left no order


def test_a_market_the_venue_does_not_list_keeps_the_derived_spec() -> None:
    eng = LiveEngine(
        equity=Decimal(10_000),
        fee_taker=Decimal("0.00055"),
        fee_maker=Decimal("0.0002"),
        slippage=Decimal(0),
    )
    one = Decimal("0.000001")
    eng.set_instruments(
        {
            s: Instrument(s, s[:-4], "USDT", one, one, one, Decimal(5), ())
            for s in ("BTCUSDT", "1000PEPEUSDT")
        }
    )
    eng.on_tickers(
        {
            s: Ticker(s, START, p, p, p, p, p, 0.0, 0, 1.0)
            for s, p in (("BTCUSDT", 40_000.0), ("1000PEPEUSDT", 0.012))
        },
        {},
    )
    pepe = eng.spot_market("PEPEUSDT")
    assert eng.spot_market("BTCUSDT").qty_step == one
    rules = SpotRules(Decimal("0.01"), STEP, MIN_QTY, Decimal(10))
    eng.on_spot_rules({"BTCUSDT": rules})
    eng.on_spot_prices(["BTCUSDT"], {"BTCUSDT": Decimal("41234.5")})
    btc = eng.spot_market("BTCUSDT")
    assert (btc.tick, btc.qty_step, btc.min_qty, btc.min_notional) == dataclasses.astuple(rules)
    assert eng.spot_market("PEPEUSDT") == pepe
    with pytest.raises(SimError) as exc:
        eng.place_spot_order("BTCUSDT", Side.BUY, Decimal("0.0025"))
    assert exc.value.code == SimError.SPOT_TOO_MANY_DECIMALS
