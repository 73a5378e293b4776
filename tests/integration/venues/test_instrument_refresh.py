"""The instrument refresh after each bar re-reads the contract specs but not the leverage
tiers, which change by announcement: those are read again after ``TIERS_MAX_AGE_S`` or when a
perpetual is listed that the last read did not know."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.venues import ccxt_core
from tests.integration.venues.conftest import START, venue_for
from tests.simserver import sim_server

TIERS = {"bybit": "/v5/market/risk-limit", "binanceusdm": "/fapi/v1/leverageBracket"}
MARKETS = {"bybit": "/v5/market/instruments-info", "binanceusdm": "/fapi/v1/exchangeInfo"}


@pytest.mark.parametrize("venue_name", ["bybit", "binanceusdm"])
async def test_tiers_are_read_again_only_when_old_or_a_market_is_new(
    data_dir: Path, venue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sim_server(data_dir, start_ms=START, venue=venue_name) as sim:
        venue = venue_for(sim)
        try:
            first = await venue.load_instruments()
            assert all(i.tiers for i in first.values())
            calls = (await sim.requests())["endpoints"]
            tiers, markets = calls[TIERS[venue_name]], calls[MARKETS[venue_name]]
            assert tiers >= 1

            again = await venue.load_instruments()  # the next bar's refresh
            calls = (await sim.requests())["endpoints"]
            assert calls[MARKETS[venue_name]] > markets, "the specs are read every time"
            assert calls[TIERS[venue_name]] == tiers, "the tiers are not"
            assert {s: i.tiers for s, i in again.items()} == {s: i.tiers for s, i in first.items()}

            # A listing the last tier read did not know brings the tiers again.
            venue._tiers_read = (venue._tiers_read[0], frozenset())  # type: ignore[index]
            await venue.load_instruments()
            assert (await sim.requests())["endpoints"][TIERS[venue_name]] > tiers
            tiers = (await sim.requests())["endpoints"][TIERS[venue_name]]

            monkeypatch.setattr(ccxt_core, "TIERS_MAX_AGE_S", 0.0)  # and so does their age
            await venue.load_instruments()
            assert (await sim.requests())["endpoints"][TIERS[venue_name]] > tiers
        finally:
            await venue.close()
