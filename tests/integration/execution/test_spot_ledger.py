"""Spot fills in the books (issue #20): ``Ledger.apply_spot`` stores each of the venue's spot
executions once, with its fee in the venue's currency (the coin bought on a buy), and opens no
perpetual position. Real order manager, engine venue and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import OrderType, Side
from bot.execution.ledger import Ledger
from bot.execution.orders import NewOrder
from tests.integration.execution.conftest import Rig


def _row(e: Any) -> tuple[Any, ...]:
    return (e.exec_id, e.symbol, e.client_order_id, e.venue_order_id, e.side, e.qty, e.price,
            e.fee, e.fee_currency, e.ts)  # fmt: skip


async def test_spot_fills_are_recorded_once_with_the_venues_fee(make_rig: Any) -> None:
    rig: Rig = await make_rig()
    for side, qty in ((Side.BUY, "0.5"), (Side.SELL, "0.2")):
        new = NewOrder("spot:BTCUSDT", side, OrderType.MARKET, Decimal(qty), intent="spot")
        result = await rig.orders.submit(new)
        assert result.outcome == "confirmed"
    ledger = Ledger(rig.repo, rig.orders, rig.portfolio, clock=rig.now, sector_of=lambda _s: None)
    venue = await rig.venue.fetch_spot_executions(0)
    assert await ledger.apply_spot(venue) == 2
    assert await ledger.apply_spot(venue) == 0, "a re-read overlap records nothing twice"

    stored = await rig.repo.list_executions()
    assert sorted(map(_row, stored)) == sorted(map(_row, venue))
    buy, sell = sorted(stored, key=lambda e: e.side.value)
    assert (buy.fee, buy.fee_currency) == (Decimal("0.0005"), "BTC")  # 0.1 % of 0.5 BTC
    assert (sell.fee_currency, sell.fee) == ("USDT", Decimal("0.2") * sell.price / 1000)
    assert rig.portfolio.positions == {} and await rig.repo.list_positions() == []
    orders = {o.client_order_id: o for o in await rig.repo.list_orders()}
    assert {e.client_order_id for e in stored} == set(orders)

    assert await rig.venue.fetch_executions(0) == [], "no perpetual fill"
    with pytest.raises(ValueError, match="not a spot market"):
        await ledger.apply_spot([dataclasses.replace(venue[0], exec_id="x", symbol="BTCUSDT")])
