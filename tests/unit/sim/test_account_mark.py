"""The replay venue's ``ChangeTracking`` capability: the account mark moves with every change
of the account (orders, fills, funding, leverage, modes, transfers) and with nothing else, and
the events read after a mark are exactly the ones listed since."""

from __future__ import annotations

from decimal import Decimal as D

from bot.domain import OrderType, Side
from bot.sim import SimEngine
from bot.sim.core import EngineCore
from bot.sim.venue import SimVenue
from bot.venues.base import ChangeTracking, OrderRequest, change_tracking
from tests.unit.sim.conftest import MakeMarket, flat


def _req(cid: str, qty: str, symbol: str = "AAAUSDT") -> OrderRequest:
    return OrderRequest(cid, symbol, Side.BUY, OrderType.MARKET, D(qty))


def _balance_is_fresh(eng: SimEngine) -> bool:
    """The replay's balance read (kept per account state and bar, its margins per account
    state) equals the sums made afresh."""
    cross = eng.unrealised_pnl(cross_only=True) if eng.positions else None
    fresh = eng.wallet_balance + eng.unrealised_pnl(), EngineCore._available(eng, cross)
    return eng.wallet_equity_and_available() == fresh


async def test_the_mark_moves_with_every_change_and_only_then(make_market: MakeMarket) -> None:
    # Hours 0-3 flat at 100, then 101 (the mark moves, nothing fills); funding at hour 2.
    m = make_market({"AAAUSDT": [*flat(4), *flat(3, 101.0)]}, funding={"AAAUSDT": [(2, 0.0001)]})
    eng = SimEngine(m, slippage=D(0), fee_taker=D(0))
    v = SimVenue(eng)
    assert change_tracking(v) is v and isinstance(v, ChangeTracking)

    m0 = v.account_mark()
    eng.advance(1)  # an idle account: the clock moves, the account does not
    assert v.account_mark() == m0
    await v.ensure_account_modes("isolated")
    m1 = v.account_mark()
    assert m1 != m0  # a mode switch

    await v.create_order(_req("e1", "10"))
    m2 = v.account_mark()
    assert m2 != m1
    fills, funding = await v.fetch_account_events_after(m1)
    assert [f.client_order_id for f in fills] == ["e1"] and funding == []

    stop = OrderRequest(
        "s1", "AAAUSDT", Side.SELL, OrderType.STOP_MARKET, D(10), trigger_price=D(80),
        reduce_only=True,
    )  # fmt: skip
    await v.create_order(stop)
    m3 = v.account_mark()
    assert m3 != m2 and await v.fetch_account_events_after(m3) == ([], [])
    assert [o.order_link_id for o in eng.open_orders()] == ["s1"]

    await v.set_leverage("AAAUSDT", eng.leverage("AAAUSDT"))  # not modified: no change
    assert v.account_mark() == m3
    await v.set_leverage("AAAUSDT", D(5))
    m4 = v.account_mark()
    assert m4 != m3

    eng.advance(1)  # hour 1 -> 2: funding settles on the open position
    m5 = v.account_mark()
    assert m5 != m4 and _balance_is_fresh(eng)
    fills, funding = await v.fetch_account_events_after(m4)
    assert fills == [] and [p.symbol for p in funding] == ["AAAUSDT"]

    before = (await v.fetch_positions())[0].mark_price
    eng.advance(2)  # hours 2 -> 4: the price moves to 101, the stop holds, nothing settles
    assert v.account_mark() == m5 and _balance_is_fresh(eng)
    assert (await v.fetch_positions())[0].mark_price != before  # what moved is re-read

    await v.cancel_order("AAAUSDT", "s1")
    m6 = v.account_mark()
    assert m6 != m5 and eng.open_orders() == []
    limit = OrderRequest("l1", "AAAUSDT", Side.BUY, OrderType.LIMIT, D(5), price=D(90))
    await v.create_order(limit)  # rests: it reserves order margin
    assert v.account_mark() != m6 and _balance_is_fresh(eng)
    assert [o.order_link_id for o in eng.open_orders()] == ["l1"]
    eng.transfer(D(100))
    m7 = v.account_mark()
    assert m7 != m6 and _balance_is_fresh(eng)
    await v.create_order(_req("b1", "1", "spot:AAAUSDT"))  # a spot buy: coins, not the account
    assert v.account_mark() == m7 and _balance_is_fresh(eng)  # ... but the wallet moved
