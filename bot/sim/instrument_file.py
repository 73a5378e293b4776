"""The instruments of a data directory: each symbol's ``instruments.json`` entry parsed (tick,
step, minimum quantity and notional, risk-limit tiers) over a default derived from its first
price and median hourly quote volume where the file is absent or silent (SIM-VENUE.md "Data
directory format").
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.data.datadir import DataFileError
from bot.domain import Instrument, LeverageTier
from bot.domain.instrument import cumulative_deductions

DEFAULT_MIN_NOTIONAL = Decimal(5)

# Bybit-like risk-limit ladders (floor, cap, mmr, max leverage); Bybit sets mmr ≈ 1/(2·maxLev).
_TIERS_LARGE = (
    (0, 2_000_000, "0.005", 100),
    (2_000_000, 10_000_000, "0.01", 50),
    (10_000_000, 20_000_000, "0.02", 25),
    (20_000_000, 40_000_000, "0.05", 10),
    (40_000_000, 80_000_000, "0.1", 5),
)
_TIERS_MID = (
    (0, 200_000, "0.01", 50),
    (200_000, 1_000_000, "0.02", 25),
    (1_000_000, 2_000_000, "0.05", 10),
    (2_000_000, 4_000_000, "0.1", 5),
)
_TIERS_SMALL = (
    (0, 50_000, "0.02", 25),
    (50_000, 250_000, "0.025", 20),
    (250_000, 1_000_000, "0.05", 10),
    (1_000_000, 2_000_000, "0.1", 5),
)
# Median hourly quote volume (USDT) above which a symbol gets the larger ladders.
_LARGE_QUOTE_VOL_H = 50_000_000.0
_MID_QUOTE_VOL_H = 2_000_000.0


def _ladder(rows: tuple[tuple[int, int, str, int], ...]) -> tuple[LeverageTier, ...]:
    tiers = [
        LeverageTier(Decimal(lo), Decimal(hi), Decimal(mmr), Decimal(lev))
        for lo, hi, mmr, lev in rows
    ]
    return tuple(cumulative_deductions(tiers))


def _pow10(exp: int) -> Decimal:
    return Decimal(1).scaleb(exp)


def default_instrument(
    symbol: str, ref_price: float, quote_vol_h: float, funding_interval_h: int = 8
) -> Instrument:
    """Sensible Bybit-like precision and tiers for a symbol that ``instruments.json`` omits.

    Tick ≈ 5 significant digits of the reference price; the qty step is the largest power of
    ten worth at most the minimum notional, so the min notional (5 USDT) is the binding limit.
    """
    if not (ref_price > 0 and math.isfinite(ref_price)):
        ref_price = 1.0
    tick = _pow10(math.floor(math.log10(ref_price)) - 5)
    step = _pow10(math.floor(math.log10(float(DEFAULT_MIN_NOTIONAL) / ref_price)))
    if quote_vol_h >= _LARGE_QUOTE_VOL_H:
        tiers = _ladder(_TIERS_LARGE)
    elif quote_vol_h >= _MID_QUOTE_VOL_H:
        tiers = _ladder(_TIERS_MID)
    else:
        tiers = _ladder(_TIERS_SMALL)
    base = symbol[:-4] if symbol.endswith("USDT") else symbol
    return Instrument(
        symbol=symbol,
        base=base,
        quote="USDT",
        tick_size=tick,
        qty_step=step,
        min_qty=step,
        min_notional=DEFAULT_MIN_NOTIONAL,
        tiers=tiers,
        funding_interval_h=funding_interval_h,
    )


def _dec(path: Path, sym: str, obj: dict[str, Any], *names: str) -> Decimal | None:
    for n in names:
        if n in obj and obj[n] is not None:
            try:
                v = Decimal(str(obj[n]))
            except ArithmeticError as exc:
                raise DataFileError(path, f"{sym}.{n}: not a number ({obj[n]!r})") from exc
            if not v.is_finite() or v < 0:
                raise DataFileError(path, f"{sym}.{n}: must be a finite number >= 0 (got {v})")
            return v
    return None


def parse_instrument(path: Path, sym: str, raw: Any, fallback: Instrument) -> Instrument:
    """One ``instruments.json`` entry; absent fields fall back to the defaults.

    Accepted keys (snake_case or Bybit camelCase): tick_size|tick|tickSize, qty_step|step|qtyStep,
    min_qty|minOrderQty, min_notional|minNotionalValue, max_qty|maxOrderQty,
    max_mkt_qty|maxMktOrderQty (one market order; default max_qty), funding_interval_h,
    tiers: [{floor|minNotional, cap|riskLimitValue|maxNotional, mmr|maintenanceMargin,
    max_leverage|maxLeverage, mm_deduction|mmDeduction}]. A tier without a deduction gets the
    cumulative one (RISK.md).
    """
    if not isinstance(raw, dict):
        raise DataFileError(path, f"{sym}: expected an object")
    tick = _dec(path, sym, raw, "tick_size", "tick", "tickSize") or fallback.tick_size
    step = _dec(path, sym, raw, "qty_step", "step", "qtyStep") or fallback.qty_step
    if tick <= 0 or step <= 0:
        raise DataFileError(path, f"{sym}: tick and step must be > 0")
    min_qty = _dec(path, sym, raw, "min_qty", "minOrderQty") or step
    min_notional = _dec(path, sym, raw, "min_notional", "minNotionalValue")
    max_qty = _dec(path, sym, raw, "max_qty", "maxOrderQty")
    max_mkt_qty = _dec(path, sym, raw, "max_mkt_qty", "maxMktOrderQty")
    fi = raw.get("funding_interval_h", fallback.funding_interval_h)
    if not isinstance(fi, int) or fi <= 0:
        raise DataFileError(path, f"{sym}.funding_interval_h: expected a positive integer")
    tiers = fallback.tiers
    if "tiers" in raw:
        rows = raw["tiers"]
        if not isinstance(rows, list) or not rows:
            raise DataFileError(path, f"{sym}.tiers: expected a non-empty list")
        parsed: list[LeverageTier] = []
        has_ded = True
        for i, t in enumerate(rows):
            where = f"{sym}.tiers[{i}]"
            if not isinstance(t, dict):
                raise DataFileError(path, f"{where}: expected an object")
            floor = _dec(path, where, t, "floor", "minNotional", "min_notional")
            cap = _dec(path, where, t, "cap", "riskLimitValue", "maxNotional", "max_notional")
            mmr = _dec(path, where, t, "mmr", "maintenanceMargin", "maintenance_margin_rate")
            lev = _dec(path, where, t, "max_leverage", "maxLeverage")
            ded = _dec(path, where, t, "mm_deduction", "mmDeduction")
            if cap is None or mmr is None or lev is None or lev <= 0:
                raise DataFileError(path, f"{where}: needs cap, mmr and max_leverage > 0")
            if floor is None:
                floor = parsed[-1].cap if parsed else Decimal(0)
            has_ded = has_ded and ded is not None
            parsed.append(LeverageTier(floor, cap, mmr, lev, ded or Decimal(0)))
        parsed.sort(key=lambda t: t.floor)
        tiers = tuple(parsed if has_ded else cumulative_deductions(parsed))
    return Instrument(
        symbol=sym,
        base=fallback.base,
        quote=fallback.quote,
        tick_size=tick,
        qty_step=step,
        min_qty=min_qty,
        min_notional=DEFAULT_MIN_NOTIONAL if min_notional is None else min_notional,
        tiers=tiers,
        funding_interval_h=fi,
        sector=fallback.sector,
        max_qty=max_qty,
        max_mkt_qty=max_mkt_qty,
        launch_ms=fallback.launch_ms,
    )
