"""One fill model (issue #14): the same orders on the same prices give the same fills, funding
and refusals through every path rotor trades on:

- ``SimVenue`` over ``SimEngine``: the backtester's and ``rotor run --mode replay``'s venue
  (both build exactly this; ``test_replay_equals_backtest`` proves those two agree);
- ``CcxtVenue`` against the HTTP face (``rotor sim serve``), unmodified ccxt over HTTP;
- ``PaperVenue``: public tickers from another HTTP sim through ccxt, fills by ``LiveEngine``.

The bars are flat (open = high = low = close) so every move is a jump from one hour to the
next, which a ticker poll sees exactly as the replay walks it: a market order, a resting
limit, a stop gapped through (filled from the new price), a reduce-only close, two funding
settlements, an already-crossed stop (110093) and a reduce-only order that would not reduce
(110017).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bot.domain import OrderType, Side
from bot.sim import SimEngine, SimMarket
from bot.sim.venue import SimVenue
from bot.venues.base import OrderRequest, RejectedError, Venue
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_core import CcxtMarketData
from bot.venues.paper import PaperCosts, PaperVenue
from tests.integration.venues.conftest import venue_for
from tests.simserver import sim_server
from tests.unit.sim.conftest import INSTRUMENT, T0, write_dir

H = 3_600_000
SYM = "AAAUSDT"
PRICES = [100, 100, 100, 100, 96, 94, 94, 90, 90, 90, 90]  # one flat bar per hour from T0
START = T0 + 2 * H


def _data(root: Path) -> Path:
    bars = {SYM: [(p, p, p, p) for p in map(float, PRICES)]}
    funding = {SYM: [(0, 0.0001), (4, 0.0002), (8, -0.0003)]}
    return write_dir(root, bars, funding=funding,
                     instruments={SYM: {**INSTRUMENT, "funding_interval_h": 4}})  # fmt: skip


def req(
    cid: str, side: Side, qty: str, kind: OrderType = OrderType.MARKET, **kw: Any
) -> OrderRequest:
    return OrderRequest(cid, SYM, side, kind, D(qty), **kw)


@dataclass
class Outcome:
    fills: list[tuple[str, D, D, D, int]]
    funding: list[tuple[int, D]]
    refusals: list[str]
    wallet: D


async def script(venue: Venue, advance: Callable[[int], Awaitable[None]]) -> Outcome:
    """The same orders at the same moments on any venue."""
    await venue.load_instruments()
    await venue.ensure_account_modes("isolated")
    await venue.set_leverage(SYM, D(5))
    await venue.fetch_tickers()
    await venue.create_order(req("m-1", Side.BUY, "10"))
    await venue.create_order(req("l-1", Side.BUY, "5", OrderType.LIMIT, price=D(95)))
    await venue.create_order(req("s-1", Side.SELL, "10", OrderType.STOP_MARKET,
                                 trigger_price=D(92), reduce_only=True))  # fmt: skip
    refusals = []
    for bad in (
        req("s-x", Side.SELL, "10", OrderType.STOP_MARKET, trigger_price=D(105), reduce_only=True),
        req("r-x", Side.BUY, "1", reduce_only=True),
    ):
        with pytest.raises(RejectedError) as err:
            await venue.create_order(bad)
        refusals.append(str(err.value.code))
    for _ in range(6):  # to 08:00: funding at 04:00 and 08:00, limit at 05:00, stop at 07:00
        await advance(1)
        await venue.fetch_tickers()
    await venue.create_order(req("c-1", Side.SELL, "5", reduce_only=True))
    await advance(1)
    await venue.fetch_tickers()
    fills = [
        (e.client_order_id, e.qty, e.price, e.fee, e.ts) for e in await venue.fetch_executions(0)
    ]
    funding = [(f.ts, f.amount) for f in await venue.fetch_funding_payments(0)]
    wallet = (await venue.fetch_balance()).wallet_balance
    return Outcome(sorted(fills, key=lambda f: (f[4], f[0])), funding, refusals, wallet)


async def test_backtest_replay_http_and_paper_agree(tmp_path: Path) -> None:
    data = _data(tmp_path / "d")

    engine = SimEngine(SimMarket.load(data), start_ms=START)
    sim_venue = SimVenue(engine)

    async def step_engine(n: int) -> None:
        engine.advance(n)

    in_process = await script(sim_venue, step_engine)

    async with sim_server(data, start_ms=START) as sim:
        ccxt_venue = venue_for(sim)
        try:
            over_http = await script(ccxt_venue, lambda n: sim.advance(n))  # type: ignore[arg-type,return-value]
        finally:
            await ccxt_venue.close()

    async with sim_server(data, start_ms=START) as sim:
        public = CcxtMarketData(ClientSpec.public("bybit", sim.url, rate_limit_ms=1))
        paper = PaperVenue(public, D(10000), PaperCosts())
        try:
            on_paper = await script(paper, lambda n: sim.advance(n))  # type: ignore[arg-type,return-value]
        finally:
            await paper.close()
        assert (await sim.state())["orders"] == []  # paper never sent an order

    # The expected answer, by hand: fees 0.055 % taker / 0.02 % maker, slippage 0.05 %.
    assert in_process.fills == [
        ("m-1", D(10), D("100.05"), D("0.5502750"), START),  # 100 + 0.05 %, rounded up
        ("l-1", D(5), D(95), D("0.09500"), T0 + 5 * H),  # the jump 96 → 94 crosses 95
        ("s-1", D(10), D("89.95"), D("0.4947250"), T0 + 7 * H),  # gap 94 → 90: from 90
        ("c-1", D(5), D("89.95"), D("0.2473625"), T0 + 8 * H),
    ]
    # 04:00: 10 long at 96 pays 0.02 %; 08:00: 5 long at 90 receives 0.03 %, before the close.
    assert in_process.funding == [(T0 + 4 * H, D("-0.1920")), (T0 + 8 * H, D("0.1350"))]
    assert in_process.refusals == ["110093", "110017"]
    assert over_http == in_process
    assert on_paper == in_process
