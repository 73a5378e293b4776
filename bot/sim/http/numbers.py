"""Numbers on the wire, as both venues print them: exact decimal strings, no float noise."""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
from aiohttp import web


def dec(x: Decimal | int | None) -> str:
    """A Decimal as Bybit prints it: plain notation, no exponent, no trailing zeros."""
    if x is None:
        return ""
    d = Decimal(x)
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


AMOUNT_PLACES = Decimal("1e-8")


def amt(x: Decimal | None) -> str:
    """A money amount or average price: at most 8 decimals, as Bybit prints them."""
    if x is None:
        return ""
    d = Decimal(x)
    if d.as_tuple().exponent < -8:  # type: ignore[operator]
        d = d.quantize(AMOUNT_PLACES, rounding=ROUND_HALF_EVEN)
    return dec(d)


def flt(x: float | None) -> str:
    """A float as the shortest plain-notation string that round-trips exactly."""
    if x is None or not math.isfinite(x):
        return ""
    r = repr(float(x))  # shortest round-trip form; exponent only for tiny/huge values
    if "e" in r:
        return str(np.format_float_positional(float(x), trim="-"))
    return r[:-2] if r.endswith(".0") else r


def price_str(x: float | Decimal, tick: Decimal, rounding: str = ROUND_HALF_EVEN) -> str:
    """A price rounded to the instrument's tick and printed with the tick's decimals."""
    if isinstance(x, float) and not math.isfinite(x):
        return ""
    d = Decimal(repr(x)) if isinstance(x, float) else x
    q = (d / tick).to_integral_value(rounding=rounding) * tick
    places = max(-tick.normalize().as_tuple().exponent, 0)  # type: ignore[operator]
    return f"{q:.{places}f}"


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON reply with compact separators, as Bybit sends."""
    return web.Response(
        text=json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
