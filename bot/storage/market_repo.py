"""The venue's market history (bars, funding settlements, open interest) kept across restarts,
so a start-up downloads only what is missing (RELIABILITY.md #48)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.domain import Bar, FundingRate, OpenInterest
from bot.storage.base import RepositoryBase
from bot.storage.tables import (
    market_bars,
    market_coverage,
    market_funding,
    market_open_interest,
)


@dataclass(slots=True)
class MarketHistory:
    """Stored rows per symbol, oldest first."""

    bars: dict[str, list[Bar]] = field(default_factory=dict)
    funding: dict[str, list[FundingRate]] = field(default_factory=dict)
    open_interest: dict[str, list[OpenInterest]] = field(default_factory=dict)
    # (symbol, series) -> from when on the stored series is complete
    covered_from: dict[tuple[str, str], int] = field(default_factory=dict)

    def complete_from(self, symbol: str, series: str, start_ms: int) -> bool:
        """Whether the stored ``series`` of ``symbol`` holds everything from ``start_ms``."""
        since = self.covered_from.get((symbol, series))
        return since is not None and since <= start_ms


class MarketRepository(RepositoryBase):
    """Bulk reads and idempotent bulk writes of the market-history tables."""

    async def load_market_history(
        self, symbols: Sequence[str], timeframe: str, since_ms: int, oi_since_ms: int
    ) -> MarketHistory:
        """Every stored row of ``symbols`` from ``since_ms`` on (open interest from
        ``oi_since_ms``), in three queries whatever the number of symbols."""
        out = MarketHistory()
        wanted = list(symbols)
        bars: defaultdict[str, list[Bar]] = defaultdict(list)
        funding: defaultdict[str, list[FundingRate]] = defaultdict(list)
        oi: defaultdict[str, list[OpenInterest]] = defaultdict(list)
        b, f, o = market_bars.c, market_funding.c, market_open_interest.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(b.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume)
                .where(b.timeframe == timeframe, b.ts >= since_ms, b.symbol.in_(wanted))
                .order_by(b.symbol, b.ts)
            )
            for r in rows:
                bars[r[0]].append(Bar(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6]))
            rows = await conn.execute(
                select(f.symbol, f.ts, f.rate)
                .where(f.ts >= since_ms, f.symbol.in_(wanted))
                .order_by(f.symbol, f.ts)
            )
            for r in rows:
                funding[r[0]].append(FundingRate(r[0], int(r[1]), r[2]))
            rows = await conn.execute(
                select(o.symbol, o.ts, o.open_interest)
                .where(o.ts >= oi_since_ms, o.symbol.in_(wanted))
                .order_by(o.symbol, o.ts)
            )
            for r in rows:
                oi[r[0]].append(OpenInterest(r[0], int(r[1]), r[2]))
            c = market_coverage.c
            rows = await conn.execute(
                select(c.symbol, c.series, c.from_ms).where(c.symbol.in_(wanted))
            )
            out.covered_from = {(r[0], r[1]): int(r[2]) for r in rows}
        out.bars, out.funding, out.open_interest = dict(bars), dict(funding), dict(oi)
        return out

    async def save_market_history(
        self,
        timeframe: str,
        bars: Sequence[Bar] = (),
        funding: Sequence[FundingRate] = (),
        open_interest: Sequence[OpenInterest] = (),
        covered_from: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        """Store rows not stored yet (a row already there is kept: the venue's history does
        not change), and from when on each series named in ``covered_from`` is complete."""
        batches: list[tuple[Table, list[dict[str, Any]], list[str]]] = [
            (
                market_bars,
                [
                    {
                        "symbol": x.symbol,
                        "timeframe": timeframe,
                        "ts": x.ts,
                        "open": x.open,
                        "high": x.high,
                        "low": x.low,
                        "close": x.close,
                        "volume": x.volume,
                    }
                    for x in bars
                ],
                ["symbol", "timeframe", "ts"],
            ),
            (
                market_funding,
                [{"symbol": x.symbol, "ts": x.ts, "rate": x.rate} for x in funding],
                ["symbol", "ts"],
            ),
            (
                market_open_interest,
                [
                    {"symbol": x.symbol, "ts": x.ts, "open_interest": x.open_interest}
                    for x in open_interest
                ],
                ["symbol", "ts"],
            ),
        ]
        cover = [
            {"symbol": sym, "series": series, "from_ms": ms}
            for (sym, series), ms in (covered_from or {}).items()
        ]
        if not cover and not any(rows for _t, rows, _k in batches):
            return
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        async with self._write() as conn:
            for table, rows, keys in batches:
                if rows:
                    stmt = insert(table).on_conflict_do_nothing(index_elements=keys)
                    await conn.execute(stmt, rows)
            if cover:
                ins = insert(market_coverage)
                await conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=["symbol", "series"],
                        set_={"from_ms": ins.excluded.from_ms},
                    ),
                    cover,
                )

    async def trim_market_history(self, before_ms: int) -> None:
        """Forget rows older than ``before_ms`` (outside every window the signals read)."""
        async with self._write() as conn:
            for table in (market_bars, market_funding, market_open_interest):
                await conn.execute(delete(table).where(table.c.ts < before_ms))
            c = market_coverage.c
            await conn.execute(
                update(market_coverage).where(c.from_ms < before_ms).values(from_ms=before_ms)
            )
