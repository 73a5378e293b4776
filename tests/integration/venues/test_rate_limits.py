"""Bybit's two rate limits through rotor's ccxt layer (issue #14): the per-account limit
(retCode 10006 in an HTTP 200 body) and the per-IP limit (HTTP 403 "access too frequent")
are both a client-wide back-off until the venue's window resets, never "credentials refused"."""

from __future__ import annotations

import time

import pytest

from bot.venues.base import FatalError, RateLimitedError
from tests.integration.venues.conftest import venue_for
from tests.simserver import SimHandle


@pytest.mark.parametrize("scope", ["account", "ip"])
async def test_both_limits_back_off_until_the_window_resets(sim: SimHandle, scope: str) -> None:
    venue = venue_for(sim, retries=0)
    try:
        await venue.load_instruments()
        await sim.set_faults(
            [{"kind": "rate_limit", "requests": 0, "window_ms": 3000, "scope": scope}]
        )
        for call in (venue.fetch_tickers, venue.fetch_balance):
            with pytest.raises(RateLimitedError) as err:
                await call()
            assert not isinstance(err.value, FatalError)
        assert venue.rate_limited == 2
        # The cool-down follows X-Bapi-Limit-Reset-Timestamp (3 s away), not a fixed 1 s.
        assert venue.pacer._cooldown_until - time.monotonic() > 1.5
    finally:
        await venue.close()
