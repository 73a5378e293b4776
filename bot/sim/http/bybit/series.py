"""Time series rows in Bybit v5's shapes: klines (trade and mark price), open interest, book.

Klines are as Bybit serves them: newest first, and the newest row is the candle still in
progress (``bot.sim.http.marketdata.candles``). Clients must drop it, as on the real venue.

Open interest is observed hourly in the data. ``intervalTime`` finer than that (5/15/30 min)
is answered as a step function on the requested grid (``marketdata.oi_points``).
"""

from __future__ import annotations

from typing import Any

from bot.sim.http import marketdata as md
from bot.sim.http.context import SimContext
from bot.sim.http.numbers import dec, flt

BOOK_LEVELS_MAX = 500  # Bybit linear: limit 1..500


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
    """Candles of ``iv_ms`` newest first, the newest being the one in progress; mark-price
    rows have no volume/turnover."""
    out: list[list[str]] = []
    for c in reversed(md.candles(ctx, sym, iv_ms, start, end, limit)):
        row = [str(c.open_ms), flt(c.open), flt(c.high), flt(c.low), flt(c.close)]
        if not mark:
            row += [flt(c.volume), dec(c.turnover)]
        out.append(row)
    return out


def orderbook(ctx: SimContext, sym: str, limit: int) -> dict[str, Any]:
    """The quote model's book (``marketdata.book``) as /v5/market/orderbook answers."""
    bids, asks, size = md.book(ctx, sym, limit)
    sz = dec(size)
    now = ctx.engine.now_ms
    return {
        "s": sym,
        "b": [[dec(p), sz] for p in bids],
        "a": [[dec(p), sz] for p in asks],
        "ts": now,
        "u": now // 1000,
        "seq": now,
        "cts": now,
    }
