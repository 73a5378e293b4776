"""RELIABILITY.md #11 (a 429 storm) and #14 (clock skew beyond recvWindow), through ccxt
against the simulator's fault injection."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from bot.domain import OrderStatus, OrderType, Side
from bot.execution.orders import NewOrder
from bot.venues.ccxt_guard import MAX_RESYNCS_IN_A_ROW, ClockSkewError, bybit_skew
from tests.conftest import VENUES
from tests.reliability.conftest import Rig, calls, faults_on
from tests.reliability.invariants import assert_nothing_lost

D = Decimal
# Rate limits and clock skew are answered differently by each venue: both faces.
pytestmark = pytest.mark.parametrize("face", VENUES)


async def faults(rig: Rig) -> dict[str, int]:
    return dict((await rig.sim.requests())["faults"])


async def test_s11_rate_limit_storm_backs_off_across_the_client(lite_rig: Rig) -> None:
    """Budget 5 requests/s for everything; rotor polls as fast as it can for 4 s."""
    rig = lite_rig
    await rig.sim.set_faults([{"kind": "rate_limit", "requests": 5, "window_ms": 1000}])
    await rig.sim.admin("POST", "/sim/requests/reset")
    served = 0
    limited_at: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < 4.0:
        before = rig.venue.rate_limited
        await rig.venue.fetch_tickers()  # retried inside the call until it gets through
        served += 1
        if rig.venue.rate_limited > before:
            limited_at.append(time.monotonic() - started)
    storm = await faults(rig)
    # Binance: server time, last prices, premium index, book tops.
    per_poll = 4 if rig.sim.venue == "binanceusdm" else 1
    assert served * per_poll >= 8, "the daemon keeps getting data, just slower"
    assert storm.get("rate_limit", 0) <= 3, f"the budget was exceeded again and again: {storm}"
    assert all(t < 2.0 for t in limited_at), f"429s after the first window: {limited_at}"
    # Other calls of the same client wait too (the back-off is client-wide, not per call).
    await asyncio.gather(*(rig.venue.fetch_positions() for _ in range(4)))
    assert (await faults(rig)).get("rate_limit", 0) <= 3


async def test_s11_order_submit_answered_429_is_an_unknown_outcome(lite_rig: Rig) -> None:
    rig = lite_rig
    await rig.sim.set_faults(faults_on(rig.sim, "create", kind="rate_limit", requests=0))
    result = await rig.orders.submit(
        NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), intent="entry")
    )
    assert result.outcome == "unknown", "a submit under a 429 storm is resolved, not assumed"
    await rig.sim.set_faults([])
    await rig.advance(1)
    await rig.reconcile()
    stored = await rig.repo.get_order(result.order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.REJECTED
    assert await calls(rig.sim, "create") == 1, "never resent"
    assert_nothing_lost(await rig.books())


async def test_s14_clock_skew_beyond_recv_window_resyncs(lite_rig: Rig) -> None:
    rig = lite_rig
    # The venue's clock runs 30 s ahead: every signed request is outside the 5 s recvWindow.
    await rig.sim.set_faults([{"kind": "clock_skew", "offset_ms": 30_000}])
    bal = await rig.venue.fetch_balance()
    assert bal.equity == D(10000)
    assert rig.venue.clock_resyncs == 1
    for _ in range(15):
        await rig.venue.fetch_positions()
    assert rig.venue.errors["TransientError"] == 1, "one refusal, then in step: no error loop"
    # The skew goes away again (the host clock was fixed): one more re-sync, then quiet.
    await rig.sim.set_faults([])
    await rig.venue.fetch_open_orders()
    assert rig.venue.clock_resyncs == 2
    sent = await rig.orders.submit(
        NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, D("1"), intent="entry")
    )
    assert sent.outcome == "confirmed"
    await rig.reconcile()
    assert_nothing_lost(await rig.books())


async def test_s14_unfixable_skew_is_a_fatal_error_not_a_loop(lite_rig: Rig) -> None:
    """When the venue keeps refusing the timestamps after re-syncs (or gives no server time),
    the error turns fatal (the daemon then goes REDUCING with an alert) instead of being
    retried forever."""
    from bot.venues.base import TransientError

    sync = lite_rig.venue.clock_sync
    refusal = TransientError("recvWindow", code="10002")
    skew = bybit_skew("req_timestamp[1000],server_timestamp[31000],recv_window[5000]")
    assert skew == (1000, 31000)
    for _ in range(MAX_RESYNCS_IN_A_ROW):
        assert sync.refused(lite_rig.venue.ex, "bybit", refusal, skew) is refusal
    err = sync.refused(lite_rig.venue.ex, "bybit", refusal, skew)
    assert isinstance(err, ClockSkewError) and err.outcome == "fatal"
    assert "check the host clock" in str(err)
    sync.ok()
    vague = 'bybit {"retCode":10002,"retMsg":"invalid request, please check your timestamp"}'
    assert bybit_skew(vague) is None
    assert isinstance(sync.refused(lite_rig.venue.ex, "bybit", refusal, None), ClockSkewError)
