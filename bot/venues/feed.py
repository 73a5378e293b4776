"""Market-data polling with as few requests as the venue allows (issue #4; ARCHITECTURE.md
"Speed by design").

Per poll:
- **tickers**: one bulk request for the whole universe (Bybit's linear tickers carry last,
  mark, index, bid/ask, funding, next funding and open interest);
- **klines**: for each symbol, only when a bar has closed since the last one seen, i.e. when
  venue time ≥ last bar open + 2 bars. One request fetches every missing bar.

Funding settlements and hourly open interest come out of the tickers too: when a symbol's
``next_funding_ms`` moves forward, the rate shown before the move is the settled one; the
first ticker of each UTC hour gives that hour's open-interest sample. No extra requests.

At start-up ``backfill`` (``bot.venues.backfill``) gives each symbol ``backfill_hours`` of closed
1h bars plus funding and open-interest history.

Frozen tickers (RELIABILITY.md #13): a venue can keep answering the tickers request with the
same stale snapshot. Bybit's rows carry no per-row time (only the reply's), so the feed notes
the venue time at which any ticker's *content* last changed (``content_changed_ms``); when a
bar closes and nothing has changed for half a bar before that close, ``tickers_frozen`` says
so and the daemon treats the market as stale (no new entries) until prices move again.

Everything goes to a ``FeedSink`` whose data-quality gate decides what is stored
(``PanelStoreSink``: ``PanelStore`` + its ``QualityFilter``); rejects are logged by the gate
and never reach the panel. Request counts and the last
success time of each feed are kept for freshness checks (risk, readiness, metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.data.store import PanelStore
from bot.domain import Bar, FundingRate, OpenInterest, Ticker
from bot.observability.logging import get_logger
from bot.venues.backfill import (
    HOUR_MS,
    MIN_ENTRY_BARS,
    FeedBackfill,
    HistoryStore,
)
from bot.venues.base import Venue, VenueError
from bot.venues.ccxt_core import timeframe_ms

log = get_logger("rotor.venues.feed")

MAX_POLL_BARS = 1000


class FeedSink(Protocol):
    """Where polled data goes. Each method applies the data-quality gate and returns what
    it accepted (rejections are logged by the gate and never stored)."""

    def on_tickers(self, tickers: Sequence[Ticker]) -> list[Ticker]: ...

    def on_bars(self, bars: Sequence[Bar]) -> int: ...

    def on_funding(self, rates: Sequence[FundingRate]) -> int: ...

    def on_open_interest(self, samples: Sequence[OpenInterest]) -> int: ...


class PanelStoreSink:
    """Feeds ``bot.data.store.PanelStore``, whose ``QualityFilter`` is the gate."""

    def __init__(self, store: PanelStore) -> None:
        self.store = store

    def on_tickers(self, tickers: Sequence[Ticker]) -> list[Ticker]:
        return [t for t in tickers if self.store.observe_ticker(t).ok]

    def on_bars(self, bars: Sequence[Bar]) -> int:
        return sum(1 for b in bars if self.store.append_bar(b).ok)

    def on_funding(self, rates: Sequence[FundingRate]) -> int:
        return sum(1 for f in rates if self.store.append_funding(f).ok)

    def on_open_interest(self, samples: Sequence[OpenInterest]) -> int:
        return sum(1 for o in samples if self.store.append_open_interest(o).ok)


@dataclass(slots=True)
class FeedStats:
    """Request counts and freshness per feed (``tickers``, ``klines``, ``funding``, ``oi``)."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    last_success_ms: dict[str, int] = field(default_factory=dict)  # local wall clock
    polls: int = 0

    def age_s(self, feed: str, now_ms: int | None = None) -> float:
        """Seconds since ``feed`` last succeeded; inf if it never did."""
        last = self.last_success_ms.get(feed)
        if last is None:
            return float("inf")
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return max(0.0, (now - last) / 1000)


