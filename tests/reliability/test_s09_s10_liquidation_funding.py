"""RELIABILITY.md #9 (a liquidation on the venue) and #10 (funding settled while rotor was down).

ccxt's ``fetch_my_trades`` asks Bybit for ``execType=Trade`` only, so a liquidation (a
``BustTrade`` execution) would only show up as a vanished position; rotor reads the execution
list itself and books liquidations and funding like any fill, in time order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.domain import OrderType, Side, TriggerBy
from bot.execution.orders import NewOrder
from tests.conftest import VENUES
from tests.reliability.conftest import START, Rig, build_rig, close_rig
from tests.reliability.data import flat_dir
from tests.reliability.invariants import Books, assert_nothing_lost
from tests.simserver import SimHandle, sim_server

D = Decimal
# Liquidations and funding are read differently on each venue: both faces.
pytestmark = pytest.mark.parametrize("face", VENUES)
EQUITY = D(10000)
CRASH_BAR = 12
# The crash sim starts an hour before the 08:00 settlement (bar 8), so a position opened at
# its start is held at that instant and pays it (funding settles at the instant, issue #14).
CRASH_START = START - 3_600_000
AFTER_CRASH = CRASH_BAR - 7 + 2  # bars from the crash sim's start to just after the crash


@pytest.fixture
async def crash_sim(tmp_path: Path, face: str) -> AsyncIterator[SimHandle]:
    data = flat_dir(tmp_path / "crash", moves={"BTCUSDT": [(CRASH_BAR, 60.0)]})
    async with sim_server(data, start_ms=CRASH_START, equity=EQUITY, venue=face) as sim:
        yield sim


@pytest.fixture
async def crash_rig(crash_sim: SimHandle, migrated_url: str) -> AsyncIterator[Rig]:
    rig = await build_rig(crash_sim, migrated_url)
    try:
        yield rig
    finally:
        await close_rig(rig)


async def wallet(sim: SimHandle) -> Decimal:
    return D((await sim.state())["balances"]["USDT"]["walletBalance"])


def booked(books: Books) -> Decimal:
    """The wallet rotor's books imply: start + realised PnL - fees + funding."""
    realized = sum((c.realized_pnl for c in books.db_closed), D(0))
    fees = sum((e.fee for e in books.db_fills.values()), D(0))
    funding = sum((f.amount for f in books.db_funding), D(0))
    return EQUITY + realized - fees + funding


async def test_s09_liquidation_is_recorded_with_loss_fees_and_funding(crash_rig: Rig) -> None:
    rig = crash_rig
    await rig.venue.set_leverage("BTCUSDT", D(10))
    sent = await rig.orders.submit(
        NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("10"), intent="entry")
    )
    assert sent.outcome == "confirmed"
    await rig.reconcile()
    await rig.advance(AFTER_CRASH)  # a funding settlement, then the gap down to 60
    with capture_logs() as logs:
        report = await rig.reconcile()
    assert report.liquidations == ["BTCUSDT"]
    assert report.vanished_positions == [], "seen as a liquidation, not a vanished position"
    assert "BTCUSDT" not in rig.portfolio.positions
    books = await rig.books()
    bust = [e for e in books.db_fills.values() if e.is_liquidation]
    assert len(bust) == 1 and bust[0].qty == D("10")
    [closed] = books.db_closed
    assert closed.how == "liquidation" and closed.exec_id == bust[0].exec_id
    assert closed.realized_pnl == D("10") * (bust[0].price - closed.entry_price) < 0
    assert closed.fees == sum((e.fee for e in books.db_fills.values()), D(0)) > 0
    assert closed.funding == sum((f.amount for f in books.db_funding), D(0)) < 0
    [alert] = [e for e in logs if e["event"] == "liquidation_detected"]
    assert alert["alert"] is True and D(alert["loss"]) == closed.realized_pnl
    assert D(alert["funding"]) == closed.funding and D(alert["fees"]) == closed.fees
    # Loss, fees and funding are the whole story: rotor's books match the venue's wallet.
    assert booked(books) == await wallet(rig.sim)
    assert_nothing_lost(books)


async def test_s10_funding_while_down_is_booked_after_restart(rig: Rig, restart: Any) -> None:
    sent = await rig.orders.submit(
        NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("5"), intent="entry")
    )
    assert sent.outcome == "confirmed"
    await rig.reconcile()
    await close_rig(rig)  # rotor is down for a day: three settlements
    await rig.sim.advance(24)
    after = await restart()
    report = await after.reconcile()
    assert report.funding_payments == 3
    venue_funding = await after.venue.fetch_funding_payments(0)
    assert len(venue_funding) == 3
    books = await after.books()
    assert {f.ts for f in books.db_funding} == {
        int(r.get("execTime") or r.get("time")) for r in books.venue_funding.values()
    }
    paid = sum((f.amount for f in books.db_funding), D(0))
    assert paid == D("-0.15")  # 3 x 5 BTC x 100 x 0.0001, paid by the long
    pos = after.portfolio.positions["BTCUSDT"]
    assert pos.funding == paid
    stored = await after.repo.get_position("BTCUSDT")
    assert stored is not None and stored.funding == paid, "PnL includes it after reconciliation"
    assert booked(books) + stored.realized_pnl == await wallet(after.sim)
    # Applied once: reconciling again (and again after another restart) books nothing new.
    assert (await after.reconciler.run(since_ms=0)).funding_payments == 0
    again = await restart(after)
    assert (await again.reconcile()).funding_payments == 0
    assert again.portfolio.positions["BTCUSDT"].funding == paid
    assert_nothing_lost(await again.books())


async def test_s10_position_closed_while_down_keeps_its_funding(
    crash_sim: SimHandle, migrated_url: str
) -> None:
    """Funding settled, then the stop filled, both while rotor was down: on restart they are
    applied in time order, so the closed position carries its funding."""
    rig = await build_rig(crash_sim, migrated_url)
    # 10x on both venues (a new Binance account is 20x, whose liquidation price, ~95.5, lies
    # above this stop: the gap would liquidate before the stop, as Binance would).
    await rig.venue.set_leverage("BTCUSDT", D(10))
    await rig.orders.submit(NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("4"), intent="entry"))
    await rig.reconcile()
    stop = NewOrder(
        "BTCUSDT",
        Side.SELL,
        OrderType.STOP_MARKET,
        D("4"),
        intent="stop",
        trigger_price=D("95"),
        trigger_by=TriggerBy.MARK,
        reduce_only=True,
    )
    assert (await rig.orders.submit(stop)).outcome == "confirmed"
    await close_rig(rig)
    await crash_sim.advance(AFTER_CRASH)
    after = await build_rig(crash_sim, migrated_url)
    try:
        report = await after.reconcile()
        assert report.funding_payments == 1 and report.new_fills == 1
        books = await after.books()
        [closed] = books.db_closed
        assert closed.how == "close" and closed.funding == D("-0.04")  # 4 x 100 x 0.0001
        assert books.db_positions == {}
        assert booked(books) == await wallet(crash_sim)
        assert_nothing_lost(books)
    finally:
        await close_rig(after)
