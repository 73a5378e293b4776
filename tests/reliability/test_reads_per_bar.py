"""What one closed bar costs in account reads while a position and its stop are held: the
cycle's reconciliation reads the open orders and the balance once, and the stop keeper and
the cash-flow reader use those reads rather than their own (Binance weighs an open-order list
at 40, twice with its algo orders)."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.daemon_rig import (
    SLOW_POLL,
    bar,
    bars_until,
    has_position_with_stop,
    running_daemon,
    trading_sim,
)

OPEN_ORDERS = {
    "bybit": ["GET /v5/order/realtime"],
    "binanceusdm": ["GET /fapi/v1/openOrders", "GET /fapi/v1/openAlgoOrders"],
}
BALANCE = {"bybit": ["GET /v5/account/wallet-balance"], "binanceusdm": ["GET /fapi/v3/account"]}


async def test_a_quiet_bar_reads_open_orders_and_balance_once(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    async with (
        trading_sim(tmp_path / "d", venue=venue_name) as sim,
        running_daemon(sim, migrated_url, **SLOW_POLL) as d,
    ):
        await bars_until(sim, d, has_position_with_stop())
        await bar(sim, d)  # settles what the entry left (late reads, adopted marks)
        await sim.admin("POST", "/sim/requests/reset")
        assert await bar(sim, d) == 1
        report = d.services.core.last_report
        assert report is not None and not report.entries and not report.exits
        calls = (await sim.requests())["calls"]
    for path in OPEN_ORDERS[venue_name]:
        assert calls.get(path) == 1, (path, calls)
    for path in BALANCE[venue_name]:
        assert calls.get(path) == 1, (path, calls)
