"""Convert ccxt market structures (and Bybit's raw ``info``) into rotor's domain types.

Money and quantities become ``Decimal`` here, at the boundary (ARCHITECTURE.md pattern 4):
venue strings are used when ccxt kept them in ``info`` (exact), otherwise ccxt's floats are
converted through their shortest repr, which round-trips the venue's decimal string.
Quantities are snapped to the instrument's step so a float artefact never becomes a position.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain import (
    Instrument,
    LeverageTier,
    Ticker,
)
from bot.domain.instrument import cumulative_deductions

NAN = float("nan")
BIG_NOTIONAL = Decimal("1e12")

# Binance's contract statuses in rotor's (Bybit's) words: the universe trades "Trading" only.
_BINANCE_SYMBOL_STATUS: dict[str, str] = {
    "TRADING": "Trading",
    "PENDING_TRADING": "PreLaunch",
    "PRE_DELIVERING": "Delivering",
    "DELIVERING": "Delivering",
    "DELIVERED": "Closed",
    "PRE_SETTLE": "Settling",
    "SETTLING": "Settling",
    "CLOSE": "Closed",
}


class MappingError(ValueError):
    """A venue structure lacks a field rotor needs; the message names it."""


def dec(value: Any) -> Decimal | None:
    """Decimal from a venue string or ccxt float; None for None/''/NaN."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise MappingError(f"not a number: {value!r}") from exc


def first_dec(*values: Any) -> Decimal | None:
    """The first value that converts to a Decimal (zero counts), else None."""
    for v in values:
        d = dec(v)
        if d is not None:
            return d
    return None


def dec0(value: Any) -> Decimal:
    d = dec(value)
    return Decimal(0) if d is None else d


