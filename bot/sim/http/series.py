"""Time series rows in Bybit v5's shapes: klines (trade and mark price), open interest, book.

Klines are as Bybit serves them: newest first, and the newest row is the candle still in
progress (at the sim clock the engine stands at the open of the current hour, so that candle
holds the closed hours of the current interval plus the price now; volume so far). Clients
must drop it, as on the real venue. Turnover is computed in Decimal (no binary float noise).

Open interest is observed hourly in the data. ``intervalTime`` finer than that (5/15/30 min)
is answered as a step function on the requested grid: each point carries the latest hourly
observation at or before it (never a later one), and points are stamped on the requested
grid, not on the hours (docs/simulator.md).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from bot.data.panel import HOUR_MS
from bot.sim.http.context import SimContext
from bot.sim.http.fmt import dec, flt, price_str
from bot.sim.http.serializers import BOOK_SIZE_STEPS

BOOK_LEVELS_MAX = 500  # Bybit linear: limit 1..500


def _turnover(v: float, c: float) -> Decimal:
    return Decimal(repr(v)) * Decimal(repr(c))


def kline_rows(
    ctx: SimContext,
    sym: str,
    iv_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
    *,
    mark: bool = False,
) -> list[list[str]]:
    """Candles of ``iv_ms`` (a multiple of 1h, on UTC boundaries), newest first, the newest
    being the one in progress. Like Bybit: with ``start`` the first ``limit`` candles from the
    one containing ``start``, otherwise the last ``limit`` up to ``end``. Mark-price rows have
    no volume/turnover."""
    m = ctx.market
    i = m.index[sym]
    eng = ctx.engine
    now = eng.now_ms
    current = (now // iv_ms) * iv_ms  # open of the candle in progress
    hi_g = current if end is None else min(current, (end // iv_ms) * iv_ms)
    lo_g = hi_g - (limit - 1) * iv_ms if start is None else (start // iv_ms) * iv_ms
    k0 = int(np.searchsorted(m.ts, lo_g, side="left"))
    k1 = min(int(np.searchsorted(m.ts, hi_g + iv_ms, side="left")), eng._k)  # closed bars
    ts = m.ts[k0:k1]
    o, h, lo, c, v = (a[i, k0:k1] for a in (m.open, m.high, m.low, m.close, m.volume))
    ok = np.isfinite(o)
    ts, o, h, lo, c, v = ts[ok], o[ok], h[ok], lo[ok], c[ok], v[ok]
    rows: dict[int, list[Any]] = {}
    cols = zip(*(a.tolist() for a in (ts, o, h, lo, c, v)), strict=True)
    for t, op, hi, lw, cl, vol in cols:  # plain floats: numpy scalars cost 10x per access
        key = t // iv_ms * iv_ms
        r = rows.get(key)
        turn = _turnover(vol, cl)
        if r is None:
            rows[key] = [op, hi, lw, cl, vol, turn]
        else:
            r[1], r[2], r[3] = max(r[1], hi), min(r[2], lw), cl
            r[4] += vol
            r[5] += turn
    p = eng.price_float(sym) if eng.is_listed(sym) else math.nan
    if hi_g == current and math.isfinite(p) and not eng.at_end:
        r = rows.get(current)
        if r is None:
            rows[current] = [p, p, p, p, 0.0, Decimal(0)]
        else:
            r[1], r[2], r[3] = max(r[1], p), min(r[2], p), p
    vol_decimals = m.fast(sym).vol_decimals
    keys = sorted(k for k in rows if lo_g <= k <= hi_g)
    keys = keys[:limit] if start is not None else keys[-limit:]
    out: list[list[str]] = []
    for key in reversed(keys):
        r = rows[key]
        row = [str(key), flt(r[0]), flt(r[1]), flt(r[2]), flt(r[3])]
        if not mark:  # a float sum of volumes: printed at the data's decimals
            row += [flt(round(r[4], vol_decimals)), dec(r[5])]
        out.append(row)
    return out


def oi_points(
    ctx: SimContext, sym: str, iv_ms: int, start: int | None, end: int | None, offset: int, n: int
) -> tuple[list[tuple[int, float]], bool]:
    """Open interest on the ``iv_ms`` grid, newest first: points ``offset .. offset+n`` of the
    grid from ``min(end, now)`` back to ``start`` (or the first observation), each the latest
    hourly observation at or before it (none older than an hour: a hole stays a hole).
    Returns the points and whether the grid goes on."""
    s = ctx.market.series[sym]
    if len(s.oi_ts) == 0:
        return [], False
    now = ctx.engine.now_ms
    hi = (min(now, end) if end is not None else now) // iv_ms * iv_ms
    lo = max(start if start is not None else int(s.oi_ts[0]), int(s.oi_ts[0]))
    lo = -(-lo // iv_ms) * iv_ms
    if hi < lo:
        return [], False
    total = (hi - lo) // iv_ms + 1
    grid = [hi - j * iv_ms for j in range(offset, min(offset + n, total))]
    out: list[tuple[int, float]] = []
    for t in grid:
        k = int(np.searchsorted(s.oi_ts, t, side="right")) - 1
        if k >= 0 and t - int(s.oi_ts[k]) < HOUR_MS:
            out.append((t, float(s.oi[k])))
    return out, offset + n < total


def orderbook(ctx: SimContext, sym: str, limit: int) -> dict[str, Any]:
    """A book consistent with the quote model: bid1/ask1 are the ticker's (the price ∓
    max(half-spread, one tick)), deeper levels one tick apart, each with the ticker's size;
    a market order of any size in the engine fills at one price, so the sizes are nominal."""
    inst = ctx.engine.instruments[sym]
    t = ctx.engine.ticker(sym)
    tick = inst.tick_size
    size = dec(inst.qty_step * BOOK_SIZE_STEPS)
    bid = Decimal(price_str(t.bid, tick, ROUND_FLOOR))
    ask = Decimal(price_str(t.ask, tick, ROUND_CEILING))
    bids = [[dec(bid - j * tick), size] for j in range(limit) if bid - j * tick > 0]
    asks = [[dec(ask + j * tick), size] for j in range(limit)]
    now = ctx.engine.now_ms
    return {"s": sym, "b": bids, "a": asks, "ts": now, "u": now // 1000, "seq": now, "cts": now}
