"""The replay clock and the deterministic intra-bar path (SIM-VENUE.md, "Clock").

``advance()`` from bar k:
1. walks bar k's path, O→L→H→C when close ≥ open, else O→H→L→C, for every symbol with an open
   order or position (and only those: per-bar cost does not grow with the universe);
2. moves the clock to ``ts[k+1]`` and, on arrival, settles the funding stamped at that instant
   for the positions open then, at the mark of that moment (bar k+1's open). Funding settles
   before anything else that happens at the instant (the gap below, and every order placed
   while the clock shows ``ts[k+1]``): a position held at the settlement instant pays it, one
   opened at or after it does not, and one closed at it has paid it (the ledger and the
   backtest's trade report order a shared instant the same way: ``bot.execution.ledger``);
3. walks the jump close[k]→open[k+1]; a stop crossed by that jump fills at the new open (a
   gap), a crossed limit at its own price, a crossed liquidation at bankruptcy.

Along each monotonic leg the events (stop triggers, limit fills, liquidation by mark) are
processed in the order the price reaches them; ties go to orders (oldest first), then to the
liquidation, except on a gap that crosses the liquidation price, where liquidation comes first. A buy limit fills only when the price trades strictly below it (sell: above).
Event times are interpolated along the path: O at ts[k], the two extremes at +20 and +40
minutes, C at the bar's last millisecond; gap events happen at ts[k+1].
"""

from __future__ import annotations

import math
from decimal import Decimal

from bot.data.panel import HOUR_MS
from bot.domain import Instrument, OrderType, PositionSide, Side, TriggerBy
from bot.sim.account import Account
from bot.sim.funding import FundingSchedule
from bot.sim.market import SimMarket
from bot.sim.types import (
    EXEC_ID_PREFIX,
    ORDER_ID_PREFIX,
    ZERO,
    SimError,
    SimExecution,
    SimFunding,
    SimOrder,
    SimStatus,
    sim_id,
)

_LEG_MS = HOUR_MS // 3
_MAX_EVENTS_PER_LEG = 10_000


