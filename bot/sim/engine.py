"""The simulator's matching engine: orders, validation and the replay clock (SIM-VENUE.md).

Both faces (``bot.sim.venue`` in-process, ``bot.sim.http`` Bybit v5) drive this class.
Semantics, decided here once:
- Clock: ``now_ms = ts[k]``; the current price (last = mark = index) is bar k's open, or the
  last close after the end of the data. ``advance()`` is in ``bot.sim.matching``.
- Market orders fill at once at price·(1 ± (half_spread + slippage)), rounded adversely to the
  tick, taker fee. A limit that is marketable on arrival fills the same way, capped at its price.
  Resting limits fill at their price with the maker fee; stop-markets fill like market orders
  from the trigger (or from the open on a gap). With ``partial_fills`` a resting limit fills at
  most ``participation`` × the bar's volume per bar.
- Stops: ``trigger_direction`` (Bybit 1 rise / 2 fall) is required and a trigger the price has
  already crossed is refused (``validation.check_trigger``); conditional orders reserve no margin until triggered and are Rejected if the
  margin is missing then. Resting limits reserve the margin of the exposure they would open.
- Reduce-only orders are rejected (110017) without an opposite position and clipped to the
  position size; open reduce-only orders are clipped or cancelled whenever the position shrinks.
  Reduce-only orders are exempt from min notional, so dust positions can always be closed.
- Leverage defaults to 10x (capped by the tiers); the tier of the resulting notional must allow
  it (110090). Cash and margin rules are in ``bot.sim.account``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from bot.domain import Instrument, OrderType, Side, TriggerBy
from bot.sim.account import Account, position_prices
from bot.sim.funding import FundingSchedule
from bot.sim.instruments import InstrumentEvent, apply_event
from bot.sim.market import SimMarket
from bot.sim.matching import Matcher
from bot.sim.quotes import Quotes
from bot.sim.types import (
    EXEC_ID_PREFIX,
    ORDER_ID_PREFIX,
    ZERO,
    SimError,
    SimExecution,
    SimFunding,
    SimOrder,
    SimPosition,
    SimStatus,
    sim_id,
)
from bot.sim.validation import check_opening, check_price, check_qty, check_trigger

MAX_LINK_ID = 36
DEFAULT_LEVERAGE = Decimal(10)


class SimEngine(Matcher, Quotes):
    """One simulated Bybit-like account replaying a ``SimMarket``."""

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
    ) -> None:
        self.market = market
        # The instruments as of now (scheduled events change them) and each symbol's funding
        # schedule (built on first use; interval events change it).
        self.instruments: dict[str, Instrument] = dict(market.instruments)
        self._schedules: dict[str, FundingSchedule] = {}
        self._events: list[InstrumentEvent] = list(market.events)
        self.fee_taker = fee_taker
        self.fee_maker = fee_maker
        self.slippage = slippage
        self.half_spread = half_spread
        self.partial_fills = partial_fills
        self.participation = participation
        self._k = 0
        if start_ms is not None:
            self._k = int(np.searchsorted(market.ts, start_ms, side="left"))
        self.account = Account(equity)
        self.orders: list[SimOrder] = []
        self.executions: list[SimExecution] = []
        self._by_id: dict[str, SimOrder] = {}
        self._by_link: dict[str, SimOrder] = {}
        self._open: dict[str, list[SimOrder]] = {}
        self._lev: dict[str, Decimal] = {}
        self._event_ms = self.now_ms
        self._event_mark = ZERO  # the mark at the event being processed (see _fill)
        self._n_exec = 0
        self._watch: dict[str, tuple[float, float]] = {}  # see Matcher._levels
        self.apply_due_events()

    # --- account views ---

    @property
    def positions(self) -> dict[str, SimPosition]:
        return self.account.positions

    @property
    def funding_payments(self) -> list[SimFunding]:
        return self.account.funding_payments

    @property
    def wallet_balance(self) -> Decimal:
        return self.account.wallet_balance

    def equity(self) -> Decimal:
        """Wallet balance plus unrealised PnL at the current mark."""
        upnl = ZERO
        for sym, pos in self.positions.items():
            upnl += pos.unrealised_pnl(Decimal(repr(self.price_float(sym))))
        return self.wallet_balance + upnl

    def order_margin(self) -> Decimal:
        """Margin reserved by resting limit orders for the exposure they would open."""
        total = ZERO
        for orders in self._open.values():
            for o in orders:
                if o.order_type is OrderType.LIMIT and not o.reduce_only and o.price is not None:
                    q = self.account.opening_qty(o.symbol, o.side, o.leaves_qty)
                    total += q * o.price / self.leverage(o.symbol)
        return total

    def available(self) -> Decimal:
        """Free margin: wallet − position margin − order margin."""
        return self.wallet_balance - self.account.position_margin() - self.order_margin()

    def leverage(self, symbol: str) -> Decimal:
        """The symbol's leverage setting (10x, capped by the tiers, until set)."""
        lev = self._lev.get(symbol)
        if lev is None:
            lev = min(DEFAULT_LEVERAGE, self._instrument(symbol).max_leverage)
        return lev

    def _instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise SimError(SimError.BAD_PARAMS, f"unknown symbol {symbol!r}")
        return inst

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
        now = self.now_ms
        while self._events and self._events[0].ts <= now:
            ev = self._events.pop(0)
            self.instruments[ev.symbol] = apply_event(self.instruments[ev.symbol], ev)
            if ev.funding_interval_h is not None:
                self.funding_schedule(ev.symbol).set_interval(ev.ts, ev.funding_interval_h)
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
        pos = self.positions.get(symbol)
        if pos is None:
            return
        mark = Decimal(repr(self.price_float(symbol)))
        if not mark.is_finite():
            mark = pos.avg_price
        self._book_forced_close(symbol, mark, "Delivery", "CreateByAdmin")

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the symbol's leverage (re-margins an open position)."""
        inst = self._instrument(symbol)
        if not leverage.is_finite() or leverage < 1 or leverage > inst.max_leverage:
            raise SimError(
                SimError.BAD_PARAMS,
                f"{symbol}: leverage {leverage} outside [1, {inst.max_leverage}]",
            )
        if leverage != leverage.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
            raise SimError(SimError.BAD_PARAMS, f"{symbol}: leverage {leverage} not in 0.01 steps")
        if leverage == self.leverage(symbol):
            raise SimError(SimError.LEVERAGE_NOT_MODIFIED, "leverage not modified")
        pos = self.positions.get(symbol)
        if pos is not None:
            tier = inst.tier_for_notional(pos.value)
            if leverage > tier.max_leverage:
                raise SimError(
                    SimError.RISK_LIMIT,
                    f"{symbol}: position value {pos.value} allows at most {tier.max_leverage}x",
                )
            extra = pos.value / leverage - pos.margin
            if extra > self.available():
                raise SimError(
                    SimError.INSUFFICIENT_BALANCE,
                    f"{symbol}: needs {extra} more margin, available {self.available()}",
                )
            lp, _ = position_prices(inst, pos.side, pos.avg_price, pos.size, leverage)
            mark = self.mark_price(symbol)
            if pos.side.sign * (mark - lp) <= 0:
                raise SimError(
                    SimError.LEVERAGE_INVALID,
                    f"{symbol}: at {leverage}x the liquidation price {lp} is past the mark {mark}",
                )
        self._lev[symbol] = leverage
        self._watch.pop(symbol, None)
        self.account.set_leverage(inst, leverage, self.now_ms)

    # --- orders ---

    def place_order(
        self,
        symbol: str,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        *,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        trigger_by: TriggerBy = TriggerBy.MARK,
        trigger_direction: int | None = None,
        reduce_only: bool = False,
        order_link_id: str | None = None,
    ) -> SimOrder:
        """Validate and accept an order; a market (or marketable limit) order fills now.

        A stop needs ``trigger_direction`` (Bybit: 1 rise, 2 fall; ``check_trigger``).
        Raises ``SimError`` with Bybit's retCode on any refusal.
        """
        inst = self._instrument(symbol)
        mark = self.mark_price(symbol)
        link = order_link_id or ""
        if len(link) > MAX_LINK_ID:
            raise SimError(SimError.BAD_PARAMS, f"orderLinkId longer than {MAX_LINK_ID} chars")
        if link and link in self._by_link:
            raise SimError(SimError.DUPLICATE_LINK_ID, f"duplicate orderLinkId {link!r}")
        check_qty(inst, qty)
        if order_type is OrderType.LIMIT:
            price = check_price(inst, price, "price")
        elif order_type is OrderType.STOP_MARKET:
            trigger_price = check_price(inst, trigger_price, "triggerPrice")
            trigger_direction = check_trigger(trigger_price, mark, trigger_direction)
            price = None
        else:
            price = None
        if order_type is not OrderType.STOP_MARKET:
            trigger_price = None
        pos = self.positions.get(symbol)
        if reduce_only:
            if pos is None or pos.side.exit_side is not side:
                raise SimError(
                    SimError.REDUCE_ONLY,
                    f"{symbol}: reduce-only {side} order would not reduce the position",
                )
            qty = min(qty, pos.size)
        ref = price or trigger_price or mark
        if not reduce_only and qty * ref < inst.min_notional:
            raise SimError(
                SimError.MIN_NOTIONAL,
                f"{symbol}: order value {qty * ref} below min notional {inst.min_notional}",
            )
        if order_type is not OrderType.STOP_MARKET and not reduce_only:
            fill_ref = self._taker_price(inst, side, mark)
            if price is not None and side.sign * (price - fill_ref) < 0:
                fill_ref = price
            fee_rate = self.fee_maker if order_type is OrderType.LIMIT else self.fee_taker
            self._check_open(inst, side, qty, fill_ref, fee_rate)
        now = self.now_ms
        n = len(self.orders) + 1
        order = SimOrder(
            order_id=sim_id(ORDER_ID_PREFIX, n),
            order_link_id=link,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price,
            trigger_price=trigger_price,
            trigger_by=trigger_by,
            reduce_only=reduce_only,
            status=SimStatus.UNTRIGGERED if order_type is OrderType.STOP_MARKET else SimStatus.NEW,
            created_ms=now,
            updated_ms=now,
            trigger_direction=trigger_direction or 0,
            seq=n,
        )
        self._register(order)
        self._event_ms = now
        self._event_mark = mark
        if order_type is OrderType.MARKET:
            self._fill(order, qty, self._taker_price(inst, side, mark), maker=False)
        elif (
            order_type is OrderType.LIMIT and price is not None and side.sign * (price - mark) >= 0
        ):
            px = self._taker_price(inst, side, mark)
            if side.sign * (px - price) > 0:
                px = price
            self._fill(order, qty, px, maker=False)
        return order

    def _register(self, order: SimOrder) -> None:
        self._watch.pop(order.symbol, None)
        self.orders.append(order)
        self._by_id[order.order_id] = order
        if order.order_link_id:
            self._by_link[order.order_link_id] = order
        self._open.setdefault(order.symbol, []).append(order)

    def _register_closed(self, order: SimOrder) -> None:
        self.orders.append(order)
        self._by_id[order.order_id] = order

    def _check_open(
        self, inst: Instrument, side: Side, qty: Decimal, price: Decimal, fee_rate: Decimal
    ) -> None:
        """Risk-limit tier and margin checks for the exposure an order would open."""
        pos = self.positions.get(inst.symbol)
        opening = self.account.opening_qty(inst.symbol, side, qty)
        held = pos.size if pos is not None and opening == qty else ZERO
        lev = self.leverage(inst.symbol)
        check_opening(inst, opening, held, price, lev, qty * price * fee_rate, self.available())

    def _taker_price(self, inst: Instrument, side: Side, ref: Decimal) -> Decimal:
        """``ref`` moved against the taker by half-spread + slippage, rounded to the tick."""
        px = ref * (1 + side.sign * (self.half_spread + self.slippage))
        return inst.round_price(px, ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, *, maker: bool) -> None:
        inst = self.instruments[order.symbol]
        rate = self.fee_maker if maker else self.fee_taker
        fee = qty * price * rate
        self._watch.pop(order.symbol, None)
        closed, pnl = self.account.apply_fill(
            inst, order.side, qty, price, fee, self.leverage(order.symbol), self._event_ms
        )
        order.cum_exec_qty += qty
        order.cum_exec_value += qty * price
        order.cum_exec_fee += fee
        order.avg_price = order.cum_exec_value / order.cum_exec_qty
        order.updated_ms = self._event_ms
        self._n_exec += 1
        self.executions.append(
            SimExecution(
                exec_id=sim_id(EXEC_ID_PREFIX, self._n_exec),
                order_id=order.order_id,
                order_link_id=order.order_link_id,
                symbol=order.symbol,
                side=order.side,
                qty=qty,
                price=price,
                fee=fee,
                fee_rate=rate,
                ts=self._event_ms,
                is_maker=maker,
                closed_size=closed,
                closed_pnl=pnl,
                mark=self._event_mark,
            )
        )
        if order.leaves_qty == 0:
            self._close_order(order, SimStatus.FILLED)
        else:
            order.status = SimStatus.PARTIALLY_FILLED
        self._sync_reduce_only(order.symbol)

    def _close_order(self, order: SimOrder, status: SimStatus, cancel_type: str = "") -> None:
        self._watch.pop(order.symbol, None)
        order.status = status
        order.cancel_type = cancel_type or order.cancel_type
        order.updated_ms = self._event_ms
        lst = self._open.get(order.symbol)
        if lst is not None and order in lst:
            lst.remove(order)
            if not lst:
                del self._open[order.symbol]

    def _cancel(self, order: SimOrder, cancel_type: str) -> None:
        status = (
            SimStatus.DEACTIVATED if order.status is SimStatus.UNTRIGGERED else SimStatus.CANCELLED
        )
        self._close_order(order, status, cancel_type)

    def _sync_reduce_only(self, symbol: str) -> None:
        """Clip or cancel open reduce-only orders so none can increase the position."""
        pos = self.positions.get(symbol)
        for o in list(self._open.get(symbol, ())):
            if not o.reduce_only:
                continue
            if pos is None or pos.side.exit_side is not o.side:
                self._cancel(o, "CancelByReduceOnly")
            elif o.leaves_qty > pos.size:
                o.qty = o.cum_exec_qty + pos.size
                o.updated_ms = self._event_ms

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> SimOrder:
        """Cancel one open order (110001 when unknown, of another symbol, or already closed)."""
        order = self.get_order(order_id=order_id, order_link_id=order_link_id)
        if order is None or order.symbol != symbol or not order.is_open:
            raise SimError(
                SimError.ORDER_NOT_FOUND,
                f"order not exists or too late to cancel ({order_id or order_link_id})",
            )
        self._event_ms = self.now_ms
        self._cancel(order, "CancelByUser")
        return order

    def cancel_all(self, symbol: str | None = None) -> list[SimOrder]:
        """Cancel every open order (of one symbol); return the cancelled orders."""
        self._event_ms = self.now_ms
        out = self.open_orders(symbol)
        for o in out:
            self._cancel(o, "CancelByUser")
        return out

    def get_order(
        self, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> SimOrder | None:
        """An order (open or closed) by venue id or orderLinkId."""
        if order_id:
            o = self._by_id.get(order_id)
            if o is not None and order_link_id and o.order_link_id != order_link_id:
                return None
            return o
        if order_link_id:
            return self._by_link.get(order_link_id)
        return None

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        """Open orders, oldest first."""
        lists: Iterable[list[SimOrder]]
        lists = [self._open.get(symbol, [])] if symbol is not None else self._open.values()
        return sorted((o for lst in lists for o in lst), key=lambda o: o.seq)
