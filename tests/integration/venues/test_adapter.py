"""CcxtVenue round trips and error outcomes against the sim's HTTP face (real ccxt)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import OrderStatus, OrderType, PositionSide, Side, TriggerBy
from bot.venues.base import (
    DuplicateClientIdError,
    FatalError,
    InsufficientFundsError,
    OrderNotFoundError,
    OrderRequest,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from bot.venues.ccxt_client import Endpoint
from bot.venues.ccxt_venue import CcxtVenue
from tests.integration.venues.conftest import START, venue_for
from tests.simserver import SimHandle

CREATE = "/v5/order/create"


def market(cid: str, side: Side, qty: str, symbol: str = "ETHUSDT", **kw: object) -> OrderRequest:
    return OrderRequest(cid, symbol, side, OrderType.MARKET, Decimal(qty), **kw)  # type: ignore[arg-type]


async def test_order_round_trip_maps_reports(venue: CcxtVenue, sim: SimHandle) -> None:
    assert venue.describe() == {
        "exchange": "bybit",
        "endpoint": "custom",
        "host": sim.url.removeprefix("http://"),
        "base_url": sim.url,
        "public_only": False,
    }
    inst = (await venue.load_instruments())["ETHUSDT"]
    assert inst.tiers and inst.tick_size > 0 and inst.ccxt_symbol == "ETH/USDT:USDT"
    await venue.set_leverage("ETHUSDT", Decimal(5))
    await venue.set_leverage("ETHUSDT", Decimal(5))  # "not modified" is success

    ack = await venue.create_order(market("rtr-t1-1", Side.BUY, "1.5"))
    assert ack.client_order_id == "rtr-t1-1" and ack.venue_order_id
    filled = await venue.fetch_order("ETHUSDT", "rtr-t1-1")
    assert filled is not None
    assert filled.status is OrderStatus.FILLED and filled.filled_qty == Decimal("1.5")
    assert filled.venue_order_id == ack.venue_order_id and filled.avg_fill_price

    [pos] = await venue.fetch_positions()
    assert (pos.symbol, pos.side, pos.qty) == ("ETHUSDT", PositionSide.LONG, Decimal("1.5"))
    assert pos.entry_price == filled.avg_fill_price and pos.leverage == Decimal(5)
    assert pos.liquidation_price is not None and pos.liquidation_price < pos.entry_price

    bal = await venue.fetch_balance()
    assert bal.wallet_balance < Decimal(10000)  # the taker fee was paid
    assert bal.available < bal.wallet_balance  # margin is locked

    [ex] = await venue.fetch_executions(START - 1)
    assert (ex.client_order_id, ex.side, ex.qty) == ("rtr-t1-1", Side.BUY, Decimal("1.5"))
    assert ex.price == filled.avg_fill_price and ex.fee > 0 and not ex.is_maker
    assert Decimal(10000) - bal.wallet_balance == ex.fee

    stop_px = (pos.entry_price * Decimal("0.9")).quantize(inst.tick_size)
    stop = OrderRequest(
        "rtr-t1-2", "ETHUSDT", Side.SELL, OrderType.STOP_MARKET, Decimal("1.5"),
        trigger_price=stop_px, trigger_by=TriggerBy.MARK, reduce_only=True,
    )  # fmt: skip
    await venue.create_order(stop)
    rep = await venue.fetch_order("ETHUSDT", "rtr-t1-2")
    assert rep is not None and rep.status is OrderStatus.ACCEPTED
    assert (rep.type, rep.trigger_price, rep.trigger_by) == (
        OrderType.STOP_MARKET,
        stop_px,
        TriggerBy.MARK,
    )
    assert rep.reduce_only and rep.side is Side.SELL
    assert [o.client_order_id for o in await venue.fetch_open_orders()] == ["rtr-t1-2"]
    venue_order = next(o for o in (await sim.state())["orders"] if o["orderLinkId"] == "rtr-t1-2")
    assert venue_order["triggerBy"] == "MarkPrice" and venue_order["triggerDirection"] == 2

    cancelled = await venue.cancel_order("ETHUSDT", "rtr-t1-2")
    assert cancelled.status is OrderStatus.CANCELED
    assert await venue.fetch_open_orders("ETHUSDT") == []
    assert await venue.fetch_order("ETHUSDT", "rtr-never-sent") is None
    with pytest.raises(OrderNotFoundError):
        await venue.cancel_order("ETHUSDT", "rtr-never-sent")


async def test_duplicate_client_id_and_insufficient_funds(venue: CcxtVenue, sim: SimHandle) -> None:
    await venue.create_order(market("rtr-t2-1", Side.BUY, "0.1"))
    with pytest.raises(DuplicateClientIdError) as dup:
        await venue.create_order(market("rtr-t2-1", Side.BUY, "0.1"))
    assert dup.value.code == "110072" and dup.value.outcome == "rejected"
    with pytest.raises(InsufficientFundsError) as poor:
        await venue.create_order(market("rtr-t2-2", Side.BUY, "50", symbol="BTCUSDT"))
    assert poor.value.code == "110007"
    # Exactly one create per call: create_order is never retried.
    assert (await sim.requests())["endpoints"][CREATE] == 3


async def test_bad_credentials_are_fatal_and_name_the_host(sim: SimHandle) -> None:
    venue = venue_for(sim, secret="not-the-secret")
    try:
        with pytest.raises(FatalError) as err:
            await venue.verify_credentials()
        assert err.value.code == "10004"
        assert sim.url.removeprefix("http://") in str(err.value)
        with pytest.raises(FatalError):
            await venue.create_order(market("rtr-t3-1", Side.BUY, "0.1"))
    finally:
        await venue.close()
    assert venue.endpoint is Endpoint.CUSTOM


async def test_lost_ack_is_unknown_and_resolved_by_query(venue: CcxtVenue, sim: SimHandle) -> None:
    await venue.load_instruments()
    await sim.set_faults([{"kind": "drop_response", "endpoint": CREATE, "probability": 1.0}])
    with pytest.raises(UnknownOutcomeError):
        await venue.create_order(market("rtr-t4-1", Side.BUY, "0.2"))
    await sim.set_faults([])
    found = await venue.fetch_order("ETHUSDT", "rtr-t4-1")  # the order was applied
    assert found is not None and found.status is OrderStatus.FILLED
    assert (await sim.requests())["endpoints"][CREATE] == 1


async def test_reads_retry_transient_failures_commands_do_not(sim: SimHandle) -> None:
    venue = venue_for(sim, retries=2)
    try:
        await venue.load_instruments()
        await sim.set_faults(
            [{"kind": "error_rate", "endpoint": "*", "probability": 1.0, "status": 503}]
        )
        await sim.admin("POST", "/sim/requests/reset")
        with pytest.raises(TransientError):
            await venue.fetch_tickers()
        with pytest.raises(UnknownOutcomeError):
            await venue.create_order(market("rtr-t5-1", Side.BUY, "0.1"))
        faults = (await sim.requests())["faultsByEndpoint"]
        assert sum(n for k, n in faults.items() if "tickers" in k) == 3  # 1 + 2 retries
        assert sum(n for k, n in faults.items() if "order/create" in k) == 1  # never retried
        await sim.set_faults(
            [{"kind": "rate_limit", "endpoint": "*", "requests": 1, "window_ms": 60_000}]
        )
        await venue.server_time()
        with pytest.raises(RateLimitedError):
            await venue.fetch_tickers()
    finally:
        await venue.close()
