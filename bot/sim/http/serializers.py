"""Market-data objects in Bybit v5's field names and types (numbers as strings).

Keys follow real Bybit replies captured in ``fixtures/ccxt-bybit/response-bybit.json``.
Integers Bybit sends as JSON numbers (``fundingInterval``, ``isLowestRisk``, ``id``) stay ints.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from bot.data.panel import HOUR_MS
from bot.domain import Instrument
from bot.sim.http.context import SimContext
from bot.sim.http.fmt import dec, flt, price_str

BIG_QTY_STEPS = 100_000_000  # maxOrderQty when instruments.json gives none, in qty steps
MAX_PRICE_TICKS = 2_000_000_000
BOOK_SIZE_STEPS = 10_000  # the depth shown at bid1/ask1, in qty steps


def n_closed(ctx: SimContext) -> int:
    """Count of grid bars whose close time is at or before the engine's clock."""
    return int(np.searchsorted(ctx.market.ts, ctx.engine.now_ms - HOUR_MS, side="right"))


def is_closed(ctx: SimContext, sym: str, now_ms: int) -> bool:
    """Whether the symbol's data has ended (it is delisted in the replay)."""
    i = ctx.market.index[sym]
    last_open = int(ctx.market.ts[int(ctx.market.last_idx[i])])
    return last_open + HOUR_MS < now_ms


def _places(step: Decimal) -> int:
    exp = step.normalize().as_tuple().exponent
    return max(-exp, 0) if isinstance(exp, int) else 0


def instrument(inst: Instrument, closed: bool) -> dict[str, Any]:
    """One instruments-info row (linear perpetual)."""
    max_qty = inst.max_qty if inst.max_qty is not None else inst.qty_step * BIG_QTY_STEPS
    return {
        "symbol": inst.symbol,
        "contractType": "LinearPerpetual",
        "status": "Closed" if closed else inst.status,
        "baseCoin": inst.base,
        "quoteCoin": inst.quote,
        "launchTime": str(inst.launch_ms or 0),
        "deliveryTime": inst.extra.get("deliveryTime", "0"),
        "deliveryFeeRate": "",
        "priceScale": str(_places(inst.tick_size)),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": f"{inst.max_leverage:.2f}",
            "leverageStep": "0.01",
        },
        "priceFilter": {
            "minPrice": dec(inst.tick_size),
            "maxPrice": dec(inst.tick_size * MAX_PRICE_TICKS),
            "tickSize": dec(inst.tick_size),
        },
        "lotSizeFilter": {
            "maxOrderQty": dec(max_qty),
            "minOrderQty": dec(inst.min_qty),
            "qtyStep": dec(inst.qty_step),
            "postOnlyMaxOrderQty": dec(max_qty),
            "maxMktOrderQty": dec(max_qty),
            "minNotionalValue": dec(inst.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": inst.funding_interval_h * 60,
        "settleCoin": inst.quote,
        "copyTrading": "none",
        "upperFundingRate": "0.02",
        "lowerFundingRate": "-0.02",
        "isPreListing": False,
        "preListingInfo": None,
    }


def risk_rows(inst: Instrument) -> list[dict[str, Any]]:
    """The instrument's risk-limit tiers (maintenanceMargin/initialMargin are fractions)."""
    return [
        {
            "id": k + 1,
            "symbol": inst.symbol,
            "riskLimitValue": dec(t.cap),
            "maintenanceMargin": dec(t.mmr),
            "initialMargin": dec(Decimal(1) / t.max_leverage),
            "isLowestRisk": 1 if k == 0 else 0,
            "maxLeverage": f"{t.max_leverage:.2f}",
            "mmDeduction": "" if k == 0 else dec(t.mm_deduction),
        }
        for k, t in enumerate(inst.tiers)
    ]


def _day_stats(ctx: SimContext, k_end: int) -> dict[str, np.ndarray[Any, Any]]:
    """Rolling 24h open/high/low/volume/turnover and the price an hour ago, for every symbol
    at once ([S] arrays; NaN where a symbol has no bar in the window)."""
    m = ctx.market
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
    }


def ticker_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """One /v5/market/tickers row per symbol the engine quotes now."""
    days = _day_stats(ctx, n_closed(ctx))
    rows = []
    for sym, t in sorted(ctx.engine.tickers().items()):
        inst = ctx.market.instruments[sym]
        i = ctx.market.index[sym]
        st = {k: float(a[i]) for k, a in days.items()}
        tick = inst.tick_size
        oi = t.open_interest if math.isfinite(t.open_interest) else 0.0
        pct = (t.last / st["open"] - 1.0) if st["open"] and math.isfinite(st["open"]) else 0.0
        size = dec(inst.qty_step * BOOK_SIZE_STEPS)
        rows.append(
            {
                "symbol": sym,
                "lastPrice": flt(t.last),
                "indexPrice": flt(t.index),
                "markPrice": flt(t.mark),
                "prevPrice24h": flt(st["open"]),
                "price24hPcnt": f"{pct:.6f}",
                "highPrice24h": flt(st["high"]),
                "lowPrice24h": flt(st["low"]),
                "prevPrice1h": flt(st["prev1h"]),
                "openInterest": flt(oi),
                "openInterestValue": f"{oi * t.mark:.2f}",
                "turnover24h": f"{st['turn']:.4f}",
                # A float sum of 24 volumes: rounded to the data's decimals (no float noise).
                "volume24h": flt(round(st["vol"], ctx.market.fast(sym).vol_decimals)),
                "fundingRate": flt(t.funding_rate),
                "nextFundingTime": str(t.next_funding_ms),
                "predictedDeliveryPrice": "",
                "basisRate": "",
                "deliveryFeeRate": "",
                "deliveryTime": ctx.engine.instruments[sym].extra.get("deliveryTime", "0"),
                "ask1Size": size,
                "bid1Price": price_str(t.bid, tick, ROUND_FLOOR),
                "ask1Price": price_str(t.ask, tick, ROUND_CEILING),
                "bid1Size": size,
                "basis": "",
                "preOpenPrice": "",
                "preQty": "",
                "curPreListingPhase": "",
            }
        )
    return rows
