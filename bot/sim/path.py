"""The walk of a price path: stops, limits and liquidation in the order the price meets them.

A path is a sequence of monotonic legs ``a → b`` per symbol: the replay's intra-bar path and
bar-to-bar jumps (``bot.sim.matching``), or the jumps between two polled tickers of the paper
venue (``bot.sim.live``). Along each leg the events (stop triggers, limit fills, liquidation
by mark) are processed in the order the price reaches them; ties go to orders (oldest first),
then to the liquidation, except on a gap that crosses the liquidation price, where liquidation
comes first. A buy limit fills only when the price trades strictly below it (sell: above). On
a gap a crossed stop fills from the new price, a crossed limit at its own price.

Liquidation levels: isolated, the position's own liquidation price; cross, the account-level
estimate of ``bot.sim.cross`` (recomputed whenever the watch is refreshed). A hedge-mode symbol
has two positions (``Account.of_symbol``): the long's level below, the short's above.
"""

from __future__ import annotations

import math
from decimal import Decimal

from bot.domain import OrderType, PositionSide, Side, TriggerBy
from bot.sim.account import CROSS, FillResult, pkey
from bot.sim.cross import liq_estimates
from bot.sim.entry import OrderEntry
from bot.sim.types import (
    ORDER_ID_PREFIX,
    ZERO,
    SimError,
    SimOrder,
    SimStatus,
    sim_id,
)

_MAX_EVENTS_PER_LEG = 10_000


