"""Binance request parameters: parsing and checks with Binance's codes (-1102, -1130, -1121)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sim.http.binance.errors import (
    BAD_SYMBOL,
    ILLEGAL_CHARS,
    BinanceError,
    invalid,
    mandatory,
)
from bot.sim.http.context import SimContext

Params = dict[str, Any]


def text(p: Params, name: str, *, required: bool = False) -> str | None:
    """A string parameter ("" counts as absent)."""
    v = p.get(name)
    if v is None or v == "":
        if required:
            raise mandatory(name)
        return None
    return str(v)


def symbol(ctx: SimContext, p: Params, *, required: bool = True) -> str | None:
    """The ``symbol`` parameter, one of the replayed universe (-1121 otherwise)."""
    sym = text(p, "symbol", required=required)
    if sym is None:
        return None
    sym = sym.upper()
    if sym not in ctx.market.instruments:
        raise BinanceError(BAD_SYMBOL, "Invalid symbol.")
    return sym


def integer(p: Params, name: str, default: int | None = None, *, required: bool = False) -> Any:
    """An integer parameter (-1100 naming it when it is not one)."""
    v = text(p, name, required=required)
    if v is None:
        return default
    try:
        return int(v)
    except ValueError:
        raise BinanceError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        ) from None


def limit(p: Params, default: int, maximum: int) -> int:
    """``limit`` within [1, maximum] (-1130 otherwise)."""
    n = int(integer(p, "limit", default))
    if not 1 <= n <= maximum:
        raise invalid("limit", f"must be in [1, {maximum}], got {n}")
    return n


def decimal(p: Params, name: str, *, required: bool = False) -> Decimal | None:
    """A decimal parameter (-1102 when required and absent, -1130 when not a number)."""
    v = text(p, name, required=required)
    if v is None:
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise invalid(name, f"not a number: {v!r}") from None
    if not d.is_finite():
        raise invalid(name, f"not finite: {v!r}")
    return d


def boolean(p: Params, name: str) -> bool | None:
    """ "true"/"false" (None when absent; -1130 otherwise)."""
    v = text(p, name)
    if v is None:
        return None
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise invalid(name, f"must be true or false, got {v!r}")


def choice(p: Params, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    """One of ``allowed`` (-1102 when required and absent, -1130 otherwise)."""
    v = text(p, name, required=default is None)
    if v is None:
        assert default is not None
        return default
    if v not in allowed:
        raise invalid(name, f"one of {', '.join(allowed)}, got {v!r}")
    return v
