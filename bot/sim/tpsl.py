"""Position take-profit / stop-loss (Bybit ``tpslMode`` Full), for every face.

``takeProfit``/``stopLoss`` on an order are set on the position when it fills;
``/v5/position/trading-stop`` sets, replaces (a price) or cancels (0) them later. Each is a
reduce-only conditional market order without an orderLinkId (``stopOrderType`` TakeProfit or
StopLoss) over the whole position: it follows the position's size and goes when it closes.
Bybit's rule: for a long, TP above and SL below the price (10001 otherwise).
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import Instrument, OrderType, PositionSide, TriggerBy
from bot.sim.account import pkey
from bot.sim.types import ORDER_ID_PREFIX, SimError, SimOrder, SimPosition, SimStatus, sim_id
from bot.sim.validation import FALLING, RISING, check_price

TPSL_KINDS = ("TakeProfit", "StopLoss")


class PositionTpSl:
    """Mixin of ``OrderEntry``: the position's TP/SL orders."""

    orders: list[SimOrder]
    _open: dict[str, list[SimOrder]]
    _event_ms: int

    @property
    def now_ms(self) -> int:
        raise NotImplementedError

    @property
    def positions(self) -> dict[str, SimPosition]:
        raise NotImplementedError

    def mark_price(self, symbol: str) -> Decimal:
        raise NotImplementedError

    def _instrument(self, symbol: str) -> Instrument:
        raise NotImplementedError

    def _register(self, order: SimOrder) -> None:
        raise NotImplementedError

    def _cancel(self, order: SimOrder, cancel_type: str) -> None:
        raise NotImplementedError

    def _check_tpsl(
        self,
        inst: Instrument,
        side: PositionSide,
        base: Decimal,
        take_profit: Decimal | None,
        stop_loss: Decimal | None,
    ) -> None:
        """Bybit's TP/SL rule: for a long TP above and SL below the base price (10001)."""
        for name, px, above in (("TakeProfit", take_profit, True), ("StopLoss", stop_loss, False)):
            if px is None:
                continue
            check_price(inst, px, name[0].lower() + name[1:])
            want_above = above if side is PositionSide.LONG else not above
            if (px > base) is not want_above or px == base:
                word = "higher" if want_above else "lower"
                side_word = "Buy" if side is PositionSide.LONG else "Sell"
                raise SimError(
                    SimError.BAD_PARAMS,
                    f"{name}:{px} set for {side_word} position should be {word} than "
                    f"base_price:{base}",
                )

    # --- position TP/SL ---

    def set_trading_stop(
        self,
        symbol: str,
        *,
        take_profit: Decimal | None = None,
        stop_loss: Decimal | None = None,
        trigger_by: TriggerBy = TriggerBy.MARK,
        position_idx: int = 0,
    ) -> None:
        """Set (a price), cancel (0) or keep (None) the TP and SL of the symbol's position
        ``position_idx`` (Full mode)."""
        pos = self.positions.get(pkey(symbol, position_idx))
        if pos is None:
            raise SimError(SimError.BAD_PARAMS, f"{symbol}: can not set tp/sl for zero position")
        inst = self._instrument(symbol)
        mark = self.mark_price(symbol)
        self._check_tpsl(
            inst,
            pos.side,
            mark,
            take_profit if take_profit else None,
            stop_loss if stop_loss else None,
        )
        self._event_ms = self.now_ms
        for kind, px in (("TakeProfit", take_profit), ("StopLoss", stop_loss)):
            if px is None:
                continue
            for o in list(self._open.get(symbol, ())):
                if o.stop_order_type == kind and o.position_idx == position_idx:
                    self._cancel(o, "CancelByUser")
            if px == 0:
                setattr(pos, "take_profit" if kind == "TakeProfit" else "stop_loss", None)
                continue
            up = (kind == "TakeProfit") is (pos.side is PositionSide.LONG)
            n = len(self.orders) + 1
            order = SimOrder(
                order_id=sim_id(ORDER_ID_PREFIX, n),
                order_link_id="",
                symbol=symbol,
                side=pos.side.exit_side,
                order_type=OrderType.STOP_MARKET,
                qty=pos.size,
                price=None,
                trigger_price=px,
                trigger_by=trigger_by,
                reduce_only=True,
                status=SimStatus.UNTRIGGERED,
                created_ms=self._event_ms,
                updated_ms=self._event_ms,
                trigger_direction=RISING if up else FALLING,
                seq=n,
                time_in_force="IOC",
                stop_order_type=kind,
                position_idx=position_idx,
            )
            self._register(order)
            setattr(pos, "take_profit" if kind == "TakeProfit" else "stop_loss", px)

    def _forget_tpsl(self, order: SimOrder) -> None:
        pos = self.positions.get(pkey(order.symbol, order.position_idx))
        if pos is not None and order.stop_order_type == "TakeProfit":
            pos.take_profit = None
        elif pos is not None and order.stop_order_type == "StopLoss":
            pos.stop_loss = None
