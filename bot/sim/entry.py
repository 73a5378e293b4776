"""Order entry: validation, placement, amend, cancel and fills (SIM-VENUE.md "Orders").

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
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.domain import Instrument, OrderType, PositionSide, Side, TriggerBy
from bot.sim.account import LONG_IDX, SHORT_IDX, Account, FillResult, pkey
from bot.sim.rules import VenueRules
from bot.sim.tpsl import TPSL_KINDS, PositionTpSl
from bot.sim.types import (
    EXEC_ID_PREFIX,
    ORDER_ID_PREFIX,
    ZERO,
    SimError,
    SimExecution,
    SimOrder,
    SimStatus,
    sim_id,
)
from bot.sim.validation import check_opening, check_price, check_qty, check_trigger

MAX_LINK_ID = 36
_TX_KIND = {"BustTrade": "LIQUIDATION", "Delivery": "DELIVERY"}
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")


class OrderEntry(PositionTpSl):
    """Mixin: the order book of one account (``bot.sim.core.EngineCore`` provides state)."""

    account: Account
    rules: VenueRules
    instruments: dict[str, Instrument]
    orders: list[SimOrder]
    executions: list[SimExecution]
    fee_taker: Decimal
    fee_maker: Decimal
    slippage: Decimal
    half_spread: Decimal
    _by_id: dict[str, SimOrder]
    _by_link: dict[str, SimOrder]
    _open: dict[str, list[SimOrder]]
    _watch: dict[str, tuple[float, float]]
    _event_ms: int
    _event_mark: Decimal
    _n_exec: int

    # Provided by the engine (besides the stubs of ``PositionTpSl``).
    def leverage(self, symbol: str) -> Decimal:
        raise NotImplementedError

    def available(self) -> Decimal:
        raise NotImplementedError

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

    # --- bookkeeping shared with the path walk ---

    def _register(self, order: SimOrder) -> None:
        self.account.revision += 1
        self._watch.pop(order.symbol, None)
        self.orders.append(order)
        self._by_id[order.order_id] = order
        if order.order_link_id:
            self._by_link[order.order_link_id] = order
        self._open.setdefault(order.symbol, []).append(order)

    def _register_closed(self, order: SimOrder) -> None:
        self.account.revision += 1
        self.orders.append(order)
        self._by_id[order.order_id] = order

    def _check_open(
        self,
        inst: Instrument,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee_rate: Decimal,
        idx: int = 0,
    ) -> None:
        """Risk-limit tier and margin checks for the exposure an order would open."""
        pos = self.positions.get(pkey(inst.symbol, idx))
        opening = self.account.opening_qty(inst.symbol, side, qty, idx)
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
        res = self.account.apply_fill(
            inst,
            order.side,
            qty,
            price,
            fee,
            self.leverage(order.symbol),
            self._event_ms,
            order.position_idx,
        )
        order.cum_exec_qty += qty
        order.cum_exec_value += qty * price
        order.cum_exec_fee += fee
        order.avg_price = order.cum_exec_value / order.cum_exec_qty
        order.updated_ms = self._event_ms
        self._record_execution(order, qty, price, fee, rate, maker, res, "Trade")
        if order.leaves_qty == 0:
            self._close_order(order, SimStatus.FILLED)
        else:
            order.status = SimStatus.PARTIALLY_FILLED
        has_tpsl = order.take_profit is not None or order.stop_loss is not None
        if has_tpsl and pkey(order.symbol, order.position_idx) in self.positions:
            tp, sl = order.take_profit, order.stop_loss
            order.take_profit = order.stop_loss = None  # set once, on the first fill
            self.set_trading_stop(
                order.symbol, take_profit=tp, stop_loss=sl, position_idx=order.position_idx
            )
        self._sync_reduce_only(order.symbol)
        self.account.revision += 1  # the order's fill state changed after the account's

    def _record_execution(
        self,
        order: SimOrder,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        rate: Decimal,
        maker: bool,
        res: FillResult,
        exec_type: str,
    ) -> None:
        """Append the execution of a fill already applied to the account, and log its wallet
        change (TRADE; LIQUIDATION for a BustTrade; DELIVERY)."""
        self._n_exec += 1
        ex = SimExecution(
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
            exec_type=exec_type,
            closed_size=res.closed,
            closed_pnl=res.pnl,
            mark=self._event_mark,
            entry_price=res.entry_price,
            entry_fee=res.entry_fee,
        )
        self.executions.append(ex)
        kind = _TX_KIND.get(exec_type, "TRADE")
        self.account.log(
            kind, ex.ts, ex.symbol, "Buy" if ex.side is Side.BUY else "Sell", qty, price, fee,
            res.pnl, ex.exec_id, order_id=order.order_id, order_link_id=order.order_link_id,
            fee_rate=rate,
        )  # fmt: skip

    def _close_order(self, order: SimOrder, status: SimStatus, cancel_type: str = "") -> None:
        self.account.revision += 1
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
        """Clip or cancel open reduce-only orders so none can increase the position; the
        position's TP/SL orders follow its size."""
        for o in list(self._open.get(symbol, ())):
            if not o.reduce_only:
                continue
            pos = self.positions.get(pkey(symbol, o.position_idx))
            if pos is None or pos.side.exit_side is not o.side:
                self._cancel(o, "CancelByReduceOnly")
            elif o.leaves_qty > pos.size or (
                o.stop_order_type in TPSL_KINDS and o.leaves_qty != pos.size
            ):
                o.qty = o.cum_exec_qty + pos.size
                o.updated_ms = self._event_ms
                self.account.revision += 1
