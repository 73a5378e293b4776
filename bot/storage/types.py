"""Column types: exact money on both backends, JSON that PostgreSQL accepts.

PostgreSQL stores money as ``NUMERIC(38, 18)``. SQLite has no exact decimal type: a
``NUMERIC`` column silently converts to an 8-byte float (15 significant digits), so on SQLite
money is stored as canonical decimal text instead. Both backends round to 18 decimal places the
same way, so a value with at most 18 decimals always round-trips exactly.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 38
MONEY_SCALE = 18
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_MAX_ABS = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
# The default context keeps 28 digits; a NUMERIC(38,18) value needs 38 to quantize exactly.
_CTX = Context(prec=MONEY_PRECISION + 2, rounding=ROUND_HALF_EVEN)


def to_money(value: Decimal | int) -> Decimal:
    """Round to the stored scale (18 places, half-even); refuse floats and out-of-range values."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"money value must be Decimal or int, got {type(value).__name__} {value!r}")
    d = Decimal(value)
    if not d.is_finite():
        raise ValueError(f"money value must be finite, got {d}")
    if abs(d) >= _MAX_ABS:
        raise ValueError(f"money value out of range for NUMERIC(38,18): {d}")
    try:
        q = d.quantize(_QUANTUM, context=_CTX)
    except InvalidOperation as exc:
        raise ValueError(f"money value out of range for NUMERIC(38,18): {d}") from exc
    if abs(q) >= _MAX_ABS:
        raise ValueError(f"money value out of range for NUMERIC(38,18): {d}")
    return q


def tidy(value: Decimal) -> Decimal:
    """Drop the trailing zeros NUMERIC(38,18) pads with (``25.000…`` → ``25``, never ``2.5E+1``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=_CTX)
    return value.normalize(context=_CTX)


class Money(TypeDecorator[Decimal]):
    """``NUMERIC(38,18)`` on PostgreSQL, exact decimal text on SQLite; always ``Decimal`` in Python."""

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        q = to_money(value)
        return format(q, "f") if dialect.name == "sqlite" else q

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            # Only reachable if someone wrote a REAL into the column by hand.
            raise TypeError(f"money column holds a float ({value!r}); refusing an inexact value")
        return tidy(Decimal(value))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def jsonable(value: Any) -> Any:
    """Make ``value`` JSON-safe for both backends: numpy scalars to Python, NaN/inf to None.

    PostgreSQL's JSON type rejects the ``NaN`` token Python's json module writes.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return jsonable(tolist())
    return str(value)
