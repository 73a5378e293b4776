"""#33 (a restart after more than a year of hourly equity snapshots keeps the drawdown peak and
today's starting equity exactly) and #34 (a resume after the max-drawdown halt re-bases the peak,
persisted: a restart stays ACTIVE). The daemon in-process against the simulator through ccxt,
on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from bot.domain import TradingState
from bot.risk import Source
from bot.runtime.account import DAY_MS, EquityMarks
from bot.storage import Repository, create_engine, upgrade
from bot.storage.records import EquitySnapshot
from tests.reliability.daemon_rig import (
    HOUR,
    START,
    bar,
    running_daemon,
    trading_data,
    trading_sim,
)
from tests.simserver import sim_server

ULP = Decimal("0.000000000000000001")  # the last digit a money column keeps


def _snap(ts: int, equity: Decimal) -> EquitySnapshot:
    zero = Decimal(0)
    return EquitySnapshot(
        ts=ts, equity=equity, wallet=equity, upnl=zero, exposure=zero, open_risk=zero
    )


async def _store(db_url: str, snaps: list[EquitySnapshot]) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        repo = Repository(engine)
        for i in range(0, len(snaps), 2000):
            await repo.insert_equity_snapshots(snaps[i : i + 2000])
    finally:
        await engine.dispose()


def _year_of_hours(end_ms: int, hours: int, seed: int) -> list[EquitySnapshot]:
    """An hourly random walk ending at ``end_ms`` whose peak is recent (past the first 5000
    rows) and is followed, an hour later, by a value one unit in the 18th decimal above it:
    the two are the same float, only exact decimals tell them apart."""
    rng = random.Random(seed)
    equity = Decimal("10000")
    snaps = []
    for k in range(hours):
        ts = end_ms - (hours - k) * HOUR
        step = Decimal(rng.randint(-9_000_000, 9_100_000)) / Decimal(10**9)
        equity = (equity * (1 + step / 100)).quantize(ULP)
        snaps.append(_snap(ts, equity))
    peak_at = hours - 200
    high = max(s.equity for s in snaps) + Decimal("123.456789012345678")
    snaps[peak_at] = _snap(snaps[peak_at].ts, high)
    snaps[peak_at + 1] = _snap(snaps[peak_at + 1].ts, high + ULP)
    return snaps


async def test_s33_restart_after_a_year_of_hourly_snapshots_keeps_peak_and_day_start(
    tmp_path: Path, db_url: str
) -> None:
    now = START + 7 * HOUR  # 7 hours into a UTC day
    async with sim_server(trading_data(tmp_path / "data"), start_ms=now) as sim:
        hours = 400 * 24 + 7  # more than a year, and 7 hours of the current UTC day
        snaps = _year_of_hours(now, hours, seed=33)
        await _store(db_url, snaps)
        before = EquityMarks()  # what the running daemon had computed, snapshot by snapshot
        for s in snaps:
            before.update(s.equity, s.ts)
        assert before.peak == max(s.equity for s in snaps)
        day = now // DAY_MS * DAY_MS
        assert before.day_start == next(s.equity for s in snaps if s.ts >= day)

        async with running_daemon(sim, db_url) as d:
            marks = d.services.core.marks
            assert (marks.peak, marks.day_start) == (before.peak, before.day_start)
            # The peak and the row one unit below it are the same float: exact decimals only.
            assert marks.peak is not None and float(marks.peak) == float(marks.peak - ULP)
            stored = await d.storage.repo.equity_marks(day)
            assert stored.rebased_ms is None


async def test_s34_resume_after_max_drawdown_rebases_the_peak_and_a_restart_keeps_it(
    tmp_path: Path, db_url: str
) -> None:
    async with trading_sim(tmp_path) as sim:
        # An old peak twice today's equity: the first cycle is 50% below it.
        await _store(db_url, [_snap(START - 30 * DAY_MS, Decimal("20000"))])
        async with running_daemon(sim, db_url) as d:
            await bar(sim, d)
            await d.handle_operator_requests()  # the breaker's kill switch: flat, then HALTED
            assert d.state.state is TradingState.HALTED, d.state.current.reason
            assert "drawdown" in d.state.current.reason.lower(), d.state.current.reason
            await d.resume(Source.API)
            assert d.state.state is TradingState.ACTIVE
            await bar(sim, d, 3)
            assert d.state.state is TradingState.ACTIVE, d.state.current.reason
            peak = d.services.core.marks.peak
            assert peak is not None and peak < Decimal("11000")
        async with running_daemon(sim, db_url) as d:
            assert d.state.state is TradingState.ACTIVE
            assert d.services.core.marks.peak == peak, "the re-based peak survives the restart"
            await bar(sim, d, 2)
            assert d.state.state is TradingState.ACTIVE, d.state.current.reason
