"""Issue #20 on Binance: ``BinanceSpotVenue`` (unmodified ccxt ``binance`` for spot and the
wallet, ``binanceusdm`` for the perpetuals) against the simulator's Binance face, and the
sleeves' transfers (``bot.runtime.sleeves``) stored in a real database before they are sent,
an unclear one resolved from the venue's transfer history, never resent."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.domain import OrderStatus, OrderType, Side
from bot.runtime.sleeves import Sleeves
from bot.storage import Repository
from bot.venues.base import OrderRequest
from bot.venues.ccxt_binance_spot import BinanceSpotVenue
from bot.venues.spot import TO_FUTURES, TO_SPOT
from tests.integration.venues.conftest import START, started, venue_for
from tests.simserver import SimHandle

D = Decimal


@pytest.fixture
async def venue(bsim: SimHandle) -> AsyncIterator[BinanceSpotVenue]:
    async with started(venue_for(bsim, cls=BinanceSpotVenue)) as v:
        yield v


def spot_buy(cid: str, qty: str, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        symbol="spot:BTCUSDT", side=side, type=OrderType.MARKET, qty=D(qty), client_order_id=cid
    )


async def test_spot_orders_wallet_and_fills_from_the_spot_api(
    venue: BinanceSpotVenue, bsim: SimHandle
) -> None:
    markets = await venue.spot_markets()
    assert {"BTCUSDT", "ETHUSDT"} <= set(markets)
    tran = await venue.send_transfer(TO_SPOT, D(2000))
    assert tran
    bal = await venue.fetch_balance()  # both wallets: the account the breakers watch
    fut = await venue.fetch_futures_balance()
    assert fut.wallet_balance == 8000 and bal.wallet_balance == 10_000
    assert await venue.fetch_spot_usdt() == 2000
    placed = await venue.create_order(spot_buy("pf-1", "0.01"))
    assert placed.symbol == "spot:BTCUSDT" and placed.client_order_id == "pf-1"
    got = await venue.fetch_order("spot:BTCUSDT", "pf-1")
    assert got is not None and got.status is OrderStatus.FILLED and got.filled_qty == D("0.01")
    assert await venue.fetch_order("spot:BTCUSDT", "nope") is None
    sell = await venue.create_order(spot_buy("pf-2", "0.004", Side.SELL))
    assert sell.client_order_id == "pf-2"
    holdings = await venue.fetch_spot_holdings()
    assert [(h.market.symbol, h.qty) for h in holdings] == [("BTCUSDT", D("0.00599"))]
    fills = await venue.fetch_spot_executions(0)
    assert [(f.symbol, f.side, f.qty, f.fee_currency) for f in fills] == [
        ("spot:BTCUSDT", Side.BUY, D("0.01"), "BTC"),
        ("spot:BTCUSDT", Side.SELL, D("0.004"), "USDT"),
    ]
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    assert [e.fee for e in eng.spot_executions] == [f.fee for f in fills]
    assert eng.positions == {}  # the perpetuals saw nothing
    # The transfer moved money inside the account: it is no cash flow of the account.
    assert await venue.fetch_cash_flows(START - 86_400_000, eng.now_ms + 1) == []


async def test_sleeve_transfers_are_stored_first_and_an_unclear_one_resolved(
    venue: BinanceSpotVenue, bsim: SimHandle, repo: Repository
) -> None:
    assert bsim.ctx is not None
    eng = bsim.ctx.engine
    sleeves = Sleeves(venue, repo, lambda: eng.now_ms)
    out = await sleeves.fund(D(6000))  # futures wallet 10 000 → 6000: 4000 to spot
    assert out is not None and out.kind == TO_SPOT and out.amount == 4000
    assert await sleeves.fund(D("6000.5")) is None  # below the smallest transfer
    back = await sleeves.fund(D(7000))
    assert back is not None and back.kind == TO_FUTURES and back.amount == 1000
    # The acknowledgement is lost: the transfer was made, the history shows it.
    await bsim.set_faults(
        [{"kind": "drop_response", "endpoint": "POST /sapi/v1/asset/transfer", "probability": 1}]
    )
    lost = await sleeves.fund(D(8000))
    assert lost is not None and lost.status == "done" and lost.amount == 1000
    await bsim.set_faults([])
    stored = await repo.list_transfers()
    assert [(t.kind, t.amount, t.status) for t in stored] == [
        (TO_SPOT, 4000, "done"),
        (TO_FUTURES, 1000, "done"),
        (TO_FUTURES, 1000, "done"),
    ]
    venue_ids = sorted(str(t.tran_id) for t in eng.spot_transfers)
    assert sorted(str(t.tran_id) for t in stored) == venue_ids
    assert len(eng.spot_transfers) == 3  # never resent
    assert eng.account.spot_usdt == 2000 and eng.wallet_balance == 8000
    # A refused transfer (more than the spot wallet holds) is stored as failed.
    refused = await sleeves.move(TO_FUTURES, D(50_000))
    assert refused.status == "failed"
    # Stored but never sent (rotor died before sending): the history has no such transfer.
    died = dataclasses.replace(
        stored[0], client_id="xfer-died", amount=D(123), status="pending", tran_id=None
    )
    await repo.add_transfer(died)
    resolved = await sleeves.resolve_pending()
    assert [(t.client_id, t.status) for t in resolved] == [("xfer-died", "failed")]
