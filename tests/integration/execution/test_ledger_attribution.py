"""A fill whose venue names no client id (Binance's ``/fapi/v1/userTrades``) is linked to its
order by the venue's order id, on both databases: its entry's planned stop is found again
after a restart (RELIABILITY.md #3), and the position it opens is reported as opened."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from bot.domain import OrderType, Side
from bot.execution.ledger import Ledger
from bot.execution.orders import NewOrder
from tests.integration.execution.conftest import Rig


async def test_a_fill_without_client_id_is_linked_to_its_stored_order(make_rig: Any) -> None:
    rig: Rig = await make_rig()
    entry = NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("1"), intent="entry",
                     planned_stop=Decimal("90"))  # fmt: skip
    result = await rig.orders.submit(entry)
    assert result.outcome == "confirmed"
    assert rig.orders.orders == {}, "filled: no longer tracked, only stored"
    [fill] = await rig.venue.fetch_executions(0)
    bare = dataclasses.replace(fill, client_order_id="")  # as Binance lists it
    ledger = Ledger(rig.repo, rig.orders, rig.portfolio, clock=rig.now, sector_of=lambda _s: None)

    applied = await ledger.apply([bare], [])

    assert applied.fills == 1 and applied.opened == {"BTCUSDT"}
    [stored] = await rig.repo.list_executions()
    assert stored.client_order_id == result.order.client_order_id
    pos = rig.portfolio.positions["BTCUSDT"]
    assert await rig.repo.planned_stop("BTCUSDT", pos.opened_ms) == Decimal("90")
