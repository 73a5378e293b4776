"""Builds the risk manager's ``AccountView`` from venue reports, tracked positions and tickers,
and keeps the equity marks the breakers need (start-of-UTC-day equity, peak equity)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from decimal import Decimal

from bot.domain import BalanceReport, Instrument, Position, Ticker, TradingState
from bot.risk import AccountView, MarketSnapshot

DAY_MS = 86_400_000
ORDER_WINDOW_MS = 60_000


def _dec(x: float) -> Decimal | None:
    return Decimal(repr(x)) if math.isfinite(x) else None


def snapshot(
    ticker: Ticker, *, received_ms: int, interval_h: float, missing_bar: bool
) -> MarketSnapshot:
    """A ticker as the risk manager's market facts (funding normalised to 8 hours)."""
    f8h = ticker.funding_rate * 8.0 / interval_h if interval_h > 0 else ticker.funding_rate
    return MarketSnapshot(
        last=_dec(ticker.last),
        mark=_dec(ticker.mark),
        ticker_ms=received_ms,
        funding_8h=_dec(f8h),
        missing_bar=missing_bar,
        bid=_dec(ticker.bid),
        ask=_dec(ticker.ask),
    )


class EquityMarks:
    """Start-of-day and peak equity, carried across restarts from the stored snapshots."""

    def __init__(
        self, day_start: Decimal | None = None, peak: Decimal | None = None, day: int = -1
    ):
        self.day_start = day_start
        self.peak = peak
        self.day = day

    def update(self, equity: Decimal, now_ms: int) -> None:
        day = now_ms // DAY_MS
        if day != self.day or self.day_start is None:
            self.day, self.day_start = day, equity
        if self.peak is None or equity > self.peak:
            self.peak = equity

    def rebase(self) -> None:
        """Forget the peak (an operator resumed out of HALTED): the next equity is the new one."""
        self.peak = None

    @classmethod
    def from_stored(
        cls, peak: Decimal | None, day_start: Decimal | None, now_ms: int
    ) -> EquityMarks:
        """The marks as the database computed them (``Repository.equity_marks``)."""
        return cls(day_start, peak, now_ms // DAY_MS if day_start is not None else -1)


class OrderRate:
    """Send times of recent orders, for the order-rate guard."""

    def __init__(self) -> None:
        self._times: deque[int] = deque()

    def record(self, ts_ms: int) -> None:
        self._times.append(ts_ms)

    def recent(self, now_ms: int) -> tuple[int, ...]:
        while self._times and self._times[0] < now_ms - ORDER_WINDOW_MS:
            self._times.popleft()
        return tuple(self._times)


def build_view(
    *,
    now_ms: int,
    balance: BalanceReport,
    positions: Iterable[Position],
    marks: EquityMarks,
    state: TradingState,
    instruments: Mapping[str, Instrument],
    market: Mapping[str, MarketSnapshot],
    recent_orders: tuple[int, ...],
    poll_interval_ms: int,
) -> AccountView:
    """A consistent, read-only view of the account for one round of risk checks."""
    marks.update(balance.equity, now_ms)
    assert marks.day_start is not None and marks.peak is not None
    return AccountView(
        now_ms=now_ms,
        equity=balance.equity,
        wallet_balance=balance.wallet_balance,
        free_margin=balance.available,
        day_start_equity=marks.day_start,
        peak_equity=marks.peak,
        trading_state=state,
        instruments=instruments,
        market=market,
        positions=tuple(positions),
        recent_order_ms=recent_orders,
        poll_interval_ms=poll_interval_ms,
    )
