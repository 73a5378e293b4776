"""Storage write costs: persist-before-send order insert, and one cycle's writes batched or not.

Usage: .venv/bin/python bench/bench_storage.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]
A PostgreSQL run creates and drops its own scratch database on that server.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.domain import Action, Decision, Order, OrderType, Position, PositionSide, Side
from bot.storage.db import create_engine
from bot.storage.migrate import upgrade
from bot.storage.records import EquitySnapshot, RunRecord
from bot.storage.repository import Repository

T0 = 1_700_000_000_000
SYMBOLS = 60  # decisions per cycle ~ universe size
POSITIONS = 5


def _decisions(cycle: int) -> list[Decision]:
    return [
        Decision(T0 + cycle, f"S{i}USDT", "L1", Action.NONE, ("none",), {"z": 0.1 * i})
        for i in range(SYMBOLS)
    ]


async def _cycle(r: Repository, cycle: int) -> None:
    await r.insert_decisions(_decisions(cycle), run_id="bench")
    snap = EquitySnapshot(
        T0 + cycle, Decimal("10000.5"), Decimal("9990"), Decimal("10.5"), Decimal(2), Decimal(1)
    )
    await r.insert_equity_snapshots([snap], run_id="bench")
    for i in range(POSITIONS):
        pos = Position(
            f"S{i}USDT", PositionSide.LONG, Decimal("1.5"), Decimal("100.25"), Decimal(5), T0
        )
        await r.upsert_position(pos, updated_ms=T0 + cycle)


async def run(url: str, label: str, n_orders: int, n_cycles: int) -> None:
    await upgrade(url)
    engine = create_engine(url)
    repo = Repository(engine)
    try:
        await repo.start_run(RunRecord("bench", "replay", T0))
        lat = []
        for i in range(n_orders):
            order = Order(f"rtr-bench-{i}", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))
            t = time.perf_counter()
            await repo.insert_order(order, run_id="bench")
            lat.append((time.perf_counter() - t) * 1e3)
        lat.sort()
        print(
            f"{label}: insert_order (own transaction) median {statistics.median(lat):.2f} ms, "
            f"p95 {lat[int(0.95 * len(lat))]:.2f} ms over {n_orders}"
        )
        for batched in (False, True):
            t = time.perf_counter()
            for c in range(n_cycles):
                if batched:
                    async with repo.batch() as b:
                        await _cycle(b, c)
                else:
                    await _cycle(repo, c)
            per = (time.perf_counter() - t) / n_cycles * 1e3
            kind = "batched (1 commit)" if batched else "unbatched (7 commits)"
            print(
                f"{label}: cycle of {SYMBOLS} decisions + 1 equity + {POSITIONS} positions, "
                f"{kind}: {per:.2f} ms/cycle over {n_cycles}"
            )
    finally:
        await engine.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", help="PostgreSQL server URL; omit to bench SQLite only")
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--cycles", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}", "sqlite", args.orders, args.cycles)
    if args.pg:
        u = make_url(args.pg)
        name = f"rotor_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(
            user=u.username,
            password=u.password,
            host=u.host,
            port=u.port or 5432,
            database=u.database,
        )
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = u.set(drivername="postgresql+asyncpg", database=name)
            await run(
                url.render_as_string(hide_password=False), "postgresql", args.orders, args.cycles
            )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
