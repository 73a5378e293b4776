"""Spot market data for every face: each spot market's quote now, from its perpetual's
(``bot.sim.spot``: the price per coin, on the spot tick; the 24 h figures in coins)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

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


def _px(x: float, spec: SpotSpec, rounding: str) -> Decimal | None:
    if not math.isfinite(x) or x <= 0:
        return None
    v = Decimal(repr(x)) / spec.multiplier
    return (v / spec.tick).to_integral_value(rounding=rounding) * spec.tick


def spot_quotes(ctx: SimContext, symbol: str | None = None) -> list[SpotQuote]:
    """The quotes of every spot market whose perpetual trades now (or of ``symbol``)."""
    eng = ctx.engine
    days = md.day_stats(ctx)
    perp = eng.tickers()
    out = []
    for spec in eng.spot_markets().values():
        if symbol is not None and spec.symbol != symbol:
            continue
        t = perp.get(spec.perp)
        last = _px(t.last, spec, ROUND_FLOOR) if t is not None else None
        if t is None or last is None:
            continue
        i = ctx.market.index[spec.perp]
        st = {k: float(a[i]) for k, a in days.items()}
        pct = (t.last / st["open"] - 1.0) if st["open"] and math.isfinite(st["open"]) else 0.0
        vol = st["vol"] * float(spec.multiplier) if math.isfinite(st["vol"]) else 0.0
        out.append(
            SpotQuote(
                spec, last,
                _px(t.bid, spec, ROUND_FLOOR) or last, _px(t.ask, spec, ROUND_CEILING) or last,
                _px(st["open"], spec, ROUND_FLOOR), _px(st["high"], spec, ROUND_CEILING),
                _px(st["low"], spec, ROUND_FLOOR), pct, vol,
                st["turn"] if math.isfinite(st["turn"]) else 0.0,
                spec.qty_step * md.BOOK_SIZE_STEPS,
            )
        )  # fmt: skip
    return out
