"""What the portfolio holds now, its value at given prices, and the offline holdings file.

The holdings file (``rotor allocate --holdings FILE``) is one JSON object; every amount is a
decimal string or number, unknown keys are errors::

    {
      "cash": "6000",                      # USDT in the spot wallet
      "futures_collateral": "2000",        # USDT set aside for the futures sleeve
      "spot": {"BTCUSDT": "0.02", "ETHUSDT": "0.5"},   # coin quantities by market symbol
      "perps": [{"symbol": "BTCUSDT", "side": "short", "qty": "0.01",
                 "entry_price": "90000", "leverage": "1", "role": "hedge"}]
    }

Only ``cash`` is required. A perp's ``role`` (hedge, transition, amplify) says which rule
manages it; a perp without one is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from bot.domain import PositionSide

_ZERO = Decimal(0)


class Role(StrEnum):
    """The futures-sleeve roles (issue #20)."""

    HEDGE = "hedge"
    TRANSITION = "transition"
    AMPLIFY = "amplify"


@dataclass(frozen=True, slots=True)
class PerpHolding:
    """An open perpetual position and the role that manages it (None: not the portfolio's)."""

    symbol: str
    side: PositionSide
    qty: Decimal
    entry_price: Decimal
    leverage: Decimal = Decimal(1)
    role: Role | None = None

    def upnl(self, mark: Decimal) -> Decimal:
        """Unrealised PnL at ``mark``."""
        return self.side.sign * self.qty * (mark - self.entry_price)

    @property
    def margin(self) -> Decimal:
        """Isolated margin at entry."""
        return self.qty * self.entry_price / self.leverage


@dataclass(frozen=True, slots=True)
class Holdings:
    """Cash, spot coins by market symbol, futures collateral and open perps."""

    cash: Decimal
    spot: Mapping[str, Decimal] = field(default_factory=dict)
    futures_collateral: Decimal = _ZERO
    perps: tuple[PerpHolding, ...] = ()

    @staticmethod
    def from_cash(amount: Decimal) -> Holdings:
        """A portfolio that starts as ``amount`` USDT in the spot wallet."""
        return Holdings(cash=amount)


class MissingPrice(ValueError):
    """A held symbol has no price at the allocation time."""


@dataclass(frozen=True, slots=True)
class Valuation:
    """The portfolio at prices: NAV = cash + spot coins + futures collateral + perp uPnL."""

    nav: Decimal
    cash: Decimal
    spot: Mapping[str, Decimal]  # value per symbol
    spot_value: Decimal
    futures_value: Decimal  # collateral + uPnL
    upnl: Decimal
    perp_margin: Decimal


def value(
    h: Holdings,
    prices: Mapping[str, Decimal],
    spot_prices: Mapping[str, Decimal] | None = None,
) -> Valuation:
    """Value every holding, the coins at ``spot_prices`` (the spot market's price in the
    planner's units; default ``prices``), the perps at ``prices``; raise
    :class:`MissingPrice` naming the symbols without a price."""
    sp = prices if spot_prices is None else spot_prices
    need = [s for s, q in h.spot.items() if q > 0 and s not in sp]
    need += [p.symbol for p in h.perps if p.symbol not in prices]
    if need:
        raise MissingPrice(f"no price for held symbol(s) {', '.join(sorted(set(need)))}")
    spot = {s: q * sp[s] for s, q in sorted(h.spot.items()) if q > 0}
    spot_value = sum(spot.values(), _ZERO)
    upnl = sum((p.upnl(prices[p.symbol]) for p in h.perps), _ZERO)
    futures = h.futures_collateral + upnl
    margin = sum((p.margin for p in h.perps), _ZERO)
    return Valuation(h.cash + spot_value + futures, h.cash, spot, spot_value, futures, upnl, margin)


# --------------------------------------------------------------------------- the file


class HoldingsError(ValueError):
    """A bad holdings file; the message names the file and the key path."""


def _amount(src: str, where: str, raw: Any, *, positive: bool = False) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise HoldingsError(f"{src}: {where}: expected a decimal number (got {raw!r})")
    try:
        v = Decimal(str(raw))
    except InvalidOperation:
        raise HoldingsError(f"{src}: {where}: not a decimal number ({raw!r})") from None
    if not v.is_finite() or v < 0 or (positive and v == 0):
        need = "> 0" if positive else ">= 0"
        raise HoldingsError(f"{src}: {where}: must be a finite number {need} (got {raw!r})")
    return v


def _keys(src: str, where: str, obj: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise HoldingsError(f"{src}: {prefix}{unknown[0]}: unknown key")


def _perp(src: str, i: int, raw: Any) -> PerpHolding:
    where = f"perps[{i}]"
    if not isinstance(raw, dict):
        raise HoldingsError(f"{src}: {where}: expected an object")
    _keys(src, where, raw, {"symbol", "side", "qty", "entry_price", "leverage", "role"})
    for key in ("symbol", "side", "qty", "entry_price"):
        if key not in raw:
            raise HoldingsError(f"{src}: {where}.{key}: required")
    sym = raw["symbol"]
    if not isinstance(sym, str) or not sym:
        raise HoldingsError(f"{src}: {where}.symbol: expected a symbol such as BTCUSDT")
    try:
        side = PositionSide(raw["side"])
    except ValueError:
        raise HoldingsError(f"{src}: {where}.side: expected long or short") from None
    role_raw = raw.get("role")
    try:
        role = None if role_raw is None else Role(role_raw)
    except ValueError:
        raise HoldingsError(
            f"{src}: {where}.role: expected one of {', '.join(r.value for r in Role)} or absent"
        ) from None
    lev = _amount(src, f"{where}.leverage", raw.get("leverage", 1), positive=True)
    return PerpHolding(
        sym,
        side,
        _amount(src, f"{where}.qty", raw["qty"], positive=True),
        _amount(src, f"{where}.entry_price", raw["entry_price"], positive=True),
        max(lev, Decimal(1)),
        role,
    )


def parse_holdings(obj: Any, src: str) -> Holdings:
    """The holdings file's object; errors name ``src`` and the key path."""
    if not isinstance(obj, dict):
        raise HoldingsError(f"{src}: expected a JSON object")
    _keys(src, "", obj, {"cash", "futures_collateral", "spot", "perps"})
    if "cash" not in obj:
        raise HoldingsError(f"{src}: cash: required (USDT in the spot wallet, may be 0)")
    spot_raw = obj.get("spot", {})
    if not isinstance(spot_raw, dict):
        raise HoldingsError(f"{src}: spot: expected an object of symbol: quantity")
    perps_raw = obj.get("perps", [])
    if not isinstance(perps_raw, list):
        raise HoldingsError(f"{src}: perps: expected a list")
    perps = tuple(_perp(src, i, p) for i, p in enumerate(perps_raw))
    seen: set[str] = set()
    for p in perps:
        if p.symbol in seen:
            raise HoldingsError(f"{src}: perps: two positions in {p.symbol} (one-way mode)")
        seen.add(p.symbol)
    return Holdings(
        cash=_amount(src, "cash", obj["cash"]),
        spot={str(s): _amount(src, f"spot.{s}", q) for s, q in spot_raw.items()},
        futures_collateral=_amount(src, "futures_collateral", obj.get("futures_collateral", 0)),
        perps=perps,
    )