class Matcher:
    """Mixin: the clock and the path walk of ``SimEngine``."""

    market: SimMarket
    account: Account
    executions: list[SimExecution]
    orders: list[SimOrder]
    partial_fills: bool
    participation: Decimal
    _k: int
    _open: dict[str, list[SimOrder]]
    _event_ms: int
    _event_mark: Decimal
    _n_exec: int
    _watch: dict[str, tuple[float, float]]

    # Provided by SimEngine.
    instruments: dict[str, Instrument]

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        raise NotImplementedError

    def apply_due_events(self) -> None:
        raise NotImplementedError

    def leverage(self, symbol: str) -> Decimal:
        raise NotImplementedError

    def available(self) -> Decimal:
        raise NotImplementedError

    def _taker_price(self, inst: Instrument, side: Side, ref: Decimal) -> Decimal:
        raise NotImplementedError

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, *, maker: bool) -> None:
        raise NotImplementedError

    def _cancel(self, order: SimOrder, cancel_type: str) -> None:
        raise NotImplementedError

    def _close_order(self, order: SimOrder, status: SimStatus, cancel_type: str = "") -> None:
        raise NotImplementedError

    def _register_closed(self, order: SimOrder) -> None:
        raise NotImplementedError

    def _check_open(
        self, inst: Instrument, side: Side, qty: Decimal, price: Decimal, fee_rate: Decimal
    ) -> None:
        raise NotImplementedError

    fee_taker: Decimal

    # --- the clock ---

    def advance(self, bars: int = 1) -> None:
        """Replay ``bars`` bars (stops at the end of the data)."""
        if bars < 0:
            raise ValueError(f"bars must be >= 0 (got {bars})")
        n_bars = self.market.n_bars
        while bars > 0 and self._k < n_bars:
            if not self.account.positions and not self._open:
                # Nothing can happen on an idle account: jump the clock.
                step = min(bars, n_bars - self._k)
                self._k += step
                bars -= step
                self.apply_due_events()
                continue
            self._step()
            bars -= 1

    def _active(self) -> list[str]:
        idx = self.market.index
        return sorted(set(self.account.positions) | set(self._open), key=idx.__getitem__)

    def _step(self) -> None:
        m = self.market
        k = self._k
        tk = int(m.ts[k])
        self._event_ms = tk
        for sym in self._active():
            i = m.index[sym]
            o = m.open.item(i, k)
            if o != o:
                continue
            h, lo, c = m.high.item(i, k), m.low.item(i, k), m.close.item(i, k)
            down, up = self._levels(sym)
            if lo > down and h < up:
                continue  # nothing on this symbol can be reached inside the bar
            x1, x2 = (lo, h) if c >= o else (h, lo)
            vol = m.volume.item(i, k)
            self._leg(sym, o, x1, tk, tk + _LEG_MS, False, vol)
            self._leg(sym, x1, x2, tk + _LEG_MS, tk + 2 * _LEG_MS, False, vol)
            self._leg(sym, x2, c, tk + 2 * _LEG_MS, tk + HOUR_MS - 1, False, vol)
        k1 = self._k = k + 1
        tn = int(m.ts[k1]) if k1 < m.n_bars else int(m.ts[-1]) + HOUR_MS
        self._event_ms = tn
        self._settle_due(tn, k1)
        self.apply_due_events()
        if k1 >= m.n_bars:
            return
        for sym in self._active():
            i = m.index[sym]
            nxt = m.open.item(i, k1)
            if nxt != nxt:
                continue
            prev = m.close.item(i, k)
            if prev != prev:
                prev = m.close_before(i, k1)
            down, up = self._levels(sym)
            if min(prev, nxt) > down and max(prev, nxt) < up:
                continue
            if math.isfinite(prev):
                self._leg(sym, prev, nxt, tn, tn, True, m.volume.item(i, k1))

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
        pos = self.account.positions.get(sym)
        if pos is not None:
            if pos.side is PositionSide.LONG:
                down = max(down, float(pos.liq_price))
            else:
                up = min(up, float(pos.liq_price))
        self._watch[sym] = (down, up)
        return down, up

    def _settle_due(self, t_ms: int, k: int) -> None:
        """Settle the funding stamped at ``t_ms`` (the clock just arrived there) on every open
        position, at the mark of that instant (the open of bar ``k``)."""
        m = self.market
        for sym in sorted(self.account.positions):
            rate = self.funding_schedule(sym).settlement(t_ms)
            if rate is not None:
                mark = Decimal(repr(m.price_at(m.index[sym], k)))
                self._settle(sym, t_ms, Decimal(repr(rate)), mark)

    def _settle(self, sym: str, ts: int, rate: Decimal, mark: Decimal) -> SimFunding:
        return self.account.settle_funding(sym, ts, rate, mark)

    # --- one monotonic leg of the path ---

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
            for o in self._open.get(sym, ()):
                if o.order_type is OrderType.STOP_MARKET:
                    if o.status is not SimStatus.UNTRIGGERED or o.trigger_price is None:
                        continue
                    lvl = float(o.trigger_price)
                    hit = (o.trigger_direction == 1 and up and a < lvl <= b) or (
                        o.trigger_direction == 2 and not up and a > lvl >= b
                    )
                elif o.order_type is OrderType.LIMIT and o.price is not None:
                    if o.partial_bar == self._k:
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
            pos = self.account.positions.get(sym)
            if pos is not None:
                lvl = float(pos.liq_price)
                long_hit = pos.side is PositionSide.LONG and not up and a > lvl >= b
                short_hit = pos.side is PositionSide.SHORT and up and a < lvl <= b
                dist = abs(lvl - a)
                if (long_hit or short_hit) and dist >= done:
                    # On a gap every crossed level fires at the same instant, and an isolated
                    # position can never lose more than its margin: liquidation comes first
                    # (a stop filled beyond the bankruptcy price is not possible on a venue).
                    key = (-1.0, 1, 0) if gap else (dist, 1, 0)
                    if best is None or key < best:
                        best, target, best_lvl = key, None, lvl
            if best is None:
                return
            done = best[0]
            self._event_ms = t_a + int((t_b - t_a) * done / abs(span))
            # The mark at the event: the level the path reached (the new open on a gap).
            self._event_mark = Decimal(repr(b if gap else best_lvl))
            if target is None:
                self._liquidate(sym)
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
                order.partial_bar = self._k
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
                self._check_open(inst, order.side, order.qty, px, self.fee_taker)
            except SimError as exc:
                order.reject_reason = exc.msg
                self._close_order(order, SimStatus.REJECTED)
                return
        self._fill(order, order.leaves_qty, px, maker=False)

    def _liquidate(self, sym: str) -> None:
        """Mark crossed the liquidation price: cancel the symbol's orders and close the
        position at its bankruptcy price, losing the isolated margin (RISK.md)."""
        for o in list(self._open.get(sym, ())):
            self._cancel(o, "CancelByLiq")
        pos, pnl = self.account.liquidate(sym, self._event_ms)
        self._watch.pop(sym, None)
        self._record_forced(sym, pos.side.exit_side, pos.size, pos.bust_price, pnl, "BustTrade")

    def _book_forced_close(self, sym: str, price: Decimal, exec_type: str, create: str) -> None:
        """Close the whole position at ``price`` without a fee (a delivery)."""
        pos = self.account.positions[sym]
        inst = self.instruments[sym]
        side, size = pos.side.exit_side, pos.size
        self._event_mark = price
        _, pnl = self.account.apply_fill(
            inst, side, size, price, ZERO, pos.leverage, self._event_ms
        )
        self._watch.pop(sym, None)
        self._record_forced(sym, side, size, price, pnl, exec_type, create)

    def _record_forced(
        self,
        sym: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        pnl: Decimal,
        exec_type: str,
        create: str = "CreateByLiq",
    ) -> None:
        """The venue-made order and execution of a forced close (liquidation, delivery)."""
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
        )
        self._register_closed(order)
        self._n_exec += 1
        self.executions.append(
            SimExecution(
                exec_id=sim_id(EXEC_ID_PREFIX, self._n_exec),
                order_id=order.order_id,
                order_link_id="",
                symbol=sym,
                side=side,
                qty=qty,
                price=price,
                fee=ZERO,
                fee_rate=ZERO,
                ts=self._event_ms,
                is_maker=False,
                exec_type=exec_type,
                closed_size=qty,
                closed_pnl=pnl,
                mark=self._event_mark,
            )
        )
