"""Binance USDⓈ-M wire formats: numbers, ids, statuses and the market-data rows.

Numbers are strings printed at fixed decimals as Binance prints them (prices at the tick's
decimals, quantities at the step's, amounts at 8); times and ids are JSON integers. Keys and
types follow ccxt's captures (``fixtures/ccxt-binanceusdm/fapi-cases.json``) and the models of
Binance's official SDK (``binance-sdk-derivatives-trading-usds-futures``).

Ids: Binance ids are integers. An engine order or execution id is a uuid whose low 96 bits are
its sequence number, which is the Binance id (``num``); ``order_uuid`` goes back.
"""

from __future__ import annotations

import math
import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bot.data.panel import HOUR_MS
from bot.domain import Instrument
from bot.sim.http import marketdata as md
from bot.sim.http.context import SimContext
from bot.sim.types import ORDER_ID_PREFIX, sim_id

PERPETUAL_DELIVERY = 4133404800000  # Binance's deliveryDate of a perpetual (2100-12-25)
MAX_PRICE_TICKS = 2_000_000_000
BIG_QTY_STEPS = 100_000_000
_LOW96 = (1 << 96) - 1
# Engine instrument statuses → Binance contract statuses.
STATUS = {
    "Trading": "TRADING",
    "PreLaunch": "PENDING_TRADING",
    "Settling": "SETTLING",
    "Closed": "CLOSE",
}
ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]
TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX", "GTD"]


def places(step: Decimal) -> int:
    """Decimals of a tick or step."""
    exp = step.normalize().as_tuple().exponent
    return max(-exp, 0) if isinstance(exp, int) else 0


def fixed(x: Decimal | float | None, n: int) -> str:
    """``x`` printed with exactly ``n`` decimals ("" when missing or not finite)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    d = Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    q = Decimal(1).scaleb(-n)
    return f"{d.quantize(q, rounding=ROUND_HALF_EVEN):.{n}f}"


def _exact_places(x: Decimal | float) -> int:
    """Decimals that print ``x`` exactly (floats by their shortest repr), at most 8."""
    d = Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    if not d.is_finite():
        return 0
    exp = d.normalize().as_tuple().exponent
    return min(max(-exp, 0), 8) if isinstance(exp, int) else 0


def px(inst: Instrument, x: Decimal | float | None) -> str:
    """A price at the tick's decimals, or more when the data has more (never rounded away);
    "0" printed the same way when absent."""
    v = x if x is not None else Decimal(0)
    return fixed(v, max(places(inst.tick_size), _exact_places(v)))


def qty(inst: Instrument, x: Decimal | float) -> str:
    """A quantity at the step's decimals, or more when the value has more."""
    return fixed(x, max(places(inst.qty_step), _exact_places(x)))


def amount(x: Decimal | float) -> str:
    """A money amount at 8 decimals."""
    return fixed(x, 8)


def num(engine_id: str) -> int:
    """The Binance integer id of an engine order or execution id."""
    return int(uuid.UUID(engine_id)) & _LOW96


def order_uuid(n: int) -> str:
    """The engine order id of Binance order id ``n``."""
    return sim_id(ORDER_ID_PREFIX, n)


def delivery_ms(inst: Instrument) -> int:
    """A perpetual's deliveryDate, or the delisting time once one is scheduled."""
    d = inst.extra.get("deliveryTime", "0")
    return int(d) if d and d != "0" else PERPETUAL_DELIVERY


def symbol_row(inst: Instrument, closed: bool) -> dict[str, Any]:
    """One exchangeInfo ``symbols`` entry (a USDT-margined perpetual)."""
    max_qty = inst.max_qty if inst.max_qty is not None else inst.qty_step * BIG_QTY_STEPS
    t0 = inst.tiers[0]
    return {
        "symbol": inst.symbol,
        "pair": inst.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": delivery_ms(inst),
        "onboardDate": int(inst.launch_ms or 0),
        "status": "CLOSE" if closed else STATUS.get(inst.status, "TRADING"),
        "maintMarginPercent": fixed(t0.mmr * 100, 4),
        "requiredMarginPercent": fixed(100 / t0.max_leverage, 4),
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.quote,
        "pricePrecision": places(inst.tick_size),
        "quantityPrecision": places(inst.qty_step),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": px(inst, inst.tick_size),
                "maxPrice": px(inst, inst.tick_size * MAX_PRICE_TICKS),
                "tickSize": str(inst.tick_size.normalize()),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": str(inst.qty_step.normalize()),
                "maxQty": qty(inst, max_qty),
                "minQty": qty(inst, inst.min_qty),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": str(inst.qty_step.normalize()),
                "maxQty": qty(inst, inst.max_mkt_qty or max_qty),
                "minQty": qty(inst, inst.min_qty),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(inst.min_notional.normalize())},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ORDER_TYPES,
        "timeInForce": TIME_IN_FORCE,
        "permissionSets": ["GRID", "COPY"],
    }


