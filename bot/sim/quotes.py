"""Market-data queries on the sim clock: tickers, closed klines, settled funding, open interest.

Everything here is computed on request from the immutable ``SimMarket`` and the current bar
index, so replaying bars costs nothing per symbol (issue #3, "Performance").
Mark, index and last price are the same series in replay: the current bar's open.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from bot.domain import Bar, FundingRate, OpenInterest, Ticker
from bot.sim.funding import FundingSchedule
from bot.sim.market import SimMarket
from bot.sim.types import SimError


def _window(ts: np.ndarray, hi: int, start_ms: int | None, end_ms: int | None, limit: int) -> range:
    """Rows of ascending ``ts[:hi]`` within [start, end]: the first ``limit`` from ``start``
    when it is given, else the last ``limit`` up to ``end``."""
    if limit <= 0:
        raise SimError(SimError.BAD_PARAMS, f"limit must be > 0 (got {limit})")
    lo = 0 if start_ms is None else int(np.searchsorted(ts[:hi], start_ms, side="left"))
    if end_ms is not None:
        hi = min(hi, int(np.searchsorted(ts[:hi], end_ms, side="right")))
    if hi <= lo:
        return range(0)
    if start_ms is not None:
        return range(lo, min(hi, lo + limit))
    return range(max(lo, hi - limit), hi)


class Quotes:
    """Mixin: read-only market data for ``SimEngine``."""

    market: SimMarket
    _k: int
    half_spread: Decimal

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        raise NotImplementedError

    @property
    def now_ms(self) -> int:
        """Sim time: the open of the current bar (after the last bar: its close)."""
        return self.market.time_at(self._k)

    @property
    def at_end(self) -> bool:
        """True once the last bar has been replayed."""
        return self._k >= self.market.n_bars

    def _row(self, symbol: str) -> int:
        i = self.market.index.get(symbol)
        if i is None:
            raise SimError(SimError.BAD_PARAMS, f"unknown symbol {symbol!r}")
        return i

    def price_float(self, symbol: str) -> float:
        """Current price (NaN before the symbol's first bar)."""
        return self.market.price_at(self._row(symbol), self._k)

    def is_listed(self, symbol: str) -> bool:
        """True from the symbol's first bar until one bar after its last one."""
        i = self._row(symbol)
        m = self.market
        return int(m.first_idx[i]) <= self._k <= int(m.last_idx[i]) + 1

    def mark_price(self, symbol: str) -> Decimal:
        """Current mark (= last) price as a Decimal; 10001 when the symbol is not trading."""
        p = self.price_float(symbol)
        if not math.isfinite(p) or not self.is_listed(symbol):
            raise SimError(SimError.BAD_PARAMS, f"{symbol} is not trading at {self.now_ms}")
        return Decimal(repr(p))

    def _ticker_at(self, symbol: str, p: float, now: int, hs: float) -> Ticker:
        f = self.market.fast(symbol)
        tick = f.tick
        half = max(p * hs, tick)
        # Snap to the tick grid in floats; the epsilon keeps exact grid points where they are.
        bid = round(math.floor((p - half) / tick + 1e-9) * tick, f.decimals)
        ask = round(math.ceil((p + half) / tick - 1e-9) * tick, f.decimals)
        fnow = self.funding_schedule(symbol).now(now)
        rate, nxt = (fnow.rate, fnow.next_ms) if fnow is not None else (math.nan, 0)
        jo = int(f.oi_ts.searchsorted(now, side="right")) - 1
        oi = float(f.oi[jo]) if jo >= 0 else math.nan
        return Ticker(symbol, now, p, p, p, bid, ask, rate, nxt, oi)

    def ticker(self, symbol: str) -> Ticker:
        """Prices, funding as shown now (``bot.sim.funding``; NaN where the data has none)
        and open interest."""
        p = float(self.mark_price(symbol))
        return self._ticker_at(symbol, p, self.now_ms, float(self.half_spread))

    def tickers(self) -> dict[str, Ticker]:
        """Tickers of every symbol trading now (one vectorised pass over the universe)."""
        m = self.market
        k = self._k
        now = self.now_ms
        hs = float(self.half_spread)
        listed = np.flatnonzero((m.first_idx <= k) & (m.last_idx + 1 >= k))
        prices = m.open[listed, k].tolist() if k < m.n_bars else [math.nan] * len(listed)
        out: dict[str, Ticker] = {}
        symbols = m.symbols
        for i, p in zip(listed.tolist(), prices, strict=True):
            if p != p:
                p = m.close_before(i, k)
                if p != p:
                    continue
            sym = symbols[i]
            out[sym] = self._ticker_at(sym, p, now, hs)
        return out

    def klines(
        self,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 200,
    ) -> list[Bar]:
        """Closed 1h bars (open + 1h ≤ now), oldest first, filtered on open time."""
        i = self._row(symbol)
        m = self.market
        hi = min(self._k, int(m.last_idx[i]) + 1)
        lo = int(m.first_idx[i])
        if hi <= lo:
            return []
        ts = m.ts[lo:hi]
        idx = _window(ts, len(ts), start_ms, end_ms, limit)
        sl = slice(lo + idx.start, lo + idx.stop) if len(idx) else slice(0, 0)
        o, h, lw, c, v = (a[i, sl] for a in (m.open, m.high, m.low, m.close, m.volume))
        tss = m.ts[sl]
        return [
            Bar(
                symbol,
                int(tss[j]),
                float(o[j]),
                float(h[j]),
                float(lw[j]),
                float(c[j]),
                float(v[j]),
            )
            for j in range(len(tss))
            if o[j] == o[j]
        ]

    def funding_history(
        self,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 200,
    ) -> list[FundingRate]:
        """Settlements stamped at or before now, oldest first."""
        self._row(symbol)
        s = self.market.series[symbol]
        hi = int(np.searchsorted(s.funding_ts, self.now_ms, side="right"))
        idx = _window(s.funding_ts, hi, start_ms, end_ms, limit)
        return [FundingRate(symbol, int(s.funding_ts[j]), float(s.funding_rate[j])) for j in idx]

    def open_interest(
        self,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 200,
    ) -> list[OpenInterest]:
        """Open interest stamped at or before now, oldest first."""
        self._row(symbol)
        s = self.market.series[symbol]
        hi = int(np.searchsorted(s.oi_ts, self.now_ms, side="right"))
        idx = _window(s.oi_ts, hi, start_ms, end_ms, limit)
        return [OpenInterest(symbol, int(s.oi_ts[j]), float(s.oi[j])) for j in idx]
