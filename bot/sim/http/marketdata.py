"""Market data as of the sim clock, computed once for both faces (each prints it its own way).

- ``listed``: the instruments that exist now (launched; changes applied; funding interval from
  the data up to now).
- ``day_stats``: rolling 24h open/high/low/volume/turnover for every symbol at once.
- ``candles``: klines of an interval (a multiple of 1h on UTC boundaries), oldest first, the
  last being the candle in progress (the closed hours of the current interval plus the price
  now; at a bar open: open = high = low = close, volume 0), as both venues serve them. Turnover
  is a Decimal (no binary float noise).
- ``oi_points``: open interest on a requested grid (a step function of the hourly data).
- ``book``: a book consistent with the quote model.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import Instrument
from bot.sim.http.numbers import price_str

if TYPE_CHECKING:
    from bot.sim.http.context import SimContext
    from bot.sim.market import SimMarket

BOOK_SIZE_STEPS = 10_000  # the depth shown at each book level, in qty steps


def n_closed(ctx: SimContext) -> int:
    """Count of grid bars whose close time is at or before the engine's clock."""
    return int(np.searchsorted(ctx.market.ts, ctx.engine.now_ms - HOUR_MS, side="right"))


def is_closed(ctx: SimContext, sym: str, now_ms: int) -> bool:
    """Whether the symbol's data has ended (it is delisted in the replay)."""
    i = ctx.market.index[sym]
    last_open = int(ctx.market.ts[int(ctx.market.last_idx[i])])
    return last_open + HOUR_MS < now_ms


def listed(ctx: SimContext, now_ms: int) -> list[Instrument]:
    """Instruments launched by ``now_ms`` as the venue lists them now (a symbol listed later
    does not exist yet; funding interval from data up to now; scheduled changes applied)."""
    out = []
    for sym in ctx.market.symbols:
        inst = ctx.engine.instruments[sym]
        if inst.launch_ms is None or inst.launch_ms <= now_ms:
            out.append(ctx.engine.instrument_now(sym))
    return out


def day_stats(ctx: SimContext, market: SimMarket | None = None) -> dict[str, np.ndarray[Any, Any]]:
    """Rolling 24h open/high/low/volume/turnover, the price an hour ago and the window's
    first bar time, for every symbol at once ([S] arrays; NaN where a symbol has no bar);
    of ``market`` (on the same grid: the spot files' ``SimMarket.spot``), else the perpetuals'."""
    m = ctx.market if market is None else market
    k_end = n_closed(ctx)
    k0 = max(k_end - 24, 0)
    o, h, lo = m.open[:, k0:k_end], m.high[:, k0:k_end], m.low[:, k0:k_end]
    c, v = m.close[:, k0:k_end], m.volume[:, k0:k_end]
    ok = np.isfinite(o)
    rows = np.arange(len(o))
    if o.shape[1] == 0:
        nan = np.full(len(o), np.nan)
        return {
            "open": nan,
            "high": nan,
            "low": nan,
            "vol": nan * 0,
            "turn": nan * 0,
            "prev1h": nan,
            "bars": nan * 0,
        }
    any_ok = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    last = o.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    nan_if_empty = np.where(any_ok, 0.0, np.nan)
    return {
        "open": o[rows, first] + nan_if_empty,
        "high": np.where(ok, h, -np.inf).max(axis=1) + nan_if_empty,
        "low": np.where(ok, lo, np.inf).min(axis=1) + nan_if_empty,
        "vol": np.where(ok, v, 0.0).sum(axis=1),
        "turn": np.where(ok, v * c, 0.0).sum(axis=1),
        "prev1h": o[rows, last] + nan_if_empty,
        "bars": ok.sum(axis=1).astype(np.float64),
    }


class Candle(NamedTuple):
    """One kline: open time, prices, base volume, quote turnover and its 1h bar count."""

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    turnover: Decimal
    bars: int


def candles(
    ctx: SimContext,
    sym: str,
    iv_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
    *,
    from_containing: bool = True,
) -> list[Candle]:
    """Candles of ``iv_ms``, oldest first, the newest being the one in progress. As both
    venues answer: with ``start`` the first ``limit`` candles from the one containing
    ``start`` (Bybit) or opening at or after it (Binance: ``from_containing`` False),
    otherwise the last ``limit`` up to the one containing ``end``. Volumes are rounded to
    the data's decimals (a float sum of volumes)."""
    m, eng = ctx.market, ctx.engine
    p = eng.price_float(sym) if eng.is_listed(sym) else math.nan
    vd = m.fast(sym).vol_decimals
    return bar_candles(ctx, m, m.index[sym], p, vd, iv_ms, start, end, limit, from_containing)


def bar_candles(
    ctx: SimContext,
    m: SimMarket,
    i: int,
    p: float,
    vol_decimals: int,
    iv_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
    from_containing: bool = True,
) -> list[Candle]:
    """``candles`` of row ``i`` of ``m`` (the perpetuals' market or the spot files', on the
    one grid), the price now ``p`` (NaN: none) closing the candle in progress."""
    eng = ctx.engine
    now = eng.now_ms
    current = (now // iv_ms) * iv_ms  # open of the candle in progress
    hi_g = current if end is None else min(current, (end // iv_ms) * iv_ms)
    if start is None:
        lo_g = hi_g - (limit - 1) * iv_ms
    else:
        lo_g = (start // iv_ms if from_containing else -(-start // iv_ms)) * iv_ms
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
        turn = Decimal(repr(vol)) * Decimal(repr(cl))
        if r is None:
            rows[key] = [op, hi, lw, cl, vol, turn, 1]
        else:
            r[1], r[2], r[3] = max(r[1], hi), min(r[2], lw), cl
            r[4] += vol
            r[5] += turn
            r[6] += 1
    if hi_g == current and math.isfinite(p) and not eng.at_end:
        r = rows.get(current)
        if r is None:
            rows[current] = [p, p, p, p, 0.0, Decimal(0), 0]
        else:
            r[1], r[2], r[3] = max(r[1], p), min(r[2], p), p
    keys = sorted(k for k in rows if lo_g <= k <= hi_g)
    keys = keys[:limit] if start is not None else keys[-limit:]
    out = []
    for key in keys:
        r = rows[key]
        vol = round(r[4], vol_decimals)
        out.append(Candle(key, r[0], r[1], r[2], r[3], vol, r[5], r[6]))
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


def book(ctx: SimContext, sym: str, limit: int) -> tuple[list[Decimal], list[Decimal], Decimal]:
    """Bid and ask price levels and the size shown at each: bid1/ask1 are the ticker's (the
    price ∓ max(half-spread, one tick)), deeper levels one tick apart; a market order of any
    size in the engine fills at one price, so the sizes are nominal."""
    inst = ctx.engine.instruments[sym]
    t = ctx.engine.ticker(sym)
    tick = inst.tick_size
    bid = Decimal(price_str(t.bid, tick, ROUND_FLOOR))
    ask = Decimal(price_str(t.ask, tick, ROUND_CEILING))
    bids = [bid - j * tick for j in range(limit) if bid - j * tick > 0]
    asks = [ask + j * tick for j in range(limit)]
    return bids, asks, inst.qty_step * BOOK_SIZE_STEPS
