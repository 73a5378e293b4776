"""Spot market data for every face: each spot market's quote now (``bot.sim.spot``: the
price per coin, on the spot tick; the 24 h figures in coins). A market with a spot file in
the data quotes from it (``SimMarket.spot``: its price now, its 24 h candles); the others
from their perpetual's quote and candles, per coin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from bot.sim.http import marketdata as md
from bot.sim.http.context import SimContext
from bot.sim.spot import SpotSpec


@dataclass(frozen=True, slots=True)
class SpotQuote:
    """One spot market now; prices per coin on the tick (None where the data has none)."""

    spec: SpotSpec
    last: Decimal
    bid: Decimal
    ask: Decimal
    open_24h: Decimal | None
    high_24h: Decimal | None
    low_24h: Decimal | None
    change_24h: float  # last / open − 1
    volume_24h: float  # coins
    turnover_24h: float  # USDT
    book_size: Decimal  # coins shown at the best bid and ask


def _px(x: float, spec: SpotSpec, rounding: str, per: Decimal) -> Decimal | None:
    """``x`` / ``per`` (the multiplier for a perpetual's price, 1 for a coin's) on the tick."""
    if not math.isfinite(x) or x <= 0:
        return None
    v = Decimal(repr(x)) / per
    return (v / spec.tick).to_integral_value(rounding=rounding) * spec.tick


def _own_quote(spec: SpotSpec, p: float, st: dict[str, float], hs: float) -> SpotQuote | None:
    """The quote of a market priced by its spot file: ``p`` per coin now, ``st`` its 24 h."""
    one = Decimal(1)
    last = _px(p, spec, ROUND_FLOOR, one)
    if last is None:
        return None
    half = max(p * hs, float(spec.tick))
    pct = (p / st["open"] - 1.0) if st["open"] and math.isfinite(st["open"]) else 0.0
    return SpotQuote(
        spec, last, _px(p - half, spec, ROUND_FLOOR, one) or last,
        _px(p + half, spec, ROUND_CEILING, one) or last, _px(st["open"], spec, ROUND_FLOOR, one),
        _px(st["high"], spec, ROUND_CEILING, one), _px(st["low"], spec, ROUND_FLOOR, one), pct,
        st["vol"] if math.isfinite(st["vol"]) else 0.0,
        st["turn"] if math.isfinite(st["turn"]) else 0.0, spec.qty_step * md.BOOK_SIZE_STEPS,
    )  # fmt: skip


def spot_quotes(ctx: SimContext, symbol: str | None = None) -> list[SpotQuote]:
    """The quotes of every spot market that has a price now (or of ``symbol``); one whose
    price comes from its perpetual trades while the perpetual does."""
    eng = ctx.engine
    days = md.day_stats(ctx)
    spot = ctx.market.spot
    spot_days: dict[str, np.ndarray[Any, Any]] = {}
    if spot is not None:
        spot_days = md.day_stats(ctx, spot)
    perp = eng.tickers()
    hs = float(eng.half_spread)
    out = []
    for spec in eng.spot_markets().values():
        if symbol is not None and spec.symbol != symbol:
            continue
        j = ctx.market.spot_row(spec.symbol)
        if spot is not None and j is not None:
            p = eng.spot_file_price(spec.symbol)
            own = {k: float(a[j]) for k, a in spot_days.items()}
            q = _own_quote(spec, p, own, hs) if p is not None else None
            if q is not None:
                out.append(q)
            continue
        t = perp.get(spec.perp)
        mult = spec.multiplier
        last = _px(t.last, spec, ROUND_FLOOR, mult) if t is not None else None
        if t is None or last is None:
            continue
        i = ctx.market.index[spec.perp]
        st = {k: float(a[i]) for k, a in days.items()}
        pct = (t.last / st["open"] - 1.0) if st["open"] and math.isfinite(st["open"]) else 0.0
        vol = st["vol"] * float(mult) if math.isfinite(st["vol"]) else 0.0
        out.append(
            SpotQuote(
                spec, last,
                _px(t.bid, spec, ROUND_FLOOR, mult) or last,
                _px(t.ask, spec, ROUND_CEILING, mult) or last,
                _px(st["open"], spec, ROUND_FLOOR, mult), _px(st["high"], spec, ROUND_CEILING, mult),
                _px(st["low"], spec, ROUND_FLOOR, mult), pct, vol,
                st["turn"] if math.isfinite(st["turn"]) else 0.0,
                spec.qty_step * md.BOOK_SIZE_STEPS,
            )
        )  # fmt: skip
    return out


def spot_candles(
    ctx: SimContext,
    spec: SpotSpec,
    iv_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
    *,
    from_containing: bool = True,
) -> list[md.Candle]:
    """A spot market's klines (``marketdata.candles``' rules): its spot file's candles where
    the data has one, else its perpetual's per coin (prices / multiplier, volume in coins)."""
    spot, j = ctx.market.spot, ctx.market.spot_row(spec.symbol)
    if spot is not None and j is not None:
        own = ctx.engine.spot_file_price(spec.symbol)
        p = own if own is not None else math.nan
        vd = spot.volume_decimals(j)
        return md.bar_candles(ctx, spot, j, p, vd, iv_ms, start, end, limit, from_containing)
    k = spec.multiplier
    rows = md.candles(ctx, spec.perp, iv_ms, start, end, limit, from_containing=from_containing)
    vd = ctx.market.fast(spec.perp).vol_decimals

    def per_coin(x: float) -> float:
        return float(Decimal(repr(x)) / k)

    return [
        md.Candle(
            c.open_ms,
            per_coin(c.open),
            per_coin(c.high),
            per_coin(c.low),
            per_coin(c.close),
            round(c.volume * float(k), vd),
            c.turnover,
            c.bars,
        )
        for c in rows
    ]
