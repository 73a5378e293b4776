"""The order book's fill bookkeeping, shared by order entry and the path walk.

``OrderBookkeeping`` registers orders, applies fills to the account (taker price, fee, the
execution and its wallet log line, TP/SL set on the first fill), closes and cancels orders and
keeps open reduce-only orders within the position (``_sync_reduce_only``). Every change of the
order book bumps ``Account.revision``. Order entry (``bot.sim.entry``) and the path walk
(``bot.sim.path``) call it; ``bot.sim.core.EngineCore`` provides the state.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.domain import Instrument, Side
from bot.sim.account import Account, FillResult, pkey
from bot.sim.tpsl import TPSL_KINDS, PositionTpSl
from bot.sim.types import EXEC_ID_PREFIX, ZERO, SimExecution, SimOrder, SimStatus, sim_id
from bot.sim.validation import check_opening

_TX_KIND = {"BustTrade": "LIQUIDATION", "Delivery": "DELIVERY"}


class OrderBookkeeping(PositionTpSl):
    """Mixin: the order book's fill bookkeeping (``bot.sim.core.EngineCore`` provides state)."""

    account: Account
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
