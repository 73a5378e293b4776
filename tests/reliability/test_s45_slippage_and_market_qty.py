"""RELIABILITY.md #45: a market entry that would fill far from the price it was sized on (a thin
book: the simulator's half spread) is refused by the slippage guard (``risk.max_slippage``), and
the venue's market-order size limit (``maxMktOrderQty``) is respected by capping the entry.
The daemon's own cycle, in-process, against the simulator's HTTP face through unmodified ccxt,
with a real database; the config key is validated like every other."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.risk.params import RiskParams
from tests.reliability.daemon_rig import SLOW_POLL, START, bar, running_daemon, trading_data
from tests.reliability.invariants import assert_nothing_lost, read_books
from tests.simserver import sim_server


async def test_s45_thin_book_entry_refused_by_the_slippage_guard(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    data = trading_data(tmp_path / "d")
    spread = {"half_spread": Decimal("0.02")}  # the touch is 2 % from the last price
    async with sim_server(data, start_ms=START, engine_kwargs=spread, venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url, **SLOW_POLL) as d:
            await bar(sim, d, 10)  # the 10th bar's close is an rsi-reversion entry on SOLUSDT
            report = d.services.core.last_report
            assert report is not None and report.entries == []
            assert "SLIPPAGE" in report.rejections["SOLUSDT"], report.rejections
            assert not (await sim.state())["orders"], "nothing was sent"
        assert_nothing_lost(await read_books(sim, migrated_url))


async def test_s45_entry_capped_at_the_market_order_limit(
    tmp_path: Path, migrated_url: str, venue_name: str
) -> None:
    data = trading_data(tmp_path / "d")
    # Bybit shows it as lotSizeFilter.maxMktOrderQty, Binance as the MARKET_LOT_SIZE filter.
    (data / "instruments.json").write_text(json.dumps({"SOLUSDT": {"maxMktOrderQty": "25"}}))
    async with sim_server(data, start_ms=START, venue=venue_name) as sim:
        async with running_daemon(sim, migrated_url, **SLOW_POLL) as d:
            await bar(sim, d, 10)
            report = d.services.core.last_report
            assert report is not None and report.entries == ["SOLUSDT"], report.rejections
            [entry] = [o for o in (await sim.state())["orders"] if not o["reduceOnly"]]
            assert Decimal(entry["qty"]) == Decimal(25) and entry["orderStatus"] == "Filled"
            assert d.services.portfolio.positions["SOLUSDT"].qty == Decimal(25)
        assert_nothing_lost(await read_books(sim, migrated_url))


@pytest.mark.parametrize("bad", [0, -0.01, 0.5, "lots"])
def test_s45_max_slippage_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"risk.max_slippage": bad}, environ={})
    assert "risk.max_slippage" in str(info.value)


def test_s45_max_slippage_reaches_the_risk_manager() -> None:
    settings = load_settings(None, {"risk.max_slippage": 0.005}, environ={})
    assert RiskParams.from_config(settings.risk).max_slippage == Decimal("0.005")
