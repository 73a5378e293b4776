"""The replay clock (SIM-VENUE.md, "Clock"); the path walk itself is ``bot.sim.path``.

``advance()`` from bar k:
1. walks bar k's path, O→L→H→C when close ≥ open, else O→H→L→C, for every symbol with an open
   order or position (and only those: per-bar cost does not grow with the universe);
2. moves the clock to ``ts[k+1]`` and, on arrival, settles the funding stamped at that instant
   for the positions open then, at the mark of that moment (bar k+1's open). Funding settles
   before anything else that happens at the instant (the gap below, and every order placed
   while the clock shows ``ts[k+1]``): a position held at the settlement instant pays it, one
   opened at or after it does not, and one closed at it has paid it (the ledger and the
   backtest's trade report order a shared instant the same way: ``bot.execution.ledger``);
   then scheduled instrument changes due by then apply;
3. walks the jump close[k]→open[k+1]; a stop crossed by that jump fills at the new open (a
   gap), a crossed limit at its own price, a crossed liquidation at bankruptcy.

Event times are interpolated along the path: O at ts[k], the two extremes at +20 and +40
minutes, C at the bar's last millisecond; gap events happen at ts[k+1]. In cross margin the
liquidation levels depend on every position's mark, so they are recomputed each bar.
"""

from __future__ import annotations

import math
from decimal import Decimal

from bot.data.panel import HOUR_MS
from bot.sim.funding import FundingSchedule
from bot.sim.market import SimMarket
from bot.sim.path import PathWalker
from bot.sim.types import SimFunding

_LEG_MS = HOUR_MS // 3


class Matcher(PathWalker):
    """Mixin: the replay clock of ``SimEngine`` over a ``SimMarket``."""

    market: SimMarket
    _k: int
    _interval_events: bool  # a funding-interval change moved some settlements off the data

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        raise NotImplementedError

    def apply_due_events(self) -> None:
        raise NotImplementedError

    def _bar_no(self) -> int:
        return self._k

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

    # The symbols with a position or an open order, kept until the account changes (a bar
    # walks them twice; most bars change nothing).
    _active_rev = -1
    _active_syms: tuple[str, ...] = ()

    def _active(self) -> tuple[str, ...]:
        rev = self.account.revision
        if rev != self._active_rev:
            idx = self.market.index
            held = {p.symbol for p in self.account.positions.values()}
            self._active_syms = tuple(sorted(held | set(self._open), key=idx.__getitem__))
            self._active_rev = rev
        return self._active_syms

    def _step(self) -> None:
        m = self.market
        k = self._k
        tk = int(m.ts[k])
        self._event_ms = tk
        if self.account.positions and self.account.any_cross():
            self._watch.clear()
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

    def _settle_due(self, t_ms: int, k: int) -> None:
        """Settle the funding stamped at ``t_ms`` (the clock just arrived there) on every open
        position, at the mark of that instant (the open of bar ``k``)."""
        if not self.account.positions:
            return
        if not self._interval_events and t_ms // HOUR_MS not in self.market.settlement_hours():
            return  # no symbol settles at this hour: most bars
        m = self.market
        for key in sorted(self.account.positions):
            sym = self.account.positions[key].symbol
            rate = self.funding_schedule(sym).settlement(t_ms)
            if rate is not None:
                mark = Decimal(repr(m.price_at(m.index[sym], k)))
                self._settle(key, t_ms, Decimal(repr(rate)), mark)

    def _settle(self, key: str, ts: int, rate: Decimal, mark: Decimal) -> SimFunding:
        return self.account.settle_funding(key, ts, rate, mark)

    # --- one monotonic leg of the path ---
