"""Order entry: validation, placement, amend, cancel and queries (SIM-VENUE.md "Orders").

The fills themselves (prices, fees, executions, closing orders, the reduce-only sync) are the
order book's bookkeeping, shared with the path walk: ``bot.sim.fills``.

One place for every face (in-process, HTTP, paper):
- Market orders fill at once at mark·(1 ± (half_spread + slippage)), rounded adversely to the
  tick, taker fee. A limit that is marketable on arrival fills the same way, capped at its
  price; ``PostOnly`` is cancelled instead (``EC_PostOnlyWillTakeLiquidity``), ``IOC``/``FOK``
  limits that are not marketable are cancelled (the model has no depth: a marketable order
  fills whole, so IOC and FOK behave alike). Resting limits fill at their price, maker fee.
- Stops (``validation.check_trigger``) reserve no margin until triggered.
- Reduce-only orders are refused (110017) without an opposite position and clipped to it;
  open reduce-only orders follow the position as it shrinks. They are exempt from the min
  notional, so dust can always be closed.
- ``takeProfit``/``stopLoss`` on an order are set on the position when it fills; a position's
  TP/SL (``set_trading_stop``) are reduce-only conditional market orders without an
  orderLinkId (stopOrderType TakeProfit/StopLoss) that follow the position's size.
- The instrument's status gates trading: PreLaunch/Closed refuse everything (110066), Settling
  allows only reducing orders (110042).
- Hedge mode: every order names its position (``position_idx`` 1 long, 2 short); an order on
  the exit side of its position closes it and is reduce-only by nature.
- Client ids are taken for the account's lifetime (Bybit) or while their order is open
  (Binance), and a refused post-only/FOK order is recorded (Bybit) or leaves no trace
  (Binance): ``bot.sim.rules``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from bot.domain import Instrument, OrderType, PositionSide, Side, TriggerBy
from bot.sim.account import LONG_IDX, SHORT_IDX, pkey
from bot.sim.fills import OrderBookkeeping
from bot.sim.rules import VenueRules
from bot.sim.types import ORDER_ID_PREFIX, SimError, SimOrder, SimStatus, sim_id
from bot.sim.validation import check_price, check_qty, check_trigger

MAX_LINK_ID = 36
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")


class OrderEntry(OrderBookkeeping):
    """Mixin: order entry on one account's book (``bot.sim.core.EngineCore`` provides state;
    the fill bookkeeping is ``OrderBookkeeping``'s)."""

    rules: VenueRules

    # --- placement ---

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
        time_in_force: str = "GTC",
        take_profit: Decimal | None = None,
        stop_loss: Decimal | None = None,
        position_idx: int = 0,
    ) -> SimOrder:
        """Validate and accept an order; a market (or marketable limit) order fills now.

        A stop needs ``trigger_direction`` (Bybit: 1 rise, 2 fall; ``check_trigger``).
        ``position_idx`` is 0 in one-way mode, 1 (long) or 2 (short) in hedge mode.
        Raises ``SimError`` with Bybit's retCode on any refusal.
        """
        inst = self._instrument(symbol)
        mark = self.mark_price(symbol)
        link = order_link_id or ""
        if len(link) > MAX_LINK_ID:
            raise SimError(
                SimError.BAD_PARAMS, f"orderLinkId longer than {MAX_LINK_ID} chars", "link_id"
            )
        taken = self._by_link.get(link) if link else None
        if taken is not None and (self.rules.link_ids == "lifetime" or taken.is_open):
            raise SimError(SimError.DUPLICATE_LINK_ID, f"duplicate orderLinkId {link!r}")
        if time_in_force not in TIME_IN_FORCE:
            raise SimError(
                SimError.BAD_PARAMS, f"timeInForce {time_in_force!r} is invalid", "time_in_force"
            )
        hedge = self.account.is_hedge(symbol)
        if position_idx not in ((LONG_IDX, SHORT_IDX) if hedge else (0,)):
            raise SimError(
                SimError.BAD_PARAMS,
                f"position idx not match position mode ({symbol} is "
                f"{'hedge' if hedge else 'one-way'}, positionIdx {position_idx})",
                "position_idx",
            )
        # In hedge mode an order on the exit side of its position closes it: reduce-only.
        closing = hedge and side is not (Side.BUY if position_idx == LONG_IDX else Side.SELL)
        reduce_only = reduce_only or closing
        check_qty(inst, qty, market=order_type is not OrderType.LIMIT)
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
        pos = self.positions.get(pkey(symbol, position_idx))
        if reduce_only:
            if pos is None or pos.side.exit_side is not side:
                raise SimError(
                    SimError.REDUCE_ONLY,
                    f"{symbol}: reduce-only {side} order would not reduce the position",
                )
            qty = min(qty, pos.size)
        self._check_status(inst, side, qty, reduce_only, position_idx)
        ref = price or trigger_price or mark
        if not reduce_only and qty * ref < inst.min_notional:
            raise SimError(
                SimError.MIN_NOTIONAL,
                f"{symbol}: order value {qty * ref} below min notional {inst.min_notional}",
            )
        entry_side = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
        if take_profit is not None or stop_loss is not None:
            base = trigger_price or price or mark
            self._check_tpsl(inst, entry_side, base, take_profit, stop_loss)
        if order_type is not OrderType.STOP_MARKET and not reduce_only:
            fill_ref = self._taker_price(inst, side, mark)
            if price is not None and side.sign * (price - fill_ref) < 0:
                fill_ref = price
            fee_rate = self.fee_maker if order_type is OrderType.LIMIT else self.fee_taker
            self._check_open(inst, side, qty, fill_ref, fee_rate, position_idx)
        marketable = price is not None and side.sign * (price - mark) >= 0
        if not self.rules.keep_refused_tif and order_type is OrderType.LIMIT:
            # Binance refuses these outright; they are never recorded (-5022 / -5021).
            if marketable and time_in_force == "PostOnly":
                raise SimError(
                    SimError.BAD_PARAMS,
                    "Due to the order could not be executed as maker, the Post Only order will "
                    "be rejected. The order will not be recorded in the order history",
                    "post_only_rejected",
                )
            if not marketable and time_in_force == "FOK":
                raise SimError(
                    SimError.BAD_PARAMS,
                    "Due to the order could not be filled immediately, the FOK order has been "
                    "rejected. The order will not be recorded in the order history",
                    "fok_rejected",
                )
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
            time_in_force="IOC" if order_type is not OrderType.LIMIT else time_in_force,
            stop_order_type="Stop" if order_type is OrderType.STOP_MARKET else "",
            take_profit=take_profit,
            stop_loss=stop_loss,
            position_idx=position_idx,
        )
        self._register(order)
        self._event_ms = now
        self._event_mark = mark
        if order_type is OrderType.MARKET:
            self._fill(order, qty, self._taker_price(inst, side, mark), maker=False)
        elif order_type is OrderType.LIMIT and marketable:
            if time_in_force == "PostOnly":
                order.reject_reason = "EC_PostOnlyWillTakeLiquidity"
                self._close_order(order, SimStatus.CANCELLED, "CancelByUser")
                return order
            assert price is not None
            px = self._taker_price(inst, side, mark)
            if side.sign * (px - price) > 0:
                px = price
            self._fill(order, qty, px, maker=False)
        elif order_type is OrderType.LIMIT and time_in_force in ("IOC", "FOK"):
            self._close_order(order, SimStatus.CANCELLED, "CancelByUser")
        return order

    def _check_status(
        self, inst: Instrument, side: Side, qty: Decimal, reduce_only: bool, idx: int = 0
    ) -> None:
        """Trading is gated by the instrument's status and launch (scheduled events)."""
        if inst.launch_ms is not None and inst.launch_ms > self.now_ms:
            raise SimError(SimError.NOT_TRADING, f"{inst.symbol} is not launched yet")
        if inst.status == "Trading":
            return
        if inst.status == "Settling":
            pos = self.positions.get(pkey(inst.symbol, idx))
            reduces = pos is not None and pos.side.exit_side is side and qty <= pos.size
            if reduce_only or reduces:
                return
            raise SimError(
                SimError.REDUCE_ONLY_STATUS,
                f"{inst.symbol}: pre-delivery status can only reduce positions",
            )
        raise SimError(SimError.NOT_TRADING, f"{inst.symbol} is {inst.status}: no trading")

    # --- amend, cancel, queries ---

    def amend_order(
        self,
        symbol: str,
        *,
        order_id: str | None = None,
        order_link_id: str | None = None,
        qty: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> SimOrder:
        """Change an open order's qty, price or trigger (validated as on placement)."""
        order = self._open_order(symbol, order_id, order_link_id, "replace")
        inst = self._instrument(symbol)
        if qty is not None:
            check_qty(inst, qty)
            if qty <= order.cum_exec_qty:
                raise SimError(
                    SimError.BAD_PARAMS, f"qty {qty} must exceed the filled {order.cum_exec_qty}"
                )
        if price is not None:
            if order.order_type is not OrderType.LIMIT:
                raise SimError(SimError.BAD_PARAMS, "price can only be amended on a limit order")
            check_price(inst, price, "price")
        if trigger_price is not None:
            if order.order_type is not OrderType.STOP_MARKET:
                raise SimError(SimError.BAD_PARAMS, "triggerPrice of a non-conditional order")
            check_price(inst, trigger_price, "triggerPrice")
            check_trigger(trigger_price, self.mark_price(symbol), order.trigger_direction)
        changes = (qty, order.qty), (price, order.price), (trigger_price, order.trigger_price)
        if all(new is None or new == old for new, old in changes):
            raise SimError(
                SimError.BAD_PARAMS, "the order remains unchanged (nothing to amend)", "unchanged"
            )
        self._event_ms = self.now_ms
        if qty is not None:
            order.qty = qty
        if price is not None:
            order.price = price
        if trigger_price is not None:
            order.trigger_price = trigger_price
        order.updated_ms = self._event_ms
        self.account.revision += 1
        self._watch.pop(symbol, None)
        mark = self.mark_price(symbol)
        limit = order.price if order.order_type is OrderType.LIMIT else None
        if limit is not None and order.side.sign * (limit - mark) >= 0:
            # Amended into the market: it takes liquidity now, like a new marketable limit.
            self._event_mark = mark
            px = self._taker_price(inst, order.side, mark)
            if order.side.sign * (px - limit) > 0:
                px = limit
            self._fill(order, order.leaves_qty, px, maker=False)
        return order

    def _open_order(
        self, symbol: str, order_id: str | None, order_link_id: str | None, verb: str
    ) -> SimOrder:
        order = self.get_order(order_id=order_id, order_link_id=order_link_id)
        if order is None or order.symbol != symbol or not order.is_open:
            raise SimError(
                SimError.ORDER_NOT_FOUND,
                f"order not exists or too late to {verb} ({order_id or order_link_id})",
            )
        return order

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> SimOrder:
        """Cancel one open order (110001 when unknown, of another symbol, or already closed)."""
        order = self._open_order(symbol, order_id, order_link_id, "cancel")
        self._event_ms = self.now_ms
        self._cancel(order, "CancelByUser")
        self._forget_tpsl(order)
        return order

    def cancel_all(self, symbol: str | None = None) -> list[SimOrder]:
        """Cancel every open order (of one symbol); return the cancelled orders."""
        self._event_ms = self.now_ms
        out = self.open_orders(symbol)
        for o in out:
            self._cancel(o, "CancelByUser")
            self._forget_tpsl(o)
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