def num(value: Any) -> float:
    """Float for market data; NaN when missing."""
    if value is None or value == "":
        return NAN
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def snap(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of ``step`` (removes float artefacts, keeps real values)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value() * step


def _precision(value: Any, precision_mode: int) -> Decimal:
    """ccxt precision to a step: TICK_SIZE mode (4) gives the step, others give decimals."""
    d = dec(value)
    if d is None:
        raise MappingError("market precision missing")
    if precision_mode == 4:
        return d
    return Decimal(1).scaleb(-int(d))


# --------------------------------------------------------------------------- instruments


def to_tiers(
    ccxt_tiers: list[dict[str, Any]] | None, max_leverage: Any
) -> tuple[LeverageTier, ...]:
    """ccxt leverage tiers to rotor tiers; a single conservative tier when the venue gave none.

    The fallback uses mmr = 1 / (2 · max leverage), the usual first-tier ratio, so liquidation
    maths stays defined; ``load_instruments`` logs when it had to use it.
    """
    out: list[LeverageTier] = []
    deductions: list[Decimal | None] = []
    for t in ccxt_tiers or []:
        info = t.get("info") or {}
        out.append(
            LeverageTier(
                floor=dec0(t.get("minNotional")),
                cap=dec(t.get("maxNotional")) or BIG_NOTIONAL,
                mmr=dec0(t.get("maintenanceMarginRate")),
                max_leverage=dec(t.get("maxLeverage")) or Decimal(1),
            )
        )
        deductions.append(dec(info.get("mmDeduction")) if isinstance(info, dict) else None)
    if not out:
        lev = dec(max_leverage) or Decimal(20)
        out = [LeverageTier(Decimal(0), BIG_NOTIONAL, Decimal(1) / (2 * lev), lev)]
        deductions = [None]
    if all(d is not None for d in deductions):
        # The venue's own cumulative deductions are authoritative when it sends them.
        return tuple(
            LeverageTier(t.floor, t.cap, t.mmr, t.max_leverage, d or Decimal(0))
            for t, d in zip(out, deductions, strict=True)
        )
    return tuple(cumulative_deductions(out))


def is_usdt_linear_perp(market: dict[str, Any]) -> bool:
    return bool(
        market.get("swap")
        and market.get("linear")
        and market.get("settle") == "USDT"
        and market.get("quote") == "USDT"
    )


def _max_market_qty(info: dict[str, Any]) -> Decimal | None:
    """One market order's limit: Bybit ``lotSizeFilter.maxMktOrderQty``, Binance's
    ``MARKET_LOT_SIZE`` filter; None when the venue gives none."""
    lot = info.get("lotSizeFilter")
    if isinstance(lot, dict) and lot.get("maxMktOrderQty") is not None:
        return dec(lot.get("maxMktOrderQty"))
    for f in info.get("filters") or []:
        if isinstance(f, dict) and f.get("filterType") == "MARKET_LOT_SIZE":
            return dec(f.get("maxQty"))
    return None


def to_instrument(
    market: dict[str, Any], ccxt_tiers: list[dict[str, Any]] | None, precision_mode: int
) -> Instrument:
    """A ccxt market (+ its tiers) as a rotor ``Instrument``."""
    info = market.get("info") or {}
    limits = market.get("limits") or {}
    prec = market.get("precision") or {}
    raw_status = str(info.get("status") or ("Trading" if market.get("active") else "Closed"))
    status = _BINANCE_SYMBOL_STATUS.get(raw_status, raw_status)
    interval_min = dec(info.get("fundingInterval"))
    interval_h = int(interval_min) // 60 if interval_min is not None else 8
    return Instrument(
        symbol=str(market["id"]),
        base=str(market["base"]),
        quote=str(market["quote"]),
        tick_size=_precision(prec.get("price"), precision_mode),
        qty_step=_precision(prec.get("amount"), precision_mode),
        min_qty=dec0((limits.get("amount") or {}).get("min")),
        min_notional=dec0((limits.get("cost") or {}).get("min")),
        tiers=to_tiers(ccxt_tiers, (limits.get("leverage") or {}).get("max")),
        funding_interval_h=max(interval_h, 1),
        status=status,
        max_qty=dec((limits.get("amount") or {}).get("max")),
        max_mkt_qty=_max_market_qty(info),
        launch_ms=market.get("created"),
        delivery_ms=int(delivery) if (delivery := dec(info.get("deliveryTime"))) else None,
    )


# --------------------------------------------------------------------------- market data


def bybit_ticker(raw: dict[str, Any], ts: int) -> Ticker:
    """One row of Bybit's /v5/market/tickers (linear) as a rotor ``Ticker``."""
    return Ticker(
        symbol=str(raw["symbol"]),
        ts=ts,
        last=num(raw.get("lastPrice")),
        mark=num(raw.get("markPrice")),
        index=num(raw.get("indexPrice")),
        bid=num(raw.get("bid1Price")),
        ask=num(raw.get("ask1Price")),
        funding_rate=num(raw.get("fundingRate")),
        next_funding_ms=int(dec0(raw.get("nextFundingTime"))),
        open_interest=num(raw.get("openInterest")),
    )


def unified_ticker(
    symbol_id: str,
    ticker: dict[str, Any],
    funding: dict[str, Any] | None,
    book: dict[str, Any] | None,
    now_ms: int,
) -> Ticker:
    """Ticker from ccxt's unified ticker + funding-rate (+ bid/ask) structures (Binance),
    stamped ``now_ms``: the venue's time of the reply."""
    funding = funding or {}
    book = book or {}
    ts = now_ms
    bid = ticker.get("bid") if ticker.get("bid") is not None else book.get("bid")
    ask = ticker.get("ask") if ticker.get("ask") is not None else book.get("ask")
    return Ticker(
        symbol=symbol_id,
        ts=int(ts),
        last=num(ticker.get("last")),
        mark=num(funding.get("markPrice") or ticker.get("markPrice")),
        index=num(funding.get("indexPrice") or ticker.get("indexPrice")),
        bid=num(bid),
        ask=num(ask),
        funding_rate=num(funding.get("fundingRate")),
        next_funding_ms=int(funding.get("fundingTimestamp") or 0),
        open_interest=NAN,
    )
