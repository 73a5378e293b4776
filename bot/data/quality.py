"""Data-quality gate: reject bad ticks and bars before anything stores or uses them (issue #4).

Every check returns a :class:`QualityResult`; a rejection carries a reason code and the numbers
that triggered it, is counted, and is logged as one structured ``data_rejected`` event.

Jump rule ("against both the previous value and the mark price"): a price is a spike only if
it is beyond ``max_jump`` (in |log ratio|) from the previous accepted value **and** beyond
``max_mark_dev`` from the current mark. A genuine fast move that the mark confirms passes; an
isolated print that disagrees with both references is rejected. With no mark known, the
previous value decides alone; with no previous value, the mark decides alone. Bar open,
high and low are checked against the previous close only, with the wider ``max_wick``, because
mark prices do not follow wicks (real 2025-10-10 wicks reach −93%, |log| 2.6).

A previous value older than ``max_prev_age_ms`` is not used (after downtime the market may have
really moved), and ``reanchor_after`` consecutive jump rejections that agree with one another
re-anchor the reference: the level really changed, so the filter must not stall forever.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import DataConfig

from bot.data.panel import HOUR_MS
from bot.domain.market import Bar, FundingRate, OpenInterest, Ticker
from bot.observability.logging import get_logger

_log = get_logger("bot.data.quality")


class Reason(StrEnum):
    """Why a value was rejected."""

    NAN = "nan"
    NON_POSITIVE = "non_positive"
    HIGH_LT_LOW = "high_lt_low"
    OUTSIDE_RANGE = "open_close_outside_range"
    BAD_VOLUME = "bad_volume"
    JUMP = "jump"  # beyond the limit against both previous and mark
    JUMP_VS_PREVIOUS = "jump_vs_previous"  # no mark known
    JUMP_VS_MARK = "jump_vs_mark"  # no previous known
    WICK = "wick"
    TS_BACKWARDS = "timestamp_backwards"
    TS_DUPLICATE = "timestamp_duplicate"
    TS_MISALIGNED = "timestamp_misaligned"
    OUT_OF_RANGE = "out_of_range"
    OUT_OF_WINDOW = "out_of_window"  # older than a ring buffer holds
    UNKNOWN_SYMBOL = "unknown_symbol"


class Feed(StrEnum):
    """The data feeds the gate (and freshness tracking) knows."""

    TICKERS = "tickers"
    KLINES = "klines"
    FUNDING = "funding"
    OPEN_INTEREST = "open_interest"


@dataclass(frozen=True, slots=True)
class QualityLimits:
    """Configurable thresholds; jump limits are |ln(value / reference)|."""

    max_jump: float = 1.0  # ≈ ×2.7; real hourly closes reach 0.67 (NAORIS, PIPPIN)
    max_wick: float = 3.0  # ≈ ×20; real wicks reach 2.63
    max_mark_dev: float = 0.25
    max_oi_jump: float = 3.0
    max_funding_abs: float = 0.1  # per settlement; real caps are ±2–4%
    max_prev_age_ms: int = 6 * HOUR_MS
    max_mark_age_ms: int = 2 * HOUR_MS
    reanchor_after: int = 3
    bar_interval_ms: int = HOUR_MS

    @classmethod
    def from_config(cls, cfg: DataConfig) -> QualityLimits:
        """The limits configured in ``[data]``."""
        return cls(
            max_jump=cfg.max_jump,
            max_wick=cfg.max_wick,
            max_mark_dev=cfg.max_mark_dev,
            max_oi_jump=cfg.max_oi_jump,
            max_funding_abs=cfg.max_funding_abs,
            reanchor_after=cfg.reanchor_after,
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected value: where, when, why, and the numbers."""

    feed: Feed
    symbol: str
    ts: int
    reason: Reason
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QualityResult:
    """Accepted, or rejected with a :class:`Rejection`."""

    rejection: Rejection | None = None

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def reason(self) -> Reason | None:
        return self.rejection.reason if self.rejection else None


