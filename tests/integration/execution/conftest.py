"""An in-process simulated venue plus a real database (SQLite and PostgreSQL) for the order manager."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bot.data.datadir import Ohlcv, write_ohlcv
from bot.data.panel import HOUR_MS
from bot.execution.client_ids import ClientIdFactory
from bot.execution.orders import OrderManager
from bot.execution.portfolio import Portfolio
from bot.sim.engine import SimEngine
from bot.sim.market import SimMarket
from bot.sim.venue import SimVenue
from bot.storage.db import create_engine
from bot.storage.records import RunRecord
from bot.storage.repository import Repository
from bot.venues.base import OrderRequest, UnknownOutcomeError

T0 = 1_704_067_200_000
INSTRUMENT = {
    "tick_size": "0.01",
    "qty_step": "0.01",
    "min_qty": "0.01",
    "min_notional": "5",
    "tiers": [{"floor": "0", "cap": "10000000", "mmr": "0.005", "max_leverage": "100"}],
}


def flat_market(
    root: Path, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"), bars: int = 48
) -> SimMarket:
    """Prices fixed at 100 so fills and PnL are hand-checkable."""
    ts = T0 + np.arange(bars, dtype=np.int64) * HOUR_MS
    one = np.full(bars, 100.0)
    for s in symbols:
        write_ohlcv(
            root / "ohlcv" / f"{s}.parquet", Ohlcv(ts, one, one + 1, one - 1, one, one * 1000)
        )
    (root / "instruments.json").write_text(json.dumps({s: INSTRUMENT for s in symbols}))
    return SimMarket.load(root)


class LostAckVenue(SimVenue):
    """Fault injection at the venue boundary: apply the create, then lose the reply (or not apply)."""

    def __init__(self, engine: SimEngine, *, apply: bool) -> None:
        super().__init__(engine)
        self.apply = apply
        self.creates = 0

    async def create_order(self, request: OrderRequest):  # type: ignore[no-untyped-def]
        self.creates += 1
        if self.apply:
            await super().create_order(request)
        raise UnknownOutcomeError("read timeout (reply lost)", endpoint="/v5/order/create")


@dataclass
class Rig:
    engine: SimEngine
    venue: SimVenue
    repo: Repository
    ids: ClientIdFactory
    orders: OrderManager
    portfolio: Portfolio
    clock_ms: list[int]

    def now(self) -> int:
        return self.clock_ms[0]


@pytest.fixture
async def make_rig(migrated_url: str, tmp_path: Path) -> AsyncIterator[object]:
    engines = []

    async def make(venue_cls: type[SimVenue] = SimVenue, **venue_kw: object) -> Rig:
        market = flat_market(tmp_path / f"m{len(engines)}")
        # The account modes rotor sets at start-up (bot.venues.modes).
        engine = SimEngine(market, equity=Decimal(10000), margin_mode="ISOLATED_MARGIN")
        venue = venue_cls(engine, **venue_kw)  # type: ignore[call-arg]
        db = create_engine(migrated_url)
        engines.append(db)
        repo = Repository(db)
        run_id = f"r{len(engines)}"
        await repo.start_run(RunRecord(run_id=run_id, mode="test", started_ms=T0))
        ids = ClientIdFactory("rtr", run_id)
        clock = [engine.now_ms]
        orders = OrderManager(
            venue, repo, ids, lambda: clock[0], unknown_grace_ms=60_000, query_delay_s=0.0
        )
        return Rig(engine, venue, repo, ids, orders, Portfolio(), clock)

    yield make
    for db in engines:
        await db.dispose()
