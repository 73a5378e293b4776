"""Batched cycle writes, decisions and equity, runs and order sequences, trading state."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import numpy as np
import pytest

from bot.domain import Action, Decision, Order, OrderType, Position, PositionSide, Side
from bot.domain import TradingState as TS
from bot.storage.db import create_engine
from bot.storage.errors import UnknownRunError
from bot.storage.records import EquitySnapshot, RunRecord
from bot.storage.repository import Repository

T0 = 1_700_000_000_000
H = 3_600_000


def _decisions(n: int) -> list[Decision]:
    return [
        Decision(
            t=T0 + i * H,
            symbol=f"S{i}USDT",
            sector="L1" if i % 2 else None,
            action=Action.ENTER_LONG if i % 3 == 0 else Action.NONE,
            reasons=("laggard", f"rank={i}"),
            scores={"z": np.float64(-1.5 - i), "n": np.int64(i), "missing": float("nan")},
        )
        for i in range(n)
    ]


def _snap(i: int) -> EquitySnapshot:
    return EquitySnapshot(
        ts=T0 + i * H,
        equity=Decimal("10000.123456789012345678") + i,
        wallet=Decimal("9990.5"),
        upnl=Decimal("9.623456789012345678") + i,
        exposure=Decimal("25000"),
        open_risk=Decimal("200.01"),
    )


async def _count(url: str, table: str) -> int:
    """Count rows through a separate engine: what another process would see."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        await engine.dispose()


async def test_decisions_and_equity_bulk_insert_round_trip(repo: Repository) -> None:
    await repo.start_run(RunRecord("r1", "replay", T0))
    assert await repo.insert_decisions(_decisions(5), run_id="r1") == 5
    assert await repo.insert_decisions([]) == 0
    got = await repo.list_decisions()
    assert [d.symbol for d in got] == [f"S{i}USDT" for i in range(5)]
    assert got[2].reasons == ("laggard", "rank=2")
    assert got[2].scores == {"z": -3.5, "n": 2, "missing": None}  # NaN is not valid JSON
    assert got[1].sector == "L1" and got[0].sector is None

    assert await repo.insert_equity_snapshots([_snap(i) for i in range(3)], run_id="r1") == 3
    snaps = await repo.list_equity_snapshots(since_ms=T0 + H)
    assert snaps == [_snap(1), _snap(2)]


async def test_batch_commits_once_at_exit(repo: Repository, migrated_url: str) -> None:
    await repo.start_run(RunRecord("r1", "paper", T0))
    async with repo.batch() as b:
        await b.insert_decisions(_decisions(10), run_id="r1")
        await b.insert_equity_snapshots([_snap(0)], run_id="r1")
        await b.insert_order(
            Order("rtr-r1-1", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01")), run_id="r1"
        )
        pos = Position(
            "BTCUSDT", PositionSide.LONG, Decimal("0.01"), Decimal("43000"), Decimal(5), T0
        )
        await b.upsert_position(pos, updated_ms=T0)
        assert await b.next_order_seq("r1") == 1
        # Reads inside the batch see its writes; another connection does not, yet.
        assert len(await b.list_decisions()) == 10
        assert await _count(migrated_url, "decisions") == 0
        assert await _count(migrated_url, "orders") == 0
    assert await _count(migrated_url, "decisions") == 10
    assert await _count(migrated_url, "equity_snapshots") == 1
    assert await repo.get_order("rtr-r1-1") is not None
    assert await repo.get_position("BTCUSDT") == pos
    assert await repo.next_order_seq("r1") == 2


async def test_failed_batch_writes_nothing(repo: Repository, migrated_url: str) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with repo.batch() as b:
            await b.insert_decisions(_decisions(3))
            await b.insert_equity_snapshots([_snap(0)])
            raise RuntimeError("boom")
    assert await _count(migrated_url, "decisions") == 0
    assert await _count(migrated_url, "equity_snapshots") == 0


async def test_order_sequence_is_atomic_under_concurrency(repo: Repository) -> None:
    await repo.start_run(RunRecord("r1", "live", T0, host="h", pid=1))
    assert await repo.next_order_seq("r1") == 1
    assert await repo.next_order_seq("r1", count=3) == 2  # reserves 2, 3, 4
    firsts = await asyncio.gather(*(repo.next_order_seq("r1") for _ in range(20)))
    assert sorted(firsts) == list(range(5, 25))
    assert (await repo.get_run("r1")).order_seq == 24  # type: ignore[union-attr]
    with pytest.raises(UnknownRunError):
        await repo.next_order_seq("never-started")


async def test_runs_start_and_finish(repo: Repository) -> None:
    run = RunRecord("r9", "testnet", T0, config_hash="abc", version="0.1.0", host="box", pid=77)
    await repo.start_run(run)
    assert await repo.get_run("r9") == run
    await repo.finish_run("r9", ended_ms=T0 + 5, reason="SIGTERM")
    done = await repo.get_run("r9")
    assert done is not None and (done.ended_ms, done.end_reason) == (T0 + 5, "SIGTERM")
    with pytest.raises(UnknownRunError):
        await repo.finish_run("nope", ended_ms=T0)


async def test_trading_state_survives_a_restart(migrated_url: str) -> None:
    first = Repository(create_engine(migrated_url))
    try:
        assert await first.current_trading_state() is TS.ACTIVE  # nothing stored yet
        assert await first.latest_trading_state_event() is None
        ev = await first.record_trading_state(
            TS.REDUCING, ts_ms=T0, reason="DAILY_LOSS -5.2% <= -5%", source="limit"
        )
        assert (ev.old_state, ev.new_state) == (TS.ACTIVE, TS.REDUCING)
        await first.record_trading_state(TS.HALTED, ts_ms=T0 + 1, reason="kill", source="api")
    finally:
        await first.engine.dispose()

    # A new engine and connection pool: what a restarted daemon sees.
    second = Repository(create_engine(migrated_url))
    try:
        assert await second.current_trading_state() is TS.HALTED
        history = await second.trading_state_history()
        assert [(e.old_state, e.new_state, e.source) for e in history] == [
            (TS.ACTIVE, TS.REDUCING, "limit"),
            (TS.REDUCING, TS.HALTED, "api"),
        ]
        assert history[0].reason == "DAILY_LOSS -5.2% <= -5%"
        resumed = await second.record_trading_state(
            TS.ACTIVE, ts_ms=T0 + 2, reason="resume", source="cli"
        )
        assert resumed.old_state is TS.HALTED
        assert await second.current_trading_state() is TS.ACTIVE
    finally:
        await second.engine.dispose()