@dataclass(frozen=True, slots=True)
class PollResult:
    venue_ms: int  # venue time of the tickers reply
    tickers: int  # accepted tickers
    rejected_tickers: int
    kline_requests: int
    new_bars: int
    rejected_bars: int


class MarketFeed(FeedBackfill):
    """Polls one venue for a universe of symbols and feeds a sink through a filter."""

    def __init__(
        self,
        venue: Venue,
        symbols: Iterable[str],
        sink: FeedSink,
        *,
        timeframe: str = "1h",
        backfill_hours: int = MIN_ENTRY_BARS,
        concurrency: int = 8,
        oi_backfill_hours: int | None = None,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        history: HistoryStore | None = None,
    ) -> None:
        self.venue = venue
        self.history = history
        self.symbols = list(dict.fromkeys(symbols))
        self.sink = sink
        self.timeframe = timeframe
        self.tf_ms = timeframe_ms(timeframe)
        self.backfill_hours = backfill_hours
        self.oi_backfill_hours = oi_backfill_hours
        self.stats = FeedStats()
        self._sem = asyncio.Semaphore(concurrency)
        self._wall_ms = wall_ms
        self.last_bar_ts: dict[str, int] = {}  # open time of the newest bar seen per symbol
        self.symbol_data_ms: dict[str, int] = {}  # venue time of each symbol's newest ticker
        self._next_funding: dict[str, tuple[int, float]] = {}
        self._oi_hour: dict[str, int] = {}  # newest OI stamp delivered per symbol
        self._next_funding_seen: dict[str, int] = {}  # newest funding settlement delivered
        self.venue_ms = 0
        self.tickers: dict[str, Ticker] = {}  # the latest accepted ticker per symbol
        self.content_changed_ms = 0  # venue time of the last poll that brought new content
        self._content: dict[str, tuple[object, ...]] = {}

    # ------------------------------------------------------------------ bookkeeping

    def _ok(self, feed: str) -> None:
        self.stats.last_success_ms[feed] = self._wall_ms()

    def _count(self, feed: str, n: int = 1) -> None:
        self.stats.requests[feed] += n

    def symbol_age_s(self, symbol: str) -> float:
        """Venue-time age of a symbol's newest ticker (inf if never seen)."""
        seen = self.symbol_data_ms.get(symbol)
        return float("inf") if seen is None else max(0.0, (self.venue_ms - seen) / 1000)

    def _deliver_bars(self, symbol: str, bars: Sequence[Bar]) -> tuple[int, int]:
        """Send bars newer than the last seen through the sink; (accepted, rejected)."""
        last = self.last_bar_ts.get(symbol, -1)
        fresh = [b for b in bars if b.ts > last]  # pages overlap; not a quality problem
        if not fresh:
            return 0, 0
        # Advance past rejected bars too: a bad bar is logged once, not re-requested forever.
        self.last_bar_ts[symbol] = fresh[-1].ts
        accepted = self.sink.on_bars(fresh)
        return accepted, len(fresh) - accepted

    # ------------------------------------------------------------------ polling

    def _due(self, symbol: str, venue_ms: int) -> bool:
        last = self.last_bar_ts.get(symbol)
        if last is None:
            return True
        return venue_ms >= last + 2 * self.tf_ms  # the bar after `last` has closed

    def _derive_funding_and_oi(self, tickers: Sequence[Ticker]) -> None:
        funding: list[FundingRate] = []
        oi: list[OpenInterest] = []
        for t in tickers:
            sym = t.symbol
            prev = self._next_funding.get(sym)
            if (
                prev is not None
                and t.next_funding_ms > prev[0]
                and prev[0] > self._next_funding_seen.get(sym, -1)
                and math.isfinite(prev[1])
            ):
                funding.append(FundingRate(sym, prev[0], prev[1]))
                self._next_funding_seen[sym] = prev[0]
            if t.next_funding_ms > 0:
                self._next_funding[sym] = (t.next_funding_ms, t.funding_rate)
            hour = t.ts // HOUR_MS * HOUR_MS
            if hour > self._oi_hour.get(sym, -1) and math.isfinite(t.open_interest):
                self._oi_hour[sym] = hour
                oi.append(OpenInterest(sym, hour, t.open_interest))
        if funding:
            self.sink.on_funding(funding)
        if oi:
            self.sink.on_open_interest(oi)

    async def poll_tickers(self) -> tuple[dict[str, Ticker], int]:
        """One bulk tickers request; returns accepted tickers and the number rejected."""
        self._count("tickers")
        try:
            raw = await self.venue.fetch_tickers()
        except VenueError:
            self.stats.errors["tickers"] += 1
            raise
        self._ok("tickers")
        wanted = set(self.symbols)
        mine = [t for sym, t in raw.items() if sym in wanted]
        accepted = self.sink.on_tickers(mine)
        for t in accepted:
            self.symbol_data_ms[t.symbol] = t.ts
        if raw:
            self.venue_ms = max(self.venue_ms, max(t.ts for t in raw.values()))
        missing = wanted - set(raw)
        if missing:
            log.warning(
                "symbols_missing_from_tickers", count=len(missing), sample=sorted(missing)[:5]
            )
        self._derive_funding_and_oi(accepted)
        self._note_content(accepted)
        fresh = {t.symbol: t for t in accepted}
        self.tickers.update(fresh)
        return fresh, len(mine) - len(accepted)

    def _note_content(self, tickers: Sequence[Ticker]) -> None:
        changed = False
        for t in tickers:
            key = tuple(
                None if isinstance(v, float) and math.isnan(v) else v
                for v in (
                    t.last,
                    t.mark,
                    t.index,
                    t.bid,
                    t.ask,
                    t.funding_rate,
                    t.next_funding_ms,
                    t.open_interest,
                )
            )
            if self._content.get(t.symbol) != key:
                self._content[t.symbol] = key
                changed = True
        if changed:
            self.content_changed_ms = max(self.content_changed_ms, self.venue_ms)

    def tickers_frozen(self, bar_close_ms: int) -> bool:
        """True when no ticker changed in the half bar before ``bar_close_ms`` (or since)."""
        return self.content_changed_ms < bar_close_ms - self.tf_ms // 2

    async def poll(self) -> PollResult:
        """One poll: bulk tickers, then klines only for symbols with a newly closed bar."""
        accepted, rejected_t = await self.poll_tickers()
        venue_ms = self.venue_ms
        due = [s for s in self.symbols if self._due(s, venue_ms)]

        async def one(symbol: str) -> tuple[int, int]:
            async with self._sem:
                last = self.last_bar_ts.get(symbol)
                since = last + self.tf_ms if last is not None else venue_ms - 2 * self.tf_ms
                # Ask for the bars that can have closed, not a full page: Binance weighs a
                # klines request by its limit (1 below 100, 5 up to 1000).
                limit = min(MAX_POLL_BARS, max(1, (venue_ms - since) // self.tf_ms + 1))
                self._count("klines")
                try:
                    bars = await self.venue.fetch_bars(symbol, self.timeframe, since, limit)
                except VenueError as exc:
                    self.stats.errors["klines"] += 1
                    log.warning("klines_failed", symbol=symbol, error=str(exc)[:300])
                    return 0, 0
                self._ok("klines")
                fresh.extend(bars)
                return self._deliver_bars(symbol, bars)

        fresh: list[Bar] = []
        results = await asyncio.gather(*(one(s) for s in due))
        await self._keep(fresh)
        self.stats.polls += 1
        return PollResult(
            venue_ms=venue_ms,
            tickers=len(accepted),
            rejected_tickers=rejected_t,
            kline_requests=len(due),
            new_bars=sum(r[0] for r in results),
            rejected_bars=sum(r[1] for r in results),
        )

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Poll every ``interval_s`` until ``stop`` is set; errors are logged, never fatal."""
        while not stop.is_set():
            try:
                await self.poll()
            except VenueError as exc:
                log.warning("poll_failed", error=str(exc)[:300], outcome=exc.outcome)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
