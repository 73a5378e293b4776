"""The feed's start-up: each symbol's history of closed bars, funding and open interest
(``MarketFeed.backfill``), with what the history store kept from an earlier run delivered first
and only the gap since downloaded, then stored.

``bars_needed`` computes how many hours of 1h bars the signals need: 200 entry-timeframe bars
plus the longest lookback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.domain import Bar, FundingRate, OpenInterest
from bot.observability.logging import get_logger
from bot.venues.base import Venue, VenueError
from bot.venues.history import fetch_bar_range, fetch_funding_range, fetch_open_interest_range

if TYPE_CHECKING:
    from bot.storage.market_repo import MarketHistory
    from bot.venues.feed import FeedSink, FeedStats

log = get_logger("rotor.venues.feed")

HOUR_MS = 3_600_000
MIN_ENTRY_BARS = 200
ENTRY_TF_HOURS = {"1h": 1, "4h": 4, "1d": 24}


def bars_needed(entry_timeframe: str, longest_lookback_h: int) -> int:
    """Hours of 1h bars for start-up: 200 entry-timeframe bars plus the longest lookback."""
    try:
        tf_h = ENTRY_TF_HOURS[entry_timeframe]
    except KeyError:
        raise ValueError(
            f"entry timeframe {entry_timeframe!r} not in {sorted(ENTRY_TF_HOURS)}"
        ) from None
    return MIN_ENTRY_BARS * tf_h + max(0, longest_lookback_h)


class HistoryStore(Protocol):
    """Where the venue's history is kept across restarts (``bot.storage.Repository``)."""

    async def load_market_history(
        self, symbols: Sequence[str], timeframe: str, since_ms: int, oi_since_ms: int
    ) -> MarketHistory: ...

    async def save_market_history(
        self,
        timeframe: str,
        bars: Sequence[Bar] = (),
        funding: Sequence[FundingRate] = (),
        open_interest: Sequence[OpenInterest] = (),
        covered_from: Mapping[tuple[str, str], int] | None = None,
    ) -> None: ...

    async def trim_market_history(self, before_ms: int) -> None: ...


class FeedBackfill:
    """Mixin of ``bot.venues.feed.MarketFeed``: its start-up history and the history store."""

    venue: Venue
    history: HistoryStore | None
    symbols: list[str]
    sink: FeedSink
    timeframe: str
    tf_ms: int
    backfill_hours: int
    oi_backfill_hours: int | None
    stats: FeedStats
    venue_ms: int
    _sem: asyncio.Semaphore
    _oi_hour: dict[str, int]
    _next_funding_seen: dict[str, int]

    # Provided by the feed.
    _ok: Callable[[str], None]
    _count: Callable[..., None]
    _deliver_bars: Callable[[str, Sequence[Bar]], tuple[int, int]]

    async def backfill(self, now_ms: int | None = None) -> dict[str, int]:
        """Bars, funding and OI history for every symbol; returns bars delivered per symbol.

        With a ``history`` store, what it holds is delivered first and only the rest is
        downloaded (the gap since the last stored row), then stored. A symbol whose history
        fails to load is logged and left for ``poll`` to fill.
        """
        now = now_ms if now_ms is not None else await self.venue.server_time()
        self.venue_ms = max(self.venue_ms, now)
        since = (now // self.tf_ms - self.backfill_hours) * self.tf_ms
        # Hourly OI pages are small (200 rows): fetch only the history the signals read.
        oi_hours = min(self.backfill_hours, self.oi_backfill_hours or self.backfill_hours)
        oi_since = (now // self.tf_ms - oi_hours) * self.tf_ms
        kept = await self._load_history(since, oi_since)
        bars_series = f"bars:{self.timeframe}"
        fetched: list[tuple[list[Bar], list[FundingRate], list[OpenInterest]]] = []
        covered: dict[tuple[str, str], int] = {}

        async def one(symbol: str) -> tuple[str, int]:
            async with self._sem:
                try:
                    warm = kept.complete_from(symbol, bars_series, since)
                    old_bars = kept.bars.get(symbol, []) if warm else []
                    gap = old_bars[-1].ts + self.tf_ms if old_bars else since
                    bars = (
                        await fetch_bar_range(
                            self.venue,
                            symbol,
                            self.timeframe,
                            gap,
                            now,
                            lambda: self._count("klines"),
                        )
                        if gap + self.tf_ms <= now  # else no bar can have closed since
                        else []
                    )
                    good, _ = self._deliver_bars(symbol, old_bars + bars)
                    self._ok("klines")
                    warm = kept.complete_from(symbol, "funding", since)
                    old_funding = kept.funding.get(symbol, []) if warm else []
                    funding = await fetch_funding_range(
                        self.venue,
                        symbol,
                        old_funding[-1].ts + 1 if old_funding else since,
                        now,
                        on_request=lambda: self._count("funding"),
                    )
                    if old_funding or funding:
                        self.sink.on_funding(old_funding + funding)
                        self._next_funding_seen[symbol] = (old_funding + funding)[-1].ts
                    self._ok("funding")
                    warm = kept.complete_from(symbol, "oi", oi_since)
                    old_oi = kept.open_interest.get(symbol, []) if warm else []
                    oi = await fetch_open_interest_range(
                        self.venue,
                        symbol,
                        old_oi[-1].ts + HOUR_MS if old_oi else oi_since,
                        now,
                        lambda: self._count("oi"),
                    )
                    if old_oi or oi:
                        self.sink.on_open_interest(old_oi + oi)
                        self._oi_hour[symbol] = (old_oi + oi)[-1].ts
                    self._ok("oi")
                    fetched.append((bars, funding, oi))
                    for series, start in (
                        (bars_series, since),
                        ("funding", since),
                        ("oi", oi_since),
                    ):
                        covered[(symbol, series)] = min(
                            start, kept.covered_from.get((symbol, series), start)
                        )
                    return symbol, good
                except VenueError as exc:
                    self.stats.errors["backfill"] += 1
                    log.warning("backfill_failed", symbol=symbol, error=str(exc)[:300])
                    return symbol, 0

        results = await asyncio.gather(*(one(s) for s in self.symbols))
        await self._keep(
            [b for f in fetched for b in f[0]],
            [x for f in fetched for x in f[1]],
            [x for f in fetched for x in f[2]],
            covered,
            trim_before=min(since, oi_since),
        )
        return dict(results)

    async def _load_history(self, since: int, oi_since: int) -> MarketHistory:
        from bot.storage.market_repo import MarketHistory

        if self.history is None:
            return MarketHistory()
        try:
            return await self.history.load_market_history(
                self.symbols, self.timeframe, since, oi_since
            )
        except Exception as exc:  # a cache: a failed read costs a download, nothing more
            log.warning("market_history_unreadable", error=f"{type(exc).__name__}: {exc}"[:300])
            return MarketHistory()

    async def _keep(
        self,
        bars: Sequence[Bar],
        funding: Sequence[FundingRate] = (),
        oi: Sequence[OpenInterest] = (),
        covered: Mapping[tuple[str, str], int] | None = None,
        trim_before: int | None = None,
    ) -> None:
        """Store what the venue sent (best effort: a failed write costs a download later)."""
        if self.history is None:
            return
        try:
            await self.history.save_market_history(self.timeframe, bars, funding, oi, covered)
            if trim_before is not None:
                await self.history.trim_market_history(trim_before)
        except Exception as exc:
            log.warning("market_history_not_saved", error=f"{type(exc).__name__}: {exc}"[:300])