ACCEPTED = QualityResult()


def _bad(x: float) -> bool:
    return not math.isfinite(x)


def _dev(a: float, b: float) -> float:
    return abs(math.log(a / b))


@dataclass(slots=True)
class _Ref:
    value: float
    ts: int
    pending: list[float] = field(default_factory=list)  # consecutive jump rejections


class QualityFilter:
    """Stateful per-symbol, per-feed gate. Only accepted values update its references."""

    def __init__(self, limits: QualityLimits | None = None, *, recent: int = 200) -> None:
        self.limits = limits or QualityLimits()
        self.counts: Counter[tuple[Feed, Reason]] = Counter()
        self.accepted: Counter[Feed] = Counter()
        self.recent: deque[Rejection] = deque(maxlen=recent)
        self._last_ts: dict[tuple[Feed, str], int] = {}
        self._prev: dict[tuple[str, str], _Ref] = {}  # (series, symbol) -> last accepted value
        self._mark: dict[str, tuple[float, int]] = {}

    # --- references -------------------------------------------------------------------------
    def observe_mark(self, symbol: str, mark: float, ts: int) -> None:
        """Record a trusted mark price (accepted tickers do this themselves)."""
        if math.isfinite(mark) and mark > 0:
            self._mark[symbol] = (mark, ts)

    def mark(self, symbol: str, at_ms: int) -> float | None:
        """The latest mark for ``symbol`` if it is recent enough at ``at_ms``."""
        m = self._mark.get(symbol)
        if m is None or abs(at_ms - m[1]) > self.limits.max_mark_age_ms:
            return None
        return m[0]

    def previous(self, series: str, symbol: str, at_ms: int) -> float | None:
        ref = self._prev.get((series, symbol))
        if ref is None or at_ms - ref.ts > self.limits.max_prev_age_ms:
            return None
        return ref.value

    def reset(self, symbol: str) -> None:
        """Forget every reference for ``symbol`` (after a rename or a re-listing)."""
        for key in [k for k in self._prev if k[1] == symbol]:
            del self._prev[key]
        for fk in [k for k in self._last_ts if k[1] == symbol]:
            del self._last_ts[fk]
        self._mark.pop(symbol, None)

    # --- outcome helpers --------------------------------------------------------------------
    def _reject(
        self, feed: Feed, symbol: str, ts: int, reason: Reason, **values: float
    ) -> QualityResult:
        rej = Rejection(feed, symbol, ts, reason, {k: float(v) for k, v in values.items()})
        self.counts[(feed, reason)] += 1
        self.recent.append(rej)
        # Re-polled duplicates (overlapping kline pages) and history older than the ring holds
        # are routine; they are counted but kept out of the warning log.
        quiet = reason in (Reason.TS_DUPLICATE, Reason.OUT_OF_WINDOW)
        log = _log.debug if quiet else _log.warning
        log(
            "data_rejected",
            feed=feed.value,
            symbol=symbol,
            ts=ts,
            reason=reason.value,
            **rej.values,
        )
        return QualityResult(rej)

    def _check_ts(self, feed: Feed, symbol: str, ts: int, *, allow_equal: bool) -> Reason | None:
        last = self._last_ts.get((feed, symbol))
        if last is None:
            return None
        if ts < last:
            return Reason.TS_BACKWARDS
        if ts == last and not allow_equal:
            return Reason.TS_DUPLICATE
        return None

    def _jump(
        self, series: str, symbol: str, ts: int, value: float, mark: float | None, limit: float
    ) -> tuple[Reason, dict[str, float]] | None:
        """Apply the both-references jump rule; handles re-anchoring. None means accepted."""
        prev = self.previous(series, symbol, ts)
        lim = self.limits
        d_prev = _dev(value, prev) if prev is not None else None
        d_mark = _dev(value, mark) if mark is not None else None
        far_prev = d_prev is not None and d_prev > limit
        far_mark = d_mark is not None and d_mark > lim.max_mark_dev
        if prev is not None and mark is not None:
            reason = Reason.JUMP if far_prev and far_mark else None
        elif prev is not None:
            reason = Reason.JUMP_VS_PREVIOUS if far_prev else None
        elif mark is not None:
            reason = Reason.JUMP_VS_MARK if far_mark else None
        else:
            reason = None
        if reason is None:
            return None
        ref = self._prev.get((series, symbol))
        if ref is not None and reason is not Reason.JUMP_VS_MARK:
            pend = ref.pending
            if pend and _dev(value, pend[-1]) > limit:
                pend.clear()  # not a persistent new level: start counting again
            pend.append(value)
            if len(pend) >= lim.reanchor_after:
                pend.clear()
                _log.warning(
                    "data_reanchored", series=series, symbol=symbol, ts=ts, old=prev, new=value
                )
                return None
        values = {"value": value}
        if prev is not None:
            values |= {"previous": prev, "jump": d_prev or 0.0}
        if mark is not None:
            values |= {"mark": mark, "mark_dev": d_mark or 0.0}
        values["limit"] = limit
        return reason, values

    def _accept(self, feed: Feed, symbol: str, ts: int, **series: float) -> QualityResult:
        self._last_ts[(feed, symbol)] = ts
        for name, value in series.items():
            self._prev[(name, symbol)] = _Ref(value, ts)
        self.accepted[feed] += 1
        return ACCEPTED

    # --- public checks ----------------------------------------------------------------------
    def reject(
        self, feed: Feed, symbol: str, ts: int, reason: Reason, **values: float
    ) -> QualityResult:
        """Record and log a rejection decided by a caller (e.g. the store's window check)."""
        return self._reject(feed, symbol, ts, reason, **values)

    def check_bar(self, bar: Bar, mark: float | None = None) -> QualityResult:
        """Validate one closed candle; ``mark`` defaults to the latest observed mark."""
        f, s, ts = Feed.KLINES, bar.symbol, bar.ts
        o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
        if any(_bad(x) for x in (o, h, lo, c, v)):
            return self._reject(f, s, ts, Reason.NAN, open=o, high=h, low=lo, close=c, volume=v)
        if min(o, h, lo, c) <= 0:
            return self._reject(f, s, ts, Reason.NON_POSITIVE, open=o, high=h, low=lo, close=c)
        if h < lo:
            return self._reject(f, s, ts, Reason.HIGH_LT_LOW, high=h, low=lo)
        if max(o, c) > h or min(o, c) < lo:
            return self._reject(f, s, ts, Reason.OUTSIDE_RANGE, open=o, high=h, low=lo, close=c)
        if v < 0:
            return self._reject(f, s, ts, Reason.BAD_VOLUME, volume=v)
        if ts % self.limits.bar_interval_ms:
            return self._reject(
                f, s, ts, Reason.TS_MISALIGNED, interval=self.limits.bar_interval_ms
            )
        ts_reason = self._check_ts(f, s, ts, allow_equal=False)
        if ts_reason is not None:
            return self._reject(f, s, ts, ts_reason, last_ts=self._last_ts[(f, s)])
        close_at = ts + self.limits.bar_interval_ms
        prev_close = self.previous("close", s, ts)
        if prev_close is not None:
            wick = max(_dev(x, prev_close) for x in (o, h, lo))
            if wick > self.limits.max_wick:
                return self._reject(
                    f, s, ts, Reason.WICK, open=o, high=h, low=lo, previous=prev_close,
                    jump=wick, limit=self.limits.max_wick,
                )  # fmt: skip
        m = mark if mark is not None else self.mark(s, close_at)
        hit = self._jump("close", s, ts, c, m, self.limits.max_jump)
        if hit is not None:
            return self._reject(f, s, ts, hit[0], **hit[1])
        return self._accept(f, s, ts, close=c)

    def check_ticker(self, t: Ticker) -> QualityResult:
        """Validate a ticker: last and mark must be sane and agree with their references."""
        f, s, ts = Feed.TICKERS, t.symbol, t.ts
        for name in ("last", "mark"):
            x = float(getattr(t, name))
            if _bad(x):
                return self._reject(f, s, ts, Reason.NAN, **{name: x})
            if x <= 0:
                return self._reject(f, s, ts, Reason.NON_POSITIVE, **{name: x})
        for name in ("index", "bid", "ask"):
            x = float(getattr(t, name))
            if math.isfinite(x) and x < 0:
                return self._reject(f, s, ts, Reason.NON_POSITIVE, **{name: x})
        if math.isfinite(t.funding_rate) and abs(t.funding_rate) > self.limits.max_funding_abs:
            return self._reject(f, s, ts, Reason.OUT_OF_RANGE, funding_rate=t.funding_rate)
        if math.isfinite(t.open_interest) and t.open_interest < 0:
            return self._reject(f, s, ts, Reason.NON_POSITIVE, open_interest=t.open_interest)
        ts_reason = self._check_ts(f, s, ts, allow_equal=True)
        if ts_reason is not None:
            return self._reject(f, s, ts, ts_reason, last_ts=self._last_ts[(f, s)])
        # last is checked against its previous and the mark; the mark against its previous
        # and last: a spike in either one disagrees with both of its references.
        hit = self._jump("last", s, ts, t.last, t.mark, self.limits.max_jump)
        if hit is None:
            hit = self._jump("mark", s, ts, t.mark, t.last, self.limits.max_jump)
        if hit is not None:
            return self._reject(f, s, ts, hit[0], **hit[1])
        self.observe_mark(s, t.mark, ts)
        return self._accept(f, s, ts, last=t.last, mark=t.mark)

    def check_funding(self, fr: FundingRate) -> QualityResult:
        """Validate one funding settlement."""
        f, s, ts = Feed.FUNDING, fr.symbol, fr.ts
        if _bad(fr.rate):
            return self._reject(f, s, ts, Reason.NAN, rate=fr.rate)
        if abs(fr.rate) > self.limits.max_funding_abs:
            return self._reject(
                f, s, ts, Reason.OUT_OF_RANGE, rate=fr.rate, limit=self.limits.max_funding_abs
            )
        ts_reason = self._check_ts(f, s, ts, allow_equal=False)
        if ts_reason is not None:
            return self._reject(f, s, ts, ts_reason, last_ts=self._last_ts[(f, s)])
        return self._accept(f, s, ts)

    def check_open_interest(self, oi: OpenInterest) -> QualityResult:
        """Validate one open-interest observation (base units)."""
        f, s, ts, x = Feed.OPEN_INTEREST, oi.symbol, oi.ts, oi.open_interest
        if _bad(x):
            return self._reject(f, s, ts, Reason.NAN, open_interest=x)
        if x < 0:
            return self._reject(f, s, ts, Reason.NON_POSITIVE, open_interest=x)
        ts_reason = self._check_ts(f, s, ts, allow_equal=False)
        if ts_reason is not None:
            return self._reject(f, s, ts, ts_reason, last_ts=self._last_ts[(f, s)])
        if x > 0:
            hit = self._jump("oi", s, ts, x, None, self.limits.max_oi_jump)
            if hit is not None:
                return self._reject(f, s, ts, hit[0], **hit[1])
            return self._accept(f, s, ts, oi=x)
        return self._accept(f, s, ts)

    def summary(self) -> dict[str, Any]:
        """Counts for status pages and metrics."""
        return {
            "accepted": {k.value: n for k, n in self.accepted.items()},
            "rejected": {f"{f.value}:{r.value}": n for (f, r), n in self.counts.items()},
        }
