"""Funding on the sim clock: which settlement happens when, and what the venue shows *now*.

One ``FundingSchedule`` per symbol, built from the data directory's settlements and never
reading a row later than the time it is asked about (SIM-VENUE.md "Strictness"):

- the interval in effect after settlement j is the spacing to settlement j−1 when that is an
  interval the venue offers (1, 2, 4 or 8 h) and either the interval already in effect, the
  data's first one, or confirmed (the spacing before it was the same). Anything else is a
  hole in the data (missing settlements: 1 h settlements 3 h or 4 h apart once), not an
  instrument change: the previous interval (or the instrument's configured one) stays;
- the predicted rate shown at ``now`` is the rate of the last settlement at or before ``now``
  (the data has no live premium index to predict from), and the next settlement is one
  interval after it. When that time has passed with no settlement in the data (a funding gap,
  or the data's funding ended) the venue shows no funding at all rather than a rate from
  months later; the same before the data's first settlement;
- ``set_interval(from_ms, hours)`` (an instrument event) changes the schedule from then on:
  settlements fall on the UTC grid of the new interval and each charges the latest data rate
  scaled to the new interval (``rate · new / old``, the same rate per hour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import F64, HOUR_MS, I64

# The funding intervals the venues offer (hours).
OFFERED_H = frozenset({1, 2, 4, 8})


def _intervals(ts: list[int], default_h: int) -> list[int]:
    """The interval in effect after each settlement (module docstring): a spacing the venue
    offers becomes the interval once confirmed, so a hole never reads as a change."""
    out: list[int] = []
    current, seen, before = default_h, False, 0
    for j, t in enumerate(ts):
        gap = t - ts[j - 1] if j else 0
        hours = gap // HOUR_MS if gap % HOUR_MS == 0 else 0
        if hours in OFFERED_H and (hours == current or not seen or gap == before):
            current, seen = hours, True
        before = gap
        out.append(current)
    return out


@dataclass(frozen=True, slots=True)
class FundingNow:
    """What a ticker shows about funding at one instant."""

    rate: float  # the predicted rate for the next settlement (per settlement)
    next_ms: int  # the next settlement time
    interval_h: int


class FundingSchedule:
    """One symbol's settlements and the funding state the venue shows at any sim time."""

    def __init__(self, ts: I64, rate: F64, default_h: int) -> None:
        # The data's own arrays (read only): Python lists and an hour → rate dict of them took
        # ~150 bytes per settlement, 10 MB for 50 hourly-funded symbols over a year.
        self.ts = ts
        self.rate = rate
        # The interval in effect after each settlement (only intervals the venues offer).
        self.interval: I64 = np.asarray(_intervals(ts.tolist(), default_h), dtype=np.int64)
        self.default_h = default_h
        self._overrides: list[tuple[int, int]] = []  # (from_ms, hours), ascending

    @classmethod
    def empty(cls, default_h: int) -> FundingSchedule:
        """A symbol without funding data."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), default_h)

    def set_interval(self, from_ms: int, hours: int) -> None:
        """From ``from_ms`` on, settle every ``hours`` on the UTC grid."""
        if not 1 <= hours <= 24:
            raise ValueError(f"funding interval must be 1..24 hours (got {hours})")
        self._overrides = [o for o in self._overrides if o[0] < from_ms]
        self._overrides.append((from_ms, hours))

    def _override(self, t_ms: int) -> tuple[int, int] | None:
        """The interval override in effect at ``t_ms`` (strictly after it was set)."""
        for from_ms, hours in reversed(self._overrides):
            if from_ms <= t_ms:
                return from_ms, hours
        return None

    def _last(self, t_ms: int) -> int:
        """Index of the last data settlement at or before ``t_ms`` (−1 if none)."""
        return int(self.ts.searchsorted(t_ms, side="right")) - 1

    def _rate(self, j: int) -> float:
        return float(self.rate.item(j))

    def _interval(self, j: int) -> int:
        return int(self.interval.item(j))

    def _in_hour(self, t_ms: int) -> float | None:
        """The rate of the last settlement stamped in ``t_ms``'s hour (None if none)."""
        h = t_ms // HOUR_MS
        j = self._last((h + 1) * HOUR_MS - 1)
        return self._rate(j) if j >= 0 and int(self.ts.item(j)) // HOUR_MS == h else None

    def interval_at(self, t_ms: int) -> int:
        """The settlement interval in effect at ``t_ms`` (hours), from data up to then."""
        ov = self._override(t_ms)
        if ov is not None:
            return ov[1]
        j = self._last(t_ms)
        return self._interval(j) if j >= 0 else self.default_h

    def settlement(self, t_ms: int) -> float | None:
        """The rate settled at ``t_ms`` (an hour boundary), None when nothing settles then."""
        if not self._overrides:
            return self._in_hour(t_ms)  # the per-bar path: one search
        ov = self._override(t_ms - 1)
        if ov is None:
            return self._in_hour(t_ms)
        hours = ov[1]
        if t_ms % (hours * HOUR_MS) != 0:
            return None
        j = self._last(t_ms)
        if j < 0:
            return None
        return self._rate(j) * hours / self._interval(j)

    def now(self, t_ms: int) -> FundingNow | None:
        """The predicted rate and next settlement shown at ``t_ms``; None where the data has
        no funding (before its first settlement, or in a hole)."""
        j = self._last(t_ms)
        if j < 0:
            return None
        ov = self._override(t_ms)
        if ov is not None:
            hours = ov[1]
            step = hours * HOUR_MS
            return FundingNow(
                self._rate(j) * hours / self._interval(j), (t_ms // step + 1) * step, hours
            )
        hours = self._interval(j)
        nxt = int(self.ts.item(j)) + hours * HOUR_MS
        if nxt <= t_ms:
            return None
        return FundingNow(self._rate(j), nxt, hours)