class PathWalker(OrderEntry):
    """Mixin: processes price legs against the open orders and positions."""

    partial_fills: bool
    participation: Decimal
    _cross_key: tuple[int, int, int, int] = (-1, -1, -1, -1)
    _cross_levels: dict[str, float]

    def _bar_no(self) -> int:
        """A counter that changes once per bar (partial fills: at most one per bar)."""
        return 0

    def price_float(self, symbol: str) -> float:
        raise NotImplementedError

    def _liq_level(self, key: str) -> float:
        """Where the mark liquidates the position ``key`` (isolated: its liquidation price;
        cross: the estimate over the cross positions, with the others at their marks and the
        isolated margins walled off, computed for every cross position at once and reused
        until a bar, a poll or a wallet change)."""
        acct = self.account
        pos = acct.positions[key]
        if not acct.is_cross(pos):
            return float(pos.liq_price)
        ck = (self._bar_no(), self.now_ms, len(acct.transactions), len(acct.positions))
        if self._cross_key != ck:
            self._cross_key = ck
            cross = {k: p for k, p in acct.positions.items() if acct.is_cross(p)}
            wallet = acct.wallet_balance - acct.isolated_margin()
            self._cross_levels = liq_estimates(wallet, cross, self.instruments, self._mark_dec)
        return self._cross_levels[key]

    def _mark_dec(self, symbol: str) -> Decimal:
        return Decimal(repr(self.price_float(symbol)))

    def _levels(self, sym: str) -> tuple[float, float]:
        """(highest level a fall can hit, lowest level a rise can hit) for ``sym``; cached
        until the symbol's orders or position change, so a quiet bar costs two comparisons."""
        w = self._watch.get(sym)
        if w is not None:
            return w
        down, up = -math.inf, math.inf
        for o in self._open.get(sym, ()):
            if o.order_type is OrderType.STOP_MARKET:
                if o.status is SimStatus.UNTRIGGERED and o.trigger_price is not None:
                    if o.trigger_direction == 2:
                        down = max(down, float(o.trigger_price))
                    else:
                        up = min(up, float(o.trigger_price))
            elif o.order_type is OrderType.LIMIT and o.price is not None:
                if o.side is Side.BUY:
                    down = max(down, float(o.price))
                else:
                    up = min(up, float(o.price))
        for pos in self.account.of_symbol(sym):
            key = pkey(sym, pos.idx)
            if pos.side is PositionSide.LONG:
                down = max(down, self._liq_level(key))
            else:
                up = min(up, self._liq_level(key))
        self._watch[sym] = (down, up)
        return down, up

    def _leg(self, sym: str, a: float, b: float, t_a: int, t_b: int, gap: bool, vol: float) -> None:
        """Process the events of the monotonic move a → b in the order the price meets them.

        Hit tests always use the leg's start ``a`` (so several orders at one level all fire);
        ``done`` is how far along the leg the walk is, and events behind it are not revisited.
        """
        if a == b:
            return
        up = b > a
        span = b - a
        done = 0.0
        for _ in range(_MAX_EVENTS_PER_LEG):
            best: tuple[float, int, int] | None = None
            best_lvl = b
            target: SimOrder | None = None
            liq_key = ""
            for o in self._open.get(sym, ()):
                if o.order_type is OrderType.STOP_MARKET:
                    if o.status is not SimStatus.UNTRIGGERED or o.trigger_price is None:
                        continue
                    lvl = float(o.trigger_price)
                    hit = (o.trigger_direction == 1 and up and a < lvl <= b) or (
                        o.trigger_direction == 2 and not up and a > lvl >= b
                    )
                elif o.order_type is OrderType.LIMIT and o.price is not None:
                    if o.partial_bar == self._bar_no():
                        continue
                    lvl = float(o.price)
                    hit = (o.side is Side.BUY and not up and a >= lvl > b) or (
                        o.side is Side.SELL and up and a <= lvl < b
                    )
                else:
                    continue
                dist = abs(lvl - a)
                if hit and dist >= done:
                    key = (dist, 0, o.seq)
                    if best is None or key < best:
                        best, target, best_lvl = key, o, lvl
            for pos in self.account.of_symbol(sym):
                pk = pkey(sym, pos.idx)
                lvl = self._liq_level(pk)
                long_hit = pos.side is PositionSide.LONG and not up and a > lvl >= b
                short_hit = pos.side is PositionSide.SHORT and up and a < lvl <= b
                dist = abs(lvl - a)
                if (long_hit or short_hit) and dist >= done:
                    # On a gap every crossed level fires at the same instant, and a position can
                    # never lose more than its margin (isolated) or the account's equity
                    # (cross): liquidation comes first (a stop filled beyond the bankruptcy
                    # price is not possible on a venue).
                    key = (-1.0, 1, 0) if gap else (dist, 1, 0)
                    if best is None or key < best:
                        best, target, best_lvl, liq_key = key, None, lvl, pk
            if best is None:
                return
            done = best[0]
            self._event_ms = t_a + int((t_b - t_a) * done / abs(span))
            # The mark at the event: the level the path reached (the new open on a gap).
            self._event_mark = Decimal(repr(b if gap else best_lvl))
            if target is None:
                self._liquidate(liq_key, self._event_mark)
            elif target.order_type is OrderType.STOP_MARKET:
                self._trigger(target, Decimal(repr(b)) if gap else target.trigger_price)
            else:
                self._limit_fill(target, vol)
        raise RuntimeError(f"{sym}: more than {_MAX_EVENTS_PER_LEG} events in one leg")

    def _limit_fill(self, order: SimOrder, vol: float) -> None:
        inst = self.instruments[order.symbol]
        qty = order.leaves_qty
        if self.partial_fills:
            cap = Decimal(repr(vol)) * self.participation if math.isfinite(vol) else ZERO
            cap = inst.round_qty_down(cap)
            if cap < qty:
                order.partial_bar = self._bar_no()
                qty = cap
        if qty <= 0:
            return
        assert order.price is not None
        self._fill(order, qty, order.price, maker=True)

    def _trigger(self, order: SimOrder, ref: Decimal | None) -> None:
        """A stop-market is triggered: fill its whole (reduce-only-clipped) qty as a taker."""
        assert ref is not None
        inst = self.instruments[order.symbol]
        order.status = SimStatus.TRIGGERED
        order.updated_ms = self._event_ms
        px = self._taker_price(inst, order.side, ref)
        if not order.reduce_only:
            try:
                self._check_open(
                    inst, order.side, order.qty, px, self.fee_taker, order.position_idx
                )
            except SimError as exc:
                order.reject_reason = exc.msg
                self._close_order(order, SimStatus.REJECTED)
                return
        self._fill(order, order.leaves_qty, px, maker=False)

    def _liquidate(self, key: str, mark: Decimal) -> None:
        """The mark reached the liquidation level of the position ``key``."""
        acct = self.account
        pos = acct.positions[key]
        sym = pos.symbol
        if acct.is_cross(pos):
            self._liquidate_cross(key, mark)
            return
        # Isolated: cancel the position's orders and close it at its bankruptcy price,
        # losing the position margin (RISK.md).
        for o in list(self._open.get(sym, ())):
            if o.position_idx == pos.idx:
                self._cancel(o, "CancelByLiq")
        pos, pnl = acct.liquidate(key, self._event_ms)
        self._watch.pop(sym, None)
        res = FillResult(pos.size, pnl, pos.avg_price, ZERO)
        self._record_forced(
            sym, pos.side.exit_side, pos.size, pos.bust_price, res, "BustTrade", idx=pos.idx
        )

    def _liquidate_cross(self, key: str, mark: Decimal) -> None:
        """Cross: the walk reached the level where the cross MM rate is 100 % (computed
        afresh for this leg with the other positions at their marks): every order of a cross
        symbol is cancelled, the other cross positions close at their marks and ``key`` at
        the price that takes the cross equity to zero (isolated positions keep their margin)."""
        acct = self.account
        for s in list(self._open):
            if acct.mode_of(s) == CROSS:
                for o in list(self._open.get(s, ())):
                    self._cancel(o, "CancelByLiq")
        for k in sorted(acct.positions):
            p = acct.positions[k]
            if k != key and acct.is_cross(p):
                self._book_forced_close(k, self._mark_dec(p.symbol), "BustTrade", "CreateByLiq")
        loss = acct.wallet_balance - acct.isolated_margin()
        pos, pnl = acct.liquidate(key, self._event_ms, loss=loss)
        bust = max(pos.avg_price + pos.side.sign * pnl / pos.size, ZERO)
        res = FillResult(pos.size, pnl, pos.avg_price, ZERO)
        self._record_forced(
            pos.symbol, pos.side.exit_side, pos.size, bust, res, "BustTrade", idx=pos.idx
        )
        self._watch.clear()

    def _book_forced_close(self, key: str, price: Decimal, exec_type: str, create: str) -> None:
        """Close the whole position ``key`` at ``price`` without a fee (a delivery, a cross
        liquidation of the other positions)."""
        pos = self.account.positions[key]
        sym = pos.symbol
        inst = self.instruments[sym]
        side, size = pos.side.exit_side, pos.size
        res = self.account.apply_fill(
            inst, side, size, price, ZERO, pos.leverage, self._event_ms, pos.idx
        )
        self._watch.pop(sym, None)
        self._record_forced(sym, side, size, price, res, exec_type, create, idx=pos.idx)

    def _record_forced(
        self,
        sym: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        res: FillResult,
        exec_type: str,
        create: str = "CreateByLiq",
        idx: int = 0,
    ) -> None:
        """The venue-made order, execution and wallet log of a forced close."""
        n = len(self.orders) + 1
        order = SimOrder(
            order_id=sim_id(ORDER_ID_PREFIX, n),
            order_link_id="",
            symbol=sym,
            side=side,
            order_type=OrderType.MARKET,
            qty=qty,
            price=None,
            trigger_price=None,
            trigger_by=TriggerBy.MARK,
            reduce_only=True,
            status=SimStatus.FILLED,
            created_ms=self._event_ms,
            updated_ms=self._event_ms,
            cum_exec_qty=qty,
            cum_exec_value=qty * price,
            avg_price=price,
            seq=n,
            create_type=create,
            position_idx=idx,
        )
        self._register_closed(order)
        self._record_execution(order, qty, price, ZERO, ZERO, False, res, exec_type)
