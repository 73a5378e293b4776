"""The engine's venues serve the portfolio's spot path (``bot.sim.spot_venue``): spot orders
on a ``spot:`` symbol fill on the engine's spot book, coins and spot fills are read apart from
the USDT wallet, and the errors are the venue error classes the order manager handles."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.domain import OrderStatus, OrderType, Side
from bot.sim import SimEngine
from bot.sim.rules import BINANCE
from bot.sim.venue import SimVenue
from bot.venues.base import (
    DuplicateClientIdError,
    InsufficientFundsError,
    OrderNotFoundError,
    OrderRequest,
    RejectedError,
)
from bot.venues.spot import TO_FUTURES, TO_SPOT
from tests.unit.sim.conftest import MakeMarket, flat


def _spot(cid: str, qty: str, side: Side = Side.BUY, **kw: object) -> OrderRequest:
    args: dict[str, object] = {
        "client_order_id": cid,
        "symbol": "spot:AAAUSDT",
        "side": side,
        "type": OrderType.MARKET,
        "qty": D(qty),
    }
    args.update(kw)
    return OrderRequest(**args)  # type: ignore[arg-type]


async def test_spot_orders_coins_and_fills(make_market: MakeMarket) -> None:
    eng = SimEngine(make_market({"AAAUSDT": flat(3)}), slippage=D(0), spot_fee=D("0.001"))
    v = SimVenue(eng)
    markets = await v.spot_markets()
    assert markets["AAAUSDT"].base == "AAA" and markets["AAAUSDT"].qty_step == D("0.001")

    rep = await v.create_order(_spot("b1", "10"))
    assert (rep.symbol, rep.status, rep.filled_qty) == ("spot:AAAUSDT", OrderStatus.FILLED, D(10))
    assert rep.avg_fill_price == D(100)
    # The perpetual book knows nothing of it; the spot book does, by client id.
    assert await v.fetch_order("AAAUSDT", "b1") is None
    found = await v.fetch_order("spot:AAAUSDT", "b1")
    assert found is not None and found.venue_order_id == rep.venue_order_id
    assert await v.fetch_open_orders() == []
    with pytest.raises(OrderNotFoundError):
        await v.cancel_order("spot:AAAUSDT", "b1")  # filled on arrival: too late to cancel

    # The fee of a buy is paid in the coin bought; a sell's in USDT.
    [held] = await v.fetch_spot_holdings()
    assert (held.market.symbol, held.qty, held.price) == ("AAAUSDT", D("9.99"), D(100))
    await v.create_order(_spot("s1", "4", Side.SELL))
    fills = await v.fetch_spot_executions(0)
    assert [(f.symbol, f.side, f.qty, f.fee, f.fee_currency) for f in fills] == [
        ("spot:AAAUSDT", Side.BUY, D(10), D("0.010"), "AAA"),
        ("spot:AAAUSDT", Side.SELL, D(4), D("0.400"), "USDT"),
    ]
    assert fills[0].client_order_id == "b1" and fills[0].venue_order_id == rep.venue_order_id

    # The balance is the USDT wallet (the coin row the HTTP faces show); coins are apart.
    bal = await v.fetch_balance()
    usdt = D(10000) - D(1000) + D(400) - D("0.4")
    assert bal.wallet_balance == usdt and bal.equity == usdt
    assert eng.equity() == usdt + D("5.99") * 100  # the unified account's total


async def test_spot_refusals_are_venue_errors(make_market: MakeMarket) -> None:
    eng = SimEngine(make_market({"AAAUSDT": flat(3)}), equity=D(500), slippage=D(0))
    v = SimVenue(eng)
    with pytest.raises(InsufficientFundsError):
        await v.create_order(_spot("big", "10"))  # 1000 USDT with 500
    await v.create_order(_spot("b1", "1"))
    with pytest.raises(DuplicateClientIdError):
        await v.create_order(_spot("b1", "1"))
    with pytest.raises(InsufficientFundsError):
        await v.create_order(_spot("s1", "2", Side.SELL))  # more coins than held
    with pytest.raises(RejectedError, match="plain market orders"):
        await v.create_order(_spot("l1", "1", type=OrderType.LIMIT, price=D(100)))
    with pytest.raises(RejectedError, match="Not supported symbols"):
        await v.create_order(_spot("x1", "1", symbol="spot:ZZZUSDT"))


async def test_binance_rules_keep_spot_in_a_wallet_of_its_own(make_market: MakeMarket) -> None:
    """Under Binance's rules the engine's venue has two wallets, as the Binance face: spot
    buys spend the spot USDT, which transfers bring from the futures wallet; the balance is
    both wallets' USDT and the transfers are listed by type."""
    eng = SimEngine(make_market({"AAAUSDT": flat(3)}), equity=D(500), rules=BINANCE)
    v = SimVenue(eng)
    assert v.two_wallets and "AAAUSDT" in await v.spot_markets()
    with pytest.raises(InsufficientFundsError):
        await v.create_order(_spot("b0", "1"))  # the spot wallet is empty
    tran = await v.send_transfer(TO_SPOT, D(200))
    assert await v.fetch_spot_usdt() == 200
    assert (await v.fetch_futures_balance()).wallet_balance == 300
    assert (await v.fetch_balance()).wallet_balance == 500
    await v.create_order(_spot("b1", "1"))
    assert await v.fetch_spot_usdt() < 200 and eng.coin_balances()
    back = await v.send_transfer(TO_FUTURES, D(50))
    assert [t.tran_id for t in await v.fetch_transfers(TO_SPOT, 0)] == [tran]
    assert [(t.tran_id, t.amount) for t in await v.fetch_transfers(TO_FUTURES, 0)] == [
        (back, D(50))
    ]
    with pytest.raises(RejectedError):
        await v.send_transfer(TO_FUTURES, D(10_000))
    assert not SimVenue(SimEngine(make_market({"AAAUSDT": flat(3)}))).two_wallets
