"""rotor sets the account's margin and position modes at start-up (RELIABILITY.md #32, first
half; issue #14): a new Bybit account is cross margin, rotor's risk maths is isolated."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.venues.base import FatalError
from bot.venues.modes import AccountModesError, prepare_account
from tests.integration.venues.conftest import venue_for
from tests.simserver import SimHandle


async def test_ccxt_venue_switches_a_new_cross_account_to_isolated(sim: SimHandle) -> None:
    assert sim.ctx is not None and sim.ctx.engine.margin_mode == "REGULAR_MARGIN"
    venue = venue_for(sim)
    try:
        await sim.admin("POST", "/sim/requests/reset")
        await venue.ensure_account_modes("isolated")
        assert sim.ctx.engine.margin_mode == "ISOLATED_MARGIN"
        calls = (await sim.requests())["endpoints"]
        assert calls["/v5/account/set-margin-mode"] == 1
        assert calls["/v5/position/switch-mode"] == 1  # "not modified" (110025) is success
        await venue.ensure_account_modes("isolated")  # already: checked, not set again
        assert (await sim.requests())["endpoints"]["/v5/account/set-margin-mode"] == 1
    finally:
        await venue.close()


async def test_start_up_refuses_when_the_mode_cannot_be_set(sim: SimHandle) -> None:
    venue = venue_for(sim)
    try:
        await venue.load_instruments()
        await venue.ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)  # held in cross
        with pytest.raises(FatalError, match="close every position"):
            await venue.ensure_account_modes("isolated")
        settings = load_settings(None, {"execution.margin_mode": "isolated"}, environ={})
        with pytest.raises(AccountModesError, match="isolated margin"):
            await prepare_account(venue, settings)
        cross = load_settings(None, {"execution.margin_mode": "cross"}, environ={})
        await prepare_account(venue, cross)  # matches the account: starts
    finally:
        await venue.close()
