"""Issue #16: Binance replies are classified by their error code, not by ccxt's host-keyed
tables (which do not apply to a local base URL), so rotor's outcome rules hold on the Binance
face exactly as Binance documents them. Every case is a real reply of the simulator's face to
an unmodified ``ccxt.binanceusdm`` inside ``CcxtVenue``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.domain import OrderType, Side
from bot.venues.base import (
    DuplicateClientIdError,
    FatalError,
    InsufficientFundsError,
    OrderRequest,
    RateLimitedError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
)
from bot.venues.ccxt_guard import MAX_COOLDOWN_S
from bot.venues.ccxt_venue import CcxtVenue
from tests.integration.venues.conftest import started, venue_for
from tests.simserver import SimHandle

D = Decimal
ORDER = "/fapi/v1/order"


@pytest.fixture
async def bvenue(bsim: SimHandle) -> AsyncIterator[CcxtVenue]:
    async with started(venue_for(bsim)) as v:
        yield v


def market(cid: str, qty: str, side: Side = Side.BUY, *, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        side=side,
        type=OrderType.MARKET,
        qty=D(qty),
        client_order_id=cid,
        reduce_only=reduce_only,
    )


async def test_definite_refusals_keep_their_meaning(bvenue: CcxtVenue) -> None:
    with pytest.raises(InsufficientFundsError) as funds:
        await bvenue.create_order(market("rtr-funds", "10"))  # ~400 k USDT on 10 k at 20x
    assert funds.value.code == "-2019"
    with pytest.raises(RejectedError) as reduce:
        await bvenue.create_order(market("rtr-reduce", "0.01", Side.SELL, reduce_only=True))
    assert reduce.value.code == "-2022" and type(reduce.value) is RejectedError
    with pytest.raises(RejectedError) as small:
        await bvenue.create_order(market("rtr-small", "0.0001"))
    assert small.value.code == "-4164" and type(small.value) is RejectedError
    assert await bvenue.fetch_order("BTCUSDT", "rtr-never-sent") is None  # -2013 / -2013


async def test_duplicate_client_id_among_open_orders(bvenue: CcxtVenue) -> None:
    far = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=D("0.01"),
        price=D("20000"),
        client_order_id="rtr-dup",
    )
    await bvenue.create_order(far)
    with pytest.raises(DuplicateClientIdError) as dup:
        await bvenue.create_order(far)
    assert dup.value.code == "-4116"


async def test_internal_error_on_create_is_unknown_on_read_transient(
    bsim: SimHandle, bvenue: CcxtVenue
) -> None:
    """-1001 (HTTP 500): Binance says the execution status is unknown."""
    await bsim.set_faults([{"kind": "error_rate", "endpoint": ORDER, "ret_code": -1001}])
    with pytest.raises(UnknownOutcomeError) as create:
        await bvenue.create_order(market("rtr-lost", "0.01"))
    assert create.value.code == "-1001"
    with pytest.raises(TransientError) as read:
        await bvenue.fetch_order("BTCUSDT", "rtr-lost")
    assert read.value.code == "-1001" and not isinstance(read.value, UnknownOutcomeError)


async def test_rate_limit_waits_for_retry_after(bsim: SimHandle, bvenue: CcxtVenue) -> None:
    await bsim.set_faults(
        [{"kind": "rate_limit", "requests": 0, "window_ms": 3_000, "scope": "ip"}]
    )
    with pytest.raises(RateLimitedError) as limited:
        await bvenue.create_order(market("rtr-429", "0.01"))
    assert limited.value.code == "-1003"
    wait = bvenue.pacer._cooldown_until - time.monotonic()
    assert 1.0 < wait <= 3.0, f"cool-down follows Retry-After (≤ 3 s), got {wait:.2f}"
    assert (await bsim.requests())["endpoints"][ORDER] == 1, "a 429 create is not resent"


async def test_ip_ban_waits_for_the_whole_ban(bsim: SimHandle, bvenue: CcxtVenue) -> None:
    await bsim.set_faults(
        [{"kind": "rate_limit", "requests": 0, "window_ms": 60_000, "scope": "ban"}]
    )
    with pytest.raises(RateLimitedError):
        await bvenue.create_order(market("rtr-418", "0.01"))
    wait = bvenue.pacer._cooldown_until - time.monotonic()
    assert wait > MAX_COOLDOWN_S, f"a 418 ban is waited out (Retry-After ~60 s), got {wait:.1f}"


async def test_timestamp_outside_recv_window_resyncs_the_clock(
    bsim: SimHandle, bvenue: CcxtVenue
) -> None:
    await bsim.set_faults([{"kind": "clock_skew", "offset_ms": 30_000}])
    bal = await bvenue.fetch_balance()  # -1021, re-sync from the reply's Date, retried
    assert bal.equity == D(10000)
    assert bvenue.clock_resyncs == 1
    for _ in range(5):
        await bvenue.fetch_positions()
    assert bvenue.errors["TransientError"] == 1, "one refusal, then in step"


async def test_wrong_secret_is_fatal(bsim: SimHandle) -> None:
    v = venue_for(bsim, secret="not-the-secret")
    try:
        with pytest.raises(FatalError) as bad:
            await v.verify_credentials()
        assert bad.value.code == "-1022"
    finally:
        await v.close()


async def test_account_modes_at_start_survive_a_5xx(bsim: SimHandle, bvenue: CcxtVenue) -> None:
    """Setting one-way mode is idempotent: a 502 is retried, not a refused start (seed 1: the
    first attempt is refused, the second goes through)."""
    fault = {"kind": "error_rate", "endpoint": "POST /fapi/v1/positionSide/dual"}
    await bsim.set_faults([fault | {"probability": 0.5, "status": 502}], seed=1)
    await bvenue.ensure_account_modes("isolated")
    assert (await bsim.requests())["calls"]["POST /fapi/v1/positionSide/dual"] == 2


async def test_cross_position_refuses_the_start_and_entries_switch_to_isolated(
    bsim: SimHandle, bvenue: CcxtVenue
) -> None:
    """Binance's margin type is per symbol: a position held cross stops the start (Binance
    cannot switch it); a symbol without one is switched before its first risk-adding order."""
    status, body, _h = await bsim.binance(
        "POST",
        "/fapi/v1/order",
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"},
    )
    assert status == 200, body
    with pytest.raises(FatalError, match="ETHUSDT"):
        await bvenue.ensure_account_modes("isolated")
    await bsim.binance(
        "POST",
        "/fapi/v1/order",
        {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "1"},
    )
    await bvenue.ensure_account_modes("isolated")
    await bvenue.create_order(market("rtr-iso", "0.01"))
    modes = (await bsim.state())["symbolMarginModes"]
    assert modes.get("BTCUSDT") == "ISOLATED_MARGIN", modes
    # The balance carries the position's unrealised P&L (the venue's marginBalance).
    bal, usdt = await bvenue.fetch_balance(), (await bsim.state())["balances"]["USDT"]
    assert bal.wallet_balance == D(usdt["walletBalance"]) and bal.equity == D(usdt["equity"])
    assert bal.equity != bal.wallet_balance, "an open position's P&L is in the equity"
