"""Data freshness and instrument lifecycle (issue #4).

:class:`FreshnessTracker` records, per feed (tickers, klines, funding, open interest), when the
feed last delivered and, per symbol, the as-of time of its newest accepted data. The risk
layer's stale-data guard and the control API's ``/readyz`` read ages from it.

:func:`detect_instrument_changes` compares the venue's instrument list with the symbols rotor
trades: a symbol that disappeared is delisted (or renamed, when the sector map knows its new
name), and one whose status is not ``Trading`` must not be opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.data.panel import HOUR_MS
from bot.data.quality import Feed
from bot.data.sectors import SectorMap
from bot.domain.instrument import Instrument
from bot.observability.logging import get_logger

_log = get_logger("bot.data.freshness")

TRADING = "Trading"


def wall_clock_ms() -> int:
    """Current UTC time in ms."""
    return time.time_ns() // 1_000_000


#: Default maximum ages before a feed counts as stale (polling cadence plus slack).
DEFAULT_MAX_AGE_MS: dict[Feed, int] = {
    Feed.TICKERS: 60_000,
    Feed.KLINES: HOUR_MS + 10 * 60_000,  # a closed 1h bar plus 10 minutes of slack
    Feed.FUNDING: 9 * HOUR_MS,  # longest settlement interval (8h) plus slack
    Feed.OPEN_INTEREST: 2 * HOUR_MS,
}


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One feed's state at a point in time."""

    feed: Feed
    last_update_ms: int | None
    age_ms: int | None
    max_age_ms: int
    stale: bool


@dataclass(slots=True)
class FreshnessTracker:
    """Ages of each feed and of each symbol's data, against an injectable clock.

    ``touch`` takes the data's *as-of* time: a ticker's timestamp, a closed bar's close time
    (open + 1h), a funding settlement time, an OI stamp. ``received_ms`` defaults to now.
    """

    clock: Callable[[], int] = wall_clock_ms
    max_age_ms: dict[Feed, int] = field(default_factory=lambda: dict(DEFAULT_MAX_AGE_MS))
    _feed_last: dict[Feed, int] = field(default_factory=dict)
    _symbol_asof: dict[tuple[Feed, str], int] = field(default_factory=dict)

    def touch(
        self, feed: Feed, symbol: str | None, as_of_ms: int, received_ms: int | None = None
    ) -> None:
        """Record that ``feed`` delivered data for ``symbol`` (None: feed-level only)."""
        now = self.clock() if received_ms is None else received_ms
        self._feed_last[feed] = max(self._feed_last.get(feed, now), now)
        if symbol is not None:
            key = (feed, symbol)
            prev = self._symbol_asof.get(key)
            if prev is None or as_of_ms > prev:
                self._symbol_asof[key] = as_of_ms

    def touch_bar(self, symbol: str, bar_open_ms: int, interval_ms: int = HOUR_MS) -> None:
        """Record a closed bar: its as-of time is its close."""
        self.touch(Feed.KLINES, symbol, bar_open_ms + interval_ms)

    def forget(self, symbol: str) -> None:
        """Drop a symbol (delisted or renamed)."""
        for key in [k for k in self._symbol_asof if k[1] == symbol]:
            del self._symbol_asof[key]

    def feed_age_ms(self, feed: Feed, now: int | None = None) -> int | None:
        """Time since ``feed`` last delivered anything; None if it never did."""
        last = self._feed_last.get(feed)
        if last is None:
            return None
        return max(0, (self.clock() if now is None else now) - last)

    def symbol_age_ms(
        self, symbol: str, feed: Feed = Feed.TICKERS, now: int | None = None
    ) -> int | None:
        """Age of the newest accepted ``feed`` data for ``symbol``; None if there is none."""
        asof = self._symbol_asof.get((feed, symbol))
        if asof is None:
            return None
        return max(0, (self.clock() if now is None else now) - asof)

    def is_stale(
        self,
        symbol: str,
        feed: Feed = Feed.TICKERS,
        max_age_ms: int | None = None,
        now: int | None = None,
    ) -> bool:
        """True when ``symbol`` has no ``feed`` data or it is older than the limit."""
        age = self.symbol_age_ms(symbol, feed, now)
        limit = self.max_age_ms[feed] if max_age_ms is None else max_age_ms
        return age is None or age > limit

    def stale_symbols(
        self,
        symbols: Iterable[str],
        feed: Feed = Feed.TICKERS,
        max_age_ms: int | None = None,
        now: int | None = None,
    ) -> list[str]:
        """The given symbols whose ``feed`` data is missing or too old, sorted."""
        t = self.clock() if now is None else now
        return sorted(s for s in symbols if self.is_stale(s, feed, max_age_ms, t))

    def feed_status(self, now: int | None = None) -> list[FeedStatus]:
        """Every known feed's age and staleness."""
        t = self.clock() if now is None else now
        out = []
        for feed in Feed:
            age = self.feed_age_ms(feed, t)
            limit = self.max_age_ms[feed]
            last = self._feed_last.get(feed)
            out.append(FeedStatus(feed, last, age, limit, age is None or age > limit))
        return out

    def ready(
        self, required: Iterable[Feed] = (Feed.TICKERS, Feed.KLINES), now: int | None = None
    ) -> tuple[bool, list[str]]:
        """Readiness for ``/readyz``: every required feed delivered recently; else reasons."""
        t = self.clock() if now is None else now
        reasons = []
        for feed in required:
            age = self.feed_age_ms(feed, t)
            if age is None:
                reasons.append(f"{feed.value}: no data yet")
            elif age > self.max_age_ms[feed]:
                reasons.append(f"{feed.value}: stale ({age} ms > {self.max_age_ms[feed]} ms)")
        return (not reasons, reasons)

    def snapshot(self, now: int | None = None) -> dict[str, Any]:
        """JSON-ready ages per feed and per symbol (for status pages)."""
        t = self.clock() if now is None else now
        symbols: dict[str, dict[str, int]] = {}
        for (feed, sym), asof in sorted(self._symbol_asof.items()):
            symbols.setdefault(sym, {})[feed.value] = max(0, t - asof)
        return {
            "now_ms": t,
            "feeds": {
                s.feed.value: {"age_ms": s.age_ms, "max_age_ms": s.max_age_ms, "stale": s.stale}
                for s in self.feed_status(t)
            },
            "symbol_age_ms": symbols,
        }


