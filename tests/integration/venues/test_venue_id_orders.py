"""Cancel and query by the venue's order id (RELIABILITY.md #30) through ``CcxtVenue`` on both
faces of the simulator: Bybit (``orderId``) and Binance USDⓈ-M (plain and algo services)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import OrderStatus, OrderType, Side, TriggerBy
from bot.venues.base import OrderNotFoundError, OrderRequest
from bot.venues.ccxt_client import ClientSpec, Endpoint
from bot.venues.ccxt_venue import CcxtVenue
from tests.integration.venues.conftest import START
from tests.simserver import sim_server


@pytest.mark.parametrize("face", ["bybit", "binanceusdm"])
async def test_cancel_and_fetch_by_venue_id_on_both_faces(data_dir, face: str) -> None:  # type: ignore[no-untyped-def]
    async with sim_server(data_dir, start_ms=START, venue=face) as sim:
        spec = ClientSpec(
            exchange=face,  # type: ignore[arg-type]
            endpoint=Endpoint.CUSTOM,
            api_url=sim.url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            timeout_ms=5_000,
            max_read_retries=1,
            rate_limit_ms=1,
        )
        venue = CcxtVenue(spec, backoff_base_s=0.01)
        try:
            await venue.load_instruments()
            await venue.server_time()
            await venue.set_leverage("BTCUSDT", Decimal(5))
            placed = await venue.create_order(
                OrderRequest("t30-limit", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"),
                             price=Decimal(20000))
            )  # fmt: skip
            held = await venue.create_order(
                OrderRequest("t30-entry", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))
            )
            assert held.venue_order_id
            stop = await venue.create_order(
                OrderRequest("t30-stop", "BTCUSDT", Side.SELL, OrderType.STOP_MARKET,
                             Decimal("0.01"), trigger_price=Decimal(20000),
                             trigger_by=TriggerBy.MARK, reduce_only=True)
            )  # fmt: skip
            for report in (placed, stop):
                found = await venue.fetch_order_by_venue_id("BTCUSDT", report.venue_order_id)
                assert found is not None and found.status is OrderStatus.ACCEPTED
                done = await venue.cancel_order_by_venue_id("BTCUSDT", report.venue_order_id)
                assert done.status is OrderStatus.CANCELED
            assert await venue.fetch_open_orders("BTCUSDT") == []
            assert await venue.fetch_order_by_venue_id("BTCUSDT", "999999999") is None
            with pytest.raises(OrderNotFoundError):
                await venue.cancel_order_by_venue_id("BTCUSDT", "999999999")
        finally:
            await venue.close()
