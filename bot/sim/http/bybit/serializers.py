"""Market-data objects in Bybit v5's field names and types (numbers as strings).

Keys follow real Bybit replies captured in ``fixtures/ccxt-bybit/response-bybit.json``.
Integers Bybit sends as JSON numbers (``fundingInterval``, ``isLowestRisk``, ``id``) stay ints.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from bot.domain import Instrument
from bot.sim.http import marketdata as md
from bot.sim.http.context import SimContext
from bot.sim.http.numbers import dec, flt, price_str

BIG_QTY_STEPS = 100_000_000  # maxOrderQty when instruments.json gives none, in qty steps
MAX_PRICE_TICKS = 2_000_000_000


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
            "maxMktOrderQty": dec(inst.max_mkt_qty or max_qty),
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


def ticker_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """One /v5/market/tickers row per symbol the engine quotes now."""
    days = md.day_stats(ctx)
    rows = []
    for sym, t in sorted(ctx.engine.tickers().items()):
        inst = ctx.market.instruments[sym]
        i = ctx.market.index[sym]
        st = {k: float(a[i]) for k, a in days.items()}
        tick = inst.tick_size
        oi = t.open_interest if math.isfinite(t.open_interest) else 0.0
        pct = (t.last / st["open"] - 1.0) if st["open"] and math.isfinite(st["open"]) else 0.0
        size = dec(inst.qty_step * md.BOOK_SIZE_STEPS)
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
