"""Paginated history reads over any ``Venue``: bars, funding and open interest (issue #4).

Used by the feed's start-up backfill and by ``rotor data download``. Every loop is bounded
by the size of the requested range, so a venue that returns nothing for a window (a symbol
listed later, a maintenance gap) moves the cursor forward instead of spinning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.domain import Bar, FundingRate, OpenInterest
from bot.venues.base import Venue
from bot.venues.ccxt_core import timeframe_ms

HOUR_MS = 3_600_000
BAR_PAGE = 1000
FUNDING_PAGE = 200
OI_PAGE = 200

R = TypeVar("R", Bar, FundingRate, OpenInterest)


async def _paginate(
    fetch: Callable[[int, int], Awaitable[list[R]]],
    since_ms: int,
    until_ms: int,
    page: int,
    window_ms: int,
    on_request: Callable[[], None] | None = None,
    *,
    exact: bool = False,
) -> list[R]:
    """Call ``fetch(since, page)`` until ``until_ms``; rows in [since_ms, until_ms), sorted.

    ``window_ms`` is how far one page may reach in time; an empty page skips that far. With
    ``exact`` (fixed-interval series: bars, OI) a window holds at most ``page`` rows, so one
    reaching ``until_ms`` ends the loop without a confirming request. Funding is not exact
    (a symbol's interval can change), so its last page is confirmed by one more request.
    """
    out: list[R] = []
    cursor = since_ms
    max_pages = (until_ms - since_ms) // max(window_ms, 1) + 2
    for _ in range(int(max_pages) * 2):
        if cursor >= until_ms:
            break
        if on_request is not None:
            on_request()
        raw = await fetch(cursor, page)
        rows = [r for r in raw if cursor <= r.ts < until_ms]
        if exact and cursor + window_ms >= until_ms:
            out.extend(rows)
            break
        if not rows:
            cursor += window_ms
            continue
        rows.sort(key=lambda r: r.ts)
        out.extend(rows)
        cursor = rows[-1].ts + 1
    # Pages can overlap at their edges: keep the first row of each timestamp.
    dedup: dict[int, R] = {}
    for r in out:
        dedup.setdefault(r.ts, r)
    return [dedup[t] for t in sorted(dedup)]


async def fetch_bar_range(
    venue: Venue,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int,
    on_request: Callable[[], None] | None = None,
) -> list[Bar]:
    """Closed bars with open time in [since_ms, until_ms), oldest first."""
    tf = timeframe_ms(timeframe)
    since = -(-since_ms // tf) * tf

    async def fetch(cursor: int, limit: int) -> list[Bar]:
        return await venue.fetch_bars(symbol, timeframe, cursor, limit)

    return await _paginate(fetch, since, until_ms, BAR_PAGE, BAR_PAGE * tf, on_request, exact=True)


async def fetch_funding_range(
    venue: Venue,
    symbol: str,
    since_ms: int,
    until_ms: int,
    interval_h: int = 8,
    on_request: Callable[[], None] | None = None,
) -> list[FundingRate]:
    """Funding settlements in [since_ms, until_ms), oldest first."""

    async def fetch(cursor: int, limit: int) -> list[FundingRate]:
        return await venue.fetch_funding_history(symbol, cursor, limit)

    window = FUNDING_PAGE * max(interval_h, 1) * HOUR_MS
    return await _paginate(fetch, since_ms, until_ms, FUNDING_PAGE, window, on_request)


async def fetch_open_interest_range(
    venue: Venue,
    symbol: str,
    since_ms: int,
    until_ms: int,
    on_request: Callable[[], None] | None = None,
) -> list[OpenInterest]:
    """Hourly open interest in [since_ms, until_ms), oldest first."""

    async def fetch(cursor: int, limit: int) -> list[OpenInterest]:
        return await venue.fetch_open_interest_history(symbol, cursor, limit)

    return await _paginate(
        fetch, since_ms, until_ms, OI_PAGE, OI_PAGE * HOUR_MS, on_request, exact=True
    )
