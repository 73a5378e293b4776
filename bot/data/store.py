"""Live panel store: numpy ring buffers of symbols × time with bounded memory (issue #4).

All symbols share one hourly grid of ``capacity`` slots; bar ``ts`` lives in slot
``(ts // bar_ms) % capacity``. When a newer bar (or funding / OI belonging to a newer bar)
arrives, the grid advances and the slots it reuses are cleared to NaN, so memory is fixed at
``8 · S · capacity`` float64 values however long the daemon runs.

Placement follows the Panel timing convention (``bot/data/panel.py``): a funding settlement or
an OI stamp at time t belongs to the bar j with ``ts[j] < t <= ts[j] + 1h``. Every value passes
through the :class:`~bot.data.quality.QualityFilter` first; a rejected value never reaches the
arrays.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from bot.data.freshness import FreshnessTracker
from bot.data.panel import F64, HOUR_MS, I64, Panel
from bot.data.quality import Feed, QualityFilter, QualityResult, Reason
from bot.domain.market import Bar, FundingRate, OpenInterest, Ticker

_FIELDS = ("open", "high", "low", "close", "volume", "funding", "funding_interval_h", "oi")
_NO_TS = np.iinfo(np.int64).min


class PanelStore:
    """Ring-buffered market data for a live universe; :meth:`panel` gives a Panel view."""

    def __init__(
        self,
        symbols: Iterable[str],
        sectors: Iterable[str | None] | None = None,
        *,
        capacity: int,
        quality: QualityFilter | None = None,
        freshness: FreshnessTracker | None = None,
        bar_ms: int = HOUR_MS,
    ) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2 bars, got {capacity}")
        self.symbols: list[str] = list(symbols)
        secs: list[str | None] = (
            list(sectors) if sectors is not None else [None] * len(self.symbols)
        )
        if len(secs) != len(self.symbols):
            raise ValueError("symbols and sectors differ in length")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("duplicate symbols")
        self.sectors: list[str | None] = secs
        self.capacity = capacity
        self.bar_ms = bar_ms
        self.quality = quality or QualityFilter()
        self.freshness = freshness
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self._arrays: dict[str, F64] = {
            f: np.full((len(self.symbols), capacity), np.nan) for f in _FIELDS
        }
        self._slot_ts: I64 = np.full(capacity, _NO_TS, dtype=np.int64)
        self._end: int | None = None  # open time of the newest grid bar
        self._first: int | None = None  # open time of the oldest bar ever placed
        self._last_funding_ts: dict[str, int] = {}

    # --- grid -------------------------------------------------------------------------------
    @property
    def end_ts(self) -> int | None:
        """Open time of the newest bar slot (None while empty)."""
        return self._end

    @property
    def nbytes(self) -> int:
        """Bytes held by the ring buffers."""
        return sum(a.nbytes for a in self._arrays.values()) + self._slot_ts.nbytes

    def _slot(self, ts: int) -> int:
        return (ts // self.bar_ms) % self.capacity

    def _advance(self, ts: int) -> None:
        if self._end is None:
            self._end = ts
            self._first = ts
            self._clear_slot(ts)
            return
        if ts <= self._end:
            return
        steps = (ts - self._end) // self.bar_ms
        start = (
            self._end + self.bar_ms
            if steps < self.capacity
            else ts - (self.capacity - 1) * self.bar_ms
        )
        for t in range(start, ts + self.bar_ms, self.bar_ms):
            self._clear_slot(t)
        self._end = ts

    def _clear_slot(self, ts: int) -> None:
        k = self._slot(ts)
        for a in self._arrays.values():
            a[:, k] = np.nan
        self._slot_ts[k] = ts

    def _window_start(self) -> int:
        assert self._end is not None and self._first is not None
        return max(self._first, self._end - (self.capacity - 1) * self.bar_ms)

    def _in_window(self, ts: int) -> bool:
        if self._end is None:
            return True
        return ts >= self._end - (self.capacity - 1) * self.bar_ms

    def _row(self, feed: Feed, symbol: str, ts: int) -> int | QualityResult:
        i = self.index.get(symbol)
        if i is None:
            return self.quality.reject(feed, symbol, ts, Reason.UNKNOWN_SYMBOL)
        return i

    def _too_old(self, feed: Feed, symbol: str, ts: int) -> QualityResult:
        assert self._end is not None
        return self.quality.reject(
            feed, symbol, ts, Reason.OUT_OF_WINDOW, window_start=self._window_start()
        )

    def _place(self, bar_ts: int) -> int:
        """Slot index for ``bar_ts`` (inside the window) after advancing the grid."""
        self._advance(bar_ts)
        if self._first is not None and bar_ts < self._first:
            self._first = bar_ts
        k = self._slot(bar_ts)
        if self._slot_ts[k] != bar_ts:
            self._clear_slot(bar_ts)  # a slot inside the window never written since reuse
        return k

    def _bar_of(self, t: int) -> int:
        """Open time of the bar whose interval ``(open, open + bar]`` contains ``t``."""
        return ((t - 1) // self.bar_ms) * self.bar_ms

    # --- appends ----------------------------------------------------------------------------
    def append_bar(self, bar: Bar, mark: float | None = None) -> QualityResult:
        """Store one closed candle if it passes the quality gate."""
        row = self._row(Feed.KLINES, bar.symbol, bar.ts)
        if isinstance(row, QualityResult):
            return row
        if not self._in_window(bar.ts):
            return self._too_old(Feed.KLINES, bar.symbol, bar.ts)
        res = self.quality.check_bar(bar, mark)
        if not res.ok:
            return res
        k = self._place(bar.ts)
        a = self._arrays
        a["open"][row, k] = bar.open
        a["high"][row, k] = bar.high
        a["low"][row, k] = bar.low
        a["close"][row, k] = bar.close
        a["volume"][row, k] = bar.volume
        if self.freshness is not None:
            self.freshness.touch_bar(bar.symbol, bar.ts, self.bar_ms)
        return res

    def extend_bars(self, bars: Iterable[Bar]) -> list[QualityResult]:
        """Append many bars (backfill); returns one result per bar."""
        return [self.append_bar(b) for b in sorted(bars, key=lambda b: b.ts)]

    def append_funding(self, fr: FundingRate, interval_h: float | None = None) -> QualityResult:
        """Store one funding settlement; the interval defaults to the gap since the previous."""
        row = self._row(Feed.FUNDING, fr.symbol, fr.ts)
        if isinstance(row, QualityResult):
            return row
        bar_ts = self._bar_of(fr.ts)
        if not self._in_window(bar_ts):
            return self._too_old(Feed.FUNDING, fr.symbol, fr.ts)
        res = self.quality.check_funding(fr)
        if not res.ok:
            return res
        k = self._place(bar_ts)
        if interval_h is None:
            prev = self._last_funding_ts.get(fr.symbol)
            interval_h = (fr.ts - prev) / HOUR_MS if prev is not None else np.nan
        self._last_funding_ts[fr.symbol] = fr.ts
        self._arrays["funding"][row, k] = fr.rate
        self._arrays["funding_interval_h"][row, k] = interval_h
        if self.freshness is not None:
            self.freshness.touch(Feed.FUNDING, fr.symbol, fr.ts)
        return res

    def append_open_interest(self, oi: OpenInterest) -> QualityResult:
        """Store one OI observation (base units); the latest stamp within a bar wins."""
        row = self._row(Feed.OPEN_INTEREST, oi.symbol, oi.ts)
        if isinstance(row, QualityResult):
            return row
        bar_ts = self._bar_of(oi.ts)
        if not self._in_window(bar_ts):
            return self._too_old(Feed.OPEN_INTEREST, oi.symbol, oi.ts)
        res = self.quality.check_open_interest(oi)
        if not res.ok:
            return res
        k = self._place(bar_ts)
        self._arrays["oi"][row, k] = oi.open_interest
        if self.freshness is not None:
            self.freshness.touch(Feed.OPEN_INTEREST, oi.symbol, oi.ts)
        return res

    def observe_ticker(self, t: Ticker) -> QualityResult:
        """Validate a ticker (feeds the mark reference and freshness); OI is not stored here.

        Ticker OI is a live value for an unclosed bar; store it with
        :meth:`append_open_interest` at a bar boundary so the panel never looks ahead.
        """
        if t.symbol not in self.index:
            return self.quality.reject(Feed.TICKERS, t.symbol, t.ts, Reason.UNKNOWN_SYMBOL)
        res = self.quality.check_ticker(t)
        if res.ok and self.freshness is not None:
            self.freshness.touch(Feed.TICKERS, t.symbol, t.ts)
        return res

    # --- universe changes -------------------------------------------------------------------
    def add_symbol(self, symbol: str, sector: str | None = None) -> None:
        """Add a symbol (a new listing); its history starts empty."""
        if symbol in self.index:
            return
        self.symbols.append(symbol)
        self.sectors.append(sector)
        self.index[symbol] = len(self.symbols) - 1
        for f, a in self._arrays.items():
            self._arrays[f] = np.vstack([a, np.full((1, self.capacity), np.nan)])

    def remove_symbol(self, symbol: str) -> None:
        """Drop a symbol (delisted or renamed) and its history."""
        i = self.index.pop(symbol, None)
        if i is None:
            return
        del self.symbols[i]
        del self.sectors[i]
        self.index = {s: j for j, s in enumerate(self.symbols)}
        for f, a in self._arrays.items():
            self._arrays[f] = np.delete(a, i, axis=0)
        self.quality.reset(symbol)
        self._last_funding_ts.pop(symbol, None)
        if self.freshness is not None:
            self.freshness.forget(symbol)

    # --- views ------------------------------------------------------------------------------
    def panel(self, n_bars: int | None = None, end_ts: int | None = None) -> Panel:
        """A Panel copy of the last ``n_bars`` (default: all held) ending at ``end_ts``."""
        symbols, sectors = list(self.symbols), list(self.sectors)
        if self._end is None:
            return Panel.empty(symbols, sectors, np.zeros(0, dtype=np.int64))
        end = self._end if end_ts is None else min(end_ts - end_ts % self.bar_ms, self._end)
        start = self._window_start()
        if n_bars is not None:
            if n_bars <= 0:
                raise ValueError(f"n_bars must be > 0, got {n_bars}")
            start = max(start, end - (n_bars - 1) * self.bar_ms)
        if end < start:
            return Panel.empty(symbols, sectors, np.zeros(0, dtype=np.int64))
        ts = np.arange(start, end + self.bar_ms, self.bar_ms, dtype=np.int64)
        k0 = self._slot(start)
        k1 = k0 + len(ts)
        if k1 <= self.capacity:  # one contiguous run of slots: plain slicing is cheapest
            out = {f: a[:, k0:k1].copy() for f, a in self._arrays.items()}
            slot_ts = self._slot_ts[k0:k1]
        else:
            k1 -= self.capacity
            out = {f: np.hstack([a[:, k0:], a[:, :k1]]) for f, a in self._arrays.items()}
            slot_ts = np.concatenate([self._slot_ts[k0:], self._slot_ts[:k1]])
        stale = slot_ts != ts  # never written since the slot was reused
        if stale.any():
            for a in out.values():
                a[:, stale] = np.nan
        return Panel(
            symbols=symbols,
            sectors=sectors,
            ts=ts,
            open=out["open"],
            high=out["high"],
            low=out["low"],
            close=out["close"],
            volume=out["volume"],
            funding=out["funding"],
            funding_interval_h=out["funding_interval_h"],
            oi=out["oi"],
        )
