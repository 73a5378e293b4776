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
    """Start-of-day and peak equity for the breakers, carried across restarts, net of cash flows.

    Kept as "equity net of flows" (equity minus the deposits and withdrawals known then) and
    shown shifted by the flows known now: a deposit or a withdrawal moves the equity and both
    marks by the same amount, so it is never counted as profit or loss (RELIABILITY.md #35).
    """

    def __init__(
        self,
        day_start: Decimal | None = None,
        peak: Decimal | None = None,
        day: int = -1,
        flows: Decimal = Decimal(0),
    ):
        self.flows = flows  # net cash flows known so far
        self._day_start = day_start  # net of the flows known at the day's first snapshot
        self._peak = peak  # net of the flows known when it was reached
        self.day = day

    @property
    def peak(self) -> Decimal | None:
        return None if self._peak is None else self._peak + self.flows

    @property
    def day_start(self) -> Decimal | None:
        return None if self._day_start is None else self._day_start + self.flows

    def update(self, equity: Decimal, now_ms: int) -> None:
        net = equity - self.flows
        day = now_ms // DAY_MS
        if day != self.day or self._day_start is None:
            self.day, self._day_start = day, net
        if self._peak is None or net > self._peak:
            self._peak = net

    def add_flow(self, amount: Decimal) -> None:
        """Money moved in (+) or out (-) of the account: the marks move with it."""
        self.flows += amount

    def reset(
        self, peak: Decimal | None, day_start: Decimal | None, flows: Decimal, now_ms: int
    ) -> None:
        """Take the database's marks (net values, ``Repository.equity_marks``) after a cash
        flow was stored; a mark the database does not have yet is kept."""
        self.flows = flows
        if peak is not None:
            self._peak = peak
        if day_start is not None:
            self._day_start, self.day = day_start, now_ms // DAY_MS

    def rebase(self) -> None:
        """Forget the peak (an operator resumed out of HALTED): the next equity is the new one."""
        self._peak = None

    @classmethod
    def from_stored(
        cls, peak: Decimal | None, day_start: Decimal | None, flows: Decimal, now_ms: int
    ) -> EquityMarks:
        """The marks as the database computed them (``Repository.equity_marks``, net values)."""
        return cls(day_start, peak, now_ms // DAY_MS if day_start is not None else -1, flows)


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
    day_start, peak = marks.day_start, marks.peak  # each read adds the flows: read once
    assert day_start is not None and peak is not None
    return AccountView(
        now_ms=now_ms,
        equity=balance.equity,
        wallet_balance=balance.wallet_balance,
        free_margin=balance.available,
        day_start_equity=day_start,
        peak_equity=peak,
        trading_state=state,
        instruments=instruments,
        market=market,
        positions=tuple(positions),
        recent_order_ms=recent_orders,
        poll_interval_ms=poll_interval_ms,
    )
