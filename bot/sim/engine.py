"""The replay engine: the fill model (``bot.sim.core``) over a ``SimMarket`` (SIM-VENUE.md).

Both faces (``bot.sim.venue`` in-process, ``bot.sim.http`` Bybit v5) drive this class, and the
backtester through the in-process face. Clock: ``now_ms = ts[k]``; the current price (last =
mark = index) is bar k's open, or the last close after the end of the data; ``advance()`` is
in ``bot.sim.matching``, market data in ``bot.sim.quotes``. Instruments change over time
(``bot.sim.instruments``), funding follows ``bot.sim.funding``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np

from bot.domain import Instrument
from bot.sim.account import CROSS, pkey
from bot.sim.core import EngineCore
from bot.sim.funding import FundingSchedule
from bot.sim.instruments import InstrumentEvent, apply_event
from bot.sim.market import SimMarket
from bot.sim.matching import Matcher
from bot.sim.quotes import Quotes
from bot.sim.rules import BYBIT, VenueRules
from bot.sim.spot import DEFAULT_SPOT_FEE
from bot.sim.types import SimOrder


class SimEngine(Quotes, Matcher, EngineCore):
    """One simulated account (of the venue of ``rules``) replaying a ``SimMarket``."""

    def __init__(
        self,
        market: SimMarket,
        *,
        equity: Decimal = Decimal(10000),
        fee_taker: Decimal = Decimal("0.00055"),
        fee_maker: Decimal = Decimal("0.0002"),
        slippage: Decimal = Decimal("0.0005"),
        half_spread: Decimal = Decimal(0),
        partial_fills: bool = False,
        participation: Decimal = Decimal("0.1"),
        start_ms: int | None = None,
        margin_mode: str = CROSS,
        rules: VenueRules = BYBIT,
        spot_fee: Decimal = DEFAULT_SPOT_FEE,
    ) -> None:
        # The instruments as of now (scheduled events change them) and each symbol's funding
        # schedule (built on first use; interval events change it).
        super().__init__(
            dict(market.instruments),
            equity=equity,
            fee_taker=fee_taker,
            fee_maker=fee_maker,
            slippage=slippage,
            half_spread=half_spread,
            partial_fills=partial_fills,
            participation=participation,
            margin_mode=margin_mode,
            rules=rules,
            spot_fee=spot_fee,
        )
        self.market = market
        self._schedules: dict[str, FundingSchedule] = {}
        self._events: list[InstrumentEvent] = list(market.events)
        self._interval_events = False
        self._k = 0
        if start_ms is not None:
            self._k = int(np.searchsorted(market.ts, start_ms, side="left"))
        self._event_ms = self.now_ms
        self.apply_due_events()

    # The last balance read, by what it depends on: the account's state, the bar (the marks)
    # and the wallet (a spot fill moves it without an account revision).
    _balance_key: tuple[int, int, Decimal] | None = None
    _balance: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))

    def wallet_equity_and_available(self) -> tuple[Decimal, Decimal]:
        """``EngineCore``'s, read once per state: the replay's marks move only with the clock,
        so reads between two changes (a cycle's several) are the same sums."""
        key = (self.account.revision, self._k, self.account.wallet_balance)
        if key != self._balance_key:
            self._balance = super().wallet_equity_and_available()
            self._balance_key = key
        return self._balance

    # Every open order, oldest first, by the account revision (the open lists change only
    # with it): the backtest reads it every bar.
    _open_rev = -1
    _open_all: tuple[SimOrder, ...] = ()

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        """``OrderEntry``'s; the whole book's list is sorted once per account revision."""
        if symbol is not None:
            return super().open_orders(symbol)
        rev = self.account.revision
        if rev != self._open_rev:
            self._open_all = tuple(super().open_orders())
            self._open_rev = rev
        return list(self._open_all)

    # The position and order margin, by the account revision (they change only with it).
    _margins_rev = -1
    _margins: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))

    def _available(self, cross_upnl: Decimal | None) -> Decimal:
        """``EngineCore``'s, with the margins summed once per account revision."""
        rev = self.account.revision
        if rev != self._margins_rev:
            self._margins = self.account.position_margin(), self.order_margin()
            self._margins_rev = rev
        position_margin, order_margin = self._margins
        base = self.wallet_balance
        if cross_upnl is not None:
            base += cross_upnl
        return base - position_margin - order_margin

    # --- instrument life and funding schedules ---

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """The symbol's funding schedule (from the data, changed by interval events)."""
        sched = self._schedules.get(symbol)
        if sched is None:
            s = self.market.series[symbol]
            default_h = self.market.instruments[symbol].funding_interval_h
            sched = FundingSchedule(s.funding_ts, s.funding_rate, default_h)
            self._schedules[symbol] = sched
        return sched

    def first_price(self, symbol: str) -> float:
        """The symbol's first open in the data (fixes its spot market's precision)."""
        i = self._row(symbol)
        return self.market.price_at(i, int(self.market.first_idx[i]))

    def spot_file_price(self, spot_symbol: str, first: bool = False) -> float | None:
        """The spot market's price from its spot file, as ``price_float`` reads a perpetual's
        (``SimMarket.price_at``); None without a file."""
        spot = self.market.spot
        i = self.market.spot_row(spot_symbol)
        if spot is None or i is None:
            return None
        return spot.price_at(i, int(spot.first_idx[i]) if first else self._k)

    def instrument_now(self, symbol: str) -> Instrument:
        """The instrument as the venue lists it now (funding interval from data up to now)."""
        inst = self._instrument(symbol)
        interval = self.funding_schedule(symbol).interval_at(self.now_ms)
        if inst.funding_interval_h == interval:
            return inst
        return replace(inst, funding_interval_h=interval)

    def schedule_event(self, ev: InstrumentEvent) -> None:
        """Add an instrument change (applied now when its time has come)."""
        self._events.append(ev)
        self._events.sort(key=lambda e: e.ts)
        self.apply_due_events()

    def apply_due_events(self) -> None:
        """Apply every scheduled instrument change whose time has come; a delivery time
        that has come settles the symbol (orders cancelled, positions closed at the mark)."""
        if not self._events:
            return  # the common case: per-bar cost stays nil
        now = self.now_ms
        while self._events and self._events[0].ts <= now:
            ev = self._events.pop(0)
            self.account.revision += 1
            self.instruments[ev.symbol] = apply_event(self.instruments[ev.symbol], ev)
            if ev.funding_interval_h is not None:
                self.funding_schedule(ev.symbol).set_interval(ev.ts, ev.funding_interval_h)
                self._interval_events = True
            if ev.delivery_ms is not None:
                self._events.append(InstrumentEvent(ev.delivery_ms, ev.symbol, status="Closed"))
                self._events.sort(key=lambda e: e.ts)
            if self.instruments[ev.symbol].status == "Closed":
                self._deliver(ev.symbol)

    def _deliver(self, symbol: str) -> None:
        """A delisted symbol settles: open orders are cancelled, a position closes at the
        mark with Bybit's ``Delivery`` execution (no fee)."""
        self._event_ms = self.now_ms
        for o in list(self._open.get(symbol, ())):
            self._cancel(o, "CancelByAdmin")
        for pos in self.account.of_symbol(symbol):
            mark = Decimal(repr(self.price_float(symbol)))
            if not mark.is_finite():
                mark = pos.avg_price
            self._book_forced_close(pkey(symbol, pos.idx), mark, "Delivery", "CreateByAdmin")