@dataclass(frozen=True, slots=True)
class InstrumentChanges:
    """What changed between the symbols rotor holds and the venue's instrument list."""

    delisted: list[str]  # gone from the venue (and not renamed)
    renamed: dict[str, str]  # old symbol -> new symbol present on the venue
    not_trading: dict[str, str]  # present but status is not Trading -> status
    listed: list[str]  # on the venue, trading, and new to rotor

    @property
    def unusable(self) -> list[str]:
        """Tracked symbols that must not be opened now."""
        return sorted({*self.delisted, *self.renamed, *self.not_trading})

    @property
    def empty(self) -> bool:
        return not (self.delisted or self.renamed or self.not_trading or self.listed)


def detect_instrument_changes(
    tracked: Iterable[str],
    venue: Iterable[Instrument] | Mapping[str, str],
    sector_map: SectorMap | None = None,
    *,
    log: bool = True,
) -> InstrumentChanges:
    """Compare tracked symbols with the venue's instruments (or ``{symbol: status}``).

    A tracked symbol that is absent is renamed when the sector map ties it to a present symbol
    (through an alias, in either direction), otherwise delisted.
    """
    if isinstance(venue, Mapping):
        status = {str(k): str(v) for k, v in venue.items()}
    else:
        status = {i.symbol: i.status for i in venue}
    tracked_set = set(tracked)
    delisted: list[str] = []
    renamed: dict[str, str] = {}
    for sym in sorted(tracked_set - set(status)):
        new = _rename_target(sym, status, sector_map)
        if new is not None:
            renamed[sym] = new
        else:
            delisted.append(sym)
    not_trading = {s: st for s, st in sorted(status.items()) if s in tracked_set and st != TRADING}
    listed = sorted(
        s
        for s, st in status.items()
        if st == TRADING and s not in tracked_set and s not in renamed.values()
    )
    changes = InstrumentChanges(delisted, renamed, not_trading, listed)
    if log:
        if delisted:
            _log.warning("instruments_delisted", symbols=delisted)
        if renamed:
            _log.warning("instruments_renamed", renames=renamed)
        if not_trading:
            _log.warning("instruments_not_trading", statuses=not_trading)
    return changes


def _rename_target(sym: str, status: Mapping[str, str], sm: SectorMap | None) -> str | None:
    if sm is None:
        return None
    canon = sm.canonical(sym)
    if canon is None:
        return None
    for name in (canon, *sm.entries[canon].aliases):
        if name != sym and name in status:
            return name
    return None
