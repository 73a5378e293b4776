"""Fixtures for the HTTP-face tests: a small data directory and a running simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.data.datadir import Funding, Ohlcv, write_funding, write_ohlcv
from bot.data.panel import HOUR_MS
from tests.simserver import T0, SimHandle, make_data_dir, sim_server

N_BARS = 240
START = T0 + 48 * HOUR_MS  # two days of history before the replay starts
RISK_SYMBOL = "RISKUSDT"  # flat at 100: reproduces RISK.md's worked example


def _write_risk_symbol(root: Path) -> None:
    ts = T0 + HOUR_MS * np.arange(N_BARS, dtype=np.int64)
    flat = np.full(N_BARS, 100.0)
    write_ohlcv(
        root / "ohlcv" / f"{RISK_SYMBOL}.parquet",
        Ohlcv(ts, flat, flat, flat, flat, np.full(N_BARS, 5000.0)),
    )
    fts = ts[ts % (8 * HOUR_MS) == 0]
    write_funding(root / "funding" / f"{RISK_SYMBOL}.parquet", Funding(fts, np.zeros(len(fts))))
    inst = {
        RISK_SYMBOL: {
            "tick_size": "0.01",
            "qty_step": "1",
            "min_notional": "5",
            "tiers": [
                {"cap": 1000000, "mmr": "0.005", "max_leverage": 20},
                {"cap": 5000000, "mmr": "0.01", "max_leverage": 10},
            ],
        }
    }
    (root / "instruments.json").write_text(json.dumps(inst))
    with (root / "sectors.csv").open("a") as fh:
        fh.write(f"{RISK_SYMBOL},test\n")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three random-walk symbols plus a flat RISKUSDT, 240 hourly bars from 2024-01-01."""
    root = make_data_dir(tmp_path_factory.mktemp("simdata"), n_bars=N_BARS)
    _write_risk_symbol(root)
    return root


# No spread or slippage: fills happen at the bar open, so expected prices are exact.
EXACT_FILLS: dict[str, Any] = {"slippage": Decimal(0), "half_spread": Decimal(0)}


@pytest.fixture
async def sim(data_dir: Path) -> AsyncIterator[SimHandle]:
    """A fresh in-process simulator in manual-clock mode, started two days into the data."""
    async with sim_server(data_dir, start_ms=START, engine_kwargs=EXACT_FILLS) as handle:
        yield handle


@pytest.fixture
async def ex(sim: SimHandle) -> AsyncIterator[Any]:
    """An unmodified ccxt bybit client (markets loaded) pointed at ``sim``, with the account
    switched to isolated margin as rotor does at start-up (a new account is cross)."""
    client = sim.ccxt()
    try:
        await client.load_markets()
        await client.set_margin_mode("isolated")
        yield client
    finally:
        await client.close()


@pytest.fixture
async def bsim(data_dir: Path) -> AsyncIterator[SimHandle]:
    """The same simulator serving its Binance USDⓈ-M face (a new Binance account)."""
    async with sim_server(
        data_dir, start_ms=START, engine_kwargs=EXACT_FILLS, venue="binanceusdm"
    ) as handle:
        yield handle


@pytest.fixture
async def bex(bsim: SimHandle) -> AsyncIterator[Any]:
    """An unmodified ccxt binanceusdm client (markets loaded) pointed at ``bsim``."""
    client = bsim.ccxt()
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()
