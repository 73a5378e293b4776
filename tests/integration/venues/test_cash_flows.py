"""``CcxtVenue.fetch_cash_flows`` on both venue faces of the simulator through unmodified ccxt
(``fetch_ledger``): transfers in and out, signed, once each, over a range longer than the
7 days Bybit's transaction log answers per request (RELIABILITY.md #35)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.venues.ccxt_client import ClientSpec, Endpoint
from bot.venues.ccxt_venue import CcxtVenue
from tests.simserver import T0, make_data_dir, sim_server

HOUR = 3_600_000


@pytest.mark.parametrize("face", ["bybit", "binanceusdm"])
async def test_transfers_are_read_from_the_transaction_log(tmp_path: Path, face: str) -> None:
    data = make_data_dir(tmp_path / "d", n_bars=24 * 20)
    start = T0 + 240 * HOUR
    async with sim_server(data, start_ms=start, equity=Decimal(10000), venue=face) as sim:
        await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "-1500"})
        await sim.advance(2)
        await sim.admin("POST", "/sim/transfer", {"coin": "USDT", "amount": "700"})
        spec = ClientSpec(
            exchange=face,
            endpoint=Endpoint.CUSTOM,
            api_url=sim.url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            timeout_ms=2000,
            max_read_retries=1,
            rate_limit_ms=0,
        )
        venue = CcxtVenue(spec, backoff_base_s=0.01)
        try:
            flows = await venue.fetch_cash_flows(T0, start + 3 * HOUR)  # 10 days: 2 windows
            assert [(f.ts, f.amount) for f in flows] == [
                (start, Decimal(-1500)),
                (start + 2 * HOUR, Decimal(700)),
            ]
            assert len({f.venue_id for f in flows}) == 2
            assert await venue.fetch_cash_flows(start + HOUR, start + 3 * HOUR) == flows[1:]
        finally:
            await venue.close()