def ticker24_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """/fapi/v1/ticker/24hr rows for every symbol the engine quotes now (the rolling 24h of
    closed bars plus the price now; the replay has no trades, so ``count`` is its bars)."""
    days = md.day_stats(ctx)
    now = ctx.engine.now_ms
    rows = []
    for sym, t in sorted(ctx.engine.tickers().items()):
        inst = ctx.market.instruments[sym]
        i = ctx.market.index[sym]
        st = {k: float(a[i]) for k, a in days.items()}
        opn = st["open"] if math.isfinite(st["open"]) else t.last
        high = max(st["high"], t.last) if math.isfinite(st["high"]) else t.last
        low = min(st["low"], t.last) if math.isfinite(st["low"]) else t.last
        vol = round(st["vol"], ctx.market.fast(sym).vol_decimals)
        change = Decimal(repr(t.last)) - Decimal(repr(opn))
        pct = change / Decimal(repr(opn)) * 100 if opn else Decimal(0)
        wavg = st["turn"] / st["vol"] if st["vol"] > 0 else t.last
        bars = int(st["bars"])
        rows.append(
            {
                "symbol": sym,
                "priceChange": px(inst, change),
                "priceChangePercent": fixed(pct, 3),
                "weightedAvgPrice": px(inst, wavg),
                "lastPrice": px(inst, t.last),
                "lastQty": qty(inst, inst.qty_step),
                "openPrice": px(inst, opn),
                "highPrice": px(inst, high),
                "lowPrice": px(inst, low),
                "volume": qty(inst, vol),
                "quoteVolume": fixed(st["turn"], 8),
                "openTime": now - 24 * HOUR_MS,
                "closeTime": now - 1,
                "firstId": 1 if bars else 0,
                "lastId": bars,
                "count": bars,
            }
        )
    return rows


def premium_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """/fapi/v1/premiumIndex rows: mark, index, the funding rate shown now (the last
    settled one: the data has no live premium index) and the next settlement."""
    now = ctx.engine.now_ms
    rows = []
    for sym, t in sorted(ctx.engine.tickers().items()):
        inst = ctx.market.instruments[sym]
        funded = math.isfinite(t.funding_rate)
        rows.append(
            {
                "symbol": sym,
                "markPrice": fixed(t.mark, max(places(inst.tick_size), 8)),
                "indexPrice": fixed(t.index, max(places(inst.tick_size), 8)),
                "estimatedSettlePrice": fixed(t.mark, max(places(inst.tick_size), 8)),
                "lastFundingRate": fixed(t.funding_rate, 8) if funded else "",
                "interestRate": "0.00010000" if funded else "",
                "nextFundingTime": t.next_funding_ms if funded else 0,
                "time": now,
            }
        )
    return rows


def price_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """/fapi/v1/ticker/price (and v2) rows: the last price of every symbol."""
    now = ctx.engine.now_ms
    return [
        {"symbol": sym, "price": px(ctx.market.instruments[sym], t.last), "time": now}
        for sym, t in sorted(ctx.engine.tickers().items())
    ]


def book_rows(ctx: SimContext) -> list[dict[str, Any]]:
    """/fapi/v1/ticker/bookTicker rows (the quote model's best bid and ask)."""
    now = ctx.engine.now_ms
    rows = []
    for sym in sorted(ctx.engine.tickers()):
        inst = ctx.market.instruments[sym]
        bids, asks, size = md.book(ctx, sym, 1)
        rows.append(
            {
                "symbol": sym,
                "bidPrice": px(inst, bids[0] if bids else Decimal(0)),
                "bidQty": qty(inst, size),
                "askPrice": px(inst, asks[0]),
                "askQty": qty(inst, size),
                "time": now,
                "lastUpdateId": now,
            }
        )
    return rows


def kline_rows(
    ctx: SimContext,
    sym: str,
    iv_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
    *,
    kind: str = "trade",
) -> list[list[Any]]:
    """Klines oldest first, the last being the candle in progress, from the first opening at
    or after ``start`` (as Binance serves them):
    ``[openTime, o, h, l, c, volume, closeTime, quoteVolume, count, takerBuyBase,
    takerBuyQuote, "0"]``; mark and index klines carry no volume."""
    inst = ctx.market.instruments[sym]
    out: list[list[Any]] = []
    for c in md.candles(ctx, sym, iv_ms, start, end, limit, from_containing=False):
        prices = [px(inst, c.open), px(inst, c.high), px(inst, c.low), px(inst, c.close)]
        close_ms = c.open_ms + iv_ms - 1
        if kind == "trade":
            vol, turn = qty(inst, c.volume), fixed(c.turnover, 8)
            out.append([c.open_ms, *prices, vol, close_ms, turn, c.bars, "0", "0", "0"])
        else:
            out.append([c.open_ms, *prices, "0", close_ms, "0", c.bars, "0", "0", "0"])
    return out


def bracket_rows(inst: Instrument) -> list[dict[str, Any]]:
    """The symbol's leverage brackets (notional floors/caps and cum as Binance: numbers)."""
    return [
        {
            "bracket": k + 1,
            "initialLeverage": int(t.max_leverage),
            "notionalCap": int(t.cap),
            "notionalFloor": int(t.floor),
            "maintMarginRatio": float(t.mmr),
            # An integral cum as an integer (Binance's SDK declares it so), else a float.
            "cum": int(t.mm_deduction)
            if t.mm_deduction == int(t.mm_deduction)
            else float(t.mm_deduction),
        }
        for k, t in enumerate(inst.tiers)
    ]
